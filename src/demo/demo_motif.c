/* Motifs: one random 8-mer per label of each multi-label task and for variant_effects, one 10-mer
 * for enhancer_annotation. All are distinct, not low-complexity, not their own reverse
 * complement, and (the 8-mers) at least two mismatches from every other motif and its reverse
 * complement, so one motif's copies never read as another's. */
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

static unsigned hamming(const char *a, const char *b, size_t n)
{
    unsigned d = 0;
    for (size_t i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

static bool low_complexity(const char *m, size_t n)
{
    bool seen[4] = {false, false, false, false};
    unsigned distinct = 0;
    for (size_t i = 0; i < n; i++) {
        int c = m[i] == 'A' ? 0 : m[i] == 'C' ? 1 : m[i] == 'G' ? 2 : 3;
        if (!seen[c]) distinct++;
        seen[c] = true;
        if (i >= 2 && m[i] == m[i - 1] && m[i] == m[i - 2]) return true; /* homopolymer run of 3 */
    }
    if (distinct < 3) return true;
    for (size_t period = 2; period <= 3; period++) { /* dinucleotide / trinucleotide repeats */
        bool periodic = true;
        for (size_t i = period; i < n && periodic; i++) periodic = m[i] == m[i - period];
        if (periodic) return true;
    }
    return false;
}

typedef struct motif_pool {
    char (*m)[16];
    size_t n, cap;
} motif_pool;

static bool acceptable(const motif_pool *pool, const char *m, size_t k)
{
    char rc[16];
    demo_revcomp(rc, m, k);
    if (low_complexity(m, k) || hamming(m, rc, k) < 2) return false;
    for (size_t i = 0; i < pool->n; i++) {
        if (strlen(pool->m[i]) != k) continue;
        if (hamming(m, pool->m[i], k) < 2 || hamming(rc, pool->m[i], k) < 2) return false;
    }
    return true;
}

static bend_status draw(motif_pool *pool, demo_rng *r, size_t k, char *out, bend_error *err)
{
    char m[16];
    for (unsigned attempt = 0; attempt < 1000000; attempt++) {
        for (size_t i = 0; i < k; i++) m[i] = demo_rng_base(r);
        m[k] = '\0';
        if (!acceptable(pool, m, k)) continue;
        memcpy(pool->m[pool->n++], m, k + 1);
        memcpy(out, m, k + 1);
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_INTERNAL, "demo: could not draw %zu distinct motifs", pool->n + 1);
}

bend_status demo_motifs_make(demo_ctx *ctx, bend_error *err)
{
    size_t total = 0;
    for (int id = 0; id < DEMO_NTASKS; id++) {
        const demo_task_spec *spec = &demo_task_specs[id];
        total += spec->kind == DEMO_KIND_MULTILABEL ? spec->depth
                 : spec->kind == DEMO_KIND_GENES    ? 0
                                                    : 1;
    }
    motif_pool pool = {calloc(total, sizeof *pool.m), 0, total};
    if (!pool.m) return bend_fail(err, BEND_ERR_NOMEM, "demo: out of memory for motifs");
    demo_rng r;
    demo_rng_init(&r, ctx->seed, DEMO_STREAM_MOTIFS);
    bend_status st = BEND_OK;
    for (int id = 0; id < DEMO_NTASKS && st == BEND_OK; id++) {
        demo_task *t = &ctx->task[id];
        const demo_task_spec *spec = t->spec;
        if (spec->kind == DEMO_KIND_GENES) continue;
        t->nmotif = spec->kind == DEMO_KIND_MULTILABEL ? spec->depth : 1;
        t->motif_len = spec->kind == DEMO_KIND_ENHANCER ? DEMO_ENH_MOTIF_LEN : DEMO_MOTIF_LEN;
        t->motif = calloc(t->nmotif, sizeof *t->motif);
        if (!t->motif) {
            st = bend_fail(err, BEND_ERR_NOMEM, "demo: out of memory for motifs");
            break;
        }
        for (unsigned j = 0; j < t->nmotif && st == BEND_OK; j++)
            st = draw(&pool, &r, t->motif_len, t->motif[j], err);
    }
    free(pool.m);
    return st;
}
