/* The plan of an embedding run, made by rank 0 and broadcast: the BED's regions (validated
 * against the reference), and for every split the BED rows that are its samples, in BED order.
 * Rank 0 also makes sure the store exists and matches (store_prepare.c). */
#ifndef BEND_EMBED_PLAN_H
#define BEND_EMBED_PLAN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "embed/settings.h"
#include "io/bed.h"
#include "io/config.h"
#include "io/fasta.h"
#include "models/embedder.h"

typedef struct bend_embed_plan {
    size_t n_chroms;
    char **chrom_names;
    int64_t n_rows; /* BED data rows */
    int32_t *chrom;
    int64_t *start, *end;
    char *strand;   /* '+' or '-' (always '+' when the task does not read strands) */
    size_t n_splits;
    char **split_names;   /* BED order of first appearance */
    int64_t *split_n;     /* samples of each split */
    int64_t **split_rows; /* BED row of each sample */
    int64_t **sample_rows; /* embedding rows of each sample (rank 0 only; NULL elsewhere) */
    int64_t *split_skipped;       /* rank 0: BED rows of each split that BEND would not store */
    int64_t **split_skipped_rows;
} bend_embed_plan;

/* Rank 0: reads and validates the BED against the FASTA (every chromosome known, every region
 * inside it) and groups rows by split. The BED stays available in *bed for labels. */
bend_status bend_embed_plan_make(const bend_embed_settings *s, bend_fasta *fasta,
                                 bend_embedder *emb, bend_embed_plan *plan, bend_bed **bed,
                                 bend_error *err);

/* Collective: rank root's plan to every rank (others pass a zeroed plan). */
bend_status bend_embed_plan_bcast(bend_embed_plan *plan, MPI_Comm comm, bend_error *err);

void bend_embed_plan_free(bend_embed_plan *plan);

/* Index of a split by name, or -1. */
int bend_embed_plan_split(const bend_embed_plan *plan, const char *name);

#endif
