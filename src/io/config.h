/* Configuration as BEND users know it from Hydra: YAML defaults, `key=value` overrides with
 * dotted paths, `${a.b}` interpolation resolved after all overrides, and comma sweeps.
 *
 * The tree: configs/embed.yaml is the root; every configs/tasks/<t>.yaml is loaded under the
 * root key <t> and every configs/models/<m>.yaml under <m> (as BEND's embed.yaml holds them).
 * Files in a user config directory replace built-in files of the same relative path and add
 * new tasks and models.
 *
 * Ownership: a bend_config owns its whole tree; strings returned through `char **out` are
 * malloc'd and owned by the caller. */
#ifndef BEND_IO_CONFIG_H
#define BEND_IO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_config bend_config;

/* Built-in configs (io/builtin_configs.h), then config_dir (may be NULL) on top. */
bend_status bend_config_load_defaults(const char *config_dir, bend_config **out, bend_error *err);

/* The config of `bend train`: train.yaml with supervised_tasks/<task>.yaml (BEND's
 * conf/supervised_tasks/<task>.yaml) merged over it, a config_dir's files (may be NULL) replacing
 * built-in ones of the same relative path. task NULL: train.yaml's own `task`. An unknown task is
 * BEND_ERR_INVALID listing the known ones. */
bend_status bend_config_load_train(const char *config_dir, const char *task, bend_config **out,
                                   bend_error *err);

/* One YAML document as a whole config; `origin` names it in messages (a file path). */
bend_status bend_config_from_yaml(const char *text, const char *origin, bend_config **out,
                                  bend_error *err);

void bend_config_free(bend_config *cfg);

/* Names of the tasks (configs/tasks/) and models (configs/models/) that were loaded, sorted. The
 * array and strings belong to cfg. */
const char *const *bend_config_task_names(const bend_config *cfg, size_t *n);
const char *const *bend_config_model_names(const bend_config *cfg, size_t *n);

/* Applies one command-line override:
 *   key=value     the key must exist (else BEND_ERR_INVALID naming the key and close matches)
 *   +key=value    adds a new key (error if it exists, as in Hydra)
 *   ++key=value   sets, adding if missing
 *   ~key          deletes a key (error if it is not set)
 * `key` is a dotted path; `value` is parsed as a YAML flow scalar or sequence: 12, 1.5, true,
 * null, abc, 'quoted', [0,2], [train,valid]. A value of a map may replace only a map. */
bend_status bend_config_apply_override(bend_config *cfg, const char *arg, bend_error *err);

/* Hydra-style sweeps: an override whose value is an unbracketed, unquoted comma list
 * (`model=a,b`) is a sweep. Expands args into the cartesian product of runs, in the order
 * Hydra uses (the last swept key varies fastest). *runs[i] is a NULL-terminated array of
 * override strings for run i, every argument in its original position; arguments without '=',
 * options (-x) and deletions (~key) are copied unchanged. Free with bend_config_free_sweeps. */
bend_status bend_config_expand_sweeps(int argc, char *const *argv, char ****runs, size_t *n_runs,
                                      bend_error *err);
void bend_config_free_sweeps(char ***runs, size_t n_runs);

/* Lookups by dotted path, with `${...}` interpolation resolved (recursively, with cycle
 * detection; an interpolation may be the whole value, keeping its type, or part of a string).
 * Errors name the key and what was expected, e.g.
 *   "config key 'chunk_size': expected an integer, got 'abc' (command line)". */
bool bend_config_has(const bend_config *cfg, const char *path);
bool bend_config_is_null(const bend_config *cfg, const char *path); /* missing counts as null */
bend_status bend_config_get_str(const bend_config *cfg, const char *path, char **out,
                                bend_error *err); /* *out NULL when the value is null */
bend_status bend_config_get_int(const bend_config *cfg, const char *path, int64_t *out,
                                bend_error *err);
bend_status bend_config_get_double(const bend_config *cfg, const char *path, double *out,
                                   bend_error *err);
bend_status bend_config_get_bool(const bend_config *cfg, const char *path, bool *out,
                                 bend_error *err); /* true/false/yes/no/on/off, any case */
/* A sequence, or a single scalar taken as a one-element list. *n = 0 and *out = NULL for null. */
bend_status bend_config_get_int_list(const bend_config *cfg, const char *path, int64_t **out,
                                     size_t *n, bend_error *err);
bend_status bend_config_get_str_list(const bend_config *cfg, const char *path, char ***out,
                                     size_t *n, bend_error *err); /* free each and the array */

/* The subtree at path (NULL or "" = root) as block YAML text, interpolations resolved when
 * `resolve` is true. Keys keep their insertion order. */
bend_status bend_config_to_yaml(const bend_config *cfg, const char *path, bool resolve,
                                char **out, bend_error *err);

#endif
