/* Command-line overrides, as Hydra reads them:
 *   key=value    change an existing key     +key=value   add a new key
 *   ++key=value  set, adding if missing     ~key         delete a key
 * A mapping value merges into an existing mapping (Hydra merges too); otherwise the value
 * replaces the old one in place, so keys keep their order. */
#include "io/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum override_mode { OV_CHANGE, OV_ADD, OV_FORCE, OV_DELETE } override_mode;

typedef struct override {
    const char *arg;
    override_mode mode;
    char *key;
    const char *value; /* NULL for ~key */
} override;

static bend_status split_override(const char *arg, override *ov, bend_error *err)
{
    const char *rest = arg;
    ov->arg = arg;
    ov->mode = OV_CHANGE;
    if (strncmp(rest, "++", 2) == 0) {
        ov->mode = OV_FORCE;
        rest += 2;
    } else if (rest[0] == '+' || rest[0] == '~') {
        ov->mode = rest[0] == '+' ? OV_ADD : OV_DELETE;
        rest++;
    }
    const char *eq = strchr(rest, '=');
    if (!eq && ov->mode != OV_DELETE)
        return bend_fail(err, BEND_ERR_PARSE, "malformed override '%s': expected key=value "
                         "(or +key=value to add, ++key=value to set or add, ~key to delete)", arg);
    if (eq && ov->mode == OV_DELETE)
        return bend_fail(err, BEND_ERR_PARSE, "malformed override '%s': write ~key to delete a key",
                         arg);
    size_t len = eq ? (size_t)(eq - rest) : strlen(rest);
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)rest[i]))
            return bend_fail(err, BEND_ERR_PARSE, "malformed override '%s': the key has a space",
                             arg);
    if (len == 0) return bend_fail(err, BEND_ERR_PARSE, "malformed override '%s': no key", arg);
    ov->key = strndup(rest, len);
    if (!ov->key) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading '%s'", arg);
    ov->value = eq ? eq + 1 : NULL;
    return BEND_OK;
}

/* The value as YAML; `key=` (nothing or blanks) is the empty string, as in Hydra. */
static bend_status parse_override_value(const override *ov, cfg_node **out, bend_error *err)
{
    bend_status s = cfg_parse_value(ov->value, CFG_ORIGIN_CLI, out, err);
    if (s && err && s != BEND_ERR_NOMEM && strstr(ov->value, "${") && strpbrk(ov->value, "[{")) {
        /* YAML forbids '{' in plain scalars inside [...] and {...}; Hydra users meet this. */
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, "; inside [...] or {...} quote "
                 "interpolations: ['${a}', 2]");
    }
    if (s) {
        bend_error_context(err, "override '%s'", ov->arg);
        return s;
    }
    if (!*out && ov->value[strspn(ov->value, " \t")] != '\0')
        return bend_fail(err, BEND_ERR_PARSE, "override '%s': the value is only a YAML comment; "
                         "quote it to mean the text", ov->arg);
    if (!*out) *out = cfg_scalar_new("", 0, true, CFG_ORIGIN_CLI, 0);
    if (!*out) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading '%s'", ov->arg);
    return BEND_OK;
}

static bend_status unknown_key(const bend_config *cfg, const override *ov, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    if (cfg_suggest(cfg, ov->key, &sb) == 0 && ov->mode == OV_CHANGE)
        bend_strbuf_printf(&sb, " (to add it, write '+%s')", ov->arg);
    bend_status s = bend_fail(err, BEND_ERR_INVALID, "unknown config key '%s'%s", ov->key,
                              bend_strbuf_cstr(&sb));
    bend_strbuf_free(&sb);
    return s;
}

/* A mapping may be replaced only by a mapping (merged into it), and a mapping may replace only
 * a mapping: anything else is almost surely a misspelt path. Checked before any change. */
static bend_status check_replace(const cfg_node *old, const cfg_node *new, const char *path,
                                 bend_error *err)
{
    if ((old->kind == CFG_MAP) != (new->kind == CFG_MAP))
        return bend_fail(err, BEND_ERR_INVALID,
                         "config key '%s' is %s (%s) and cannot be replaced by %s", path,
                         cfg_kind_name(old), cfg_node_where(old).s, cfg_kind_name(new));
    for (size_t i = 0; new->kind == CFG_MAP && i < new->n; i++) {
        const cfg_node *o = cfg_map_get(old, new->entries[i].key);
        if (!o) continue;
        char *sub = cfg_path_join(path, new->entries[i].key);
        if (!sub) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        bend_status s = check_replace(o, new->entries[i].value, sub, err);
        free(sub);
        if (s) return s;
    }
    return BEND_OK;
}

/* Moves src's entries into dst (already checked); moved entries are left NULL in src. */
static bool merge_maps(cfg_node *dst, cfg_node *src)
{
    for (size_t i = 0; i < src->n; i++) {
        cfg_entry *e = &src->entries[i];
        cfg_entry *d = cfg_map_find(dst, e->key);
        if (d && d->value->kind == CFG_MAP) {
            if (!merge_maps(d->value, e->value)) return false;
        } else if (d) {
            cfg_node_free(d->value);
            d->value = e->value;
            e->value = NULL;
        } else {
            if (!cfg_map_append(dst, e->key, 0, e->value)) return false;
            e->key = NULL;
            e->value = NULL;
        }
    }
    return true;
}

/* Puts `value` where *slot is; takes ownership of value in every case. */
static bend_status replace(cfg_node **slot, cfg_node *value, const char *path, bend_error *err)
{
    bend_status s = check_replace(*slot, value, path, err);
    if (s == BEND_OK && value->kind == CFG_MAP) {
        if (!merge_maps(*slot, value)) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        cfg_node_free(value);
        return s;
    }
    if (s) {
        cfg_node_free(value);
        return s;
    }
    cfg_node_free(*slot);
    *slot = value;
    return BEND_OK;
}

