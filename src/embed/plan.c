#include "embed/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static bend_status validate_regions(const bend_bed *bed, bend_fasta *fasta, bend_error *err)
{
    int64_t *len = malloc((bed->n_chroms ? bed->n_chroms : 1) * sizeof *len);
    if (!len) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < bed->n_chroms; c++) len[c] = bend_fasta_chrom_length(fasta, bed->chrom_names[c]);
    bend_status st = BEND_OK;
    for (size_t r = 0; r < bed->n_rows && !st; r++) {
        int32_t c = bed->chrom[r];
        const char *name = bed->chrom_names[c];
        if (len[c] < 0) {
            char hint[512];
            bend_fasta_suggest_chrom(fasta, name, hint, sizeof hint);
            st = bend_fail(err, BEND_ERR_INVALID,
                           "%s:%lld: chromosome '%s' is not in reference FASTA %s (its first "
                           "sequence is '%s')%s", bed->path, (long long)bed->line[r], name,
                           bend_fasta_path(fasta), bend_fasta_chrom_name(fasta, 0), hint);
        } else if (bed->end[r] > len[c]) {
            st = bend_fail(err, BEND_ERR_INVALID,
                           "%s:%lld: region %s:%lld-%lld ends past the end of %s (length %lld) in %s",
                           bed->path, (long long)bed->line[r], name, (long long)bed->start[r],
                           (long long)bed->end[r], name, (long long)len[c], bend_fasta_path(fasta));
        }
    }
    free(len);
    return st;
}

/* Rows of each sample: its length, or what the model says it produces (needs the sequence).
 * Samples the model says BEND would not store are taken out of their split, reported with their
 * line, and remembered for the store's `skipped_bed_row`. */
static bend_status count_rows(const bend_bed *bed, bend_fasta *fasta, bend_embedder *emb,
                              bend_embed_plan *p, bend_error *err)
{
    bool per_nt = bend_embedder_one_row_per_nucleotide(emb);
    char *seq = NULL, why[256];
    size_t cap = 0;
    int64_t reported = 0;
    bend_status st = BEND_OK;
    for (size_t s = 0; s < p->n_splits && !st; s++) {
        size_t n = (size_t)(p->split_n[s] ? p->split_n[s] : 1);
        p->sample_rows[s] = malloc(n * sizeof **p->sample_rows);
        p->split_skipped_rows[s] = malloc(n * sizeof **p->split_skipped_rows);
        if (!p->sample_rows[s] || !p->split_skipped_rows[s]) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        int64_t kept = 0;
        for (int64_t i = 0; i < p->split_n[s] && !st; i++) {
            int64_t r = p->split_rows[s][i], len = bed->end[r] - bed->start[r], rows = len;
            if (!per_nt) {
                if ((size_t)len > cap) {
                    char *q = realloc(seq, (size_t)len);
                    if (!q) { st = bend_fail(err, BEND_ERR_NOMEM, "out of memory"); break; }
                    seq = q;
                    cap = (size_t)len;
                }
                st = bend_fasta_fetch(fasta, bed->chrom_names[bed->chrom[r]], bed->start[r], bed->end[r],
                                      bed->strand[r] == '-', seq, err);
                if (!st) st = bend_embedder_count_rows(emb, seq, len, &rows, why, sizeof why, err);
                if (st) {
                    bend_error_context(err, "%s:%lld", bed->path, (long long)bed->line[r]);
                    break;
                }
            }
            if (rows < 0) {
                if (reported++ < 20)
                    bend_warn("%s:%lld: not embedded: %s (BEND's pipeline drops this sample too)",
                              bed->path, (long long)bed->line[r], why);
                p->split_skipped_rows[s][p->split_skipped[s]++] = r;
                continue;
            }
            p->split_rows[s][kept] = r;
            p->sample_rows[s][kept++] = rows;
        }
        p->split_n[s] = kept;
    }
    if (reported > 20) bend_warn("%lld samples in all are not embedded (listed in each split's skipped_bed_row)", (long long)reported);
    free(seq);
    return st;
}

