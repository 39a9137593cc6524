/* "Did you mean" for unknown keys: the existing leaf keys within a small edit distance of the
 * unknown one, and those ending in the same last component (`bed=x` -> `gene_finding.bed`),
 * with keys of the selected task and model first among equals. */
#include "io/config_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SUGGESTIONS = 3, SLACK = 2 };

typedef struct candidate {
    char *path;
    size_t score;   /* edit distance; at most 1 or 2 for a same-last-component match */
    bool preferred; /* under the selected task or model */
    size_t order;   /* position in the tree, to keep ties stable */
} candidate;

typedef struct collector {
    const char *key, *key_last;
    size_t threshold;
    const char *task, *model;
    candidate *c;
    size_t n, cap;
    bool failed;
} collector;

size_t cfg_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row) return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static const char *last_component(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static bool first_component_is(const char *path, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    return len && strncmp(path, name, len) == 0 && path[len] == '.';
}

static void consider(collector *co, const char *path)
{
    size_t d = cfg_levenshtein(co->key, path);
    bool preferred = first_component_is(path, co->task) || first_component_is(path, co->model);
    bool same_last = strcmp(last_component(path), co->key_last) == 0 && strcmp(path, co->key) != 0;
    /* A bare `embedding_dim=3` most likely meant the selected model's key, then any model's:
     * rank those like one- and two-letter typos. Under a dotted key they come after typos. */
    size_t bonus = strchr(co->key, '.') ? co->threshold + 1 : preferred ? 1 : 2;
    size_t score = same_last && d > bonus ? bonus : d;
    if (!same_last && (d == 0 || d > co->threshold)) return;
    if (co->n == co->cap) {
        size_t cap = co->cap ? co->cap * 2 : 16;
        candidate *p = realloc(co->c, cap * sizeof *p);
        if (!p) {
            co->failed = true;
            return;
        }
        co->c = p;
        co->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) {
        co->failed = true;
        return;
    }
    co->c[co->n] = (candidate){copy, score, preferred, co->n};
    co->n++;
}

/* Visits every leaf (anything but a non-empty mapping): those are what `key=value` sets. */
static void collect(collector *co, const cfg_node *node, const char *path)
{
    if (node->kind != CFG_MAP || node->n == 0) {
        if (*path) consider(co, path);
        return;
    }
    for (size_t i = 0; i < node->n && !co->failed; i++) {
        char *child = cfg_path_join(path, node->entries[i].key);
        if (!child) {
            co->failed = true;
            return;
        }
        collect(co, node->entries[i].value, child);
        free(child);
    }
}

static int candidate_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    if (a->preferred != b->preferred) return a->preferred ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* How many of the sorted candidates to show. Long dotted keys make len/3 generous, so matches
 * much worse than the best one are dropped. */
static size_t pick(const collector *co)
{
    size_t limit = co->c[0].score + SLACK, shown = 0;
    while (shown < co->n && shown < MAX_SUGGESTIONS && co->c[shown].score <= limit) shown++;
    return shown;
}

/* The plain text of a top-level selector such as `task`, or NULL. */
static const char *selected(const bend_config *cfg, const char *key)
{
    const cfg_node *n = cfg_map_get(cfg->root, key);
    return n && n->kind == CFG_SCALAR ? n->text : NULL;
}

size_t cfg_suggest(const bend_config *cfg, const char *key, bend_strbuf *sb)
{
    size_t len = strlen(key);
    collector co = {.key = key, .key_last = last_component(key),
                    .threshold = len / 3 > 2 ? len / 3 : 2,
                    .task = selected(cfg, "task"), .model = selected(cfg, "model")};
    collect(&co, cfg->root, "");
    size_t shown = 0;
    if (!co.failed && co.n) {
        qsort(co.c, co.n, sizeof *co.c, candidate_cmp);
        shown = pick(&co);
        bend_strbuf_puts(sb, "; did you mean ");
        for (size_t i = 0; i < shown; i++) {
            const char *sep = i == 0 ? "" : i + 1 == shown ? " or " : ", ";
            bend_strbuf_printf(sb, "%s'%s'", sep, co.c[i].path);
        }
        bend_strbuf_puts(sb, "?");
    }
    for (size_t i = 0; i < co.n; i++) free(co.c[i].path);
    free(co.c);
    return shown;
}
