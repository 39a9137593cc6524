/* HyenaDNA (BEND's bend/models/hyena_dna.py LMBackbone, the standalone LongSafari checkpoints):
 * word embeddings (+ learned positions if configured), n pre-norm blocks
 *   x = x + out_proj(Hyena(in_proj(LN1(x))));  x = x + fc2(GELU_tanh(fc1(LN2(x))))
 * and ln_f. The Hyena operator of order N: in_proj to (N+1) d channels, a causal depthwise
 * kernel-3 conv, split into x_0 .. x_{N-1}, v; for o = 0 .. N-2: v = longconv_o(v * x_{N-1-o})
 * (implicit filter + skip term); y = v * x_0. Layer 0 = embeddings, i = residual stream after
 * block i; -1 = ln_f output (what BEND embeds).
 * The filters' spectra are cached in the lm per window length (hyena_filter.h), so one lm must
 * not run two forwards at the same time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_families.h"
#include "models/model_tensors.h"
#include "models/seqlm/hyena_filter.h"
#include "models/seqlm/seqlm_common.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"

/* Filter spectra kept across forwards, all layers and lengths together. A length's spectra take
 * about 8 * d_model * (order-1) * L bytes per layer: 2 GiB keeps every layer of the 256-wide,
 * 8-layer models up to ~130k tokens; longer windows recompute them per forward. */
#define HYENA_SPECTRUM_BUDGET ((size_t)2 << 30)
/* rows of the MLP evaluated at once (bounds its d_inner-wide scratch) */
enum { MLP_ROWS = 4096 };

typedef struct hyena_layer {
    float *in_w, *in_b, *out_w, *out_b, *sf_w, *sf_b, *dskip;
    float *n1_w, *n1_b, *n2_w, *n2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    hyena_filter filter;
} hyena_layer;

typedef struct hyena_lm {
    bend_lm base;
    const bend_ops *ops;
    int64_t D, order, d_inner, vocab, l_max, pos_rows, short_k;
    float eps;
    char what[4200];
    float *emb, *pos, *lnf_w, *lnf_b;
    hyena_layer *layers;
    hyena_spec_cache cache;
} hyena_lm;

static void layer_free(hyena_layer *l)
{
    float **p[] = {&l->in_w, &l->in_b, &l->out_w, &l->out_b, &l->sf_w, &l->sf_b, &l->dskip,
                   &l->n1_w, &l->n1_b, &l->n2_w, &l->n2_b, &l->fc1_w, &l->fc1_b, &l->fc2_w,
                   &l->fc2_b};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        free(*p[i]);
        *p[i] = NULL;
    }
    hyena_filter_free(&l->filter);
}

static void hyena_destroy(bend_lm *lm)
{
    hyena_lm *m = (hyena_lm *)lm;
    if (m->layers)
        for (int i = 0; i < m->base.n_layers; i++) layer_free(&m->layers[i]);
    free(m->layers);
    free(m->emb);
    free(m->pos);
    free(m->lnf_w);
    free(m->lnf_b);
    hyena_cache_free(&m->cache);
    free(m);
}

/* a[t, c] *= b[t, c] for t < L, c < D (row strides lda, ldb) */
static void mul_rows(int64_t L, int64_t D, float *a, int64_t lda, const float *b, int64_t ldb)
{
    for (int64_t t = 0; t < L; t++)
        for (int64_t c = 0; c < D; c++) a[t * lda + c] *= b[t * ldb + c];
}

/* The Hyena operator's middle part for every window: z [T, (N+1)D] after the short conv in,
 * y [T, D] out (before out_proj). */
static bend_status hyena_mix(hyena_lm *m, int li, int n_windows, const int64_t *offsets,
                             float *z, float *y, bend_error *err)
{
    const hyena_layer *l = &m->layers[li];
    int64_t D = m->D, N = m->order, Z = (N + 1) * D;
    for (int w = 0; w < n_windows; w++) {
        int64_t r0 = offsets[w], L = offsets[w + 1] - r0;
        if (L == 0) continue;
        bend_fftconv *plan = NULL;
        const float *spec = NULL;
        bend_status st = hyena_cache_get(&m->cache, m->ops, &l->filter, li, L, &plan, &spec, err);
        if (st) return st;
        int64_t sf = bend_fftconv_spectrum_floats(plan);
        float *zw = z + r0 * Z, *v = zw + N * D;
        for (int64_t o = 0; o < N - 1; o++) {
            mul_rows(L, D, v, Z, zw + (N - 1 - o) * D, Z);
            if (o < N - 2)
                bend_fftconv_apply(plan, D, spec + o * D * sf, l->dskip + o * D, v, Z, NULL, 0, v,
                                   Z);
            else /* the last step gates with x_0 and writes the operator's output */
                bend_fftconv_apply(plan, D, spec + o * D * sf, l->dskip + o * D, v, Z, zw, Z,
                                   y + r0 * D, D);
        }
    }
    return BEND_OK;
}

