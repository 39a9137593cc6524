/* gene_finding: each interval holds one gene between non-coding flanks: 2-5 GC-rich exons
 * (65% G/C) and AT-rich introns (35% G/C) whose ends carry the splice dinucleotides. Classes are
 * per nucleotide in forward order: + genes 0 exon, 1 donor (GT), 2 intron, 3 acceptor (AG);
 * - genes 4 exon, 7 at the intron's left end (forward CT), 6 intron, 5 at its right end
 * (forward AC); 8 non-coding. */
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

enum { FLANK_MIN = 100, FLANK_MAX = 300, EXON_MIN = 50, INTRON_MIN = 60, MAX_EXONS = 5 };

static void fill(demo_genome *g, demo_rng *r, uint64_t at, uint8_t *cls, size_t n, double gc,
                 uint8_t klass)
{
    for (size_t i = 0; i < n; i++) {
        g->seq[at + i] = demo_rng_base_gc(r, gc);
        cls[i] = klass;
    }
}

static void splice(demo_genome *g, uint64_t at, uint8_t *cls, const char *bases, uint8_t klass)
{
    for (int i = 0; i < 2; i++) {
        g->seq[at + i] = bases[i];
        cls[i] = klass;
        demo_protect(g, at + i);
    }
}

/* Segment lengths: exon, intron, exon, ... filling `body`, each above its minimum. */
static size_t segments(demo_rng *r, size_t body, size_t *len)
{
    size_t nex = (size_t)demo_rng_range(r, 2, MAX_EXONS);
    while (nex > 1 && nex * EXON_MIN + (nex - 1) * INTRON_MIN > body) nex--;
    size_t nseg = 2 * nex - 1, used = 0;
    double w[2 * MAX_EXONS], wsum = 0;
    for (size_t i = 0; i < nseg; i++) {
        len[i] = i % 2 ? INTRON_MIN : EXON_MIN;
        used += len[i];
        w[i] = demo_rng_unit(r) + (i % 2 ? 0.5 : 0.2); /* introns a little longer */
        wsum += w[i];
    }
    size_t rest = body - used, given = 0;
    for (size_t i = 0; i < nseg; i++) {
        size_t extra = (size_t)((double)rest * w[i] / wsum);
        len[i] += extra;
        given += extra;
    }
    len[demo_rng_below(r, nseg)] += rest - given;
    return nseg;
}

static void plant_gene(demo_genome *g, demo_rng *r, demo_sample *s)
{
    const bool minus = s->strand == '-';
    const uint64_t base = demo_gpos(g, s);
    uint8_t *cls = s->classes;
    size_t left = (size_t)demo_rng_range(r, FLANK_MIN, FLANK_MAX);
    size_t right = (size_t)demo_rng_range(r, FLANK_MIN, FLANK_MAX);
    memset(cls, DEMO_NONCODING, s->len); /* flanks keep the background */
    size_t len[2 * MAX_EXONS];
    size_t nseg = segments(r, s->len - left - right, len);
    size_t at = left;
    for (size_t i = 0; i < nseg; i++) {
        if (i % 2 == 0) {
            fill(g, r, base + at, cls + at, len[i], 0.65, minus ? DEMO_EXON_R : DEMO_EXON_F);
        } else {
            fill(g, r, base + at, cls + at, len[i], 0.35, minus ? DEMO_INTRON_R : DEMO_INTRON_F);
            size_t end = at + len[i] - 2;
            if (minus) {
                splice(g, base + at, cls + at, "CT", DEMO_ACCEPTOR_R);
                splice(g, base + end, cls + end, "AC", DEMO_DONOR_R);
            } else {
                splice(g, base + at, cls + at, "GT", DEMO_DONOR_F);
                splice(g, base + end, cls + end, "AG", DEMO_ACCEPTOR_F);
            }
        }
        at += len[i];
    }
}

bend_status demo_plant_genes(demo_ctx *ctx, demo_task *t, bend_error *err)
{
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_TASK_PLANT + (uint64_t)(t - ctx->task));
    for (size_t i = 0; i < t->n; i++) {
        demo_sample *s = &t->s[i];
        s->classes = malloc(s->len);
        if (!s->classes)
            return bend_fail(err, BEND_ERR_NOMEM, "demo gene_finding: out of memory for labels");
        plant_gene(&ctx->genome, &r, s);
    }
    return BEND_OK;
}