/* A whole YAML document merged over the root, as one file of Hydra's defaults list is over
 * the ones before it: the same type rules as an override. Takes ownership of tree. */
bend_status cfg_merge_document(bend_config *cfg, cfg_node *tree, bend_error *err)
{
    return replace(&cfg->root, tree, "(root)", err);
}

static bend_status not_a_map(const cfg_node *node, char **comps, size_t upto, const override *ov,
                             bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    for (size_t i = 0; i <= upto; i++) bend_strbuf_printf(&sb, "%s%s", i ? "." : "", comps[i]);
    bend_status s = bend_fail(err, BEND_ERR_INVALID,
                              "cannot set config key '%s': '%s' is %s (%s), not a mapping",
                              ov->key, bend_strbuf_cstr(&sb), cfg_kind_name(node),
                              cfg_node_where(node).s);
    bend_strbuf_free(&sb);
    return s;
}

/* Walks to the container of the last component, creating maps on the way for +key and ++key. */
static bend_status find_parent(bend_config *cfg, const override *ov, char **comps, size_t n,
                               cfg_node **parent, bend_error *err)
{
    cfg_node *node = cfg->root;
    for (size_t i = 0; i + 1 < n; i++) {
        cfg_node *child = cfg_child(node, comps[i]);
        if (!child && (ov->mode == OV_CHANGE || ov->mode == OV_DELETE))
            return unknown_key(cfg, ov, err);
        if (!child) {
            child = cfg_node_new(CFG_MAP, CFG_ORIGIN_CLI, 0);
            char *key = strdup(comps[i]);
            if (!child || !key || !cfg_map_append(node, key, 0, child)) {
                cfg_node_free(child);
                free(key);
                return bend_fail(err, BEND_ERR_NOMEM, "out of memory applying '%s'", ov->arg);
            }
        }
        if (child->kind != CFG_MAP && child->kind != CFG_SEQ)
            return not_a_map(child, comps, i, ov, err);
        node = child;
    }
    *parent = node;
    return BEND_OK;
}

/* The slot holding the child named comp, or NULL. */
static cfg_node **child_slot(cfg_node *parent, const char *comp)
{
    if (parent->kind == CFG_MAP) {
        cfg_entry *e = cfg_map_find(parent, comp);
        return e ? &e->value : NULL;
    }
    for (size_t i = 0; i < parent->n; i++)
        if (parent->items[i] == cfg_child(parent, comp)) return &parent->items[i];
    return NULL;
}

static bend_status add_child(cfg_node *parent, const char *comp, cfg_node *value,
                             const override *ov, bend_error *err)
{
    if (parent->kind != CFG_MAP) {
        cfg_node_free(value);
        return bend_fail(err, BEND_ERR_INVALID, "cannot add config key '%s': its parent (%s) is a "
                         "list, whose elements cannot be added one by one", ov->key,
                         cfg_node_where(parent).s);
    }
    char *key = strdup(comp);
    if (!key || !cfg_map_append(parent, key, 0, value)) {
        free(key);
        cfg_node_free(value);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory applying '%s'", ov->arg);
    }
    return BEND_OK;
}

static bend_status delete_child(bend_config *cfg, cfg_node *parent, const char *comp,
                                const override *ov, bend_error *err)
{
    if (!cfg_child(parent, comp)) return unknown_key(cfg, ov, err);
    if (parent->kind != CFG_MAP)
        return bend_fail(err, BEND_ERR_INVALID, "cannot delete '%s': elements of a list (%s) "
                         "cannot be deleted one by one", ov->key, cfg_node_where(parent).s);
    cfg_map_remove(parent, comp);
    return BEND_OK;
}

/* Applies a split override; takes ownership of value. */
static bend_status apply(bend_config *cfg, const override *ov, cfg_node *value, bend_error *err)
{
    char **comps = NULL;
    size_t n = 0;
    cfg_node *parent = NULL;
    bend_status s = cfg_path_split(ov->key, &comps, &n, err);
    if (s) bend_error_context(err, "override '%s'", ov->arg);
    if (s == BEND_OK) s = find_parent(cfg, ov, comps, n, &parent, err);
    if (s) {
        cfg_path_free(comps, n);
        cfg_node_free(value);
        return s;
    }
    cfg_node **slot = child_slot(parent, comps[n - 1]);
    if (ov->mode == OV_DELETE) {
        s = delete_child(cfg, parent, comps[n - 1], ov, err);
    } else if (slot && ov->mode == OV_ADD) {
        s = bend_fail(err, BEND_ERR_INVALID, "cannot add config key '%s': it already exists (%s); "
                      "write '%s=...' to change it", ov->key, cfg_node_where(*slot).s, ov->key);
        cfg_node_free(value);
    } else if (slot) {
        s = replace(slot, value, ov->key, err);
    } else if (ov->mode == OV_CHANGE) {
        s = unknown_key(cfg, ov, err);
        cfg_node_free(value);
    } else {
        s = add_child(parent, comps[n - 1], value, ov, err);
    }
    cfg_path_free(comps, n);
    return s;
}

bend_status bend_config_apply_override(bend_config *cfg, const char *arg, bend_error *err)
{
    if (!cfg || !arg) return bend_fail(err, BEND_ERR_INTERNAL, "no config or no override");
    override ov = {0};
    bend_status s = split_override(arg, &ov, err);
    cfg_node *value = NULL;
    if (s == BEND_OK && ov.mode != OV_DELETE) s = parse_override_value(&ov, &value, err);
    if (s == BEND_OK) s = apply(cfg, &ov, value, err);
    free(ov.key);
    return s;
}
