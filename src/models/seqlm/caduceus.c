/* Caduceus (kuleshov-group/caduceus CaduceusMixerModel on mamba_ssm 1.2.0.post1; spec
 * pipeline-and-nontransformer-models.md section 4), fused add+norm as released and trained.
 *
 * Per strand, D = d_model channels; hidden rows are W = D wide, or 2D with RCPS ("ps": forward
 * half | reverse-complement half). One Mamba direction over u [L, D]:
 *   xz = u W_in^T; x = SiLU(causal_dwconv(xz[:, :E])); p = x W_x^T = [dt | B | C];
 *   delta = softplus(dt W_dt^T + b_dt); y = scan(x, delta, -exp(A_log), B, C, D) * SiLU(xz[:, E:]);
 *   out = y W_out^T
 * BiMamba(u) = M_fwd(u) (+ or *) flip_L(M_rev(flip_L(u))), M_rev sharing in/out projections when
 * tied. Block: res = h + res (the first: res = h); h = BiMamba(norm(res)). Final: norm_f(h + res).
 *
 * RCPS. A per-row norm commutes with flipping the sequence, and flipping the channels of its
 * input only reverses which weight meets which channel, so flip_LC(norm(flip_LC(a))) is norm(a)
 * with the weight (and bias) reversed: the "rc" half is normed with reversed weights, no flips.
 * The fused block (modeling_rcps.py RCPSMambaBlock) takes its forward half from the SECOND
 * channel half and its rc half from the first, i.e. swaps the halves of res at every block;
 * the final norm does not swap. The mixer runs the one BiMamba on x[:, :D] and on
 * flip_LC(x[:, D:]), flipping the latter's output back. The embedding's rc half is
 * E[comp(id), D-1-c] (flip_LC of the embedded reverse complement, row for row).
 *
 * Hidden states as HF's output_hidden_states lists them: 0 = embeddings, j = 1..n_layer-1 = the
 * mixer output of block j-1 (without the residual), n_layer = -1 = the final norm, which is
 * what BEND's CaduceusEmbedder takes (hidden_states[-1]). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_families.h"
#include "models/model_tensors.h"
#include "models/seqlm/seqlm_common.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"

typedef struct mamba_dir {
    float *in_w, *in_b, *out_w, *out_b; /* NULL in a tied mamba_rev: mamba_fwd's are used */
    float *conv_w, *conv_b, *x_w, *dt_w, *dt_b;
    float *A; /* -exp(A_log) [E, N], computed at open as the forward does */
    float *Dp;
} mamba_dir;

typedef struct cad_norm {
    float *w, *b;         /* b: LayerNorm only */
    float *w_rev, *b_rev; /* channel-reversed copies for RCPS's rc half */
} cad_norm;

typedef struct cad_layer {
    mamba_dir fwd, rev;
    cad_norm norm;
} cad_layer;

typedef struct caduceus_lm {
    bend_lm base;
    const bend_ops *ops;
    int64_t D, E, N, R, K, W, rows;
    bool rcps, bidirectional, ew_multiply, layernorm, in_bias, out_bias, conv_bias;
    float eps;
    char what[4200];
    float *emb;
    int32_t *comp; /* [rows]; RCPS only */
    cad_layer *layers;
    cad_norm norm_f;
} caduceus_lm;

/* Scratch of one forward call, sized for T rows. */
typedef struct cad_work {
    float *h, *res, *hn;          /* [T, W] */
    float *s_in, *s_out, *flip;   /* [T, D] one strand */
    float *xz, *xc, *p, *delta;   /* [T, 2E], [T, E], [T, R + 2N], [T, E] */
    void *scan_ws;
} cad_work;

static void mamba_free(mamba_dir *m)
{
    free(m->in_w);
    free(m->in_b);
    free(m->out_w);
    free(m->out_b);
    free(m->conv_w);
    free(m->conv_b);
    free(m->x_w);
    free(m->dt_w);
    free(m->dt_b);
    free(m->A);
    free(m->Dp);
}

static void norm_free(cad_norm *n)
{
    free(n->w);
    free(n->b);
    free(n->w_rev);
    free(n->b_rev);
}

