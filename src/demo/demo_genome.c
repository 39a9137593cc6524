/* Genome decorations after planting, as in real assemblies: soft-masked (lower-case) stretches of
 * 50-500 nt covering about 10% of the bases, and a few IUPAC ambiguity letters, half of them
 * inside task intervals. Neither touches N runs or planted bases, so every label stays true. */
#include <math.h>
#include <stdio.h>

#include "demo/demo_internal.h"

enum { MASK_RUN_MIN = 50, MASK_RUN_MAX = 500, MASK_GAP_MAX = 4950 /* mean gap 9x mean run */ };

void demo_chrom_name(char *buf, size_t size, unsigned chrom, bool grch37)
{
    snprintf(buf, size, grch37 ? "%u" : "chr%u", chrom + 1);
}

static bool plain_base(const demo_genome *g, uint64_t pos)
{
    char b = g->seq[pos];
    return (b == 'A' || b == 'C' || b == 'G' || b == 'T' || b == 'a' || b == 'c' || b == 'g' ||
            b == 't') &&
           !demo_protected(g, pos);
}

static void soft_mask(demo_genome *g, demo_rng *r)
{
    uint64_t pos = demo_rng_range(r, 0, MASK_GAP_MAX), masked = 0;
    while (pos < g->len) {
        uint64_t end = pos + demo_rng_range(r, MASK_RUN_MIN, MASK_RUN_MAX);
        if (end > g->len) end = g->len;
        for (; pos < end; pos++) {
            char b = g->seq[pos];
            if (b >= 'A' && b <= 'Z' && b != 'N' && !demo_protected(g, pos)) {
                g->seq[pos] = (char)(b - 'A' + 'a');
                masked++;
            }
        }
        pos += demo_rng_range(r, 0, MASK_GAP_MAX);
    }
    g->masked_bases = masked;
}

/* A random sample interval of any task, as a genome position. */
static uint64_t random_task_pos(const demo_ctx *ctx, demo_rng *r)
{
    size_t total = 0;
    for (int id = 0; id < DEMO_NTASKS; id++) total += ctx->task[id].n;
    size_t k = (size_t)demo_rng_below(r, total);
    for (int id = 0; id < DEMO_NTASKS; id++) {
        const demo_task *t = &ctx->task[id];
        if (k < t->n) return demo_gpos(&ctx->genome, &t->s[k]) + demo_rng_below(r, t->s[k].len);
        k -= t->n;
    }
    return 0;
}

static void add_iupac(demo_ctx *ctx, demo_rng *r)
{
    demo_genome *g = &ctx->genome;
    long want = lround(20.0 * ctx->scale);
    if (want < 20) want = 20;
    unsigned placed = 0;
    for (long attempt = 0; placed < (unsigned long)want && attempt < 1000 * want; attempt++) {
        uint64_t pos = placed % 2 ? demo_rng_below(r, g->len) : random_task_pos(ctx, r);
        if (!plain_base(g, pos)) continue;
        if (g->seq[pos] >= 'a') g->masked_bases--;
        g->seq[pos] = "RYKMSW"[demo_rng_below(r, 6)];
        demo_protect(g, pos); /* never chosen twice */
        placed++;
    }
    g->iupac = placed;
}

void demo_genome_decorate(demo_ctx *ctx)
{
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_DECORATE);
    soft_mask(&ctx->genome, &r);
    add_iupac(ctx, &r);
}
