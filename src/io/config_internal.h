/* Declarations shared by the config module's files (config*.c); not part of the public API.
 *
 *   config_node.c     the tree: nodes, maps, sequences, origins, dotted paths
 *   config_yaml.c     YAML text -> tree (libyaml event parser)
 *   config_emit.c     tree -> block YAML text
 *   config_resolve.c  dotted-path lookup and ${...} interpolation
 *   config_suggest.c  "did you mean" suggestions for unknown keys
 *   config_override.c command-line overrides and sweeps
 *   config_load.c     built-in configs plus a user config directory
 *   config.c          the public constructors and typed getters */
#ifndef BEND_IO_CONFIG_INTERNAL_H
#define BEND_IO_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "io/config.h"

/* ---- the tree -------------------------------------------------------------------------------- */

typedef enum cfg_kind { CFG_NULL, CFG_SCALAR, CFG_MAP, CFG_SEQ } cfg_kind;

typedef struct cfg_node cfg_node;

typedef struct cfg_entry {
    char *key;
    int key_line;  /* for "duplicate key" messages */
    cfg_node *value;
} cfg_entry;

struct cfg_node {
    cfg_kind kind;
    bool quoted;         /* scalar: written quoted, so it is a string whatever its text */
    int line;            /* 1-based; 0 when the origin has no lines (the command line) */
    const char *origin;  /* interned in the config's pool, or the static CFG_ORIGIN_CLI */
    char *text;          /* CFG_SCALAR: raw text */
    cfg_entry *entries;  /* CFG_MAP, insertion order */
    cfg_node **items;    /* CFG_SEQ */
    size_t n, cap;       /* entries or items */
};

extern const char CFG_ORIGIN_CLI[]; /* "command line" */

/* Origin strings are shared by many nodes, so the config owns one copy of each. */
typedef struct cfg_pool {
    char **strs;
    size_t n, cap;
} cfg_pool;

struct bend_config {
    cfg_node *root; /* always a map */
    cfg_pool origins;
    char **tasks, **models; /* sorted names */
    size_t n_tasks, n_models;
};

const char *cfg_pool_intern(cfg_pool *pool, const char *s); /* NULL when out of memory */
void cfg_pool_free(cfg_pool *pool);

cfg_node *cfg_node_new(cfg_kind kind, const char *origin, int line);
cfg_node *cfg_scalar_new(const char *text, size_t len, bool quoted, const char *origin, int line);
void cfg_node_free(cfg_node *node);

/* Both take ownership of key/value only when they return true. */
bool cfg_map_append(cfg_node *map, char *key, int key_line, cfg_node *value);
bool cfg_seq_append(cfg_node *seq, cfg_node *item);
cfg_entry *cfg_map_find(const cfg_node *map, const char *key);
cfg_node *cfg_map_get(const cfg_node *map, const char *key);
void cfg_map_remove(cfg_node *map, const char *key); /* frees the entry */
/* A map's entry or a sequence's element named by one path component; NULL if none. */
cfg_node *cfg_child(const cfg_node *node, const char *comp);

/* "file:line", or "file" when the node has no line. Returned by value for use in printf args. */
typedef struct cfg_where {
    char s[600];
} cfg_where;
cfg_where cfg_node_where(const cfg_node *node);

bool cfg_is_null_text(const char *s); /* null Null NULL ~ or empty */
bool cfg_has_interp(const cfg_node *node); /* a scalar holding "${" (maybe escaped) */
const char *cfg_kind_name(const cfg_node *node); /* "a mapping", "a list", "null", "a string" */

/* Dotted paths. split: "" gives n = 0; an empty component ("a..b") is BEND_ERR_PARSE. */
bend_status cfg_path_split(const char *path, char ***comps, size_t *n, bend_error *err);
void cfg_path_free(char **comps, size_t n);
char *cfg_path_join(const char *parent, const char *comp); /* parent may be "" */

/* ---- YAML text -> tree ----------------------------------------------------------------------- */

/* Merges a parsed document over cfg's root (maps merge, other values replace); owns tree. */
bend_status cfg_merge_document(bend_config *cfg, cfg_node *tree, bend_error *err);

/* A whole file: the top level must be a mapping (an empty text is an empty mapping). `origin` must
 * outlive the tree (intern it). */
bend_status cfg_parse_document(const char *text, const char *origin, cfg_node **out,
                               bend_error *err);
/* An override's value: any flow node, lines 0. Blank text gives *out = NULL. */
bend_status cfg_parse_value(const char *text, const char *origin, cfg_node **out, bend_error *err);

/* ---- lookup and interpolation ---------------------------------------------------------------- */

/* A node reached by a lookup, with the dotted path where it lives (relative interpolations and
 * cycle detection need it). `owned` is set when string interpolation built a new scalar. */
typedef struct cfg_value {
    const cfg_node *node; /* NULL: not found */
    cfg_node *owned;
    char *path;
} cfg_value;

void cfg_value_release(cfg_value *v);

/* The paths whose interpolations are being resolved, innermost last. */
typedef struct cfg_stack {
    char **paths;
    size_t n, cap;
} cfg_stack;

bend_status cfg_stack_push(cfg_stack *st, const char *path, bend_error *err); /* errors on a cycle */
void cfg_stack_pop(cfg_stack *st);
void cfg_stack_free(cfg_stack *st);

/* Finds `path`, resolving interpolations met on the way and, if resolve_final, in the node found.
 * A missing key is not an error: out->node is NULL. */
bend_status cfg_lookup(const bend_config *cfg, const char *path, bool resolve_final, cfg_stack *st,
                       cfg_value *out, bend_error *err);
/* Replaces *v by its interpolated value when it holds "${" (pushing its path meanwhile). */
bend_status cfg_resolve(const bend_config *cfg, cfg_value *v, cfg_stack *st, bend_error *err);
/* As cfg_resolve, for a node whose path the caller has already pushed. */
bend_status cfg_interpolate(const bend_config *cfg, cfg_value *v, cfg_stack *st, bend_error *err);

/* ---- tree -> YAML text ----------------------------------------------------------------------- */

bend_status cfg_emit(const bend_config *cfg, const cfg_value *v, bool resolve, bend_strbuf *sb,
                     bend_error *err);

/* ---- suggestions ----------------------------------------------------------------------------- */

/* Appends "; did you mean 'a', 'b' or 'c'?" for keys of cfg close to `key`; returns how many. */
size_t cfg_suggest(const bend_config *cfg, const char *key, bend_strbuf *sb);
size_t cfg_levenshtein(const char *a, const char *b);

#endif
