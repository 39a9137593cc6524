/* The window editor: a sample's interval copied out in read orientation, motifs planted into it,
 * chance motif occurrences re-drawn away, then copied back (reverse-complemented for '-'). */
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

char demo_complement(char b)
{
    switch (b) {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    case 'a': return 't';
    case 'c': return 'g';
    case 'g': return 'c';
    case 't': return 'a';
    default: return b;
    }
}

void demo_revcomp(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = demo_complement(src[n - 1 - i]);
}

static int base_code(char b)
{
    switch (b) {
    case 'A': return 0;
    case 'C': return 1;
    case 'G': return 2;
    case 'T': return 3;
    default: return -1;
    }
}

bool demo_kmers_add(demo_kmers *set, const char *kmer, unsigned id)
{
    if (set->n >= sizeof set->code / sizeof *set->code || set->k == 0 || set->k > 16) return false;
    uint32_t code = 0;
    for (unsigned i = 0; i < set->k; i++) {
        int c = base_code(kmer[i]);
        if (c < 0) return false;
        code = (code << 2) | (uint32_t)c;
    }
    set->code[set->n] = code;
    set->id[set->n] = (uint16_t)id;
    set->n++;
    return true;
}

void demo_kmers_sort(demo_kmers *set)
{
    for (size_t i = 1; i < set->n; i++)
        for (size_t j = i; j > 0 && set->code[j - 1] > set->code[j]; j--) {
            uint32_t c = set->code[j];
            set->code[j] = set->code[j - 1];
            set->code[j - 1] = c;
            uint16_t d = set->id[j];
            set->id[j] = set->id[j - 1];
            set->id[j - 1] = d;
        }
}

static int kmers_find(const demo_kmers *set, uint32_t code)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (set->code[mid] < code) lo = mid + 1;
        else hi = mid;
    }
    return lo < set->n && set->code[lo] == code ? set->id[lo] : -1;
}

bend_status demo_window_load(demo_window *w, const demo_genome *g, uint64_t gstart, size_t len,
                             bool minus, bend_error *err)
{
    if (len > w->cap) {
        char *seq = realloc(w->seq, len);
        if (!seq) return bend_fail(err, BEND_ERR_NOMEM, "demo window of %zu nt: out of memory", len);
        w->seq = seq;
        uint8_t *prot = realloc(w->prot, len);
        if (!prot) return bend_fail(err, BEND_ERR_NOMEM, "demo window of %zu nt: out of memory", len);
        w->prot = prot;
        w->cap = len;
    }
    w->len = len;
    w->gstart = gstart;
    w->minus = minus;
    if (minus) demo_revcomp(w->seq, g->seq + gstart, len);
    else memcpy(w->seq, g->seq + gstart, len);
    memset(w->prot, 0, len);
    return BEND_OK;
}

void demo_window_store(const demo_window *w, demo_genome *g)
{
    char *dst = g->seq + w->gstart;
    if (w->minus) demo_revcomp(dst, w->seq, w->len);
    else memcpy(dst, w->seq, w->len);
    for (size_t i = 0; i < w->len; i++)
        if (w->prot[i]) demo_protect(g, w->gstart + (w->minus ? w->len - 1 - i : i));
}

void demo_window_free(demo_window *w)
{
    free(w->seq);
    free(w->prot);
    memset(w, 0, sizeof *w);
}

void demo_window_plant(demo_window *w, size_t pos, const char *motif, size_t mlen)
{
    memcpy(w->seq + pos, motif, mlen);
    memset(w->prot + pos, 1, mlen);
}

bool demo_place_copies(demo_rng *r, size_t lo, size_t span, size_t k, size_t m, size_t *pos)
{
    if (m == 0) return true;
    size_t need = m * k + (m - 1);
    if (need > span) return false;
    size_t slack = span - need;
    /* m sorted draws from [0, slack], then copy i is pushed right by i * (k + 1). */
    for (size_t i = 0; i < m; i++) {
        size_t x = (size_t)demo_rng_range(r, 0, slack), j = i;
        while (j > 0 && pos[j - 1] > x) {
            pos[j] = pos[j - 1];
            j--;
        }
        pos[j] = x;
    }
    for (size_t i = 0; i < m; i++) pos[i] += lo + i * (k + 1);
    return true;
}

static bool is_planted(const size_t *planted, size_t n, size_t p)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (planted[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && planted[lo] == p;
}

bend_status demo_window_purge(demo_window *w, demo_rng *r, const demo_kmers *set,
                              const uint64_t allowed[2], const size_t *planted, size_t nplanted,
                              bend_error *err)
{
    const unsigned k = set->k;
    const uint32_t mask = k >= 16 ? 0xffffffffu : ((1u << (2 * k)) - 1);
    size_t i = 0, valid = 0, redraws = 0;
    uint32_t code = 0;
    while (i < w->len) {
        int c = base_code(w->seq[i]);
        i++;
        if (c < 0) {
            valid = 0;
            continue;
        }
        code = ((code << 2) | (uint32_t)c) & mask;
        if (++valid < k) continue;
        int id = kmers_find(set, code);
        if (id < 0) continue;
        size_t start = i - k;
        if ((allowed[id >> 6] >> (id & 63)) & 1u) continue;
        if (is_planted(planted, nplanted, start)) continue;
        /* A forbidden occurrence: change one unplanted base inside it, then rescan from the
         * first occurrence that base could belong to. */
        size_t free_pos[16], nfree = 0;
        for (size_t j = start; j < start + k; j++)
            if (!w->prot[j]) free_pos[nfree++] = j;
        if (nfree == 0 || ++redraws > 100000)
            return bend_fail(err, BEND_ERR_INTERNAL,
                             "demo: cannot remove a chance motif occurrence at %zu of a window", start);
        size_t q = free_pos[demo_rng_below(r, nfree)];
        w->seq[q] = demo_rng_other_base(r, w->seq[q]);
        i = start >= k ? start - k + 1 : 0;
        valid = 0;
    }
    return BEND_OK;
}
