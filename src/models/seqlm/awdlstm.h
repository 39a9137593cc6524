/* AWD-LSTM specifics beyond the generic bend_lm contract: its inner layers are hidden_size wide,
 * not the model's output width (input_size), so they cannot come back through bend_lm_forward's
 * [rows, dim] buffer; this reads any layer with its own width. */
#ifndef BEND_MODELS_SEQLM_AWDLSTM_H
#define BEND_MODELS_SEQLM_AWDLSTM_H

#include "models/lm.h"

/* Width of layer `layer` (-1, 0: input_size; 1..n-1: hidden_size; n: input_size). lm must come
 * from bend_awdlstm_lm_open. */
int64_t bend_awdlstm_lm_layer_width(const bend_lm *lm, int layer);

/* bend_lm_forward for any layer: out is [offsets[n_windows], bend_awdlstm_lm_layer_width]. */
bend_status bend_awdlstm_lm_forward_layer(bend_lm *lm, int n_windows, const int64_t *offsets,
                                          const int32_t *ids, int layer, float *out,
                                          bend_error *err);

#endif