static bend_status hyena_forward(bend_lm *lm, int n_windows, const int64_t *offsets,
                                 const int32_t *ids, int layer, float *out, bend_error *err)
{
    hyena_lm *m = (hyena_lm *)lm;
    const bend_ops *o = m->ops;
    int64_t max_len = m->l_max;
    if (m->pos && m->pos_rows < max_len) max_len = m->pos_rows;
    bend_status st = seqlm_check_args(m->what, n_windows, offsets, ids, m->vocab, layer,
                                      m->base.n_layers, max_len, err);
    if (st) return st;
    int64_t T = offsets[n_windows], D = m->D, Z = (m->order + 1) * D;
    float *x = out; /* the residual stream lives in the caller's buffer */
    bend_op_gather_rows(o, T, D, ids, m->emb, 0.0f, x);
    if (m->pos)
        for (int w = 0; w < n_windows; w++)
            for (int64_t r = offsets[w]; r < offsets[w + 1]; r++)
                for (int64_t c = 0; c < D; c++) x[r * D + c] += m->pos[(r - offsets[w]) * D + c];
    int last = layer < 0 ? m->base.n_layers : layer;
    if (T == 0) return BEND_OK;

    float *u = NULL, *z = NULL, *h = NULL;
    int64_t mlp_rows = T < MLP_ROWS ? T : MLP_ROWS;
    if (last > 0) {
        u = malloc((size_t)(T * D) * sizeof *u);
        z = malloc((size_t)(T * Z) * sizeof *z);
        h = malloc((size_t)(mlp_rows * m->d_inner) * sizeof *h);
        if (!u || !z || !h) {
            st = bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory for %lld tokens", m->what,
                           (long long)T);
            goto done;
        }
    }
    for (int i = 0; i < last; i++) {
        const hyena_layer *l = &m->layers[i];
        bend_op_layernorm(o, T, D, x, l->n1_w, l->n1_b, m->eps, u);
        bend_op_linear(o, T, D, Z, u, D, l->in_w, l->in_b, 0.0f, z, Z);
        bend_op_causal_dwconv(o, n_windows, offsets, Z, m->short_k, l->sf_w, l->sf_b, z, Z, z, Z);
        st = hyena_mix(m, i, n_windows, offsets, z, u, err);
        if (st) goto done;
        bend_op_linear(o, T, D, D, u, D, l->out_w, l->out_b, 1.0f, x, D);
        for (int64_t r0 = 0; r0 < T; r0 += mlp_rows) {
            int64_t n = T - r0 < mlp_rows ? T - r0 : mlp_rows;
            bend_op_layernorm(o, n, D, x + r0 * D, l->n2_w, l->n2_b, m->eps, u);
            bend_op_linear(o, n, D, m->d_inner, u, D, l->fc1_w, l->fc1_b, 0.0f, h, m->d_inner);
            bend_op_activation(o, BEND_OP_ACT_GELU_TANH, n * m->d_inner, h);
            bend_op_linear(o, n, m->d_inner, D, h, m->d_inner, l->fc2_w, l->fc2_b, 1.0f,
                           x + r0 * D, D);
        }
    }
    if (layer < 0) bend_op_layernorm(o, T, D, x, m->lnf_w, m->lnf_b, m->eps, x);
done:
    free(u);
    free(z);
    free(h);
    return st;
}

static const bend_lm_ops hyena_ops = {.forward = hyena_forward, .destroy = hyena_destroy};

