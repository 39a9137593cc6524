/* The transformer encoder's forward pass (bend_transformer_lm_open, through bend_lm_open on a
 * BERT / MosaicBERT / BigBird / ESM config). Beyond hidden states, forward with
 * BEND_LM_LAYER_LOGITS gives masked-language-model logits when the checkpoint carries the MLM head
 * (`cls.predictions.*` for the BERT-like families, `lm_head.*` for ESM; a decoder tied to the word
 * embeddings may be absent): the family's own head, dense -> activation (hidden_act; erf GELU for
 * ESM) -> LayerNorm -> decoder + bias, bend_lm_output_width(lm, BEND_LM_LAYER_LOGITS) wide (0 and
 * BEND_ERR_UNSUPPORTED from forward without a head).
 *
 * Hidden-state numbering of forward: layer 0 = embedding output, i = after block i; for ESM
 * (which ends in emb_layer_norm_after) layer N and BEND_LM_LAYER_BEND are both the normalized
 * last state, as in HF's hidden_states[-1]. An lm keeps scratch memory between calls: one thread
 * per lm at a time. */
#ifndef BEND_MODELS_TRANSFORMER_ENCODER_H
#define BEND_MODELS_TRANSFORMER_ENCODER_H

#include "models/lm.h"

/* On a GPU, bf16 = true runs every projection (QKV, output, FFN, MLM head) with bf16 inputs and
 * fp32 accumulation (ops/ops_cuda.h); attention, norms and activations stay fp32. Default false.
 * BEND_ERR_UNSUPPORTED for bf16 on the CPU; BEND_ERR_INVALID when lm is not a transformer. */
bend_status bend_transformer_lm_set_bf16(bend_lm *lm, bool bf16, bend_error *err);

#endif
