/* The encoder's forward pass over packed windows: the tokens of all windows of a group form one
 * [T, H] matrix for everything position-wise (embeddings, QKV, output projection, FFN, LayerNorm:
 * one GEMM per weight per group, no padding); only attention looks at window boundaries.
 * Groups bound the scratch memory: windows are taken in order until GROUP_TOKENS tokens. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/transformer/encoder_internal.h"

enum { GROUP_TOKENS = 8192 };

void enc_free_scratch(enc_model *m)
{
    const bend_ops *o = m->ops;
    bend_ops_free(o, m->x);
    bend_ops_free(o, m->qkv);
    bend_ops_free(o, m->ctx);
    bend_ops_free(o, m->tmp);
    bend_ops_free(o, m->ffn);
    bend_ops_free(o, m->ffn2);
    bend_ops_free(o, m->attn_ws);
    bend_ops_free(o, m->idx);
    bend_ops_free(o, m->pos_idx);
    bend_ops_free(o, m->logits);
    free(m->pos_host);
    free(m->offs);
    free(m->sparse);
    m->x = m->qkv = m->ctx = m->tmp = m->ffn = m->ffn2 = NULL;
    m->attn_ws = NULL;
    m->idx = m->pos_idx = NULL;
    m->pos_host = NULL;
    m->logits = NULL;
    m->offs = NULL;
    m->sparse = NULL;
    m->cap_tokens = m->cap_windows = 0;
    m->cap_attn = 0;
}

static bend_status alloc_f(enc_model *m, int64_t n, float **p, bend_error *err)
{
    void *v = NULL;
    bend_status st = bend_ops_alloc(m->ops, (size_t)(n > 0 ? n : 1) * sizeof(float), &v, err);
    *p = v;
    return st;
}

/* Position indices are built in host memory (pos_host) and uploaded to pos_idx; on a GPU the
 * logits also need a device buffer of the group's rows before their download. */
static bend_status ensure_scratch(enc_model *m, int64_t tokens, int64_t windows, size_t attn,
                                  bend_error *err)
{
    if (tokens > m->cap_tokens || windows > m->cap_windows) {
        int64_t t = tokens > m->cap_tokens ? tokens : m->cap_tokens;
        int64_t w = windows > m->cap_windows ? windows : m->cap_windows;
        size_t keep_attn = m->cap_attn;
        enc_free_scratch(m);
        bend_status st = BEND_OK;
        if (!st) st = alloc_f(m, t * m->H, &m->x, err);
        if (!st) st = alloc_f(m, t * 3 * m->A, &m->qkv, err);
        if (!st) st = alloc_f(m, t * m->A, &m->ctx, err);
        if (!st) st = alloc_f(m, t * m->H, &m->tmp, err);
        if (!st) st = alloc_f(m, t * m->ffn_w, &m->ffn, err);
        if (!st && m->glu) st = alloc_f(m, t * m->inter, &m->ffn2, err);
        if (!st) st = alloc_f(m, t, (float **)&m->idx, err);
        if (!st) st = alloc_f(m, t, (float **)&m->pos_idx, err);
        if (!st && m->ops->kind != BEND_DEVICE_CPU && m->head_vocab)
            st = alloc_f(m, t * m->head_vocab, &m->logits, err);
        if (!st) {
            m->offs = malloc((size_t)(w + 1) * sizeof *m->offs);
            m->sparse = malloc((size_t)(w > 0 ? w : 1));
            m->pos_host = malloc((size_t)(t > 0 ? t : 1) * sizeof *m->pos_host);
            if (!m->offs || !m->sparse || !m->pos_host)
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory for encoder scratch");
        }
        if (st) {
            enc_free_scratch(m);
            return bend_error_context(err, "encoder forward over %lld tokens", (long long)tokens);
        }
        m->cap_tokens = t;
        m->cap_windows = w;
        if (attn < keep_attn) attn = keep_attn;
    }
    if (attn > m->cap_attn || !m->attn_ws) {
        bend_ops_free(m->ops, m->attn_ws);
        m->attn_ws = NULL;
        m->cap_attn = 0;
        bend_status st = bend_ops_alloc(m->ops, attn ? attn : 64, &m->attn_ws, err);
        if (st) return st;
        m->cap_attn = attn;
    }
    return BEND_OK;
}