static bend_status load_layer(hyena_lm *m, const bend_model_config *cfg, const bend_weights *w,
                              const char *prefix, int i, bend_error *err)
{
    hyena_layer *l = &m->layers[i];
    const bend_hyena_config *y = &cfg->hyena;
    int64_t D = m->D, Z = (m->order + 1) * D, C = D * (m->order - 1), I = m->d_inner;
    /* BEND's loader renames `.mixer` / `.mlp` to `.mixer.layer` / `.mlp.layer` under
     * checkpoint_mixer (model_tensors.c lists the same names) */
    const char *mixer = y->checkpoint_mixer ? "mixer.layer." : "mixer.";
    const char *mlp = y->checkpoint_mixer ? "mlp.layer." : "mlp.";
    char lp[64], mp[128], fp[128];
    snprintf(lp, sizeof lp, "%slayers.%d.", prefix, i);
    snprintf(mp, sizeof mp, "%s%s", lp, mixer);
    snprintf(fp, sizeof fp, "%s%s", lp, mlp);
    const int64_t s_in[2] = {Z, D}, s_z[1] = {Z}, s_dd[2] = {D, D}, s_d[1] = {D},
                  s_sf[3] = {Z, 1, m->short_k}, s_c[1] = {C}, s_fc1[2] = {I, D}, s_i[1] = {I},
                  s_fc2[2] = {D, I};
    bend_status st = seqlm_get(w, mp, "in_proj.weight", 2, s_in, &l->in_w, err);
    if (!st) st = seqlm_get(w, mp, "in_proj.bias", 1, s_z, &l->in_b, err);
    if (!st) st = seqlm_get(w, mp, "out_proj.weight", 2, s_dd, &l->out_w, err);
    if (!st) st = seqlm_get(w, mp, "out_proj.bias", 1, s_d, &l->out_b, err);
    if (!st) st = seqlm_get(w, mp, "short_filter.weight", 3, s_sf, &l->sf_w, err);
    if (!st) st = seqlm_get(w, mp, "short_filter.bias", 1, s_z, &l->sf_b, err);
    if (!st) st = seqlm_get(w, mp, "filter_fn.bias", 1, s_c, &l->dskip, err);
    if (!st) st = seqlm_get(w, lp, "norm1.weight", 1, s_d, &l->n1_w, err);
    if (!st) st = seqlm_get(w, lp, "norm1.bias", 1, s_d, &l->n1_b, err);
    if (!st) st = seqlm_get(w, lp, "norm2.weight", 1, s_d, &l->n2_w, err);
    if (!st) st = seqlm_get(w, lp, "norm2.bias", 1, s_d, &l->n2_b, err);
    if (!st) st = seqlm_get(w, fp, "fc1.weight", 2, s_fc1, &l->fc1_w, err);
    if (!st) st = seqlm_get(w, fp, "fc1.bias", 1, s_i, &l->fc1_b, err);
    if (!st) st = seqlm_get(w, fp, "fc2.weight", 2, s_fc2, &l->fc2_w, err);
    if (!st) st = seqlm_get(w, fp, "fc2.bias", 1, s_d, &l->fc2_b, err);
    if (!st) {
        char mixer_at[160];
        snprintf(mixer_at, sizeof mixer_at, "layers.%d.%s", i, mixer);
        st = hyena_filter_load(&l->filter, cfg, w, prefix, mixer_at, err);
    }
    return st;
}

bend_status bend_hyena_lm_open(const bend_model_config *cfg, const bend_weights *w,
                               const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    bend_status st = seqlm_check_device(cfg, dev, err);
    if (st) return st;
    if (cfg->arch != BEND_ARCH_HYENA)
        return bend_fail(err, BEND_ERR_INVALID, "%s: not a HyenaDNA configuration",
                         cfg->config_path);
    const char *prefix = "";
    st = bend_model_check_weights(cfg, w, &prefix, err);
    if (st) return st;

    hyena_lm *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening HyenaDNA");
    m->base.ops = &hyena_ops;
    m->base.dim = cfg->hidden_size;
    m->base.n_layers = (int)cfg->num_layers;
    m->ops = bend_ops_cpu();
    m->D = cfg->hidden_size;
    m->order = cfg->hyena.order;
    m->d_inner = cfg->hyena.d_inner;
    m->vocab = cfg->embedding_rows;
    m->l_max = cfg->hyena.l_max;
    m->short_k = cfg->hyena.short_filter_order;
    m->eps = (float)cfg->layer_norm_eps;
    snprintf(m->what, sizeof m->what, "hyenadna (%s)", cfg->config_path);
    m->layers = calloc((size_t)m->base.n_layers, sizeof *m->layers);
    st = m->layers ? hyena_cache_init(&m->cache, m->base.n_layers, HYENA_SPECTRUM_BUDGET, err)
                   : bend_fail(err, BEND_ERR_NOMEM, "out of memory opening HyenaDNA");
    const int64_t s_emb[2] = {m->vocab, m->D}, s_d[1] = {m->D};
    if (!st) st = seqlm_get(w, prefix, "embeddings.word_embeddings.weight", 2, s_emb, &m->emb, err);
    if (!st && cfg->position == BEND_POS_ABSOLUTE) {
        const int64_t s_pos[2] = {-1, m->D};
        st = seqlm_get(w, prefix, "embeddings.position_embeddings.weight", 2, s_pos, &m->pos, err);
        if (!st) {
            char name[256];
            snprintf(name, sizeof name, "%sembeddings.position_embeddings.weight", prefix);
            m->pos_rows = bend_weights_find(w, name)->shape[0];
        }
    }
    if (!st) st = seqlm_get(w, prefix, "ln_f.weight", 1, s_d, &m->lnf_w, err);
    if (!st) st = seqlm_get(w, prefix, "ln_f.bias", 1, s_d, &m->lnf_b, err);
    for (int i = 0; i < m->base.n_layers && !st; i++) st = load_layer(m, cfg, w, prefix, i, err);
    if (st) {
        hyena_destroy(&m->base);
        return st;
    }
    *out = &m->base;
    return BEND_OK;
}
