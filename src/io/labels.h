/* A task's HDF5 label file (gene_finding, enhancer_annotation): one dataset `labels` whose first
 * axis shares the BED's data-row index, as BEND reads it (h5py ['labels'][mask][n]). Two shapes
 * occur: fixed [N, ...] (one fixed-size vector per row, e.g. enhancer bins) and variable-length
 * [N] (one label per nucleotide, length varying with the region). Values are integers or floats;
 * integers come back as int64, floats as double. */
#ifndef BEND_IO_LABELS_H
#define BEND_IO_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_h5labels bend_h5labels;

/* Opens path's `labels` and checks its row count against the BED's (bed_path named in errors). */
bend_status bend_h5labels_open(const char *path, int64_t bed_rows, const char *bed_path,
                               bend_h5labels **out, bend_error *err);
void bend_h5labels_close(bend_h5labels *h);

bool bend_h5labels_variable(const bend_h5labels *h); /* one label per nucleotide, ragged */
bool bend_h5labels_float(const bend_h5labels *h);
int64_t bend_h5labels_width(const bend_h5labels *h); /* fixed: values per row */

/* Variable-length labels: the number of values of each of rows[0..n). */
bend_status bend_h5labels_lengths(bend_h5labels *h, const int64_t *rows, int64_t n,
                                  int64_t *lengths, bend_error *err);
/* Values of rows[0..n) concatenated (fixed: n*width; variable: the sum of their lengths), as
 * int64_t or double per bend_h5labels_float. */
bend_status bend_h5labels_read(bend_h5labels *h, const int64_t *rows, int64_t n, void *out,
                               bend_error *err);

#endif
