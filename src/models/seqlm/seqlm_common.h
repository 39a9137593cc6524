/* Shared by the non-transformer LM families (hyena.c, awdlstm.c, convnet.c): loading float32
 * copies of named tensors and the checks every forward makes on its arguments. */
#ifndef BEND_MODELS_SEQLM_COMMON_H
#define BEND_MODELS_SEQLM_COMMON_H

#include <stdint.h>

#include "checkpoint/weights.h"
#include "core/error.h"
#include "gpu/device.h"
#include "models/model_config.h"

/* *out = float32 copy of tensor "<prefix><name>" with the given shape (-1: any). */
bend_status seqlm_get(const bend_weights *w, const char *prefix, const char *name, int ndim,
                      const int64_t *shape, float **out, bend_error *err);

/* The forward passes here run on the CPU; CUDA devices get BEND_ERR_UNSUPPORTED. */
bend_status seqlm_check_device(const bend_model_config *cfg, const bend_device *dev,
                               bend_error *err);

/* Window offsets non-decreasing from 0, every id in [0, vocab_rows), layer in [-1, n_layers],
 * every window at most max_len rows (max_len <= 0: no limit). `what` names the model. */
bend_status seqlm_check_args(const char *what, int n_windows, const int64_t *offsets,
                             const int32_t *ids, int64_t vocab_rows, int layer, int n_layers,
                             int64_t max_len, bend_error *err);

#endif
