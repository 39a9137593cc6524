/* enhancer_annotation: 100,096-nt windows of 782 bins of 128 nt; about 5% of the bins (at least
 * one per window) are enhancers and hold 3 copies of the task's 10-nt motif; the motif (either
 * orientation) occurs nowhere else in the window. */
#include <stdlib.h>

#include "demo/demo_internal.h"

enum { MAX_PLANTED = DEMO_ENH_BINS * DEMO_COPIES };

bend_status demo_plant_enhancers(demo_ctx *ctx, demo_task *t, bend_error *err)
{
    demo_genome *g = &ctx->genome;
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_TASK_PLANT + (uint64_t)(t - ctx->task));
    char rc[16];
    demo_revcomp(rc, t->motif[0], DEMO_ENH_MOTIF_LEN);
    demo_kmers set = {.k = DEMO_ENH_MOTIF_LEN};
    if (!demo_kmers_add(&set, t->motif[0], 0) || !demo_kmers_add(&set, rc, 1))
        return bend_fail(err, BEND_ERR_INTERNAL, "demo enhancer_annotation: bad motif");
    demo_kmers_sort(&set);
    const uint64_t none[2] = {0, 0};
    size_t *planted = malloc(MAX_PLANTED * sizeof *planted);
    if (!planted) return bend_fail(err, BEND_ERR_NOMEM, "demo enhancer_annotation: out of memory");
    demo_window w = {0};
    bend_status st = BEND_OK;
    for (size_t i = 0; i < t->n && st == BEND_OK; i++) {
        demo_sample *s = &t->s[i];
        s->classes = calloc(DEMO_ENH_BINS, 1);
        if (!s->classes) {
            st = bend_fail(err, BEND_ERR_NOMEM, "demo enhancer_annotation: out of memory");
            break;
        }
        unsigned npos = 0;
        for (unsigned b = 0; b < DEMO_ENH_BINS; b++)
            if (demo_rng_unit(&r) < t->spec->prob) {
                s->classes[b] = 1;
                npos++;
            }
        if (npos == 0) s->classes[demo_rng_below(&r, DEMO_ENH_BINS)] = 1;

        st = demo_window_load(&w, g, demo_gpos(g, s), s->len, false, err);
        if (st != BEND_OK) break;
        size_t np = 0;
        for (unsigned b = 0; b < DEMO_ENH_BINS; b++) {
            if (!s->classes[b]) continue;
            /* Copies stay one base off the bin's edges, so neighbouring bins' copies never touch. */
            size_t *pos = planted + np;
            demo_place_copies(&r, (size_t)b * DEMO_ENH_BIN + 1, DEMO_ENH_BIN - 2,
                              DEMO_ENH_MOTIF_LEN, DEMO_COPIES, pos);
            for (int c = 0; c < DEMO_COPIES; c++)
                demo_window_plant(&w, pos[c], t->motif[0], DEMO_ENH_MOTIF_LEN);
            np += DEMO_COPIES;
        }
        st = demo_window_purge(&w, &r, &set, none, planted, np, err);
        if (st == BEND_OK) demo_window_store(&w, g);
    }
    free(planted);
    demo_window_free(&w);
    if (st != BEND_OK) bend_error_context(err, "enhancer_annotation");
    return st;
}
