/* The config's public face: construction from YAML, names, typed getters and YAML output. The
 * tree, parsing, interpolation, overrides and loading live in the other config*.c files. */
#include "io/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/config_internal.h"

bend_status bend_config_from_yaml(const char *text, const char *origin, bend_config **out,
                                  bend_error *err)
{
    *out = NULL;
    if (!text) return bend_fail(err, BEND_ERR_INTERNAL, "no YAML text");
    bend_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    const char *o = cfg_pool_intern(&cfg->origins, origin ? origin : "<yaml>");
    bend_status s = o ? cfg_parse_document(text, o, &cfg->root, err)
                      : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (s) {
        bend_config_free(cfg);
        return s;
    }
    *out = cfg;
    return BEND_OK;
}

void bend_config_free(bend_config *cfg)
{
    if (!cfg) return;
    cfg_node_free(cfg->root);
    cfg_pool_free(&cfg->origins);
    cfg_path_free(cfg->tasks, cfg->n_tasks);
    cfg_path_free(cfg->models, cfg->n_models);
    free(cfg);
}

const char *const *bend_config_task_names(const bend_config *cfg, size_t *n)
{
    *n = cfg->n_tasks;
    return (const char *const *)cfg->tasks;
}

const char *const *bend_config_model_names(const bend_config *cfg, size_t *n)
{
    *n = cfg->n_models;
    return (const char *const *)cfg->models;
}

/* ---- lookups --------------------------------------------------------------------------------- */

/* The fully resolved value at path; a missing key is an error here. */
static bend_status get_value(const bend_config *cfg, const char *path, cfg_value *v,
                             bend_error *err)
{
    cfg_stack st = {0};
    bend_status s = cfg_lookup(cfg, path, true, &st, v, err);
    cfg_stack_free(&st);
    if (s) {
        bend_error_context(err, "config key '%s'", path); /* err may be NULL: keep s */
        return s;
    }
    if (!v->node) return bend_fail(err, BEND_ERR_INVALID, "config key '%s' is not set", path);
    return BEND_OK;
}

bool bend_config_has(const bend_config *cfg, const char *path)
{
    cfg_stack st = {0};
    cfg_value v = {0};
    bend_status s = cfg_lookup(cfg, path, false, &st, &v, NULL);
    bool found = s == BEND_OK && v.node;
    cfg_value_release(&v);
    cfg_stack_free(&st);
    return found;
}

/* A value that cannot be resolved is not null: the getter that follows reports why. */
bool bend_config_is_null(const bend_config *cfg, const char *path)
{
    cfg_stack st = {0};
    cfg_value v = {0};
    bend_status s = cfg_lookup(cfg, path, true, &st, &v, NULL);
    bool null = s == BEND_OK && (!v.node || v.node->kind == CFG_NULL);
    cfg_value_release(&v);
    cfg_stack_free(&st);
    return null;
}

/* "config key 'k': expected X, got Y (origin)". */
static bend_status type_error(const char *key, const cfg_node *n, const char *expected,
                              bend_error *err)
{
    if (n->kind == CFG_SCALAR)
        return bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected %s, got %s'%s' (%s)", key,
                         expected, n->quoted ? "the quoted string " : "", n->text,
                         cfg_node_where(n).s);
    return bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected %s, got %s (%s)", key,
                     expected, cfg_kind_name(n), cfg_node_where(n).s);
}

/* Optional sign and decimal digits only: "1e3", "0x10" and "12abc" are not integers. */
static bool parse_int(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = !neg ? (int64_t)v : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    return true;
}

/* strtod's whole-string forms, plus YAML's .inf and .nan. */
static bool parse_double(const char *s, double *out)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF"}, *const nan_[] = {".nan", ".NaN", ".NAN"};
    const char *body = (*s == '+' || *s == '-') ? s + 1 : s;
    for (int i = 0; i < 3; i++) {
        if (strcmp(body, inf[i]) == 0) {
            *out = *s == '-' ? -INFINITY : INFINITY;
            return true;
        }
        if (strcmp(s, nan_[i]) == 0) {
            *out = NAN;
            return true;
        }
    }
    if (!*s || *s == ' ' || *s == '\t') return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || (errno == ERANGE && isinf(v))) return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = true, true;
        if (strcasecmp(s, no[i]) == 0) return *out = false, true;
    }
    return false;
}

/* Numbers and booleans come from plain scalars only: quoting makes a string, as in YAML. */
static bend_status as_int(const char *key, const cfg_node *n, int64_t *out, bend_error *err)
{
    if (n->kind != CFG_SCALAR || n->quoted || !parse_int(n->text, out))
        return type_error(key, n, "an integer", err);
    return BEND_OK;
}

static bend_status as_str(const char *key, const cfg_node *n, char **out, bend_error *err)
{
    if (n->kind != CFG_SCALAR) return type_error(key, n, "a string", err);
    *out = strdup(n->text);
    return *out ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory reading '%s'", key);
}

bend_status bend_config_get_str(const bend_config *cfg, const char *path, char **out,
                                bend_error *err)
{
    *out = NULL;
    cfg_value v = {0};
    bend_status s = get_value(cfg, path, &v, err);
    if (s == BEND_OK && v.node->kind != CFG_NULL) s = as_str(path, v.node, out, err);
    cfg_value_release(&v);
    return s;
}

