/* Opening the transformer encoder: one struct of layer weights from each family's tensor names
 * (BERT / GENA BERT / BigBird / MosaicBERT / ESM), copied to float32 in backend memory, so the
 * checkpoint can be closed after open. The forward pass is in encoder_forward.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_families.h"
#include "models/model_tensors.h"
#include "models/transformer/encoder.h"
#include "models/transformer/encoder_internal.h"
#include "ops/ops_cuda.h"

typedef struct loader {
    enc_model *m;
    const bend_weights *w;
    const char *prefix;
    bend_error *err;
} loader;

/* All weight buffers are tracked here so destroy can free them without knowing the layout. */
typedef struct enc_owned {
    enc_model model;
    void **bufs;
    size_t n_bufs, cap_bufs;
} enc_owned;

static bend_status own(enc_owned *o, void *p, bend_error *err)
{
    if (o->n_bufs == o->cap_bufs) {
        size_t cap = o->cap_bufs ? 2 * o->cap_bufs : 64;
        void **v = realloc(o->bufs, cap * sizeof *v);
        if (!v) {
            bend_ops_free(o->model.ops, p);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory listing encoder weights");
        }
        o->bufs = v;
        o->cap_bufs = cap;
    }
    o->bufs[o->n_bufs++] = p;
    return BEND_OK;
}

/* Reads tensor <prefix><name> ([rows] or [rows, cols]; cols 0 = 1-D) into dst + at floats of a
 * backend buffer of `total` floats allocated when *dst is NULL. take_rows < rows copies only the
 * first take_rows rows. */
