/* What the transformer encoder offers beyond the bend_lm contract (models/lm.h): masked-language-
 * model logits, for lms opened by bend_transformer_lm_open (bend_lm_open on a BERT / MosaicBERT /
 * BigBird / ESM config) from a checkpoint that carries the MLM head (`cls.predictions.*` for the
 * BERT-like families, `lm_head.*` for ESM; a decoder tied to the word embeddings may be absent).
 *
 * Hidden-state numbering of forward: layer 0 = embedding output, i = after block i; for ESM
 * (which ends in emb_layer_norm_after) layer N and BEND_LM_LAYER_BEND are both the normalized
 * last state, as in HF's hidden_states[-1]. An lm keeps scratch memory between calls: one thread
 * per lm at a time. */
#ifndef BEND_MODELS_TRANSFORMER_ENCODER_H
#define BEND_MODELS_TRANSFORMER_ENCODER_H

#include <stdint.h>

#include "models/lm.h"

/* Width of the logits rows (the decoder's vocabulary), or 0 when lm is not a transformer
 * encoder or its checkpoint had no MLM head. */
int64_t bend_transformer_lm_logits_width(const bend_lm *lm);

/* Logits of every token of the windows (same packing as forward): out [offsets[n_windows],
 * width]. The head is the family's own: dense -> activation (hidden_act; erf GELU for ESM) ->
 * LayerNorm -> decoder + bias. BEND_ERR_UNSUPPORTED without a head; BEND_ERR_INVALID for ids or
 * windows the forward pass rejects. */
bend_status bend_transformer_lm_logits(bend_lm *lm, int n_windows, const int64_t *offsets,
                                       const int32_t *ids, float *out, bend_error *err);

#endif
