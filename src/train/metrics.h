/* BEND's evaluation metrics (upstream bend/utils/task_trainer.py `_calculate_metric`), computed
 * so that they equal scikit-learn's values: matthews_corrcoef with per-class recall/precision
 * ("mcc"), roc_auc_score ("auroc", flattened or per label), average_precision_score ("auprc")
 * and r_regression ("pearsonr").
 *
 * Conventions shared by every function here:
 * - y_true is int64: class ids (mcc) or 0/1 targets (auroc, auprc); scores are double (the caller
 *   converts float predictions). A y_true of BEND_METRIC_PADDING (-100) marks a padded position:
 *   it is skipped together with the prediction at the same index, as BEND's mask does before it
 *   calls sklearn. bend_metric_drop_padding() compacts arrays instead, when a caller wants that.
 * - Any other bad input (a label < 0 or > BEND_METRIC_MAX_LABEL, a target that is not 0/1, a NaN
 *   or infinite score) fails with BEND_ERR_INVALID and a message naming the offending index.
 * - Where sklearn raises (roc_auc_score on a single-class y_true) the value is NaN and a flag
 *   says so, so that the caller can warn and go on; a run must not die at the end of an epoch.
 * - Functions allocate only what their result returns; *_result_free() releases it. Work memory
 *   is O(n) (scores are radix-sorted as 8-byte keys: at most 2n keys, about 1 s per 3*10^7
 *   scores) and freed before returning. mcc keeps only per-label counts, which is all MCC,
 *   recall and precision read of the confusion matrix: one pass, no sort, memory O(max label),
 *   ~0.3 s for 10^8 positions. */
#ifndef BEND_TRAIN_METRICS_H
#define BEND_TRAIN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum { BEND_METRIC_PADDING = -100 };
#define BEND_METRIC_MAX_LABEL INT64_C(1000000)

typedef enum bend_metric_kind {
    BEND_METRIC_MCC = 0,
    BEND_METRIC_AUROC = 1,
    BEND_METRIC_AUPRC = 2,
    BEND_METRIC_PEARSONR = 3,
} bend_metric_kind;

/* "mcc", "auroc", "auprc" or "pearsonr" (BEND's config.params.metric values); anything else is
 * BEND_ERR_INVALID with a message listing the valid names. */
bend_status bend_metric_kind_from_name(const char *name, bend_metric_kind *kind, bend_error *err);
const char *bend_metric_kind_name(bend_metric_kind kind);

/* Compacts, in place, n_rows rows of `width` entries: y_true is [n_rows, width] int64, y_pred
 * [n_rows, width] elements of pred_elem_size bytes (int64 class ids or double scores). A row
 * whose y_true entries are all BEND_METRIC_PADDING is dropped, the others are moved to the front
 * in order; *n_rows_kept receives their count. A row that is only partly padding is
 * BEND_ERR_INVALID naming its row and column. width 1 is the flattened case. */
bend_status bend_metric_drop_padding(int64_t *y_true, void *y_pred, size_t pred_elem_size,
                                     size_t n_rows, size_t width, size_t *n_rows_kept,
                                     bend_error *err);

/* ---- mcc: matthews_corrcoef + recall_score/precision_score(average=None) ---- */

typedef struct bend_metric_mcc_result {
    double mcc;        /* 0 when sklearn's denominator is 0 (a single class, or n == 0) */
    size_t n;          /* positions counted (padding excluded) */
    size_t n_labels;   /* k: labels present in y_true or y_pred */
    int64_t *labels;   /* [k] ascending: sklearn's unique_labels(y_true, y_pred) */
    double *recall;    /* [k] tp / (y_true == label); 0 where that label never occurs in y_true */
    double *precision; /* [k] tp / (y_pred == label); 0 where it is never predicted */
} bend_metric_mcc_result;

/* y_true, y_pred: n class ids in 0..BEND_METRIC_MAX_LABEL (y_true may be padding). On success
 * *out owns its arrays (NULL when k == 0); on failure *out holds nothing to free. */
bend_status bend_metric_mcc(const int64_t *y_true, const int64_t *y_pred, size_t n,
                            bend_metric_mcc_result *out, bend_error *err);
void bend_metric_mcc_result_free(bend_metric_mcc_result *r);

/* ---- binary auroc / auprc on flattened arrays ---- */

typedef struct bend_metric_binary_result {
    double value;      /* see each function */
    size_t n;          /* positions scored (padding excluded) */
    size_t n_pos;      /* of which y_true == 1 */
    bool single_class; /* n == 0, or every counted y_true is the same: sklearn raises (auroc)
                          or warns (auprc); the caller should warn */
} bend_metric_binary_result;

/* roc_auc_score(y_true, y_score): area under the ROC curve through the points at every distinct
 * score (tied scores are one threshold), by the trapezoidal rule. Computed from integer counts
 * (exact up to the final division). value is NaN when single_class. n must be < 2^32. */
bend_status bend_metric_auroc(const int64_t *y_true, const double *y_score, size_t n,
                              bend_metric_binary_result *out, bend_error *err);

/* average_precision_score(y_true, y_score): sum over distinct score thresholds, from the highest,
 * of (R_t - R_{t-1}) * P_t, without interpolation. As in sklearn: 1 when every target is 1, 0 when
 * none is (sklearn warns "No positive class found"); NaN when n == 0 (sklearn raises). */
bend_status bend_metric_auprc(const int64_t *y_true, const double *y_score, size_t n,
                              bend_metric_binary_result *out, bend_error *err);

/* ---- auroc per label: roc_auc_score(y_true [N,C], y_score [N,C], average=None) ---- */

typedef struct bend_metric_auroc_multilabel_result {
    size_t n_labels;           /* C */
    double *per_label;         /* [C] AUROC of column c; NaN where undefined */
    unsigned char *undefined;  /* [C] 1 where column c has a single class (sklearn raises for
                                  the whole call there; BEND's run would die) */
    size_t n_undefined;
    double mean;               /* mean over the defined labels (BEND's `metric.mean()`, which is
                                  the same when all are defined); NaN when none is */
} bend_metric_auroc_multilabel_result;

/* y_true and y_score row-major [n_rows, n_labels]; padding entries are skipped within their
 * column. On success *out owns its arrays; on failure it holds nothing to free. */
bend_status bend_metric_auroc_multilabel(const int64_t *y_true, const double *y_score,
                                         size_t n_rows, size_t n_labels,
                                         bend_metric_auroc_multilabel_result *out,
                                         bend_error *err);
void bend_metric_auroc_multilabel_result_free(bend_metric_auroc_multilabel_result *r);

/* ---- pearsonr: r_regression(y_true[:, None], y_pred)[0] ---- */

typedef struct bend_metric_pearson_result {
    double r;
    size_t n;       /* positions counted (padding excluded) */
    bool constant;  /* a side is constant (or n < 2): r is 0, sklearn's force_finite value */
} bend_metric_pearson_result;

/* Pearson's r between the targets and the predictions, from centred sums. When a side is
 * constant r is 0: that is what r_regression's force_finite=True documents and returns when its
 * arithmetic is exact; with inexact means sklearn can return rounding noise there instead (e.g.
 * -inf for y_true = [1,1,1]), which is not reproduced. NaN when n == 0 (sklearn raises). */
bend_status bend_metric_pearsonr(const int64_t *y_true, const double *y_pred, size_t n,
                                 bend_metric_pearson_result *out, bend_error *err);

#endif