/* Checks ids and window lengths against the tables before anything reads them. */
static bend_status validate(const enc_model *m, int n_windows, const int64_t *offsets,
                            const int32_t *ids, int layer, bend_error *err)
{
    const bend_model_config *c = &m->cfg;
    if (n_windows < 0)
        return bend_fail(err, BEND_ERR_INVALID, "encoder forward: %d windows", n_windows);
    if (layer < -1 || layer > c->num_layers)
        return bend_fail(err, BEND_ERR_INVALID,
                         "encoder forward: layer %d out of range (-1 or 0..%lld)", layer,
                         (long long)c->num_layers);
    bool esm = c->arch == BEND_ARCH_ESM;
    for (int w = 0; w < n_windows; w++) {
        int64_t a = offsets[w], b = offsets[w + 1];
        if (b < a || a < 0)
            return bend_fail(err, BEND_ERR_INVALID, "encoder forward: window %d has offsets %lld..%lld",
                             w, (long long)a, (long long)b);
        int64_t positions = 0; /* positions the learned table must hold */
        for (int64_t t = a; t < b; t++) {
            if (ids[t] < 0 || ids[t] >= c->embedding_rows)
                return bend_fail(err, BEND_ERR_INVALID,
                                 "encoder forward: window %d token %lld has id %d, outside the "
                                 "%lld-row embedding table of %s",
                                 w, (long long)(t - a), ids[t], (long long)c->embedding_rows,
                                 c->config_path);
            if (!esm || ids[t] != c->pad_token_id) positions++;
        }
        if (c->position == BEND_POS_ABSOLUTE && positions > c->max_positions)
            return bend_fail(err, BEND_ERR_INVALID,
                             "encoder forward: window %d has %lld tokens, more than the %lld "
                             "positions of %s",
                             w, (long long)(b - a), (long long)c->max_positions, c->config_path);
    }
    return BEND_OK;
}

/* x = embeddings of the group's tokens (rows 0 .. T of the group). */
static void embed(enc_model *m, int nw, const int64_t *offs, const int32_t *ids, int64_t T)
{
    const bend_ops *o = m->ops;
    const bend_model_config *c = &m->cfg;
    int64_t H = m->H;
    bool esm = c->arch == BEND_ARCH_ESM;
    int32_t *idx = m->idx, *pos = m->pos_host;
    bend_ops_upload(o, idx, ids, (size_t)T * sizeof *idx);
    bend_op_gather_rows(o, T, H, idx, m->word, 0.0f, m->x);
    if (c->arch == BEND_ARCH_BIGBIRD && c->bigbird.rescale_embeddings)
        bend_op_scale(o, T * H, (float)sqrt((double)H), m->x);
    if (esm && c->token_dropout) {
        /* HF ESM: <mask> rows zeroed, then x * (1 - 0.15*0.8) / (1 - observed mask ratio) */
        for (int w = 0; w < nw; w++) {
            int64_t n_mask = 0, L = offs[w + 1] - offs[w];
            for (int64_t t = offs[w]; t < offs[w + 1]; t++)
                if (ids[t] == c->mask_token_id) {
                    n_mask++;
                    bend_op_scale(o, H, 0.0f, m->x + t * H);
                }
            if (L == 0) continue;
            float s = (float)(1.0 - c->token_dropout_mask_ratio) /
                      (float)(1.0 - (double)n_mask / (double)L);
            bend_op_scale(o, L * H, s, m->x + offs[w] * H);
        }
    }
    if (m->type0) {
        memset(pos, 0, (size_t)T * sizeof *pos);
        bend_ops_upload(o, m->pos_idx, pos, (size_t)T * sizeof *pos);
        bend_op_gather_rows(o, T, H, m->pos_idx, m->type0, 1.0f, m->x);
    }
    if (m->pos) {
        for (int w = 0; w < nw; w++) {
            int64_t n = 0;
            for (int64_t t = offs[w]; t < offs[w + 1]; t++) {
                if (!esm) {
                    pos[t] = (int32_t)(t - offs[w]);
                } else if (ids[t] == c->pad_token_id) {
                    pos[t] = (int32_t)c->pad_token_id; /* fairseq: pads sit at padding_idx */
                } else {
                    /* cumsum(id != pad) + pad: first real token at pad + 1 */
                    pos[t] = (int32_t)(++n + c->pad_token_id);
                }
            }
        }
        bend_ops_upload(o, m->pos_idx, pos, (size_t)T * sizeof *pos);
        bend_op_gather_rows(o, T, H, m->pos_idx, m->pos, 1.0f, m->x);
    }
    if (m->emb_ln_w)
        bend_op_layernorm(o, T, H, m->x, m->emb_ln_w, m->emb_ln_b, (float)c->layer_norm_eps, m->x);
}

