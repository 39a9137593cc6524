/* BEND's task BED files, read exactly as BEND reads them (pandas read_csv, sep='\t', header row):
 * chrom, start, end by position (0-based, half-open); split = the LAST column; `strand` and
 * `label` columns found by name, else at BEND's fallback positions (strand: column 3, label:
 * column 6). Blank lines are skipped as pandas skips them, so a row's index counts data rows
 * only. Every field is validated here, so later stages can trust the table and every message
 * names the file and line. */
#ifndef BEND_IO_BED_H
#define BEND_IO_BED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_bed_options {
    bool need_strand;  /* read_strand: every row's strand must be '+' or '-' */
    int label_depth;   /* > 0: the label column is required and each id must be < label_depth */
} bend_bed_options;

typedef struct bend_bed {
    char *path;
    size_t n_cols;
    char **col_names;
    int strand_col;  /* -1 when absent (or not needed) */
    int label_col;   /* -1 when absent (or not needed) */

    size_t n_rows;
    int32_t *chrom;  /* index into chrom_names */
    int64_t *start;
    int64_t *end;
    char *strand;    /* '+' or '-' ('+' for every row when strand is not needed) */
    int32_t *split;  /* index into split_names */
    int64_t *line;   /* 1-based line number in the file, for messages */

    /* Label ids of row i: label_ids[label_off[i] .. label_off[i+1]) (only when label_depth > 0) */
    int32_t *label_ids;
    size_t *label_off;

    size_t n_chroms;
    char **chrom_names;  /* in order of first appearance */
    size_t n_splits;
    char **split_names;  /* in order of first appearance, as BEND lists splits */
} bend_bed;

bend_status bend_bed_read(const char *path, const bend_bed_options *opts, bend_bed **out,
                          bend_error *err);
void bend_bed_free(bend_bed *bed);

/* Index of a split name, or -1. */
int bend_bed_split_index(const bend_bed *bed, const char *name);

/* BEND's multi-hot: out[depth] = number of times each id occurs in row's label (int64). */
void bend_bed_multi_hot(const bend_bed *bed, size_t row, int depth, int64_t *out);

#endif