static void caduceus_destroy(bend_lm *lm)
{
    caduceus_lm *m = (caduceus_lm *)lm;
    if (m->layers) {
        for (int j = 0; j < m->base.n_layers; j++) {
            mamba_free(&m->layers[j].fwd);
            mamba_free(&m->layers[j].rev);
            norm_free(&m->layers[j].norm);
        }
        free(m->layers);
    }
    norm_free(&m->norm_f);
    free(m->emb);
    free(m->comp);
    free(m);
}

/* RMSNorm (mamba_ssm rms_norm_ref: x * w / sqrt(mean(x^2) + eps), no bias) or LayerNorm over
 * the D channels of each row; x and y strided, y may be x. */
static void norm_rows(const caduceus_lm *m, int64_t T, const float *x, int64_t ldx,
                      const float *w, const float *b, float *y, int64_t ldy)
{
    int64_t D = m->D;
    for (int64_t t = 0; t < T; t++) {
        const float *xr = x + t * ldx;
        float *yr = y + t * ldy;
        double mean = 0.0, sq = 0.0;
        if (m->layernorm) {
            for (int64_t c = 0; c < D; c++) mean += xr[c];
            mean /= (double)D;
        }
        for (int64_t c = 0; c < D; c++) {
            double v = xr[c] - mean;
            sq += v * v;
        }
        float rstd = (float)(1.0 / sqrt(sq / (double)D + m->eps));
        for (int64_t c = 0; c < D; c++) {
            float v = (xr[c] - (float)mean) * rstd * w[c];
            yr[c] = b ? v + b[c] : v;
        }
    }
}

/* dst[r0 + t, c] = src[r0 + t', c'] per window, t' = L-1-t when flip_l, c' = D-1-c when flip_c. */
static void flip_copy(int n_windows, const int64_t *offsets, int64_t D, const float *src,
                      int64_t lds, float *dst, int64_t ldd, bool flip_l, bool flip_c)
{
    for (int w = 0; w < n_windows; w++) {
        int64_t r0 = offsets[w], L = offsets[w + 1] - r0;
        for (int64_t t = 0; t < L; t++) {
            const float *s = src + (r0 + (flip_l ? L - 1 - t : t)) * lds;
            float *d = dst + (r0 + t) * ldd;
            if (flip_c)
                for (int64_t c = 0; c < D; c++) d[c] = s[D - 1 - c];
            else
                memcpy(d, s, (size_t)D * sizeof *d);
        }
    }
}

/* softplus as torch.nn.functional.softplus (threshold 20) and the CUDA kernel */
static inline float softplus(float a) { return a <= 20.0f ? log1pf(expf(a)) : a; }

/* One Mamba direction: u [T, D] -> out [T, D] (distinct from u). */
static void mamba_apply(const caduceus_lm *m, const mamba_dir *d, const mamba_dir *tied,
                        int n_windows, const int64_t *offsets, int64_t T, const float *u,
                        float *out, cad_work *wk)
{
    const bend_ops *o = m->ops;
    int64_t D = m->D, E = m->E, N = m->N, R = m->R, P = R + 2 * N;
    const float *in_w = d->in_w ? d->in_w : tied->in_w, *in_b = d->in_w ? d->in_b : tied->in_b;
    const float *out_w = d->out_w ? d->out_w : tied->out_w;
    const float *out_b = d->out_w ? d->out_b : tied->out_b;
    bend_op_linear(o, T, D, 2 * E, u, D, in_w, in_b, 0.0f, wk->xz, 2 * E);
    bend_op_causal_dwconv(o, n_windows, offsets, E, m->K, d->conv_w, d->conv_b, wk->xz, 2 * E,
                          wk->xc, E);
    bend_op_activation(o, BEND_OP_ACT_SILU, T * E, wk->xc);
    bend_op_linear(o, T, E, P, wk->xc, E, d->x_w, NULL, 0.0f, wk->p, P);
    bend_op_linear(o, T, R, E, wk->p, P, d->dt_w, d->dt_b, 0.0f, wk->delta, E);
    for (int64_t i = 0; i < T * E; i++) wk->delta[i] = softplus(wk->delta[i]);
    /* y overwrites delta: each row is read before it is written */
    bend_op_selective_scan(o, n_windows, offsets, E, N, wk->xc, E, wk->delta, E, d->A, wk->p + R,
                           P, wk->p + R + N, P, d->Dp, wk->xz + E, 2 * E, wk->delta, E,
                           wk->scan_ws);
    bend_op_linear(o, T, E, D, wk->delta, E, out_w, out_b, 0.0f, out, D);
}

