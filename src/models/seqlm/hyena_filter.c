/* HyenaDNA's implicit filter rows and the cache of their FFT spectra per length. */
#include "models/seqlm/hyena_filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/seqlm/seqlm_common.h"

/* rows of the filter MLP evaluated at once (bounds the scratch to 2 * ROWS * F floats) */
enum { FILTER_ROWS = 4096 };

bend_status hyena_filter_load(hyena_filter *f, const bend_model_config *cfg,
                              const bend_weights *w, const char *prefix, const char *mixer,
                              bend_error *err)
{
    const bend_hyena_config *y = &cfg->hyena;
    memset(f, 0, sizeof *f);
    f->E = y->emb_dim;
    f->F = y->filter_order;
    f->C = cfg->hidden_size * (y->order - 1);
    f->l_max = y->l_max;
    f->modulate = y->modulate;
    f->shift = (float)y->modulation_shift;
    char p[256];
    snprintf(p, sizeof p, "%s%sfilter_fn.", prefix, mixer);
    int64_t E = f->E, F = f->F, C = f->C, Lm = f->l_max;
    const int64_t s_z[3] = {1, Lm, E}, s_t[3] = {1, Lm, 1}, s_fe[2] = {F, E}, s_f[1] = {F},
                  s_ff[2] = {F, F}, s_cf[2] = {C, F}, s_freq[2] = {1, F}, s_d[3] = {1, 1, C};
    bend_status st = seqlm_get(w, p, "pos_emb.z", 3, s_z, &f->z, err);
    if (!st) st = seqlm_get(w, p, "pos_emb.t", 3, s_t, &f->t, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.0.weight", 2, s_fe, &f->w0, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.0.bias", 1, s_f, &f->b0, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.1.freq", 2, s_freq, &f->freq[0], err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.2.weight", 2, s_ff, &f->w2, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.2.bias", 1, s_f, &f->b2, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.3.freq", 2, s_freq, &f->freq[1], err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.4.weight", 2, s_ff, &f->w4, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.4.bias", 1, s_f, &f->b4, err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.5.freq", 2, s_freq, &f->freq[2], err);
    if (!st) st = seqlm_get(w, p, "implicit_filter.6.weight", 2, s_cf, &f->w6, err);
    if (!st) st = seqlm_get(w, p, "modulation.deltas", 3, s_d, &f->deltas, err);
    if (st) hyena_filter_free(f);
    return st;
}

void hyena_filter_free(hyena_filter *f)
{
    free(f->z);
    free(f->t);
    free(f->w0);
    free(f->b0);
    free(f->w2);
    free(f->b2);
    free(f->w4);
    free(f->b4);
    free(f->w6);
    for (int i = 0; i < 3; i++) free(f->freq[i]);
    free(f->deltas);
    memset(f, 0, sizeof *f);
}

/* a[r, j] = sin(freq[j] * a[r, j]): the Sin module (torch multiplies, then takes sin, in fp32) */
static void sin_act(int64_t rows, int64_t F, const float *freq, float *a)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < F; j++) a[r * F + j] = sinf(freq[j] * a[r * F + j]);
}

bend_status hyena_filter_rows(const bend_ops *o, const hyena_filter *f, int64_t L, float *k,
                              bend_error *err)
{
    int64_t F = f->F, C = f->C, E = f->E;
    int64_t blk = L < FILTER_ROWS ? L : FILTER_ROWS;
    float *a = malloc((size_t)(2 * blk * F) * sizeof *a);
    if (!a) return bend_fail(err, BEND_ERR_NOMEM, "out of memory computing a Hyena filter");
    float *b = a + blk * F;
    for (int64_t r0 = 0; r0 < L; r0 += blk) {
        int64_t n = L - r0 < blk ? L - r0 : blk;
        bend_op_linear(o, n, E, F, f->z + r0 * E, E, f->w0, f->b0, 0.0f, a, F);
        sin_act(n, F, f->freq[0], a);
        bend_op_linear(o, n, F, F, a, F, f->w2, f->b2, 0.0f, b, F);
        sin_act(n, F, f->freq[1], b);
        bend_op_linear(o, n, F, F, b, F, f->w4, f->b4, 0.0f, a, F);
        sin_act(n, F, f->freq[2], a);
        float *kr = k + r0 * C;
        bend_op_linear(o, n, F, C, a, F, f->w6, NULL, 0.0f, kr, C);
        if (f->modulate)
            for (int64_t r = 0; r < n; r++) {
                float t = f->t[r0 + r];
                for (int64_t c = 0; c < C; c++)
                    kr[r * C + c] *= expf(-t * fabsf(f->deltas[c])) + f->shift;
            }
    }
    free(a);
    return BEND_OK;
}

