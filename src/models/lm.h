/* A language model's forward pass over token windows: what every LM family (transformer
 * encoders, HyenaDNA, AWD-LSTM, ResNet-LM, ...) implements once, and what the generic LM
 * embedder (tokenize -> BEND windows -> forward -> drop special tokens -> upsample) calls.
 * The family code owns its weights; the embedder owns tokenizer and windowing. */
#ifndef BEND_MODELS_LM_H
#define BEND_MODELS_LM_H

#include <stdint.h>

#include "checkpoint/weights.h"
#include "core/error.h"
#include "gpu/device.h"
#include "models/model_config.h"

typedef struct bend_lm bend_lm;

/* Which hidden state a forward returns. */
enum {
    BEND_LM_LAYER_BEND = -1,   /* the one BEND's embedder returns (usually the last) */
    BEND_LM_LAYER_LOGITS = -2, /* the masked-LM head's logits, for models that have one */
};

typedef struct bend_lm_ops {
    /* Runs n_windows windows; window w has ids[offsets[w] .. offsets[w+1]) (token ids, special
     * tokens included as the tokenizer/windowing produced them). Writes the hidden state of
     * `layer` (0 = embedding output, i = after block i, BEND_LM_LAYER_BEND = BEND's choice) for
     * every token, rows concatenated in the same order, into out [offsets[n_windows], dim].
     * Implementations may batch windows of different lengths however they like. Rows are
     * bend_lm_output_width(lm, layer) floats wide. */
    bend_status (*forward)(bend_lm *lm, int n_windows, const int64_t *offsets, const int32_t *ids,
                           int layer, float *out, bend_error *err);
    /* Optional: the row width of `layer` when it is not dim (AWD-LSTM's inner layers, logits);
     * 0 when the model has no such output. NULL: dim for -1..n_layers, nothing else. */
    int64_t (*output_width)(const bend_lm *lm, int layer);
    void (*destroy)(bend_lm *lm);
} bend_lm_ops;

struct bend_lm {
    const bend_lm_ops *ops;
    int64_t dim;      /* hidden size of the rows forward writes */
    int n_layers;     /* number of blocks; valid `layer` values are 0..n_layers and -1 */
};

/* Opens the forward pass of the family named in cfg from already opened weights (w stays
 * owned by the caller and must outlive the lm unless the family copied what it needs).
 * Families without a forward pass return BEND_ERR_UNSUPPORTED naming the family. */
bend_status bend_lm_open(const bend_model_config *cfg, const bend_weights *w,
                         const bend_device *dev, bend_lm **out, bend_error *err);

static inline bend_status bend_lm_forward(bend_lm *lm, int n_windows, const int64_t *offsets,
                                          const int32_t *ids, int layer, float *out,
                                          bend_error *err)
{
    return lm->ops->forward(lm, n_windows, offsets, ids, layer, out, err);
}

/* Floats per row that forward writes for `layer`; 0 when the model has no such output. */
static inline int64_t bend_lm_output_width(const bend_lm *lm, int layer)
{
    if (lm->ops->output_width) return lm->ops->output_width(lm, layer);
    return layer >= BEND_LM_LAYER_BEND && layer <= lm->n_layers ? lm->dim : 0;
}

static inline void bend_lm_close(bend_lm *lm)
{
    if (lm)
        lm->ops->destroy(lm);
}

#endif