static bend_status load_into(loader *l, float **dst, int64_t total, int64_t at, int64_t rows,
                             int64_t cols, int64_t take_rows, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static bend_status load_into(loader *l, float **dst, int64_t total, int64_t at, int64_t rows,
                             int64_t cols, int64_t take_rows, const char *fmt, ...)
{
    char rel[BEND_TENSOR_NAME_MAX], name[BEND_TENSOR_NAME_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(name, sizeof name, "%s%s", l->prefix, rel);
    int64_t shape[2] = {rows, cols};
    float *host = NULL;
    bend_status st = bend_weights_get_f32(l->w, name, cols ? 2 : 1, shape, &host, l->err);
    if (st) return st;
    enc_owned *o = (enc_owned *)l->m;
    const bend_ops *ops = l->m->ops;
    if (!*dst) {
        void *p = NULL;
        st = bend_ops_alloc(ops, (size_t)total * sizeof(float), &p, l->err);
        if (!st) st = own(o, p, l->err);
        if (st) {
            free(host);
            return st;
        }
        *dst = p;
    }
    bend_ops_upload(ops, *dst + at, host, (size_t)(take_rows * (cols ? cols : 1)) * sizeof(float));
    free(host);
    return BEND_OK;
}

/* a whole tensor into its own buffer */
#define LOAD(l, dst, rows, cols, ...)                                                              \
    load_into(l, dst, (rows) * ((cols) ? (cols) : 1), 0, rows, cols, rows, __VA_ARGS__)

#define TRY(x)                                                                                     \
    do {                                                                                           \
        bend_status st_ = (x);                                                                     \
        if (st_) return st_;                                                                       \
    } while (0)

static bend_status load_linear(loader *l, float **w, float **b, int64_t out, int64_t in,
                               bool bias, const char *layer_prefix, const char *name)
{
    TRY(LOAD(l, w, out, in, "%s%s.weight", layer_prefix, name));
    if (bias) TRY(LOAD(l, b, out, 0, "%s%s.bias", layer_prefix, name));
    return BEND_OK;
}

static bend_status load_ln(loader *l, float **w, float **b, int64_t h, const char *layer_prefix,
                           const char *name)
{
    TRY(LOAD(l, w, h, 0, "%s%s.weight", layer_prefix, name));
    TRY(LOAD(l, b, h, 0, "%s%s.bias", layer_prefix, name));
    return BEND_OK;
}

/* separate query / key / value projections stacked into one [3A, H] weight */
static bend_status load_qkv(loader *l, enc_layer *L, const char *p)
{
    enc_model *m = l->m;
    const char *names[3] = {"query", "key", "value"};
    for (int i = 0; i < 3; i++) {
        TRY(load_into(l, &L->wqkv, 3 * m->A * m->H, i * m->A * m->H, m->A, m->H, m->A,
                      "%sattention.self.%s.weight", p, names[i]));
        if (m->cfg.attention_bias)
            TRY(load_into(l, &L->bqkv, 3 * m->A, i * m->A, m->A, 0, m->A,
                          "%sattention.self.%s.bias", p, names[i]));
    }
    return BEND_OK;
}

static bend_status load_layer(loader *l, int64_t i)
{
    enc_model *m = l->m;
    const bend_model_config *c = &m->cfg;
    enc_layer *L = &m->layers[i];
    char p[64];
    snprintf(p, sizeof p, "encoder.layer.%lld.", (long long)i);
    int64_t H = m->H, A = m->A;
    if (c->arch == BEND_ARCH_MOSAIC_BERT) {
        TRY(load_linear(l, &L->wqkv, &L->bqkv, 3 * A, H, c->attention_bias, p,
                        "attention.self.Wqkv"));
        TRY(load_linear(l, &L->wo, &L->bo, H, A, true, p, "attention.output.dense"));
        TRY(load_ln(l, &L->ln1_w, &L->ln1_b, H, p, "attention.output.LayerNorm"));
        TRY(load_linear(l, &L->w1, &L->b1, m->ffn_w, H, c->ffn_bias, p, "mlp.gated_layers"));
        TRY(load_linear(l, &L->w2, &L->b2, H, m->inter, true, p, "mlp.wo"));
        return load_ln(l, &L->ln2_w, &L->ln2_b, H, p, "mlp.layernorm");
    }
    TRY(load_qkv(l, L, p));
    TRY(load_linear(l, &L->wo, &L->bo, H, A, true, p, "attention.output.dense"));
    TRY(load_linear(l, &L->w1, &L->b1, m->ffn_w, H, c->ffn_bias, p, "intermediate.dense"));
    TRY(load_linear(l, &L->w2, &L->b2, H, m->inter, c->ffn_bias, p, "output.dense"));
    if (c->arch == BEND_ARCH_ESM) {
        TRY(load_ln(l, &L->ln1_w, &L->ln1_b, H, p, "attention.LayerNorm"));
        return load_ln(l, &L->ln2_w, &L->ln2_b, H, p, "LayerNorm");
    }
    if (m->pre_ln) {
        TRY(load_ln(l, &L->ln1_w, &L->ln1_b, H, p, "pre_attention_ln"));
        return load_ln(l, &L->ln2_w, &L->ln2_b, H, p, "post_attention_ln");
    }
    TRY(load_ln(l, &L->ln1_w, &L->ln1_b, H, p, "attention.output.LayerNorm"));
    return load_ln(l, &L->ln2_w, &L->ln2_b, H, p, "output.LayerNorm");
}

static bend_status load_embeddings(loader *l)
{
    enc_model *m = l->m;
    const bend_model_config *c = &m->cfg;
    bool esm = c->arch == BEND_ARCH_ESM;
    TRY(LOAD(l, &m->word, c->embedding_rows, m->H, "embeddings.word_embeddings.weight"));
    if (c->position == BEND_POS_ABSOLUTE) {
        int64_t rows = c->max_positions + (esm ? c->position_offset : 0);
        TRY(LOAD(l, &m->pos, rows, m->H, "embeddings.position_embeddings.weight"));
    }
    if (c->type_vocab_size > 0) /* BEND never passes token types: only row 0 is used */
        TRY(load_into(l, &m->type0, m->H, 0, c->type_vocab_size, m->H, 1,
                      "embeddings.token_type_embeddings.weight"));
    if (c->embedding_layer_norm)
        TRY(load_ln(l, &m->emb_ln_w, &m->emb_ln_b, m->H, "",
                    esm ? "embeddings.layer_norm" : "embeddings.LayerNorm"));
    if (c->final_layer_norm) {
        if (!esm)
            return bend_fail(l->err, BEND_ERR_UNSUPPORTED,
                             "%s: a final LayerNorm is only known for ESM checkpoints",
                             c->config_path);
        TRY(load_ln(l, &m->final_ln_w, &m->final_ln_b, m->H, "", "encoder.emb_layer_norm_after"));
    }
    return BEND_OK;
}

/* The MLM head when the checkpoint has one (at the checkpoint root: BertForMaskedLM's `cls.`,
 * EsmForMaskedLM's `lm_head.`); without one the lm still embeds, only logits are refused. */
static bend_status load_head(loader *l, bend_op_act act)
{
    enc_model *m = l->m;
    const bend_model_config *c = &m->cfg;
    bool esm = c->arch == BEND_ARCH_ESM;
    const char *p = esm ? "lm_head." : "cls.predictions.";
    char name[128];
    snprintf(name, sizeof name, "%s%s", p, esm ? "dense.weight" : "transform.dense.weight");
    if (!bend_weights_find(l->w, name)) return BEND_OK;
    loader root = *l;
    root.prefix = "";
    int64_t H = m->H;
    char q[96];
    snprintf(q, sizeof q, "%s%s", p, esm ? "" : "transform.");
    TRY(load_linear(&root, &m->head_dense_w, &m->head_dense_b, H, H, true, q, "dense"));
    TRY(load_ln(&root, &m->head_ln_w, &m->head_ln_b, H, q, esm ? "layer_norm" : "LayerNorm"));
    /* DNABERT-2's head hard-codes eps 1e-12; ESM's head uses gelu whatever the FFN does */
    m->head_eps = (float)(c->arch == BEND_ARCH_MOSAIC_BERT ? 1e-12 : c->layer_norm_eps);
    m->head_act = esm ? BEND_OP_ACT_GELU : act;

    snprintf(name, sizeof name, "%sdecoder.weight", p);
    const bend_tensor_ref *dec = bend_weights_find(l->w, name);
    int64_t V = dec ? dec->shape[0] : c->embedding_rows;
    bool tied = !dec;
    if (dec) { /* a tied copy saved twice is not copied twice */
        int64_t shape[2] = {V, H}, wshape[2] = {c->embedding_rows, H};
        float *d = NULL, *wd = NULL;
        char wname[BEND_TENSOR_NAME_MAX + 32];
        snprintf(wname, sizeof wname, "%sembeddings.word_embeddings.weight", l->prefix);
        bend_status st = bend_weights_get_f32(l->w, name, 2, shape, &d, l->err);
        if (!st) st = bend_weights_get_f32(l->w, wname, 2, wshape, &wd, l->err);
        tied = !st && V == c->embedding_rows && !memcmp(d, wd, (size_t)(V * H) * sizeof *d);
        free(d);
        free(wd);
        if (st) return st;
    }
    if (tied)
        m->decoder_w = m->word;
    else
        TRY(LOAD(&root, &m->decoder_w, V, H, "%s", name));
    const char *bias_names[2] = {"decoder.bias", "bias"};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s%s", p, bias_names[i]);
        if (bend_weights_find(l->w, name)) {
            TRY(LOAD(&root, &m->decoder_b, V, 0, "%s", name));
            break;
        }
    }
    m->head_vocab = V;
    return BEND_OK;
}

/* MosaicBERT's _get_alibi_head_slopes: geometric series 2^(-8/n * (i+1)) for n a power of two;
 * otherwise the series of the next lower power of two, then every other slope of twice that. */
static void alibi_slopes(int64_t n, double *out)
{
    double lg = log2((double)n);
    if (lg == floor(lg)) {
        double start = pow(2.0, -pow(2.0, -(lg - 3.0)));
        for (int64_t i = 0; i < n; i++) out[i] = start * pow(start, (double)i);
        return;
    }
    int64_t p = (int64_t)1 << (int64_t)floor(lg);
    alibi_slopes(p, out);
    double *b = malloc((size_t)(2 * p) * sizeof *b);
    if (!b) return; /* caller checks nothing: n is small, this cannot fail in practice */
    alibi_slopes(2 * p, b);
    for (int64_t i = 0; i < n - p; i++) out[p + i] = b[2 * i];
    free(b);
}

static void enc_destroy(bend_lm *lm)
{
    if (!lm) return;
    enc_owned *o = (enc_owned *)lm;
    enc_free_scratch(&o->model);
    for (size_t i = 0; i < o->n_bufs; i++) bend_ops_free(o->model.ops, o->bufs[i]);
    free(o->bufs);
    bend_ops_cuda_destroy(o->model.own_ops); /* after every buffer of it is freed */
    free(o->model.layers);
    free(o);
}

/* Hidden states are H wide; BEND_LM_LAYER_LOGITS gives the MLM head's vocabulary (0 without a
 * head in the checkpoint). */
static int64_t enc_output_width(const bend_lm *lm, int layer)
{
    const enc_model *m = (const enc_model *)lm;
    if (layer == BEND_LM_LAYER_LOGITS) return m->head_vocab;
    return layer >= BEND_LM_LAYER_BEND && layer <= lm->n_layers ? m->H : 0;
}

static const bend_lm_ops enc_lm_ops = {.forward = enc_forward,
                                       .output_width = enc_output_width,
                                       .destroy = enc_destroy};

bend_status bend_transformer_lm_set_bf16(bend_lm *lm, bool bf16, bend_error *err)
{
    if (!lm || lm->ops != &enc_lm_ops)
        return bend_fail(err, BEND_ERR_INVALID, "bf16 projections: not a transformer encoder");
    enc_model *m = (enc_model *)lm;
    if (!m->own_ops) {
        if (!bf16) return BEND_OK;
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: bf16 projections are only implemented on a GPU (device=cuda)",
                         m->cfg.config_path);
    }
    return bend_ops_cuda_set_precision(m->own_ops, bf16 ? BEND_CUDA_BF16 : BEND_CUDA_FP32, err);
}