bend_status hyena_cache_init(hyena_spec_cache *c, int n_layers, size_t budget, bend_error *err)
{
    memset(c, 0, sizeof *c);
    c->n_layers = n_layers;
    c->budget = budget;
    for (int s = 0; s < HYENA_CACHE_SLOTS; s++) {
        c->slot[s].spec = calloc((size_t)n_layers, sizeof *c->slot[s].spec);
        if (!c->slot[s].spec) {
            hyena_cache_free(c);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory for the Hyena filter cache");
        }
    }
    return BEND_OK;
}

static void slot_drop_spectra(hyena_spec_cache *c, hyena_spec_slot *s)
{
    if (!s->spec) return;
    for (int i = 0; i < c->n_layers; i++) {
        free(s->spec[i]);
        s->spec[i] = NULL;
    }
}

static void slot_clear(hyena_spec_cache *c, hyena_spec_slot *s)
{
    slot_drop_spectra(c, s);
    bend_fftconv_destroy(s->plan);
    s->plan = NULL;
    s->L = 0;
}

void hyena_cache_free(hyena_spec_cache *c)
{
    for (int s = 0; s < HYENA_CACHE_SLOTS; s++) {
        slot_clear(c, &c->slot[s]);
        free(c->slot[s].spec);
    }
    free(c->scratch);
    memset(c, 0, sizeof *c);
}

static hyena_spec_slot *lru_other(hyena_spec_cache *c, const hyena_spec_slot *keep,
                                  bool with_spectra)
{
    hyena_spec_slot *best = NULL;
    for (int s = 0; s < HYENA_CACHE_SLOTS; s++) {
        hyena_spec_slot *x = &c->slot[s];
        if (x == keep || !x->L) continue;
        if (with_spectra) {
            bool any = false;
            for (int i = 0; i < c->n_layers; i++) any |= x->spec[i] != NULL;
            if (!any) continue;
        }
        if (!best || x->used < best->used) best = x;
    }
    return best;
}

static size_t slot_bytes(const hyena_spec_cache *c, const hyena_spec_slot *s, int64_t C)
{
    size_t n = 0;
    for (int i = 0; i < c->n_layers; i++)
        if (s->spec[i]) n += (size_t)(C * bend_fftconv_spectrum_floats(s->plan)) * sizeof(float);
    return n;
}

bend_status hyena_cache_get(hyena_spec_cache *c, const bend_ops *o, const hyena_filter *filter,
                            int layer, int64_t L, bend_fftconv **plan, const float **spec,
                            bend_error *err)
{
    int64_t C = filter->C;
    hyena_spec_slot *s = NULL;
    for (int i = 0; i < HYENA_CACHE_SLOTS && !s; i++)
        if (c->slot[i].L == L) s = &c->slot[i];
    if (!s) {
        for (int i = 0; i < HYENA_CACHE_SLOTS && !s; i++)
            if (!c->slot[i].L) s = &c->slot[i];
        if (!s) {
            s = lru_other(c, NULL, false);
            c->bytes -= slot_bytes(c, s, C);
            slot_clear(c, s);
        }
        bend_status st = bend_fftconv_create(o, L, &s->plan, err);
        if (st) return st;
        s->L = L;
    }
    s->used = ++c->clock;
    *plan = s->plan;
    if (s->spec[layer]) {
        *spec = s->spec[layer];
        return BEND_OK;
    }
    size_t floats = (size_t)(C * bend_fftconv_spectrum_floats(s->plan));
    size_t bytes = floats * sizeof(float);
    /* make room by dropping the spectra of the lengths used longest ago */
    while (c->bytes + bytes > c->budget) {
        hyena_spec_slot *victim = lru_other(c, s, true);
        if (!victim) break;
        c->bytes -= slot_bytes(c, victim, C);
        slot_drop_spectra(c, victim);
    }
    float *dst = NULL;
    bool keep = c->bytes + bytes <= c->budget;
    if (keep) {
        dst = malloc(bytes);
        keep = dst != NULL;
    }
    if (!keep) {
        if (c->scratch_floats < floats) {
            float *n = realloc(c->scratch, bytes);
            if (!n)
                return bend_fail(err, BEND_ERR_NOMEM,
                                 "out of memory for a Hyena filter spectrum of length %lld",
                                 (long long)L);
            c->scratch = n;
            c->scratch_floats = floats;
        }
        dst = c->scratch;
    }
    float *k = malloc((size_t)(L * C) * sizeof *k);
    bend_status st = k ? hyena_filter_rows(o, filter, L, k, err)
                       : bend_fail(err, BEND_ERR_NOMEM,
                                   "out of memory for a Hyena filter of length %lld", (long long)L);
    if (!st) bend_fftconv_filter_spectrum(s->plan, C, k, C, dst);
    free(k);
    if (st) {
        if (keep) free(dst);
        return st;
    }
    if (keep) {
        s->spec[layer] = dst;
        c->bytes += bytes;
    }
    *spec = dst;
    return BEND_OK;
}