/* x -> x + f(x) for position-wise FFN f, reading `in` (x itself or its pre-LN copy) */
static void ffn(enc_model *m, const enc_layer *L, const float *in, int64_t T)
{
    const bend_ops *o = m->ops;
    bend_op_linear(o, T, m->H, m->ffn_w, in, m->H, L->w1, L->b1, 0.0f, m->ffn, m->ffn_w);
    const float *h = m->ffn;
    if (m->glu) {
        bend_op_glu(o, m->act, T, m->inter, m->ffn, m->ffn2);
        h = m->ffn2;
    } else {
        bend_op_activation(o, m->act, T * m->inter, m->ffn);
    }
    bend_op_linear(o, T, m->inter, m->H, h, m->inter, L->w2, L->b2, 1.0f, m->x, m->H);
}

static void attention(enc_model *m, const enc_layer *L, const float *in, int nw,
                      const int64_t *offs, int64_t T)
{
    const bend_ops *o = m->ops;
    const bend_model_config *c = &m->cfg;
    int64_t A = m->A, H = m->H;
    bend_op_linear(o, T, H, 3 * A, in, H, L->wqkv, L->bqkv, 0.0f, m->qkv, 3 * A);
    if (c->position == BEND_POS_ROTARY) {
        bend_op_rotary(o, nw, offs, m->nh, m->hd, c->rotary_base, m->qkv, 3 * A);
        bend_op_rotary(o, nw, offs, m->nh, m->hd, c->rotary_base, m->qkv + A, 3 * A);
    }
    bend_attention_args a = {
        .n_windows = nw,
        .offsets = offs,
        .n_heads = m->nh,
        .head_dim = m->hd,
        .q = m->qkv,
        .k = m->qkv + A,
        .v = m->qkv + 2 * A,
        .ldq = 3 * A,
        .ldk = 3 * A,
        .ldv = 3 * A,
        .out = m->ctx,
        .ldo = A,
        .scale = (float)(1.0 / sqrt((double)m->hd)),
        .alibi_slopes = m->alibi,
        .block_sparse = m->bigbird_sparse_min ? m->sparse : NULL,
        .sparse_block_size = c->bigbird.block_size,
        .sparse_random_blocks = c->bigbird.num_random_blocks,
    };
    bend_op_attention(o, &a, m->attn_ws);
    /* x += ctx Wo^T + bo: the residual comes with the GEMM */
    bend_op_linear(o, T, A, H, m->ctx, A, L->wo, L->bo, 1.0f, m->x, H);
}

static void block(enc_model *m, const enc_layer *L, int nw, const int64_t *offs, int64_t T)
{
    const bend_ops *o = m->ops;
    int64_t H = m->H;
    float eps = (float)m->cfg.layer_norm_eps;
    if (m->pre_ln) {
        bend_op_layernorm(o, T, H, m->x, L->ln1_w, L->ln1_b, eps, m->tmp);
        attention(m, L, m->tmp, nw, offs, T);
        bend_op_layernorm(o, T, H, m->x, L->ln2_w, L->ln2_b, eps, m->tmp);
        ffn(m, L, m->tmp, T);
    } else {
        attention(m, L, m->x, nw, offs, T);
        bend_op_layernorm(o, T, H, m->x, L->ln1_w, L->ln1_b, eps, m->x);
        ffn(m, L, m->x, T);
        bend_op_layernorm(o, T, H, m->x, L->ln2_w, L->ln2_b, eps, m->x);
    }
}

/* Runs the windows group by group up to block `target` (N: the last, with the final norm), then
 * hands each group's x [T, H] to `emit` with the group's first row. */
typedef void (*emit_fn)(enc_model *m, int64_t base, int64_t T, void *ctx);