bend_status bend_embed_plan_make(const bend_embed_settings *s, bend_fasta *fasta,
                                 bend_embedder *emb, bend_embed_plan *p, bend_bed **bed_out,
                                 bend_error *err)
{
    memset(p, 0, sizeof *p);
    *bed_out = NULL;
    bend_bed_options opts = {.need_strand = s->read_strand,
                             .label_depth = s->hdf5_file ? 0 : (int)s->label_depth};
    bend_bed *bed;
    bend_status st = bend_bed_read(s->bed, &opts, &bed, err);
    if (st) return st;
    if ((st = validate_regions(bed, fasta, err))) goto fail;
    for (size_t i = 0; i < bed->n_splits; i++) {
        const char *name = bed->split_names[i];
        if (!*name || strchr(name, '/') || !strcmp(name, ".")) {
            st = bend_fail(err, BEND_ERR_INVALID, "%s: split name '%s' (last column) cannot name an "
                           "HDF5 group: it is empty, '.' or contains '/'", bed->path, name);
            goto fail;
        }
    }
    /* The plan takes copies of the BED's arrays so that it can be broadcast and freed alone. */
    p->n_chroms = bed->n_chroms;
    p->n_rows = (int64_t)bed->n_rows;
    p->n_splits = bed->n_splits;
    size_t nr = bed->n_rows ? bed->n_rows : 1, ns = bed->n_splits ? bed->n_splits : 1;
    p->chrom_names = calloc(bed->n_chroms ? bed->n_chroms : 1, sizeof *p->chrom_names);
    p->chrom = malloc(nr * sizeof *p->chrom);
    p->start = malloc(nr * sizeof *p->start);
    p->end = malloc(nr * sizeof *p->end);
    p->strand = malloc(nr);
    p->split_names = calloc(ns, sizeof *p->split_names);
    p->split_n = calloc(ns, sizeof *p->split_n);
    p->split_rows = calloc(ns, sizeof *p->split_rows);
    p->sample_rows = calloc(ns, sizeof *p->sample_rows);
    p->split_skipped = calloc(ns, sizeof *p->split_skipped);
    p->split_skipped_rows = calloc(ns, sizeof *p->split_skipped_rows);
    if (!p->chrom_names || !p->chrom || !p->start || !p->end || !p->strand || !p->split_names ||
        !p->split_n || !p->split_rows || !p->sample_rows || !p->split_skipped || !p->split_skipped_rows) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t c = 0; c < bed->n_chroms; c++)
        if (!(p->chrom_names[c] = strdup(bed->chrom_names[c]))) { st = bend_fail(err, BEND_ERR_NOMEM, "out of memory"); goto fail; }
    memcpy(p->chrom, bed->chrom, bed->n_rows * sizeof *p->chrom);
    memcpy(p->start, bed->start, bed->n_rows * sizeof *p->start);
    memcpy(p->end, bed->end, bed->n_rows * sizeof *p->end);
    memcpy(p->strand, bed->strand, bed->n_rows);
    for (size_t r = 0; r < bed->n_rows; r++) p->split_n[bed->split[r]]++;
    for (size_t i = 0; i < bed->n_splits; i++) {
        p->split_names[i] = strdup(bed->split_names[i]);
        p->split_rows[i] = malloc((size_t)(p->split_n[i] ? p->split_n[i] : 1) * sizeof **p->split_rows);
        if (!p->split_names[i] || !p->split_rows[i]) { st = bend_fail(err, BEND_ERR_NOMEM, "out of memory"); goto fail; }
        p->split_n[i] = 0;
    }
    for (size_t r = 0; r < bed->n_rows; r++) {
        int32_t sp = bed->split[r];
        p->split_rows[sp][p->split_n[sp]++] = (int64_t)r;
    }
    if ((st = count_rows(bed, fasta, emb, p, err))) goto fail;
    *bed_out = bed;
    return BEND_OK;
fail:
    bend_bed_free(bed);
    bend_embed_plan_free(p);
    return st;
}

