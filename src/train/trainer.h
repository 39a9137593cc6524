/* bend train: BEND's supervised training (scripts/train_on_task.py + bend/utils/task_trainer.py)
 * on a store, data parallel over the ranks of the world: every rank holds the whole model, takes
 * a disjoint share of each global batch, and gradients are summed across ranks once per step, so
 * N ranks compute what one rank computes with the same global batch (up to summation order). */
#ifndef BEND_TRAIN_TRAINER_H
#define BEND_TRAIN_TRAINER_H

#include <stdint.h>

#include "core/error.h"
#include "dist/world.h"
#include "io/config.h"

typedef struct bend_train_result {
    int64_t epochs_run;     /* epochs trained by this call */
    int64_t best_epoch;
    double test_loss;
    double test_metric;     /* the first of BEND's test metric columns */
    char output_dir[4096];
} bend_train_result;

/* Collective over w. The config is the one bend_config_load_train built (plus overrides); the
 * run records the seed it used in it (and in output_dir/config.yaml). */
bend_status bend_train_run(bend_config *cfg, const bend_world *w, bend_train_result *res,
                           bend_error *err);

#endif
