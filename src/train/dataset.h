/* What bend train reads: a store split (or, for enhancer cross-validation, several) as one list of
 * samples, cut into padded batches the way BEND's collate builds them, by a background thread so
 * that reading overlaps compute. */
#ifndef BEND_TRAIN_DATASET_H
#define BEND_TRAIN_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

typedef struct bend_dataset {
    bend_store_reader *store; /* borrowed */
    char *name;               /* "train", or "part2+part3+..." for several splits */
    int64_t n;                /* samples */
    uint32_t *part;           /* sample k is sample index[k] of store split part[k] */
    int64_t *index;
    int64_t dim;
    bend_label_kind label_kind;
    int64_t label_width;      /* PER_SAMPLE */
} bend_dataset;

/* The samples of the named store splits, in order. Every split must be complete (all samples
 * embedded) and have labels of one kind and width; errors name the split and what to do. */
bend_status bend_dataset_open(bend_store_reader *store, const char *const *splits, size_t n_splits,
                              bend_dataset *out, bend_error *err);
void bend_dataset_free(bend_dataset *d);

typedef struct bend_pad_rule {
    double label_padding;  /* -100 */
    bool onehot_as_a;      /* pad one-hot inputs with 'A' (BEND pads ids with 0), else zeros */
} bend_pad_rule;

/* One rank's share of one batch: n samples padded to the longest, L. */
typedef struct bend_batch {
    int64_t n, L, D;
    int64_t label_len;   /* PER_NUCLEOTIDE: L; PER_SAMPLE: the width */
    float *x;            /* [n, L, D]; padding as the rule says */
    double *y;           /* [n, label_len]; label padding where a sample is shorter */
    int64_t *lengths;    /* [n] rows of each sample */
    int64_t *sample;     /* [n] dataset sample indices */
    size_t cap_x, cap_y, cap_n;
} bend_batch;

void bend_batch_free(bend_batch *b);

/* Reads samples ids[0..n) of d into b (grown as needed), padded to the longest of them or to
 * pad_to rows when that is more: a data-parallel rank pads its share of a batch to the whole
 * batch's longest, as BEND pads the batch before DataParallel splits it (padding reaches the
 * real positions at a sequence's end through the convolutions). */
bend_status bend_dataset_read_batch(const bend_dataset *d, const int64_t *ids, int64_t n,
                                    int64_t pad_to, const bend_pad_rule *pad, bend_batch *b,
                                    bend_error *err);

/* A reader thread that prepares batches ahead of the consumer (two buffers): batch k holds
 * ids[starts[k] .. starts[k+1]), padded to at least pad_to[k] rows (pad_to may be NULL). Only
 * this thread touches HDF5 while the loader runs. */
typedef struct bend_loader bend_loader;

bend_status bend_loader_start(const bend_dataset *d, const int64_t *ids, const int64_t *starts,
                              const int64_t *pad_to, int64_t n_batches, const bend_pad_rule *pad,
                              bend_loader **out, bend_error *err);
/* The next batch (*b NULL after the last). The batch stays valid until the next call. */
bend_status bend_loader_next(bend_loader *l, const bend_batch **b, bend_error *err);
/* Joins the thread (also before the end) and frees everything. */
void bend_loader_stop(bend_loader *l);

#endif