/* BiMamba: wk->s_in [T, D] -> wk->s_out [T, D]. */
static void bimamba(const caduceus_lm *m, const cad_layer *l, int n_windows,
                    const int64_t *offsets, int64_t T, cad_work *wk)
{
    int64_t D = m->D;
    mamba_apply(m, &l->fwd, &l->fwd, n_windows, offsets, T, wk->s_in, wk->s_out, wk);
    if (!m->bidirectional) return;
    /* s_in is not needed after this: it takes the flipped input, flip the result */
    flip_copy(n_windows, offsets, D, wk->s_in, D, wk->flip, D, true, false);
    mamba_apply(m, &l->rev, &l->fwd, n_windows, offsets, T, wk->flip, wk->s_in, wk);
    for (int w = 0; w < n_windows; w++) {
        int64_t r0 = offsets[w], L = offsets[w + 1] - r0;
        for (int64_t t = 0; t < L; t++) {
            const float *rv = wk->s_in + (r0 + L - 1 - t) * D;
            float *ov = wk->s_out + (r0 + t) * D;
            if (m->ew_multiply)
                for (int64_t c = 0; c < D; c++) ov[c] *= rv[c];
            else
                for (int64_t c = 0; c < D; c++) ov[c] += rv[c];
        }
    }
}

/* The mixer: wk->hn [T, W] -> wk->h [T, W]. */
static void mixer(const caduceus_lm *m, const cad_layer *l, int n_windows, const int64_t *offsets,
                  int64_t T, cad_work *wk)
{
    int64_t D = m->D, W = m->W;
    flip_copy(n_windows, offsets, D, wk->hn, W, wk->s_in, D, false, false);
    bimamba(m, l, n_windows, offsets, T, wk);
    flip_copy(n_windows, offsets, D, wk->s_out, D, wk->h, W, false, false);
    if (!m->rcps) return;
    flip_copy(n_windows, offsets, D, wk->hn + D, W, wk->s_in, D, true, true);
    bimamba(m, l, n_windows, offsets, T, wk);
    flip_copy(n_windows, offsets, D, wk->s_out, D, wk->h + D, W, true, true);
}

/* Fused add+norm of a block: res = h + res (first: h), hn = norm(res); with RCPS the halves of
 * res swap and the rc half is normed with the reversed weights (see the top of the file). */
static void block_add_norm(const caduceus_lm *m, const cad_norm *n, bool first, int64_t T,
                           cad_work *wk)
{
    int64_t D = m->D, W = m->W;
    if (first)
        memcpy(wk->res, wk->h, (size_t)(T * W) * sizeof *wk->res);
    else
        bend_op_add(m->ops, T * W, wk->h, wk->res);
    if (m->rcps)
        for (int64_t t = 0; t < T; t++) {
            float *r = wk->res + t * W;
            for (int64_t c = 0; c < D; c++) {
                float v = r[c];
                r[c] = r[D + c];
                r[D + c] = v;
            }
        }
    norm_rows(m, T, wk->res, W, n->w, n->b, wk->hn, W);
    if (m->rcps) norm_rows(m, T, wk->res + D, W, n->w_rev, n->b_rev, wk->hn + D, W);
}

static void embed(const caduceus_lm *m, int64_t T, const int32_t *ids, float *out)
{
    int64_t D = m->D, W = m->W;
    for (int64_t t = 0; t < T; t++) {
        memcpy(out + t * W, m->emb + ids[t] * D, (size_t)D * sizeof *out);
        if (m->rcps) {
            const float *e = m->emb + (int64_t)m->comp[ids[t]] * D;
            for (int64_t c = 0; c < D; c++) out[t * W + D + c] = e[D - 1 - c];
        }
    }
}

