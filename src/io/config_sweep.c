/* Hydra multirun sweeps: `model=a,b task=x,y` is four runs. A value is a sweep when it has a
 * comma outside brackets, braces, parentheses and quotes; `[a,b]` is one list value. As in
 * Hydra's basic sweeper every argument keeps its position and the runs are the cartesian
 * product with the last swept argument varying fastest. */
#include "io/config_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_RUNS = 100000 }; /* a larger product is surely a mistake, and would exhaust memory */

typedef struct choices {
    char **s; /* the override strings this argument stands for */
    size_t n;
} choices;

/* Offsets of the top-level commas of value (at most `max`); returns how many. */
static size_t top_level_commas(const char *value, size_t *at, size_t max)
{
    int depth = 0;
    char quote = 0;
    size_t n = 0;
    for (size_t i = 0; value[i]; i++) {
        char c = value[i];
        if (quote) {
            if (c == '\\' && quote == '"' && value[i + 1]) i++;
            else if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[' || c == '{' || c == '(') {
            depth++;
        } else if ((c == ']' || c == '}' || c == ')') && depth > 0) {
            depth--;
        } else if (c == ',' && depth == 0) {
            if (at && n < max) at[n] = i;
            n++;
        }
    }
    return n;
}

static char *trimmed_dup(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    return strndup(s, len);
}

/* "prefix" is the override up to and including '='. */
static char *make_choice(const char *prefix, size_t plen, const char *elem)
{
    size_t elen = strlen(elem);
    char *s = malloc(plen + elen + 1);
    if (!s) return NULL;
    memcpy(s, prefix, plen);
    memcpy(s + plen, elem, elen + 1);
    return s;
}

static void choices_free(choices *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->s[i]);
    free(c->s);
    c->s = NULL;
    c->n = 0;
}

static bend_status split_sweep(const char *arg, const char *eq, size_t commas, choices *c,
                               bend_error *err)
{
    size_t *at = malloc(commas * sizeof *at);
    c->s = calloc(commas + 1, sizeof *c->s);
    bend_status s = at && c->s ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (s == BEND_OK) top_level_commas(eq + 1, at, commas);
    size_t plen = (size_t)(eq - arg) + 1;
    for (size_t k = 0; s == BEND_OK && k <= commas; k++) {
        size_t start = k == 0 ? 0 : at[k - 1] + 1;
        size_t end = k == commas ? strlen(eq + 1) : at[k];
        char *elem = trimmed_dup(eq + 1 + start, end - start);
        if (!elem) {
            s = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            break;
        }
        if (!*elem) s = bend_fail(err, BEND_ERR_PARSE, "sweep '%s' has an empty value", arg);
        else if (!(c->s[c->n++] = make_choice(arg, plen, elem)))
            s = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        free(elem);
    }
    free(at);
    return s;
}

/* What one argument stands for: itself, or one override per swept value. Options (-x) and
 * deletions (~key) are never sweeps. */
static bend_status arg_choices(const char *arg, choices *c, bool *swept, bend_error *err)
{
    const char *eq = strchr(arg, '=');
    size_t commas = eq && arg[0] != '-' && arg[0] != '~' ? top_level_commas(eq + 1, NULL, 0) : 0;
    *swept = commas > 0;
    if (commas) return split_sweep(arg, eq, commas, c, err);
    c->s = calloc(1, sizeof *c->s);
    if (c->s) c->s[0] = strdup(arg);
    if (!c->s || !c->s[0]) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    c->n = 1;
    return BEND_OK;
}

/* Hydra refuses to sweep one key twice; so does bend. Keys compare without +/++ prefixes. */
static bend_status check_duplicate(char *const *argv, const bool *swept, int i, bend_error *err)
{
    const char *a = argv[i] + strspn(argv[i], "+");
    size_t alen = (size_t)(strchr(a, '=') - a);
    for (int j = 0; j < i; j++) {
        if (!swept[j]) continue;
        const char *b = argv[j] + strspn(argv[j], "+");
        if ((size_t)(strchr(b, '=') - b) == alen && strncmp(a, b, alen) == 0)
            return bend_fail(err, BEND_ERR_INVALID, "'%.*s' is swept twice ('%s' and '%s')",
                             (int)alen, a, argv[j], argv[i]);
    }
    return BEND_OK;
}

void bend_config_free_sweeps(char ***runs, size_t n_runs)
{
    if (!runs) return;
    for (size_t r = 0; r < n_runs; r++) {
        for (size_t i = 0; runs[r] && runs[r][i]; i++) free(runs[r][i]);
        free(runs[r]);
    }
    free(runs);
}

/* Run r picks choice (r / stride) % n of each argument, the stride being the product of the
 * choice counts of the arguments after it. */
static bend_status build_runs(const choices *c, int argc, size_t total, char ****runs,
                              bend_error *err)
{
    char ***out = calloc(total, sizeof *out);
    if (!out) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < total; r++) {
        out[r] = calloc((size_t)argc + 1, sizeof *out[r]);
        if (!out[r]) {
            bend_config_free_sweeps(out, total);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
        size_t stride = total;
        for (int i = 0; i < argc; i++) {
            stride /= c[i].n;
            out[r][i] = strdup(c[i].s[(r / stride) % c[i].n]);
            if (!out[r][i]) {
                bend_config_free_sweeps(out, total);
                return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            }
        }
    }
    *runs = out;
    return BEND_OK;
}

static bend_status all_choices(int argc, char *const *argv, choices *c, size_t *total,
                               bend_error *err)
{
    bool *swept = calloc((size_t)argc + 1, sizeof *swept);
    if (!swept) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status s = BEND_OK;
    *total = 1;
    for (int i = 0; s == BEND_OK && i < argc; i++) {
        s = arg_choices(argv[i], &c[i], &swept[i], err);
        if (s == BEND_OK && swept[i]) s = check_duplicate(argv, swept, i, err);
        if (s == BEND_OK && *total > MAX_RUNS / c[i].n)
            s = bend_fail(err, BEND_ERR_INVALID, "the sweep makes more than %d runs", MAX_RUNS);
        if (s == BEND_OK) *total *= c[i].n;
    }
    free(swept);
    return s;
}

bend_status bend_config_expand_sweeps(int argc, char *const *argv, char ****runs, size_t *n_runs,
                                      bend_error *err)
{
    *runs = NULL;
    *n_runs = 0;
    if (argc < 0 || (argc > 0 && !argv))
        return bend_fail(err, BEND_ERR_INTERNAL, "bad argument list for sweeps");
    choices *c = calloc((size_t)argc + 1, sizeof *c);
    if (!c) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    size_t total = 1;
    bend_status s = all_choices(argc, argv, c, &total, err);
    if (s == BEND_OK) s = build_runs(c, argc, total, runs, err);
    if (s == BEND_OK) *n_runs = total;
    for (int i = 0; i < argc; i++) choices_free(&c[i]);
    free(c);
    return s;
}
