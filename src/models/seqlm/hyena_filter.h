/* HyenaDNA's implicit long filter (BEND's hyena_dna.py HyenaFilter) and the per-length cache of
 * its spectra that the forward pass convolves with.
 *
 * Filter row i (i < L <= l_max) from the stored positional features z[i] ([emb_dim]) and t[i]:
 *   a = sin(f1 * (W0 z + b0)); a = sin(f3 * (W2 a + b2)); a = sin(f5 * (W4 a + b4)); h = W6 a
 *   k[i, c] = h[c] * (exp(-t[i] |deltas_c|) + shift)          (modulate; else k = h)
 * with one channel per (step, model channel): c = o * d_model + j for Hyena step o. */
#ifndef BEND_MODELS_SEQLM_HYENA_FILTER_H
#define BEND_MODELS_SEQLM_HYENA_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint/weights.h"
#include "core/error.h"
#include "models/model_config.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"

typedef struct hyena_filter {
    int64_t E, F, C, l_max; /* emb_dim, filter_order (MLP width), channels, grid rows */
    float *z, *t;           /* [l_max, E], [l_max] */
    float *w0, *b0, *w2, *b2, *w4, *b4, *w6; /* [F,E],[F],[F,F],[F],[F,F],[F],[C,F] */
    float *freq[3];         /* [F] each (one shared Sin module, stored under three keys) */
    float *deltas;          /* [C] */
    bool modulate;
    float shift;
} hyena_filter;

/* Loads the filter tensors under "<prefix><mixer>filter_fn.". */
bend_status hyena_filter_load(hyena_filter *f, const bend_model_config *cfg,
                              const bend_weights *w, const char *prefix, const char *mixer,
                              bend_error *err);
void hyena_filter_free(hyena_filter *f);

/* k [L, C] = filter rows 0..L-1. */
bend_status hyena_filter_rows(const bend_ops *o, const hyena_filter *f, int64_t L, float *k,
                              bend_error *err);

/* Spectra of every layer's filter per sequence length, with their FFT plans. Lengths are kept
 * least-recently-used first out; spectra are kept while they fit in `budget` bytes, beyond that
 * they are recomputed per forward into a scratch buffer. */
enum { HYENA_CACHE_SLOTS = 8 };

typedef struct hyena_spec_slot {
    int64_t L;            /* 0: empty */
    bend_fftconv *plan;
    float **spec;         /* [n_layers], NULL where not kept */
    uint64_t used;
} hyena_spec_slot;

typedef struct hyena_spec_cache {
    int n_layers;
    size_t budget, bytes;
    uint64_t clock;
    hyena_spec_slot slot[HYENA_CACHE_SLOTS];
    float *scratch;
    size_t scratch_floats;
} hyena_spec_cache;

bend_status hyena_cache_init(hyena_spec_cache *c, int n_layers, size_t budget, bend_error *err);
void hyena_cache_free(hyena_spec_cache *c);

/* The plan for length L and the spectrum [C][spectrum_floats] of `filter` (layer `layer`) for
 * it, computed if not cached. *spec stays valid until the next call. */
bend_status hyena_cache_get(hyena_spec_cache *c, const bend_ops *o, const hyena_filter *filter,
                            int layer, int64_t L, bend_fftconv **plan, const float **spec,
                            bend_error *err);

#endif