static void work_free(cad_work *wk)
{
    free(wk->h);
    free(wk->res);
    free(wk->hn);
    free(wk->s_in);
    free(wk->s_out);
    free(wk->flip);
    free(wk->xz);
    free(wk->xc);
    free(wk->p);
    free(wk->delta);
    free(wk->scan_ws);
}

static bool work_alloc(const caduceus_lm *m, int64_t T, cad_work *wk)
{
    size_t f = sizeof(float);
    int64_t W = m->W, D = m->D, E = m->E;
    wk->h = malloc((size_t)(T * W) * f);
    wk->res = malloc((size_t)(T * W) * f);
    wk->hn = malloc((size_t)(T * W) * f);
    wk->s_in = malloc((size_t)(T * D) * f);
    wk->s_out = malloc((size_t)(T * D) * f);
    wk->flip = malloc((size_t)(T * D) * f);
    wk->xz = malloc((size_t)(T * 2 * E) * f);
    wk->xc = malloc((size_t)(T * E) * f);
    wk->p = malloc((size_t)(T * (m->R + 2 * m->N)) * f);
    wk->delta = malloc((size_t)(T * E) * f);
    wk->scan_ws = malloc(bend_op_selective_scan_workspace(m->ops, E, m->N));
    return wk->h && wk->res && wk->hn && wk->s_in && wk->s_out && wk->flip && wk->xz && wk->xc &&
           wk->p && wk->delta && wk->scan_ws;
}

static bend_status caduceus_forward(bend_lm *lm, int n_windows, const int64_t *offsets,
                                    const int32_t *ids, int layer, float *out, bend_error *err)
{
    caduceus_lm *m = (caduceus_lm *)lm;
    bend_status st = seqlm_check_args(m->what, n_windows, offsets, ids, m->rows, layer,
                                      m->base.n_layers, 0, err);
    if (st) return st;
    int64_t T = offsets[n_windows], W = m->W;
    int n = m->base.n_layers;
    if (layer == 0 || T == 0) {
        embed(m, T, ids, out);
        return BEND_OK;
    }
    cad_work wk = {0};
    if (!work_alloc(m, T, &wk)) {
        work_free(&wk);
        return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory for %lld tokens", m->what,
                         (long long)T);
    }
    embed(m, T, ids, wk.h);
    /* layer j < n: the mixer output of block j-1; layer n (-1): all blocks, then norm_f */
    int blocks = layer < 0 || layer == n ? n : layer;
    for (int j = 0; j < blocks; j++) {
        block_add_norm(m, &m->layers[j].norm, j == 0, T, &wk);
        mixer(m, &m->layers[j], n_windows, offsets, T, &wk);
    }
    if (blocks < n) {
        memcpy(out, wk.h, (size_t)(T * W) * sizeof *out);
    } else {
        bend_op_add(m->ops, T * W, wk.h, wk.res);
        norm_rows(m, T, wk.res, W, m->norm_f.w, m->norm_f.b, out, W);
        if (m->rcps)
            norm_rows(m, T, wk.res + m->D, W, m->norm_f.w_rev, m->norm_f.b_rev, out + m->D, W);
    }
    work_free(&wk);
    return BEND_OK;
}

static const bend_lm_ops caduceus_ops = {.forward = caduceus_forward,
                                         .destroy = caduceus_destroy};

/* The first of the family's prefixes under which norm_f.weight exists. */
static const char *detect_prefix(const bend_model_config *cfg, const bend_weights *w)
{
    const char *const *p = bend_model_tensor_prefixes(cfg);
    for (; *p; p++) {
        char name[256];
        snprintf(name, sizeof name, "%snorm_f.weight", *p);
        if (bend_weights_find(w, name)) return *p;
    }
    return "";
}

