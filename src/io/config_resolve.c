/* Dotted-path lookup and `${...}` interpolation, resolved when a value is read so that overrides
 * applied after loading take effect everywhere they are referred to (as in OmegaConf).
 *
 *   ${a.b}     the node at absolute path a.b; as the whole value it keeps its type (an int stays
 *              an int, a mapping stays a mapping), inside a longer string it is inserted as text
 *   ${.x}      relative: x beside the node holding the interpolation; each further dot goes up
 *   ${a.${b}}  nested: the inner interpolation builds the key
 *   \${        a literal "${"
 *
 * Every node whose interpolation is being resolved has its path on a stack; meeting a path that
 * is already there is a cycle. */
#include "io/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RESOLVE_DEPTH = 256 };

void cfg_value_release(cfg_value *v)
{
    cfg_node_free(v->owned);
    free(v->path);
    v->node = NULL;
    v->owned = NULL;
    v->path = NULL;
}

static bend_status cycle_error(const cfg_stack *st, size_t from, const char *path, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    for (size_t i = from; i < st->n; i++) bend_strbuf_printf(&sb, "%s -> ", st->paths[i]);
    bend_strbuf_puts(&sb, path);
    bend_status s = bend_fail(err, BEND_ERR_INVALID, "interpolation cycle: %s", bend_strbuf_cstr(&sb));
    bend_strbuf_free(&sb);
    return s;
}

bend_status cfg_stack_push(cfg_stack *st, const char *path, bend_error *err)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->paths[i], path) == 0) return cycle_error(st, i, path, err);
    if (st->n >= MAX_RESOLVE_DEPTH)
        return bend_fail(err, BEND_ERR_INVALID, "interpolations nested too deeply at '%s'", path);
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        char **p = realloc(st->paths, cap * sizeof *p);
        if (!p) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", path);
        st->paths = p;
        st->cap = cap;
    }
    st->paths[st->n] = strdup(path);
    if (!st->paths[st->n]) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", path);
    st->n++;
    return BEND_OK;
}

void cfg_stack_pop(cfg_stack *st)
{
    if (st->n) free(st->paths[--st->n]);
}

void cfg_stack_free(cfg_stack *st)
{
    while (st->n) cfg_stack_pop(st);
    free(st->paths);
    st->paths = NULL;
    st->cap = 0;
}

/* s points at "${"; returns the matching '}' (nested "${...}" counted) or NULL. */
static const char *interp_end(const char *s)
{
    int depth = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] == '$' && p[1] == '{') {
            depth++;
            p++;
        } else if (*p == '}' && --depth == 0) {
            return p;
        }
    }
    return NULL;
}

static bool is_whole_interp(const char *text)
{
    if (strncmp(text, "${", 2) != 0) return false;
    const char *end = interp_end(text);
    return end && end[1] == '\0';
}

static bend_status expand_text(const bend_config *cfg, const cfg_value *v, const char *text,
                               cfg_stack *st, bend_strbuf *sb, bend_error *err);

/* The parent container of a dotted path, `up` levels above the node itself. */
static bend_status ancestor(const cfg_value *v, size_t up, const char *ref, char **out,
                            bend_error *err)
{
    char *base = strdup(v->path);
    if (!base) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    for (size_t i = 0; i < up; i++) {
        if (!*base) {
            free(base);
            return bend_fail(err, BEND_ERR_INVALID, "'%s' (%s): '${%s}' goes above the top level",
                             v->path, cfg_node_where(v->node).s, ref);
        }
        char *dot = strrchr(base, '.');
        if (dot)
            *dot = '\0';
        else
            base[0] = '\0';
    }
    *out = base;
    return BEND_OK;
}

/* Turns the text inside ${...} into an absolute dotted path. */
static bend_status target_path(const bend_config *cfg, const cfg_value *v, const char *expr,
                               cfg_stack *st, char **out, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_status s = expand_text(cfg, v, expr, st, &sb, err);
    if (s) {
        bend_strbuf_free(&sb);
        return s;
    }
    const char *ref = bend_strbuf_cstr(&sb);
    while (*ref == ' ') ref++;
    size_t len = strlen(ref);
    while (len && ref[len - 1] == ' ') len--;
    char *key = strndup(ref, len);
    bend_strbuf_free(&sb);
    if (!key) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    if (!*key || strchr(key, ':')) {
        s = bend_fail(err, BEND_ERR_INVALID, "'%s' (%s): '${%s}' is not a key%s", v->path,
                      cfg_node_where(v->node).s, key,
                      *key ? " (resolvers such as ${oc.env:NAME} are not supported)" : "");
        free(key);
        return s;
    }
    if (key[0] != '.') {
        *out = key;
        return BEND_OK;
    }
    size_t dots = strspn(key, ".");
    char *base = NULL;
    s = ancestor(v, dots, key, &base, err);
    if (s == BEND_OK) {
        *out = cfg_path_join(base, key + dots);
        if (!*out) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    }
    free(base);
    free(key);
    return s;
}

/* Resolves one ${expr} found in v's text to the value it names. */
static bend_status resolve_ref(const bend_config *cfg, const cfg_value *v, const char *expr,
                               cfg_stack *st, cfg_value *out, bend_error *err)
{
    char *path = NULL;
    bend_status s = target_path(cfg, v, expr, st, &path, err);
    if (s) return s;
    s = cfg_lookup(cfg, path, true, st, out, err);
    if (s == BEND_OK && !out->node)
        s = bend_fail(err, BEND_ERR_INVALID, "'%s' (%s) refers to '${%s}', but '%s' is not set",
                      v->path, cfg_node_where(v->node).s, expr, path);
    free(path);
    return s;
}

