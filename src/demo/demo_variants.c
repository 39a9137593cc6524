/* variant_effects: each variant sits in the middle of its own 601-nt interval. Label 1 variants
 * fall inside a planted copy of the task's 8-nt motif, so the alt allele breaks it; label 0
 * variants sit in plain background. The motif (either orientation) occurs nowhere else in the
 * interval. */
#include "demo/demo_internal.h"

bend_status demo_plant_variants(demo_ctx *ctx, demo_task *t, bend_error *err)
{
    demo_genome *g = &ctx->genome;
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_TASK_PLANT + (uint64_t)(t - ctx->task));
    char rc[16];
    demo_revcomp(rc, t->motif[0], DEMO_MOTIF_LEN);
    demo_kmers set = {.k = DEMO_MOTIF_LEN};
    if (!demo_kmers_add(&set, t->motif[0], 0) || !demo_kmers_add(&set, rc, 1))
        return bend_fail(err, BEND_ERR_INTERNAL, "demo variant_effects: bad motif");
    demo_kmers_sort(&set);
    const uint64_t none[2] = {0, 0};
    demo_window w = {0};
    bend_status st = BEND_OK;
    for (size_t i = 0; i < t->n && st == BEND_OK; i++) {
        demo_sample *s = &t->s[i];
        st = demo_window_load(&w, g, demo_gpos(g, s), s->len, false, err);
        if (st != BEND_OK) break;
        size_t copy = 0, ncopies = 0;
        if (s->labels[0]) {
            copy = DEMO_VAR_FLANK - (size_t)demo_rng_below(&r, DEMO_MOTIF_LEN);
            demo_window_plant(&w, copy, t->motif[0], DEMO_MOTIF_LEN);
            ncopies = 1;
        }
        w.prot[DEMO_VAR_FLANK] = 1;
        st = demo_window_purge(&w, &r, &set, none, &copy, ncopies, err);
        if (st != BEND_OK) break;
        s->ref = w.seq[DEMO_VAR_FLANK];
        s->alt = demo_rng_other_base(&r, s->ref);
        demo_window_store(&w, g);
    }
    demo_window_free(&w);
    if (st != BEND_OK) bend_error_context(err, "variant_effects");
    return st;
}