static bend_op_act op_act(bend_activation a)
{
    switch (a) {
    case BEND_ACT_GELU:
    case BEND_ACT_GEGLU: return BEND_OP_ACT_GELU;
    case BEND_ACT_GELU_TANH: return BEND_OP_ACT_GELU_TANH;
    case BEND_ACT_SWIGLU:
    case BEND_ACT_SILU: return BEND_OP_ACT_SILU;
    case BEND_ACT_RELU: return BEND_OP_ACT_RELU;
    default: return BEND_OP_ACT_IDENTITY;
    }
}

static bend_status setup(enc_model *m, const bend_model_config *cfg, bend_error *err)
{
    const bend_model_config *c = cfg;
    const char *path = c->config_path;
    if (c->arch != BEND_ARCH_BERT && c->arch != BEND_ARCH_MOSAIC_BERT &&
        c->arch != BEND_ARCH_BIGBIRD && c->arch != BEND_ARCH_ESM)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: architecture %s is not a transformer encoder",
                         path, bend_model_arch_name(c->arch));
    if (c->num_heads <= 0 || c->head_dim <= 0 || c->hidden_size <= 0 || c->num_layers <= 0 ||
        c->intermediate_size <= 0 || c->embedding_rows <= 0)
        return bend_fail(err, BEND_ERR_INVALID, "%s: transformer dimensions must be positive", path);
    if (c->norm_placement != BEND_NORM_PRE && c->norm_placement != BEND_NORM_POST)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: norm placement %s in a transformer encoder",
                         path, bend_norm_placement_name(c->norm_placement));
    if (c->norm_kind != BEND_NORM_LAYERNORM)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: only LayerNorm transformer encoders", path);
    m->act = op_act(c->activation);
    if (m->act == BEND_OP_ACT_IDENTITY)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: activation %s in a transformer encoder",
                         path, bend_activation_name(c->activation));
    /* the rotate-half rotary of HF ESM / NT v2; GENA's rotary BERT variants use their own code */
    if (c->position == BEND_POS_ROTARY && (c->arch != BEND_ARCH_ESM || c->rotary_base <= 0))
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: rotary positions are implemented for Nucleotide Transformer v2 only",
                         path);
    if (c->position == BEND_POS_ROTARY && c->head_dim % 2)
        return bend_fail(err, BEND_ERR_INVALID, "%s: rotary positions need an even head size, not %lld",
                         path, (long long)c->head_dim);
    if (c->position == BEND_POS_ABSOLUTE && c->max_positions <= 0)
        return bend_fail(err, BEND_ERR_INVALID, "%s: learned positions without max_position_embeddings",
                         path);
    m->cfg = *c;
    m->H = c->hidden_size;
    m->nh = c->num_heads;
    m->hd = c->head_dim;
    m->A = m->nh * m->hd;
    m->inter = c->intermediate_size;
    m->glu = c->activation == BEND_ACT_GEGLU || c->activation == BEND_ACT_SWIGLU;
    m->ffn_w = m->glu ? 2 * m->inter : m->inter;
    m->pre_ln = c->norm_placement == BEND_NORM_PRE;
    if (c->arch == BEND_ARCH_BIGBIRD && !strcmp(c->bigbird.attention_type, "block_sparse"))
        m->bigbird_sparse_min = (5 + 2 * c->bigbird.num_random_blocks) * c->bigbird.block_size;
    m->base.ops = &enc_lm_ops;
    m->base.dim = m->H;
    m->base.n_layers = (int)c->num_layers;
    return BEND_OK;
}

