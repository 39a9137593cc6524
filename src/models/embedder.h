/* The embedder interface: what bend.utils.embedders is in BEND. A model family implements the
 * ops below; callers see one handle. Embeddings come back as float32 rows, one block per
 * sequence, concatenated: sequence i owns rows [sum of earlier rows, + rows_i). With
 * remove_special_tokens and upsampling (the defaults BEND's pipeline uses), rows_i is the
 * sequence's length in nucleotides. */
#ifndef BEND_MODELS_EMBEDDER_H
#define BEND_MODELS_EMBEDDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "gpu/device.h"
#include "io/config.h"

typedef struct bend_embedder_ops {
    const char *family;
    /* Rows the embedding of seq will have. NULL when always one row per nucleotide. A sample
     * that BEND would not store (its upsampled length differs from the sequence's) gets
     * *rows = -1 and the reason in skip[0..skip_len). */
    bend_status (*count_rows)(void *self, const char *seq, int64_t len, int64_t *rows, char *skip,
                              size_t skip_len, bend_error *err);
    /* Embeds n sequences into out (float32, rows concatenated as described above). */
    bend_status (*embed)(void *self, size_t n, const char *const *seqs, const int64_t *lens,
                         float *out, bend_error *err);
    /* Optional: a line for the end of a run (e.g. letters that needed a fallback). */
    void (*summary)(void *self, char *buf, size_t len);
    void (*destroy)(void *self);
} bend_embedder_ops;

typedef struct bend_embedder bend_embedder;

/* Opens the model configured under `model` (a configs/models/ block name) for device dev. */
bend_status bend_embedder_open(const bend_config *cfg, const char *model, const bend_device *dev,
                               bend_embedder **out, bend_error *err);
/* Wraps a custom implementation (tests, extensions); self is destroyed with the embedder. */
bend_status bend_embedder_wrap(const bend_embedder_ops *ops, void *self, int64_t dim,
                               bend_embedder **out, bend_error *err);
void bend_embedder_close(bend_embedder *e);

int64_t bend_embedder_dim(const bend_embedder *e);
const char *bend_embedder_family(const bend_embedder *e);
bool bend_embedder_one_row_per_nucleotide(const bend_embedder *e);
bend_status bend_embedder_count_rows(bend_embedder *e, const char *seq, int64_t len,
                                     int64_t *rows, char *skip, size_t skip_len, bend_error *err);
bend_status bend_embedder_embed(bend_embedder *e, size_t n, const char *const *seqs,
                                const int64_t *lens, float *out, bend_error *err);
void bend_embedder_summary(bend_embedder *e, char *buf, size_t len);

/* Families register an opener here (models/embedder.c holds the table). */
typedef bend_status (*bend_embedder_opener)(const bend_config *cfg, const char *model,
                                            const bend_device *dev, bend_embedder **out,
                                            bend_error *err);

#endif
