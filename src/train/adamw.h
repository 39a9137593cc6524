/* torch.optim.AdamW (decoupled weight decay, bias-corrected moments, PyTorch's exact update
 * order), over a net's parameters. State can be saved and restored for resume. */
#ifndef BEND_TRAIN_ADAMW_H
#define BEND_TRAIN_ADAMW_H

#include <stdint.h>

#include "core/error.h"
#include "train/net.h"

typedef struct bend_adamw_config {
    double lr;           /* 1e-3 */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* 0.01 (BEND): applied to every tensor, biases included */
} bend_adamw_config;

typedef struct bend_adamw bend_adamw;

/* One state per non-buffer param of params[0..n). */
bend_status bend_adamw_create(const bend_adamw_config *cfg, const bend_param *params, int n,
                              bend_adamw **out, bend_error *err);
void bend_adamw_free(bend_adamw *opt);

/* One step: uses params[i].grad as is (the caller has averaged/all-reduced it). */
void bend_adamw_step(bend_adamw *opt, bend_param *params, int n);

/* Saved state: step count and, per optimised param i (in order), exp_avg / exp_avg_sq arrays of
 * params[i].numel floats. Pointers are owned by opt; writable for restoring. */
int64_t *bend_adamw_step_count(bend_adamw *opt);
float *bend_adamw_exp_avg(bend_adamw *opt, int i);
float *bend_adamw_exp_avg_sq(bend_adamw *opt, int i);

#endif
