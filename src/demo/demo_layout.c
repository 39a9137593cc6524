/* Genome layout: every sample of every task gets its own interval, disjoint from all others and
 * from the N runs, in random order along chr1..chrK; then the genome is allocated and filled with
 * uniform random ACGT background and N runs (chromosome ends and a few internal gaps). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

typedef struct gap {
    uint32_t chrom;
    uint64_t start, len;
} gap;

static demo_sample *slot_sample(demo_ctx *ctx, uint32_t g)
{
    for (int id = 0; id < DEMO_NTASKS; id++) {
        if (g < ctx->task[id].n) return &ctx->task[id].s[g];
        g -= (uint32_t)ctx->task[id].n;
    }
    return NULL;
}

static void fill_background(demo_genome *g, uint64_t seed)
{
    demo_rng r;
    demo_rng_init(&r, seed, DEMO_STREAM_BACKGROUND);
    uint64_t i = 0;
    while (i < g->len) {
        uint64_t x = demo_rng_next(&r);
        for (int b = 0; b < 32 && i < g->len; b++, x >>= 2) g->seq[i++] = "ACGT"[x & 3];
    }
}

/* Places the slots of one chromosome (perm[first..first+n)) and its gaps; returns its length. */
static uint64_t place_chrom(demo_ctx *ctx, demo_rng *r, uint32_t c, const uint32_t *perm,
                            size_t n, const unsigned *gaps_before, gap *gaps, size_t *ngaps)
{
    uint64_t pos = DEMO_TELOMERE;
    for (size_t k = 0; k <= n; k++) {
        for (unsigned j = 0; j < gaps_before[k]; j++) {
            pos += demo_rng_range(r, DEMO_SPACER_MIN, DEMO_SPACER_MAX);
            gap *gp = &gaps[(*ngaps)++];
            gp->chrom = c;
            gp->start = pos;
            gp->len = demo_rng_range(r, DEMO_GAP_MIN, DEMO_GAP_MAX);
            pos += gp->len;
        }
        if (k == n) break;
        demo_sample *s = slot_sample(ctx, perm[k]);
        pos += demo_rng_range(r, DEMO_SPACER_MIN, DEMO_SPACER_MAX);
        s->start = pos;
        pos += s->len;
    }
    pos += demo_rng_range(r, DEMO_SPACER_MIN, DEMO_SPACER_MAX);
    return pos + DEMO_TELOMERE;
}

bend_status demo_layout(demo_ctx *ctx, bend_error *err)
{
    demo_genome *g = &ctx->genome;
    size_t nslots = 0;
    uint64_t total = 0;
    for (int id = 0; id < DEMO_NTASKS; id++) {
        nslots += ctx->task[id].n;
        for (size_t i = 0; i < ctx->task[id].n; i++) total += ctx->task[id].s[i].len;
    }
    long per_chrom_gaps = lround(2.0 * ctx->scale);
    if (per_chrom_gaps < 1) per_chrom_gaps = 1;
    size_t max_gaps = (size_t)per_chrom_gaps * DEMO_NCHROM;
    uint32_t *perm = malloc(nslots * sizeof *perm);
    unsigned *gaps_before = calloc(nslots + DEMO_NCHROM, sizeof *gaps_before);
    gap *gaps = malloc(max_gaps * sizeof *gaps);
    if (!perm || !gaps_before || !gaps) {
        free(perm);
        free(gaps_before);
        free(gaps);
        return bend_fail(err, BEND_ERR_NOMEM, "demo: out of memory laying out %zu samples", nslots);
    }
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_LAYOUT);
    for (size_t i = 0; i < nslots; i++) perm[i] = (uint32_t)i;
    demo_rng_shuffle(&r, perm, nslots);

    /* Chromosome of each slot: cut the shuffled sequence into K parts of about equal length. */
    size_t count[DEMO_NCHROM] = {0}, first[DEMO_NCHROM] = {0};
    double target = (double)total / DEMO_NCHROM;
    uint64_t acc = 0;
    for (size_t j = 0; j < nslots; j++) {
        demo_sample *s = slot_sample(ctx, perm[j]);
        double mid = (double)acc + s->len / 2.0;
        uint32_t c = (uint32_t)(mid / target);
        s->chrom = c < DEMO_NCHROM ? c : DEMO_NCHROM - 1;
        count[s->chrom]++;
        acc += s->len;
    }
    for (int c = 1; c < DEMO_NCHROM; c++) first[c] = first[c - 1] + count[c - 1];

    size_t ngaps = 0;
    uint64_t offset = 0;
    for (uint32_t c = 0; c < DEMO_NCHROM; c++) {
        unsigned *before = gaps_before + first[c] + c; /* count[c] + 1 entries */
        for (long j = 0; j < per_chrom_gaps; j++) before[demo_rng_range(&r, 0, count[c])]++;
        g->chrom[c].offset = offset;
        g->chrom[c].length = place_chrom(ctx, &r, c, perm + first[c], count[c], before, gaps, &ngaps);
        offset += g->chrom[c].length;
    }
    g->len = offset;
    free(perm);
    free(gaps_before);

    g->seq = malloc(g->len);
    g->protect = calloc(g->len / 8 + 1, 1);
    if (!g->seq || !g->protect) {
        free(gaps);
        return bend_fail(err, BEND_ERR_NOMEM, "demo: out of memory for a genome of %llu nt",
                         (unsigned long long)g->len);
    }
    fill_background(g, ctx->seed);
    uint64_t nrun = 0;
    for (uint32_t c = 0; c < DEMO_NCHROM; c++) {
        memset(g->seq + g->chrom[c].offset, 'N', DEMO_TELOMERE);
        memset(g->seq + g->chrom[c].offset + g->chrom[c].length - DEMO_TELOMERE, 'N', DEMO_TELOMERE);
        nrun += 2 * DEMO_TELOMERE;
    }
    for (size_t i = 0; i < ngaps; i++) {
        memset(g->seq + g->chrom[gaps[i].chrom].offset + gaps[i].start, 'N', gaps[i].len);
        nrun += gaps[i].len;
    }
    g->n_bases = nrun;
    free(gaps);
    return BEND_OK;
}

void demo_genome_free(demo_genome *g)
{
    free(g->seq);
    free(g->protect);
    g->seq = NULL;
    g->protect = NULL;
}