bend_status bend_transformer_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                     const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    const char *prefix = "";
    TRY(bend_model_check_weights(cfg, w, &prefix, err));
    enc_owned *o = calloc(1, sizeof *o);
    if (!o) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening the transformer encoder");
    enc_model *m = &o->model;
    m->ops = bend_ops_cpu();
    bend_status st = BEND_OK;
    if (dev && dev->kind == BEND_DEVICE_CUDA) {
        /* the weights live on the GPU from here on: every load below uploads once */
        st = bend_ops_cuda_create(dev, &m->own_ops, err);
        if (!st) m->ops = m->own_ops;
    }
    if (!st) st = setup(m, cfg, err);
    if (!st) {
        m->layers = calloc((size_t)cfg->num_layers, sizeof *m->layers);
        if (!m->layers) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory opening the encoder");
    }
    loader l = {.m = m, .w = w, .prefix = prefix, .err = err};
    if (!st) st = load_embeddings(&l);
    for (int64_t i = 0; !st && i < cfg->num_layers; i++) st = load_layer(&l, i);
    if (!st) st = load_head(&l, m->act == BEND_OP_ACT_SILU ? BEND_OP_ACT_GELU : m->act);
    if (!st && cfg->position == BEND_POS_ALIBI) {
        double s[1024];
        if (m->nh > 1024) {
            st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: ALiBi with %lld heads", cfg->config_path,
                           (long long)m->nh);
        } else {
            float f[1024];
            alibi_slopes(m->nh, s);
            for (int64_t h = 0; h < m->nh; h++) f[h] = (float)s[h];
            void *p = NULL;
            st = bend_ops_alloc(m->ops, (size_t)m->nh * sizeof(float), &p, err);
            if (!st) st = own(o, p, err);
            if (!st) {
                m->alibi = p;
                bend_ops_upload(m->ops, p, f, (size_t)m->nh * sizeof(float));
            }
        }
    }
    if (st) {
        if (!m->base.ops) { /* setup failed before the vtable was set */
            bend_ops_cuda_destroy(m->own_ops);
            free(m->layers);
            free(o->bufs);
            free(o);
        } else {
            enc_destroy(&m->base);
        }
        return bend_error_context(err, "opening the %s encoder", bend_model_family_name(cfg->family));
    }
    *out = &m->base;
    return BEND_OK;
}