/* MPI counts are ints: large arrays travel in pieces. */
static void bcast_bytes(void *buf, size_t bytes, MPI_Comm comm)
{
    char *p = buf;
    const size_t piece = (size_t)1 << 30;
    while (bytes) {
        size_t n = bytes < piece ? bytes : piece;
        MPI_Bcast(p, (int)n, MPI_BYTE, 0, comm);
        p += n;
        bytes -= n;
    }
}

static bend_status bcast_alloc(void **buf, size_t bytes, int rank, MPI_Comm comm, bend_error *err)
{
    int ok = 1, all_ok;
    if (rank != 0 && !(*buf = malloc(bytes ? bytes : 1))) ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) return bend_fail(err, BEND_ERR_NOMEM, "out of memory receiving the plan");
    bcast_bytes(*buf, bytes, comm);
    return BEND_OK;
}

static bend_status bcast_string(char **s, int rank, MPI_Comm comm, bend_error *err)
{
    int64_t len = rank == 0 ? (int64_t)strlen(*s) + 1 : 0;
    MPI_Bcast(&len, 1, MPI_INT64_T, 0, comm);
    return bcast_alloc((void **)s, (size_t)len, rank, comm, err);
}

bend_status bend_embed_plan_bcast(bend_embed_plan *p, MPI_Comm comm, bend_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int64_t head[3] = {(int64_t)p->n_chroms, p->n_rows, (int64_t)p->n_splits};
    MPI_Bcast(head, 3, MPI_INT64_T, 0, comm);
    if (rank != 0) {
        p->n_chroms = (size_t)head[0];
        p->n_rows = head[1];
        p->n_splits = (size_t)head[2];
        p->chrom_names = calloc(p->n_chroms ? p->n_chroms : 1, sizeof *p->chrom_names);
        p->split_names = calloc(p->n_splits ? p->n_splits : 1, sizeof *p->split_names);
        p->split_rows = calloc(p->n_splits ? p->n_splits : 1, sizeof *p->split_rows);
        p->split_n = calloc(p->n_splits ? p->n_splits : 1, sizeof *p->split_n);
    }
    bend_status st = BEND_OK;
    for (size_t c = 0; c < p->n_chroms && !st; c++) st = bcast_string(&p->chrom_names[c], rank, comm, err);
    size_t nr = (size_t)p->n_rows;
    if (!st) st = bcast_alloc((void **)&p->chrom, nr * sizeof *p->chrom, rank, comm, err);
    if (!st) st = bcast_alloc((void **)&p->start, nr * sizeof *p->start, rank, comm, err);
    if (!st) st = bcast_alloc((void **)&p->end, nr * sizeof *p->end, rank, comm, err);
    if (!st) st = bcast_alloc((void **)&p->strand, nr, rank, comm, err);
    if (!st) MPI_Bcast(p->split_n, (int)p->n_splits, MPI_INT64_T, 0, comm);
    for (size_t s = 0; s < p->n_splits && !st; s++) {
        st = bcast_string(&p->split_names[s], rank, comm, err);
        if (!st) st = bcast_alloc((void **)&p->split_rows[s], (size_t)p->split_n[s] * sizeof **p->split_rows,
                                  rank, comm, err);
    }
    return st;
}

void bend_embed_plan_free(bend_embed_plan *p)
{
    for (size_t c = 0; p->chrom_names && c < p->n_chroms; c++) free(p->chrom_names[c]);
    for (size_t s = 0; s < p->n_splits; s++) {
        if (p->split_names) free(p->split_names[s]);
        if (p->split_rows) free(p->split_rows[s]);
        if (p->sample_rows) free(p->sample_rows[s]);
        if (p->split_skipped_rows) free(p->split_skipped_rows[s]);
    }
    free(p->chrom_names);
    free(p->chrom);
    free(p->start);
    free(p->end);
    free(p->strand);
    free(p->split_names);
    free(p->split_n);
    free(p->split_rows);
    free(p->sample_rows);
    free(p->split_skipped);
    free(p->split_skipped_rows);
    memset(p, 0, sizeof *p);
}

int bend_embed_plan_split(const bend_embed_plan *p, const char *name)
{
    for (size_t s = 0; s < p->n_splits; s++)
        if (!strcmp(p->split_names[s], name)) return (int)s;
    return -1;
}
