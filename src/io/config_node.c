/* The config tree: nodes, ordered maps, sequences, origins and dotted paths. */
#include "io/config_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char CFG_ORIGIN_CLI[] = "command line";

const char *cfg_pool_intern(cfg_pool *pool, const char *s)
{
    if (s == CFG_ORIGIN_CLI) return s;
    for (size_t i = 0; i < pool->n; i++)
        if (strcmp(pool->strs[i], s) == 0) return pool->strs[i];
    if (pool->n == pool->cap) {
        size_t cap = pool->cap ? pool->cap * 2 : 8;
        char **p = realloc(pool->strs, cap * sizeof *p);
        if (!p) return NULL;
        pool->strs = p;
        pool->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy) return NULL;
    pool->strs[pool->n++] = copy;
    return copy;
}

void cfg_pool_free(cfg_pool *pool)
{
    for (size_t i = 0; i < pool->n; i++) free(pool->strs[i]);
    free(pool->strs);
    pool->strs = NULL;
    pool->n = pool->cap = 0;
}

cfg_node *cfg_node_new(cfg_kind kind, const char *origin, int line)
{
    cfg_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->origin = origin;
    n->line = line;
    return n;
}

cfg_node *cfg_scalar_new(const char *text, size_t len, bool quoted, const char *origin, int line)
{
    cfg_node *n = cfg_node_new(CFG_SCALAR, origin, line);
    if (!n) return NULL;
    n->text = malloc(len + 1);
    if (!n->text) {
        free(n);
        return NULL;
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->quoted = quoted;
    return n;
}

void cfg_node_free(cfg_node *node)
{
    if (!node) return;
    for (size_t i = 0; node->kind == CFG_MAP && i < node->n; i++) {
        free(node->entries[i].key);
        cfg_node_free(node->entries[i].value);
    }
    for (size_t i = 0; node->kind == CFG_SEQ && i < node->n; i++) cfg_node_free(node->items[i]);
    free(node->entries);
    free(node->items);
    free(node->text);
    free(node);
}

/* Grows a map's or sequence's array to hold one more element. */
static bool node_reserve(cfg_node *node)
{
    if (node->n < node->cap) return true;
    size_t cap = node->cap ? node->cap * 2 : 4;
    if (node->kind == CFG_MAP) {
        cfg_entry *p = realloc(node->entries, cap * sizeof *p);
        if (!p) return false;
        node->entries = p;
    } else {
        cfg_node **p = realloc(node->items, cap * sizeof *p);
        if (!p) return false;
        node->items = p;
    }
    node->cap = cap;
    return true;
}

bool cfg_map_append(cfg_node *map, char *key, int key_line, cfg_node *value)
{
    if (!node_reserve(map)) return false;
    map->entries[map->n++] = (cfg_entry){key, key_line, value};
    return true;
}

bool cfg_seq_append(cfg_node *seq, cfg_node *item)
{
    if (!node_reserve(seq)) return false;
    seq->items[seq->n++] = item;
    return true;
}

cfg_entry *cfg_map_find(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->entries[i].key, key) == 0) return &map->entries[i];
    return NULL;
}

cfg_node *cfg_map_get(const cfg_node *map, const char *key)
{
    cfg_entry *e = cfg_map_find(map, key);
    return e ? e->value : NULL;
}

void cfg_map_remove(cfg_node *map, const char *key)
{
    cfg_entry *e = cfg_map_find(map, key);
    if (!e) return;
    free(e->key);
    cfg_node_free(e->value);
    size_t i = (size_t)(e - map->entries);
    memmove(e, e + 1, (map->n - i - 1) * sizeof *e);
    map->n--;
}

/* A sequence index: decimal digits only, so "01x" or "-1" name no element. */
static bool parse_index(const char *comp, size_t *out)
{
    if (!*comp) return false;
    size_t v = 0;
    for (const char *p = comp; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        if (v > (SIZE_MAX - 9) / 10) return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

cfg_node *cfg_child(const cfg_node *node, const char *comp)
{
    if (!node) return NULL;
    if (node->kind == CFG_MAP) return cfg_map_get(node, comp);
    size_t i;
    if (node->kind == CFG_SEQ && parse_index(comp, &i) && i < node->n) return node->items[i];
    return NULL;
}

cfg_where cfg_node_where(const cfg_node *node)
{
    cfg_where w;
    if (!node || !node->origin)
        snprintf(w.s, sizeof w.s, "%s", "unknown origin");
    else if (node->line > 0)
        snprintf(w.s, sizeof w.s, "%s:%d", node->origin, node->line);
    else
        snprintf(w.s, sizeof w.s, "%s", node->origin);
    return w;
}

bool cfg_is_null_text(const char *s)
{
    return !*s || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0 ||
           strcmp(s, "~") == 0;
}

bool cfg_has_interp(const cfg_node *node)
{
    return node && node->kind == CFG_SCALAR && strstr(node->text, "${") != NULL;
}

const char *cfg_kind_name(const cfg_node *node)
{
    switch (node->kind) {
    case CFG_NULL: return "null";
    case CFG_MAP: return "a mapping";
    case CFG_SEQ: return "a list";
    case CFG_SCALAR: break;
    }
    return "a string";
}

void cfg_path_free(char **comps, size_t n)
{
    for (size_t i = 0; i < n; i++) free(comps[i]);
    free(comps);
}

bend_status cfg_path_split(const char *path, char ***comps, size_t *n, bend_error *err)
{
    *comps = NULL;
    *n = 0;
    if (!path || !*path) return BEND_OK;
    size_t count = 1;
    for (const char *p = path; *p; p++) count += *p == '.';
    char **out = calloc(count, sizeof *out);
    if (!out) return bend_fail(err, BEND_ERR_NOMEM, "out of memory splitting '%s'", path);
    const char *start = path;
    for (size_t i = 0; i < count; i++) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        if (len == 0) {
            cfg_path_free(out, i);
            return bend_fail(err, BEND_ERR_PARSE, "empty component in the dotted key '%s'", path);
        }
        out[i] = strndup(start, len);
        if (!out[i]) {
            cfg_path_free(out, i);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory splitting '%s'", path);
        }
        start = dot ? dot + 1 : start + len;
    }
    *comps = out;
    *n = count;
    return BEND_OK;
}

char *cfg_path_join(const char *parent, const char *comp)
{
    size_t a = strlen(parent), b = strlen(comp);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    if (a) {
        memcpy(s, parent, a);
        s[a++] = '.';
    }
    memcpy(s + a, comp, b + 1);
    return s;
}
