/* The embedding store: one HDF5 file per (task, model), one group per split (docs/STORE.md).
 *
 * Its life has two phases, and that is what makes it safe to share:
 *  1. Creation, by one process: every group, dataset and attribute is written once, with the
 *     final sizes (each sample's row count is known before anything is embedded), into a
 *     temporary file that is then linked into place atomically. Two jobs racing to create the
 *     same store cannot both win.
 *  2. Filling, by any number of ranks and of independent jobs: the only writes are raw bytes
 *     into regions allocated at creation (`embeddings` rows of a sample, then its `done` byte).
 *     No HDF5 metadata changes after creation, so a SIGKILL at any moment leaves a valid file in
 *     which every sample marked done holds its data, and a rerun fills in the rest. Samples sit
 *     at fixed positions in BED order, so every rank count gives the same bytes. */
#ifndef BEND_STORE_STORE_H
#define BEND_STORE_STORE_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"

#define BEND_STORE_FORMAT "bend-embeddings"
#define BEND_STORE_FORMAT_VERSION 1

typedef enum bend_store_dtype { BEND_STORE_F32 = 0, BEND_STORE_F16 = 1 } bend_store_dtype;

typedef enum bend_label_kind {
    BEND_LABELS_NONE = 0,
    BEND_LABELS_PER_SAMPLE = 1,     /* labels [n, width] */
    BEND_LABELS_PER_NUCLEOTIDE = 2, /* labels [total] + label_offsets [n+1] (variable length) */
} bend_label_kind;

typedef enum bend_label_type { BEND_LABEL_INT64 = 0, BEND_LABEL_FLOAT64 = 1 } bend_label_type;

typedef struct bend_store_split_spec {
    const char *name;
    int64_t n_samples;
    const int64_t *rows;    /* embedding rows of each sample */
    const int64_t *bed_row; /* 0-based data-row index in the BED (header excluded) */
    int64_t n_skipped;               /* BED rows of this split that are not stored (BEND drops */
    const int64_t *skipped_bed_row;  /* them: their embedding would not match their length) */
    bend_label_kind label_kind;
    bend_label_type label_type;
    int64_t label_width;           /* PER_SAMPLE: values per sample */
    const int64_t *label_lengths;  /* PER_NUCLEOTIDE: values per sample */
} bend_store_split_spec;

typedef struct bend_store_spec {
    const char *task;
    const char *model;
    int64_t dim;
    bend_store_dtype dtype;
    bool upsampled;              /* one row per nucleotide */
    const char *identity_yaml;   /* what decides the contents; compared when reopening */
    const char *config_yaml;     /* the resolved configuration of the creating run */
    size_t n_splits;
    const bend_store_split_spec *splits;
} bend_store_spec;

/* ---- Phase 1: creation (one process) ---------------------------------------------------- */

typedef struct bend_store_builder bend_store_builder;

bend_status bend_store_build_begin(const char *path, const bend_store_spec *spec,
                                   bend_store_builder **out, bend_error *err);
/* Labels of samples [first, first+count) of a split: PER_SAMPLE count*width values, PER_NUCLEOTIDE
 * the concatenation of their variable-length labels; int64_t or double per label_type. */
bend_status bend_store_build_write_labels(bend_store_builder *b, size_t split, int64_t first,
                                          int64_t count, const void *values, bend_error *err);
/* Closes the temporary file and links it into place. With replace, an existing store is replaced;
 * without, *lost_race is set when another process created the store first (ours is discarded). */
bend_status bend_store_build_commit(bend_store_builder *b, bool replace, bool *lost_race,
                                    bend_error *err);
void bend_store_build_abort(bend_store_builder *b);

/* Reads the identity attribute of an existing store (one process). BEND_ERR_IO when the file
 * is missing; BEND_ERR_HDF5 when it is not a bend store. */
bend_status bend_store_read_identity(const char *path, char **identity_yaml, bend_error *err);

/* ---- Phase 2: filling (collective open and close over comm) ------------------------------- */

typedef struct bend_store bend_store;

bend_status bend_store_open(const char *path, MPI_Comm comm, bend_store **out, bend_error *err);
bend_status bend_store_close(bend_store *store, bend_error *err);

int64_t bend_store_dim(const bend_store *store);
size_t bend_store_n_splits(const bend_store *store);
const char *bend_store_split_name(const bend_store *store, size_t split);
int64_t bend_store_n_samples(const bend_store *store, size_t split);
/* offsets[n+1]: sample i is rows offsets[i]..offsets[i+1]. Owned by the store. */
const int64_t *bend_store_offsets(const bend_store *store, size_t split);

/* The done flag of every sample of a split (independent read). */
bend_status bend_store_read_done(bend_store *store, size_t split, uint8_t *flags, bend_error *err);

/* Writes the rows of samples [first, first+count) (float32, converted when the store is float16)
 * and then marks them done (independent writes; any rank, any order). */
bend_status bend_store_write_samples(bend_store *store, size_t split, int64_t first, int64_t count,
                                     const float *rows, bend_error *err);

/* ---- Reading ---------------------------------------------------------------------------- */

/* Appends a summary (task, model, dims; per split samples, done, rows, complete chunks of
 * chunk_size samples, labels) to sb. One process, read-only. */
bend_status bend_store_describe(const char *path, int64_t chunk_size, bend_strbuf *sb,
                                bend_error *err);

/* ---- Reading a finished store (one process, no MPI) ------------------------------------- */

typedef struct bend_store_reader bend_store_reader;

typedef struct bend_store_split_info {
    const char *name;
    int64_t n_samples;
    int64_t n_done;                /* samples marked done */
    const int64_t *offsets;        /* n+1: sample i is embedding rows offsets[i]..offsets[i+1] */
    bend_label_kind label_kind;
    bend_label_type label_type;
    int64_t label_width;           /* PER_SAMPLE: values per sample */
    const int64_t *label_offsets;  /* n+1: sample i's labels are values [i]..[i+1] (NULL: none) */
} bend_store_split_info;

/* Opens read-only; BEND_ERR_IO when missing, BEND_ERR_HDF5 when not a bend store. */
bend_status bend_store_reader_open(const char *path, bend_store_reader **out, bend_error *err);
void bend_store_reader_close(bend_store_reader *r);
const char *bend_store_reader_path(const bend_store_reader *r);
const char *bend_store_reader_task(const bend_store_reader *r);
const char *bend_store_reader_model(const bend_store_reader *r);
int64_t bend_store_reader_dim(const bend_store_reader *r);
size_t bend_store_reader_n_splits(const bend_store_reader *r);
/* The index of a split by name; BEND_ERR_INVALID listing the store's splits when missing. */
bend_status bend_store_reader_split(const bend_store_reader *r, const char *name, size_t *index,
                                    bend_error *err);
/* Pointers stay valid until close. */
bend_store_split_info bend_store_reader_split_info(const bend_store_reader *r, size_t split);
/* Embedding rows of samples [first, first+count) as float32 (converted from float16 stores). */
bend_status bend_store_reader_rows(bend_store_reader *r, size_t split, int64_t first, int64_t count,
                                   float *out, bend_error *err);
/* Labels of samples [first, first+count) as double (label_offsets[first+count] -
 * label_offsets[first] values). */
bend_status bend_store_reader_labels(bend_store_reader *r, size_t split, int64_t first,
                                     int64_t count, double *out, bend_error *err);

#endif