/* Appends the text of one referenced value to a string being built. */
static bend_status append_ref(const bend_config *cfg, const cfg_value *v, const char *expr,
                              cfg_stack *st, bend_strbuf *sb, bend_error *err)
{
    cfg_value ref = {0};
    bend_status s = resolve_ref(cfg, v, expr, st, &ref, err);
    if (s) return s;
    if (ref.node->kind == CFG_SCALAR)
        bend_strbuf_puts(sb, ref.node->text);
    else if (ref.node->kind == CFG_NULL)
        bend_strbuf_puts(sb, "null");
    else
        s = bend_fail(err, BEND_ERR_INVALID,
                      "'%s' (%s): '${%s}' is %s, which cannot be part of a string", v->path,
                      cfg_node_where(v->node).s, expr, cfg_kind_name(ref.node));
    cfg_value_release(&ref);
    return s;
}

/* Copies text to sb with every ${...} replaced by its value and every \${ by "${". */
static bend_status expand_text(const bend_config *cfg, const cfg_value *v, const char *text,
                               cfg_stack *st, bend_strbuf *sb, bend_error *err)
{
    const char *p = text;
    while (*p) {
        if (p[0] == '\\' && p[1] == '$' && p[2] == '{') {
            bend_strbuf_puts(sb, "${");
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            bend_strbuf_append(sb, p++, 1);
            continue;
        }
        const char *end = interp_end(p);
        if (!end)
            return bend_fail(err, BEND_ERR_PARSE, "'%s' (%s): '%s' has a '${' without its '}'",
                             v->path, cfg_node_where(v->node).s, text);
        char *expr = strndup(p + 2, (size_t)(end - p - 2));
        if (!expr) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
        bend_status s = append_ref(cfg, v, expr, st, sb, err);
        free(expr);
        if (s) return s;
        p = end + 1;
    }
    if (sb->failed) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    return BEND_OK;
}

/* A string with interpolations inside: a new scalar, quoted like the one it came from. */
static bend_status interpolate_string(const bend_config *cfg, cfg_value *v, cfg_stack *st,
                                      bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_status s = expand_text(cfg, v, v->node->text, st, &sb, err);
    cfg_node *n = NULL;
    char *path = NULL;
    if (s == BEND_OK) {
        n = cfg_scalar_new(bend_strbuf_cstr(&sb), sb.len, v->node->quoted, v->node->origin,
                           v->node->line);
        path = strdup(v->path);
        if (!n || !path) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    }
    bend_strbuf_free(&sb);
    if (s) {
        cfg_node_free(n);
        free(path);
        return s;
    }
    cfg_value_release(v);
    *v = (cfg_value){n, n, path};
    return BEND_OK;
}

bend_status cfg_interpolate(const bend_config *cfg, cfg_value *v, cfg_stack *st, bend_error *err)
{
    const char *text = v->node->text;
    if (!is_whole_interp(text)) return interpolate_string(cfg, v, st, err);
    char *expr = strndup(text + 2, strlen(text) - 3);
    if (!expr) return bend_fail(err, BEND_ERR_NOMEM, "out of memory resolving '%s'", v->path);
    cfg_value target = {0};
    bend_status s = resolve_ref(cfg, v, expr, st, &target, err);
    free(expr);
    if (s) return s;
    cfg_value_release(v);
    *v = target;
    return BEND_OK;
}

bend_status cfg_resolve(const bend_config *cfg, cfg_value *v, cfg_stack *st, bend_error *err)
{
    /* A scalar built by interpolation is final: "${" in it came from an escape or a value. */
    if (v->owned || !cfg_has_interp(v->node)) return BEND_OK;
    bend_status s = cfg_stack_push(st, v->path, err);
    if (s) return s;
    s = cfg_interpolate(cfg, v, st, err);
    cfg_stack_pop(st);
    return s;
}

bend_status cfg_lookup(const bend_config *cfg, const char *path, bool resolve_final, cfg_stack *st,
                       cfg_value *out, bend_error *err)
{
    *out = (cfg_value){0};
    char **comps = NULL;
    size_t n = 0;
    bend_status s = cfg_path_split(path, &comps, &n, err);
    if (s) return s;
    cfg_value cur = {cfg->root, NULL, strdup("")};
    if (!cur.path) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory looking up '%s'", path);
    for (size_t i = 0; s == BEND_OK && i < n; i++) {
        s = cfg_resolve(cfg, &cur, st, err); /* `a: ${b}` lets a.x mean b.x */
        if (s) break;
        const cfg_node *child = cfg_child(cur.node, comps[i]);
        char *child_path = child ? cfg_path_join(cur.path, comps[i]) : NULL;
        cfg_value_release(&cur);
        if (!child) break; /* missing: cur.node stays NULL */
        if (!child_path) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory looking up '%s'", path);
        cur = (cfg_value){child, NULL, child_path};
    }
    if (s == BEND_OK && cur.node && resolve_final) s = cfg_resolve(cfg, &cur, st, err);
    cfg_path_free(comps, n);
    if (s || !cur.node) {
        cfg_value_release(&cur);
        return s;
    }
    *out = cur;
    return BEND_OK;
}