static bend_status get(const bend_weights *w, const char *prefix, int nd, const int64_t *shape,
                       float **out, bend_error *err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static bend_status get(const bend_weights *w, const char *prefix, int nd, const int64_t *shape,
                       float **out, bend_error *err, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return seqlm_get(w, prefix, name, nd, shape, out, err);
}

static float *reversed(const float *x, int64_t n)
{
    float *r = malloc((size_t)n * sizeof *r);
    if (r)
        for (int64_t i = 0; i < n; i++) r[i] = x[n - 1 - i];
    return r;
}

/* "<p>weight" (and "<p>bias" for LayerNorm), with reversed copies for RCPS. */
static bend_status load_norm(caduceus_lm *m, const bend_weights *w, const char *prefix,
                             const char *p, cad_norm *n, bend_error *err)
{
    const int64_t s[1] = {m->D};
    bend_status st = get(w, prefix, 1, s, &n->w, err, "%sweight", p);
    if (!st && m->layernorm) st = get(w, prefix, 1, s, &n->b, err, "%sbias", p);
    if (st || !m->rcps) return st;
    n->w_rev = reversed(n->w, m->D);
    if (n->b) n->b_rev = reversed(n->b, m->D);
    if (!n->w_rev || (n->b && !n->b_rev))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening %s", m->what);
    return BEND_OK;
}

static bend_status load_mamba(caduceus_lm *m, const bend_weights *w, const char *prefix,
                              const char *p, bool projections, mamba_dir *d, bend_error *err)
{
    int64_t D = m->D, E = m->E, N = m->N, R = m->R, K = m->K;
    const int64_t s_in[2] = {2 * E, D}, s_2e[1] = {2 * E}, s_conv[3] = {E, 1, K}, s_e[1] = {E};
    const int64_t s_x[2] = {R + 2 * N, E}, s_dt[2] = {E, R}, s_a[2] = {E, N}, s_out[2] = {D, E};
    const int64_t s_d[1] = {D};
    bend_status st = BEND_OK;
    if (projections) {
        st = get(w, prefix, 2, s_in, &d->in_w, err, "%sin_proj.weight", p);
        if (!st && m->in_bias) st = get(w, prefix, 1, s_2e, &d->in_b, err, "%sin_proj.bias", p);
        if (!st) st = get(w, prefix, 2, s_out, &d->out_w, err, "%sout_proj.weight", p);
        if (!st && m->out_bias) st = get(w, prefix, 1, s_d, &d->out_b, err, "%sout_proj.bias", p);
    }
    if (!st) st = get(w, prefix, 3, s_conv, &d->conv_w, err, "%sconv1d.weight", p);
    if (!st && m->conv_bias) st = get(w, prefix, 1, s_e, &d->conv_b, err, "%sconv1d.bias", p);
    if (!st) st = get(w, prefix, 2, s_x, &d->x_w, err, "%sx_proj.weight", p);
    if (!st) st = get(w, prefix, 2, s_dt, &d->dt_w, err, "%sdt_proj.weight", p);
    if (!st) st = get(w, prefix, 1, s_e, &d->dt_b, err, "%sdt_proj.bias", p);
    if (!st) st = get(w, prefix, 2, s_a, &d->A, err, "%sA_log", p);
    if (!st) st = get(w, prefix, 1, s_e, &d->Dp, err, "%sD", p);
    if (!st)
        for (int64_t i = 0; i < E * N; i++) d->A[i] = -expf(d->A[i]);
    return st;
}

/* The complement map RCPSEmbedding indexes by position: its checkpoint buffer where the file has
 * one (torch loads it over whatever the config built), else config.json's map. */
static bend_status load_complement(caduceus_lm *m, const bend_model_config *cfg,
                                   const bend_weights *w, const char *prefix, bend_error *err)
{
    m->comp = malloc((size_t)m->rows * sizeof *m->comp);
    if (!m->comp) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening %s", m->what);
    char name[256];
    snprintf(name, sizeof name, "%sembeddings.word_embeddings.complement_map", prefix);
    if (bend_weights_find(w, name)) {
        float *buf = NULL;
        const int64_t s[1] = {m->rows};
        bend_status st = bend_weights_get_f32(w, name, 1, s, &buf, err);
        if (st) return st;
        for (int64_t i = 0; i < m->rows; i++) m->comp[i] = (int32_t)buf[i];
        free(buf);
    } else {
        const bend_caduceus_config *d = &cfg->caduceus;
        if (d->n_complement < m->rows)
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s: rcps needs a complement for each of the %lld token ids; "
                             "complement_map has %d and the checkpoint no %s buffer",
                             m->what, (long long)m->rows, d->n_complement, name);
        for (int64_t i = 0; i < m->rows; i++) m->comp[i] = (int32_t)d->complement_map[i];
    }
    for (int64_t i = 0; i < m->rows; i++)
        if (m->comp[i] < 0 || m->comp[i] >= m->rows)
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s: complement of token id %lld is %d, outside the %lld ids",
                             m->what, (long long)i, (int)m->comp[i], (long long)m->rows);
    return BEND_OK;
}

