/* What a family's forward pass reads from its checkpoint: a name -> shape list built from the
 * typed config, and a check of opened weights against it.
 *
 * Names are the base model's own state-dict keys (HF BertModel / EsmModel, BEND's MosaicBERT and
 * GENA copies, HyenaDNA's LMBackbone, AWDLSTMModel, ConvNetModel); a checkpoint saved from a
 * wrapper carries them under a prefix, which bend_model_check_weights detects:
 *   BERT-like (dnabert, grover, dnabert2, gena_lm): "bert." (*ForMaskedLM) or "";
 *   nucleotide_transformer: "esm." (EsmForMaskedLM) or "";
 *   hyenadna: "model.backbone." (Lightning weights.ckpt), "backbone." or ""; with
 *     checkpoint_mixer the mixer / MLP keys read `.mixer.layer.` / `.mlp.layer.`;
 *   awdlstm: "encoder." (AWDLSTMForLM / AWDLSTMModelForInference) or ""; recurrent weights are
 *     `weight_raw` when weight_dropout_prob > 0 (the stale `module.h2h.weight` is not read);
 *   resnetlm, gpn (GPN's legacy ConvNet): "model." (ConvNetForMaskedLM) or "";
 *   caduceus: "caduceus.backbone." (CaduceusForMaskedLM), "backbone." or "".
 * Extra tensors (pooler, contact head, position_ids, rotary inv_freq, MLM / LM heads, the stale
 * AWD-LSTM h2h copy, Caduceus's complement_map buffers, ...) are ignored. GPN's RoFormer
 * checkpoints are not covered (BEND_ERR_UNSUPPORTED). */
#ifndef BEND_MODELS_MODEL_TENSORS_H
#define BEND_MODELS_MODEL_TENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint/weights.h"
#include "core/error.h"
#include "models/model_config.h"

enum { BEND_TENSOR_NAME_MAX = 192 };

typedef struct bend_tensor_expect {
    char name[BEND_TENSOR_NAME_MAX]; /* relative to the checkpoint's prefix */
    int ndim;
    int64_t shape[BEND_MAX_DIMS];    /* -1: any size (sizes the config does not fix) */
    bool integer_ok;                 /* an integer buffer is acceptable (none of the families
                                        covered reads one; floating types otherwise) */
} bend_tensor_expect;

/* Every tensor the family's forward pass needs, in a fixed order (embeddings, layers, final
 * norm). The caller frees *out. BEND_ERR_UNSUPPORTED for families not covered; *n = 0 and
 * *out = NULL for onehot (no network). */
bend_status bend_model_expected_tensors(const bend_model_config *cfg, bend_tensor_expect **out,
                                        size_t *n, bend_error *err);

/* The key prefixes the family's checkpoints use, most specific first, "" last; NULL-terminated. */
const char *const *bend_model_tensor_prefixes(const bend_model_config *cfg);

/* Checks that every expected tensor is in w under one prefix, with a floating dtype and the
 * expected shape. prefix_out (may be NULL) receives the detected prefix (a static string).
 * On failure: BEND_ERR_INVALID with a message naming the tensor, its file, the shape found and
 * the one expected (for a missing tensor: up to 3 similarly named tensors that are present). */
bend_status bend_model_check_weights(const bend_model_config *cfg, const bend_weights *w,
                                     const char **prefix_out, bend_error *err);

#endif
