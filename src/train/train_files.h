/* What bend train leaves in output_dir, in BEND's names and columns:
 *   config.yaml                                the run's resolved configuration, seed included
 *   checkpoints/epoch_N/model.safetensors      the net's state_dict (BEND's keys and shapes:
 *                                              load_state_dict(safetensors.torch.load_file(...)))
 *   checkpoints/epoch_N/optimizer.safetensors  AdamW's exp_avg / exp_avg_sq per parameter
 *   checkpoints/epoch_N/state.json             epoch, losses, metric, seed, the history so far
 *   losses.csv                                 Epoch, train_loss, val_loss, val_{metric}
 *   best_model_metrics.csv                     the best epoch's row + the test columns
 *   test_predictions.h5                        y_true, y_pred: what the test metric was computed on
 * An epoch directory is written under a temporary name and renamed into place, so a kill leaves
 * either the whole epoch or none of it; losses.csv is rewritten whole (tmp + rename). */
#ifndef BEND_TRAIN_FILES_H
#define BEND_TRAIN_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "train/adamw.h"
#include "train/net.h"

typedef struct bend_epoch_record {
    int64_t epoch;
    double train_loss, val_loss, val_metric;
} bend_epoch_record;

/* mkdir -p output_dir/checkpoints. fresh: remove what an earlier run of bend train wrote there
 * (epoch directories and the files above; nothing else), as BEND starts a new run afresh. */
bend_status bend_train_prepare_output(const char *output_dir, bool fresh, bend_error *err);

bend_status bend_train_save_checkpoint(const char *output_dir, bend_net *net, bend_adamw *opt,
                                       const char *metric_name, uint64_t seed,
                                       const bend_epoch_record *history, size_t n_history,
                                       bend_error *err);

/* The highest complete epoch (want < 0) or epoch `want`; *epoch 0 when there is none and
 * want < 0; BEND_ERR_IO naming the directory when `want` is missing. */
bend_status bend_train_find_checkpoint(const char *output_dir, int64_t want, int64_t *epoch,
                                       bend_error *err);

/* Loads epoch's weights into net (and, if opt, the optimizer state), its history (malloc'd,
 * epochs 1..epoch) and seed. Tensors are checked by name and shape. */
bend_status bend_train_load_checkpoint(const char *output_dir, int64_t epoch, bend_net *net,
                                       bend_adamw *opt, bend_epoch_record **history,
                                       size_t *n_history, uint64_t *seed, bend_error *err);

/* config.yaml: the resolved configuration of the run (tmp + rename, like every file here). */
bend_status bend_train_write_config(const char *output_dir, const char *yaml, bend_error *err);

bend_status bend_train_write_losses(const char *output_dir, const char *metric_name,
                                    const bend_epoch_record *history, size_t n, bend_error *err);

/* best_model_metrics.csv: the best row cross-joined with test columns (names and values). */
bend_status bend_train_write_best_metrics(const char *output_dir, const char *metric_name,
                                          const bend_epoch_record *best, char *const *columns,
                                          const double *values, size_t n_values, bend_error *err);

/* test_predictions.h5 with y_true (int64) and y_pred (float64 for scores, int64 for classes),
 * both [rows] when width is 0, else [rows, width]. */
bend_status bend_train_write_predictions(const char *output_dir, const int64_t *y_true,
                                         const double *y_pred, bool pred_is_class, size_t rows,
                                         size_t width, const char *metric_name, int64_t epoch,
                                         bend_error *err);

/* Shortest decimal that reads back as the same double (what pandas writes); "" for NaN. */
void bend_format_double(double v, char *buf, size_t len);

#endif