bend_status bend_config_get_int(const bend_config *cfg, const char *path, int64_t *out,
                                bend_error *err)
{
    cfg_value v = {0};
    bend_status s = get_value(cfg, path, &v, err);
    if (s == BEND_OK) s = as_int(path, v.node, out, err);
    cfg_value_release(&v);
    return s;
}

bend_status bend_config_get_double(const bend_config *cfg, const char *path, double *out,
                                   bend_error *err)
{
    cfg_value v = {0};
    bend_status s = get_value(cfg, path, &v, err);
    if (s == BEND_OK && (v.node->kind != CFG_SCALAR || v.node->quoted ||
                         !parse_double(v.node->text, out)))
        s = type_error(path, v.node, "a number", err);
    cfg_value_release(&v);
    return s;
}

bend_status bend_config_get_bool(const bend_config *cfg, const char *path, bool *out,
                                 bend_error *err)
{
    cfg_value v = {0};
    bend_status s = get_value(cfg, path, &v, err);
    if (s == BEND_OK &&
        (v.node->kind != CFG_SCALAR || v.node->quoted || !parse_bool(v.node->text, out)))
        s = type_error(path, v.node, "true or false", err);
    cfg_value_release(&v);
    return s;
}

/* ---- lists ----------------------------------------------------------------------------------- */

typedef bend_status (*elem_fn)(const char *key, const cfg_node *n, void *out, size_t i,
                               bend_error *err);

static bend_status int_elem(const char *key, const cfg_node *n, void *out, size_t i,
                            bend_error *err)
{
    return as_int(key, n, (int64_t *)out + i, err);
}

static bend_status str_elem(const char *key, const cfg_node *n, void *out, size_t i,
                            bend_error *err)
{
    return as_str(key, n, (char **)out + i, err);
}

/* Element i of a list, its own interpolations resolved; named "list.i" in messages. */
static bend_status list_elem(const bend_config *cfg, const cfg_value *list, size_t i,
                             void *out, elem_fn fn, bend_error *err)
{
    char index[32];
    snprintf(index, sizeof index, "%zu", i);
    cfg_value e = {list->node->items[i], NULL, cfg_path_join(list->path, index)};
    if (!e.path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    cfg_stack st = {0};
    bend_status s = cfg_resolve(cfg, &e, &st, err);
    if (s)
        bend_error_context(err, "config key '%s'", e.path);
    else
        s = fn(e.path, e.node, out, i, err);
    cfg_stack_free(&st);
    cfg_value_release(&e);
    return s;
}

/* Fills a new array of `size`-byte elements from a list, a lone scalar, or nothing for null. */
static bend_status get_list(const bend_config *cfg, const char *path, size_t size, elem_fn fn,
                            void **out, size_t *n, bend_error *err)
{
    *out = NULL;
    *n = 0;
    cfg_value v = {0};
    bend_status s = get_value(cfg, path, &v, err);
    size_t count = s ? 0 : v.node->kind == CFG_SEQ ? v.node->n : v.node->kind == CFG_NULL ? 0 : 1;
    void *arr = count ? calloc(count, size) : NULL;
    if (count && !arr) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory reading '%s'", path);
    if (s == BEND_OK && v.node->kind == CFG_MAP) s = type_error(path, v.node, "a list", err);
    if (s == BEND_OK && v.node->kind == CFG_SCALAR) s = fn(path, v.node, arr, 0, err);
    for (size_t i = 0; s == BEND_OK && v.node->kind == CFG_SEQ && i < count; i++)
        s = list_elem(cfg, &v, i, arr, fn, err);
    cfg_value_release(&v);
    if (s) {
        if (fn == str_elem)
            for (size_t i = 0; i < count; i++) free(((char **)arr)[i]);
        free(arr);
        return s;
    }
    *out = arr;
    *n = count;
    return BEND_OK;
}

bend_status bend_config_get_int_list(const bend_config *cfg, const char *path, int64_t **out,
                                     size_t *n, bend_error *err)
{
    void *arr = NULL;
    bend_status s = get_list(cfg, path, sizeof(int64_t), int_elem, &arr, n, err);
    *out = arr;
    return s;
}

bend_status bend_config_get_str_list(const bend_config *cfg, const char *path, char ***out,
                                     size_t *n, bend_error *err)
{
    void *arr = NULL;
    bend_status s = get_list(cfg, path, sizeof(char *), str_elem, &arr, n, err);
    *out = arr;
    return s;
}

/* ---- YAML output ----------------------------------------------------------------------------- */

bend_status bend_config_to_yaml(const bend_config *cfg, const char *path, bool resolve,
                                char **out, bend_error *err)
{
    *out = NULL;
    const char *p = path ? path : "";
    cfg_stack st = {0};
    cfg_value v = {0};
    bend_status s = cfg_lookup(cfg, p, false, &st, &v, err);
    cfg_stack_free(&st);
    if (s) {
        bend_error_context(err, "config key '%s'", p);
        return s;
    }
    if (!v.node) return bend_fail(err, BEND_ERR_INVALID, "config key '%s' is not set", p);
    bend_strbuf sb = BEND_STRBUF_INIT;
    s = cfg_emit(cfg, &v, resolve, &sb, err);
    cfg_value_release(&v);
    if (s) {
        bend_strbuf_free(&sb);
        if (*p) bend_error_context(err, "config key '%s'", p);
        return s;
    }
    *out = bend_strbuf_take(&sb);
    return *out ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory writing YAML");
}
