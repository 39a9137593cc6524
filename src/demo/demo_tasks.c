/* The six tasks: their shapes, sample counts at a scale, splits, strands and interval lengths. */
#include <math.h>
#include <stdlib.h>

#include "demo/demo_internal.h"

const demo_task_spec demo_task_specs[DEMO_NTASKS] = {
    [DEMO_GENE] = {"gene_finding", DEMO_KIND_GENES, 150, 3, 0, 9, 0.0, DEMO_SPLIT_TVT, false,
                   "chromosome\tstart\tend\tstrand\tsplit", true},
    [DEMO_ENHANCER] = {"enhancer_annotation", DEMO_KIND_ENHANCER, 20, 10, DEMO_ENH_WINDOW, 1, 0.05,
                       DEMO_SPLIT_FOLDS, false, "chromosome\tstart\tend\tsplit", true},
    [DEMO_HISTONE] = {"histone_modification", DEMO_KIND_MULTILABEL, 600, 3, DEMO_WINDOW, 18, 0.2,
                      DEMO_SPLIT_TVT, false,
                      "chromosome\tstart\tend\tstrand\tlabel\tsplit", false},
    [DEMO_CHROMATIN] = {"chromatin_accessibility", DEMO_KIND_MULTILABEL, 600, 3, DEMO_WINDOW, 125,
                        0.05, DEMO_SPLIT_TVT, true,
                        "chromosome\tstart\tend\tstrand\tlabel\tsplit", false},
    [DEMO_CPG] = {"cpg_methylation", DEMO_KIND_MULTILABEL, 600, 3, DEMO_WINDOW, 7, 0.25,
                  DEMO_SPLIT_TVT, false, "chromosome\tstart\tend\tstrand\tlabel\tsplit", false},
    [DEMO_VARIANT] = {"variant_effects", DEMO_KIND_VARIANT, 400, 2, 2 * DEMO_VAR_FLANK + 1, 2, 0.5,
                      DEMO_SPLIT_TEST, false,
                      "chromosome\tstart\tend\tref\talt\tlabel\tsplit", false},
};

const char *demo_split_name(demo_split_scheme scheme, unsigned i)
{
    static const char *tvt[] = {"train", "valid", "test"};
    static const char *folds[] = {"part1", "part2", "part3", "part4", "part5",
                                  "part6", "part7", "part8", "part9", "part10"};
    switch (scheme) {
    case DEMO_SPLIT_TVT: return i < 3 ? tvt[i] : "?";
    case DEMO_SPLIT_FOLDS: return i < 10 ? folds[i] : "?";
    case DEMO_SPLIT_TEST: return "test";
    }
    return "?";
}

unsigned demo_split_count(demo_split_scheme scheme)
{
    return scheme == DEMO_SPLIT_TVT ? 3 : scheme == DEMO_SPLIT_FOLDS ? 10 : 1;
}

/* Split index per sample: ~70/15/15 (every split at least once), 10 equal folds, or all test;
 * shuffled so the split values interleave in BED order. */
static void assign_splits(demo_task *t, demo_rng *r, uint32_t *order)
{
    size_t n = t->n;
    demo_split_scheme scheme = t->spec->splits;
    size_t nvalid = 0, ntest = 0;
    if (scheme == DEMO_SPLIT_TVT) {
        nvalid = (size_t)llround(0.15 * (double)n);
        ntest = nvalid;
        if (nvalid < 1) nvalid = ntest = 1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0;
        if (scheme == DEMO_SPLIT_TVT) s = i < nvalid ? 1 : i < nvalid + ntest ? 2 : 0;
        else if (scheme == DEMO_SPLIT_FOLDS) s = (uint32_t)(i % 10);
        order[i] = s;
    }
    demo_rng_shuffle(r, order, n);
    for (size_t i = 0; i < n; i++) {
        t->s[i].split = (uint8_t)order[i];
        t->split_count[order[i]]++;
    }
}

bend_status demo_tasks_init(demo_ctx *ctx, bend_error *err)
{
    for (int id = 0; id < DEMO_NTASKS; id++) {
        demo_task *t = &ctx->task[id];
        const demo_task_spec *spec = &demo_task_specs[id];
        t->spec = spec;
        long long want = llround((double)spec->base_count * ctx->scale);
        t->n = want < (long long)spec->min_count ? spec->min_count : (size_t)want;
        t->s = calloc(t->n, sizeof *t->s);
        uint32_t *order = malloc(t->n * sizeof *order);
        if (!t->s || !order) {
            free(order);
            return bend_fail(err, BEND_ERR_NOMEM, "demo %s: out of memory for %zu samples",
                             spec->name, t->n);
        }
        demo_rng r;
        demo_rng_init(&r, ctx->seed, DEMO_STREAM_TASK_INIT + (uint64_t)id);
        for (size_t i = 0; i < t->n; i++) {
            demo_sample *s = &t->s[i];
            s->strand = '+';
            if (spec->kind == DEMO_KIND_GENES || spec->kind == DEMO_KIND_MULTILABEL)
                s->strand = (demo_rng_next(&r) >> 63) ? '-' : '+';
            s->len = spec->window ? spec->window
                                  : (uint32_t)demo_rng_range(&r, DEMO_GENE_MIN, DEMO_GENE_MAX);
        }
        if (spec->kind == DEMO_KIND_VARIANT) {
            /* Half the variants (rounded down, at least one) have label 1. */
            size_t n1 = t->n / 2 ? t->n / 2 : 1;
            for (size_t i = 0; i < t->n; i++) order[i] = i < n1;
            demo_rng_shuffle(&r, order, t->n);
            for (size_t i = 0; i < t->n; i++) t->s[i].labels[0] = order[i];
        }
        assign_splits(t, &r, order);
        free(order);
    }
    return BEND_OK;
}

void demo_tasks_free(demo_ctx *ctx)
{
    for (int id = 0; id < DEMO_NTASKS; id++) {
        demo_task *t = &ctx->task[id];
        if (t->s)
            for (size_t i = 0; i < t->n; i++) free(t->s[i].classes);
        free(t->s);
        free(t->motif);
        t->s = NULL;
        t->motif = NULL;
        t->n = 0;
    }
}