static bend_status run_groups(enc_model *m, int n_windows, const int64_t *offsets,
                              const int32_t *ids, int64_t target, emit_fn emit, void *ctx,
                              bend_error *err)
{
    int64_t N = m->cfg.num_layers;
    int w0 = 0;
    while (w0 < n_windows) {
        /* a group: windows w0 .. w1, at least one, at most GROUP_TOKENS tokens otherwise */
        int w1 = w0 + 1;
        while (w1 < n_windows && offsets[w1 + 1] - offsets[w0] <= GROUP_TOKENS) w1++;
        int nw = w1 - w0;
        int64_t base = offsets[w0], T = offsets[w1] - base;
        bend_attention_args probe = {.n_windows = nw, .offsets = offsets + w0,
                                     .sparse_block_size = m->cfg.bigbird.block_size};
        uint8_t any_sparse = 1;
        if (m->bigbird_sparse_min) probe.block_sparse = &any_sparse;
        size_t attn = bend_op_attention_workspace(m->ops, &probe);
        bend_status st = ensure_scratch(m, T, nw, attn, err);
        if (st) return st;
        for (int w = 0; w <= nw; w++) m->offs[w] = offsets[w0 + w] - base;
        for (int w = 0; w < nw; w++)
            m->sparse[w] = m->bigbird_sparse_min &&
                           m->offs[w + 1] - m->offs[w] > m->bigbird_sparse_min;
        embed(m, nw, m->offs, ids + base, T);
        for (int64_t i = 0; i < target; i++) block(m, &m->layers[i], nw, m->offs, T);
        if (target == N && m->final_ln_w)
            bend_op_layernorm(m->ops, T, m->H, m->x, m->final_ln_w, m->final_ln_b,
                              (float)m->cfg.layer_norm_eps, m->x);
        emit(m, base, T, ctx);
        w0 = w1;
    }
    return bend_ops_sync(m->ops, err);
}

static void emit_hidden(enc_model *m, int64_t base, int64_t T, void *ctx)
{
    float *out = ctx;
    bend_ops_download(m->ops, out + base * m->H, m->x, (size_t)(T * m->H) * sizeof(float));
}

bend_status enc_forward(bend_lm *lm, int n_windows, const int64_t *offsets, const int32_t *ids,
                        int layer, float *out, bend_error *err)
{
    enc_model *m = (enc_model *)lm;
    if (layer == BEND_LM_LAYER_LOGITS) return enc_logits(m, n_windows, offsets, ids, out, err);
    bend_status st = validate(m, n_windows, offsets, ids, layer, err);
    if (st) return st;
    int64_t target = layer < 0 ? m->cfg.num_layers : layer;
    return run_groups(m, n_windows, offsets, ids, target, emit_hidden, out, err);
}

/* The MLM head on the group's last hidden states: dense, activation, LayerNorm, decoder + bias.
 * On the CPU the logits go straight into the caller's rows (host memory == backend memory); on a
 * GPU into m->logits (the group's rows), then down. */
static void emit_logits(enc_model *m, int64_t base, int64_t T, void *ctx)
{
    const bend_ops *o = m->ops;
    float *out = ctx;
    int64_t H = m->H, V = m->head_vocab;
    bend_op_linear(o, T, H, H, m->x, H, m->head_dense_w, m->head_dense_b, 0.0f, m->tmp, H);
    bend_op_activation(o, m->head_act, T * H, m->tmp);
    bend_op_layernorm(o, T, H, m->tmp, m->head_ln_w, m->head_ln_b, m->head_eps, m->tmp);
    float *dst = o->kind == BEND_DEVICE_CPU ? out + base * V : m->logits;
    bend_op_linear(o, T, H, V, m->tmp, H, m->decoder_w, m->decoder_b, 0.0f, dst, V);
    if (dst != out + base * V)
        bend_ops_download(o, out + base * V, dst, (size_t)(T * V) * sizeof(float));
}

bend_status enc_logits(enc_model *m, int n_windows, const int64_t *offsets, const int32_t *ids,
                       float *out, bend_error *err)
{
    if (!m->head_vocab)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: the checkpoint has no masked-language-model head (cls.predictions / "
                         "lm_head tensors), so there are no logits",
                         m->cfg.config_path);
    bend_status st = validate(m, n_windows, offsets, ids, -1, err);
    if (st) return st;
    return run_groups(m, n_windows, offsets, ids, m->cfg.num_layers, emit_logits, out, err);
}
