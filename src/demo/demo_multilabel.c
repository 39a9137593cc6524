/* Multi-label tasks (histone_modification, chromatin_accessibility, cpg_methylation): each label
 * present in a sample puts 3 copies of its motif into the window as it is read (reverse
 * complement of the forward genome for '-' rows); no absent label's motif appears there. */
#include "demo/demo_internal.h"

enum { MAX_COPIES = (DEMO_WINDOW + 1) / (DEMO_MOTIF_LEN + 1) };

bend_status demo_plant_multilabel(demo_ctx *ctx, demo_task *t, bend_error *err)
{
    demo_genome *g = &ctx->genome;
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_TASK_PLANT + (uint64_t)(t - ctx->task));
    demo_kmers set = {.k = DEMO_MOTIF_LEN};
    for (unsigned j = 0; j < t->nmotif; j++)
        if (!demo_kmers_add(&set, t->motif[j], j))
            return bend_fail(err, BEND_ERR_INTERNAL, "demo %s: bad motif %u", t->spec->name, j);
    demo_kmers_sort(&set);
    const unsigned max_labels = MAX_COPIES / DEMO_COPIES;
    demo_window w = {0};
    bend_status st = BEND_OK;
    for (size_t i = 0; i < t->n && st == BEND_OK; i++) {
        demo_sample *s = &t->s[i];
        /* Which labels: each with probability p; at most as many as fit in the window. */
        unsigned present[DEMO_MAX_LABELS], np = 0;
        for (unsigned j = 0; j < t->nmotif; j++)
            if (demo_rng_unit(&r) < t->spec->prob) present[np++] = j;
        while (np > max_labels) {
            unsigned drop = (unsigned)demo_rng_below(&r, np);
            for (unsigned j = drop; j + 1 < np; j++) present[j] = present[j + 1];
            np--;
        }
        s->labels[0] = s->labels[1] = 0;
        for (unsigned j = 0; j < np; j++) s->labels[present[j] >> 6] |= 1ull << (present[j] & 63);

        /* Copy slots for all labels' copies, handed out in random order. */
        size_t pos[MAX_COPIES];
        uint32_t owner[MAX_COPIES];
        size_t m = (size_t)np * DEMO_COPIES;
        if (!demo_place_copies(&r, 0, s->len, DEMO_MOTIF_LEN, m, pos)) {
            st = bend_fail(err, BEND_ERR_INTERNAL, "demo %s: %zu motif copies do not fit",
                           t->spec->name, m);
            break;
        }
        for (size_t c = 0; c < m; c++) owner[c] = present[c / DEMO_COPIES];
        demo_rng_shuffle(&r, owner, m);

        st = demo_window_load(&w, g, demo_gpos(g, s), s->len, s->strand == '-', err);
        if (st != BEND_OK) break;
        for (size_t c = 0; c < m; c++) demo_window_plant(&w, pos[c], t->motif[owner[c]], DEMO_MOTIF_LEN);
        st = demo_window_purge(&w, &r, &set, s->labels, pos, m, err);
        if (st == BEND_OK) demo_window_store(&w, g);
    }
    demo_window_free(&w);
    if (st != BEND_OK) bend_error_context(err, "%s", t->spec->name);
    return st;
}
