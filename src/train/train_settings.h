/* bend train's configuration, read once from the config tree (configs/train.yaml merged with
 * configs/supervised_tasks/<task>.yaml and overrides) into plain values, every value checked with
 * an error naming its key. */
#ifndef BEND_TRAIN_SETTINGS_H
#define BEND_TRAIN_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "io/config.h"
#include "train/adamw.h"
#include "train/loss.h"
#include "train/metrics.h"
#include "train/net.h"

enum {
    BEND_RESUME_NONE = -2,   /* params.load_checkpoint: false */
    BEND_RESUME_LATEST = -1, /* true: the last complete epoch */
};

typedef struct bend_train_settings {
    char *task, *embedder, *data_dir, *output_dir;
    char *store_model;        /* the store trained on: embedder, or onehot for *-supervised */
    char *store_path;         /* {data_dir}/{task}/{store_model}/embeddings.h5 */
    bend_net_spec net;        /* input_size is filled from the store */
    bend_adamw_config optimizer;
    int64_t batch_size;       /* global */
    double padding_value;
    bool shuffle;
    bool onehot_padding_a;
    int64_t cross_validation; /* 0: none; else the fold 1..number of parts */
    bool cross_validation_on;
    int64_t epochs;
    int64_t load_checkpoint;  /* BEND_RESUME_* or an epoch */
    bool test_only;           /* params.mode: test */
    int64_t grad_accum;
    bend_loss_spec loss;
    double *class_weights;    /* owned; loss.class_weights points here */
    bend_metric_kind metric;
    const char *metric_name;  /* "mcc", ... */
    int64_t early_stopping;   /* 0: off */
    uint64_t seed;
    bool seed_given;
    char *device;             /* auto | cpu | cuda */
} bend_train_settings;

bend_status bend_train_settings_load(const bend_config *cfg, bend_train_settings *s, bend_error *err);
void bend_train_settings_free(bend_train_settings *s);

#endif
