/* BEND's AWD-LSTM (bend/models/awd_lstm.py AWDLSTMModel, unidirectional) at inference: a learned
 * embedding, then n hand-written LSTM layers (gate order i, f, o, g; zero initial state per
 * window) whose widths are input_size -> hidden_size ... -> input_size. Every dropout is off in
 * eval; WeightDrop makes the recurrent weight `weight_raw` (the saved `module.h2h.weight` is a
 * stale training-time copy and is not read). Layer 0 = embedding output, i = LSTM layer i output
 * (BEND's outputs_raw); -1 = the last layer. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_families.h"
#include "models/model_tensors.h"
#include "models/seqlm/seqlm_common.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"

typedef struct lstm_layer {
    int64_t in, H;
    float *w_ih, *b_ih, *w_hh, *b_hh;
} lstm_layer;

typedef struct awdlstm_lm {
    bend_lm base;
    const bend_ops *ops;
    int64_t E, vocab, reset_id, max_width;
    char what[4200];
    float *emb;
    lstm_layer *layers;
} awdlstm_lm;

static void awdlstm_destroy(bend_lm *lm)
{
    awdlstm_lm *m = (awdlstm_lm *)lm;
    if (m->layers)
        for (int i = 0; i < m->base.n_layers; i++) {
            free(m->layers[i].w_ih);
            free(m->layers[i].b_ih);
            free(m->layers[i].w_hh);
            free(m->layers[i].b_hh);
        }
    free(m->layers);
    free(m->emb);
    free(m);
}

/* Inner layers are hidden_size wide, the embedding and the last layer input_size wide. */
static int64_t awdlstm_output_width(const bend_lm *lm, int layer)
{
    const awdlstm_lm *m = (const awdlstm_lm *)lm;
    if (layer < BEND_LM_LAYER_BEND || layer > m->base.n_layers) return 0;
    if (layer <= 0 || layer == m->base.n_layers) return m->E;
    return m->layers[layer - 1].H;
}

static bend_status awdlstm_forward(bend_lm *lm, int n_windows, const int64_t *offsets,
                                   const int32_t *ids, int layer, float *out, bend_error *err)
{
    awdlstm_lm *m = (awdlstm_lm *)lm;
    const bend_ops *o = m->ops;
    bend_status st = seqlm_check_args(m->what, n_windows, offsets, ids, m->vocab, layer,
                                      m->base.n_layers, 0, err);
    if (st) return st;
    int last = layer < 0 ? m->base.n_layers : layer;
    int64_t T = offsets[n_windows];
    if (last == 0) {
        bend_op_gather_rows(o, T, m->E, ids, m->emb, 0.0f, out);
        return BEND_OK;
    }
    if (T == 0) return BEND_OK;
    /* ping-pong buffers for the inner layers; the requested layer writes into out */
    size_t ws = bend_op_lstm_workspace(o, n_windows, offsets, m->max_width);
    float *buf[2] = {malloc((size_t)(T * m->max_width) * sizeof(float)),
                     last > 1 ? malloc((size_t)(T * m->max_width) * sizeof(float)) : NULL};
    void *work = malloc(ws);
    if (!buf[0] || (last > 1 && !buf[1]) || !work) {
        free(buf[0]);
        free(buf[1]);
        free(work);
        return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory for %lld tokens", m->what,
                         (long long)T);
    }
    bend_op_gather_rows(o, T, m->E, ids, m->emb, 0.0f, buf[0]);
    const float *x = buf[0];
    for (int i = 0; i < last; i++) {
        const lstm_layer *l = &m->layers[i];
        float *y = i == last - 1 ? out : buf[(i + 1) % 2];
        bend_op_lstm(o, n_windows, offsets, l->in, l->H, BEND_LSTM_GATES_IFOG, x, l->in, l->w_ih,
                     l->b_ih, l->w_hh, l->b_hh, ids, m->reset_id, y, l->H, work);
        x = y;
    }
    free(buf[0]);
    free(buf[1]);
    free(work);
    return BEND_OK;
}

static const bend_lm_ops awdlstm_ops = {.forward = awdlstm_forward,
                                        .output_width = awdlstm_output_width,
                                        .destroy = awdlstm_destroy};

bend_status bend_awdlstm_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                 const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    bend_status st = seqlm_check_device(cfg, dev, err);
    if (st) return st;
    const bend_awdlstm_config *a = &cfg->awdlstm;
    if (cfg->arch != BEND_ARCH_AWD_LSTM)
        return bend_fail(err, BEND_ERR_INVALID, "%s: not an AWD-LSTM configuration",
                         cfg->config_path);
    if (a->bidirectional)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: bidirectional AWD-LSTM is not supported (BEND's reverse pass reads "
                         "the unflipped input; no released checkpoint uses it)",
                         cfg->config_path);
    const char *prefix = "";
    st = bend_model_check_weights(cfg, w, &prefix, err);
    if (st) return st;

    awdlstm_lm *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening an AWD-LSTM");
    m->base.ops = &awdlstm_ops;
    m->base.dim = a->input_size;
    m->base.n_layers = (int)a->num_layers;
    m->ops = bend_ops_cpu();
    m->E = a->input_size;
    m->vocab = cfg->embedding_rows;
    m->reset_id = a->reset_token_id;
    snprintf(m->what, sizeof m->what, "awdlstm (%s)", cfg->config_path);
    m->layers = calloc((size_t)a->num_layers, sizeof *m->layers);
    if (!m->layers) {
        awdlstm_destroy(&m->base);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening an AWD-LSTM");
    }
    const int64_t s_emb[2] = {m->vocab, m->E};
    st = seqlm_get(w, prefix, "embedding.weight", 2, s_emb, &m->emb, err);
    m->max_width = m->E;
    for (int i = 0; i < m->base.n_layers && !st; i++) {
        lstm_layer *l = &m->layers[i];
        l->in = i == 0 ? m->E : a->hidden_size;
        l->H = i == m->base.n_layers - 1 ? m->E : a->hidden_size;
        if (l->H > m->max_width) m->max_width = l->H;
        const int64_t s_ih[2] = {4 * l->H, l->in}, s_hh[2] = {4 * l->H, l->H},
                      s_b[1] = {4 * l->H};
        char p[96], name[160];
        if (a->weight_drop)
            snprintf(p, sizeof p, "encoder.lstm.%d.module.", i);
        else
            snprintf(p, sizeof p, "encoder.lstm.%d.", i);
        snprintf(name, sizeof name, "%si2h.weight", p);
        st = seqlm_get(w, prefix, name, 2, s_ih, &l->w_ih, err);
        snprintf(name, sizeof name, "%si2h.bias", p);
        if (!st) st = seqlm_get(w, prefix, name, 1, s_b, &l->b_ih, err);
        snprintf(name, sizeof name, "%sh2h.bias", p);
        if (!st) st = seqlm_get(w, prefix, name, 1, s_b, &l->b_hh, err);
        /* WeightDrop in eval: h2h.weight := dropout(weight_raw, training=False) = weight_raw */
        if (a->weight_drop)
            snprintf(name, sizeof name, "encoder.lstm.%d.weight_raw", i);
        else
            snprintf(name, sizeof name, "%sh2h.weight", p);
        if (!st) st = seqlm_get(w, prefix, name, 2, s_hh, &l->w_hh, err);
    }
    if (st) {
        awdlstm_destroy(&m->base);
        return st;
    }
    *out = &m->base;
    return BEND_OK;
}