bend_status bend_caduceus_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                  const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    bend_status st = seqlm_check_device(cfg, dev, err);
    if (st) return st;
    const bend_caduceus_config *d = &cfg->caduceus;
    if (cfg->arch != BEND_ARCH_MAMBA)
        return bend_fail(err, BEND_ERR_INVALID, "%s: not a Caduceus configuration",
                         cfg->config_path);
    /* Unfused, the norms differ under RCPS (no half swap) and HF's hidden_states[-1] is the
     * last block's input instead of the final norm; no release uses it. */
    if (!d->fused_add_norm)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: Caduceus with fused_add_norm false has no forward pass here "
                         "(the released checkpoints use true)",
                         cfg->config_path);
    caduceus_lm *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening a Caduceus model");
    m->base.ops = &caduceus_ops;
    m->base.dim = cfg->hidden_size;
    m->base.n_layers = (int)cfg->num_layers;
    m->ops = bend_ops_cpu();
    m->D = d->d_model;
    m->E = d->expand * d->d_model;
    m->N = d->d_state;
    m->R = d->dt_rank;
    m->K = d->d_conv;
    m->W = d->rcps ? 2 * d->d_model : d->d_model;
    m->rows = cfg->embedding_rows;
    m->rcps = d->rcps;
    m->bidirectional = d->bidirectional;
    m->ew_multiply = !strcmp(d->bidirectional_strategy, "ew_multiply");
    m->layernorm = cfg->norm_kind == BEND_NORM_LAYERNORM;
    m->in_bias = m->out_bias = d->bias;
    m->conv_bias = d->conv_bias;
    m->eps = (float)cfg->layer_norm_eps;
    snprintf(m->what, sizeof m->what, "%s (%s)", bend_model_family_name(cfg->family),
             cfg->config_path);
    m->layers = calloc((size_t)cfg->num_layers, sizeof *m->layers);
    if (!m->layers || m->W != cfg->hidden_size) {
        caduceus_destroy(&m->base);
        return bend_fail(err, m->layers ? BEND_ERR_INVALID : BEND_ERR_NOMEM,
                         "%s: cannot open (hidden size %lld, rcps %d)", cfg->config_path,
                         (long long)cfg->hidden_size, (int)d->rcps);
    }
    const char *prefix = detect_prefix(cfg, w);
    const int64_t s_emb[2] = {m->rows, m->D};
    st = get(w, prefix, 2, s_emb, &m->emb, err, "embeddings.word_embeddings.%sweight",
             m->rcps ? "embedding." : "");
    if (!st && m->rcps) st = load_complement(m, cfg, w, prefix, err);
    const char *sub = m->rcps ? "submodule." : "";
    for (int j = 0; j < m->base.n_layers && !st; j++) {
        char p[160];
        snprintf(p, sizeof p, "layers.%d.mixer.%smamba_fwd.", j, sub);
        st = load_mamba(m, w, prefix, p, true, &m->layers[j].fwd, err);
        if (!st && m->bidirectional) {
            snprintf(p, sizeof p, "layers.%d.mixer.%smamba_rev.", j, sub);
            st = load_mamba(m, w, prefix, p, !d->bidirectional_weight_tie, &m->layers[j].rev,
                            err);
        }
        if (!st) {
            snprintf(p, sizeof p, "layers.%d.norm.", j);
            st = load_norm(m, w, prefix, p, &m->layers[j].norm, err);
        }
    }
    if (!st) st = load_norm(m, w, prefix, "norm_f.", &m->norm_f, err);
    if (st) {
        caduceus_destroy(&m->base);
        return st;
    }
    *out = &m->base;
    return BEND_OK;
}
