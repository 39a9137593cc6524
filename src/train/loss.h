/* BEND's training losses (bend/utils/task_trainer.py), returned as a SUM with its normaliser so
 * that data-parallel ranks can add their shards' sums and divide once by the global normaliser:
 * loss = sum / norm over the global batch, exactly the single-process mean. */
#ifndef BEND_TRAIN_LOSS_H
#define BEND_TRAIN_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef enum bend_loss_kind {
    BEND_LOSS_CROSS_ENTROPY, /* logits [N, C], targets class ids, -100 ignored */
    BEND_LOSS_BCE,           /* BCEWithLogits element-wise, targets 0/1 */
    BEND_LOSS_MSE,
    BEND_LOSS_POISSON,       /* mean(pred - t * log(max(pred, 1e-20))) */
} bend_loss_kind;

typedef struct bend_loss_spec {
    bend_loss_kind kind;
    const double *class_weights; /* NULL or n_class_weights values: CE per-class weights; BCE the
                                    weight of elements whose target is 1 (BEND's pos weighting) */
    int64_t n_class_weights;
    /* BCE only. false (BEND as shipped): the padding mask masks nothing, every element counts,
     * -100 targets included. true: elements with target -100 are left out. */
    bool bce_mask_padding;
} bend_loss_spec;

bend_status bend_loss_kind_from_name(const char *name, bend_loss_kind *out, bend_error *err);

/* pred: n_rows x n_cols (CE: rows = positions, cols = classes; others: n_rows*n_cols elements
 * each paired with the target at the same index). target: CE n_rows class ids; others
 * n_rows*n_cols values. Outputs *sum and *norm (CE: sum of the weights of non-ignored rows;
 * BCE/MSE/Poisson: number of counted elements). dpred (may be NULL): d(sum)/d(pred), same shape
 * as pred. A target outside [0, n_cols) other than -100 for CE is an error naming its index. */
bend_status bend_loss_sum(const bend_loss_spec *spec, const float *pred, const double *target,
                          int64_t n_rows, int64_t n_cols, double *sum, double *norm, float *dpred,
                          bend_error *err);

#endif
