/* The reference genome through htslib's faidx: random access by region, the index (.fai) built
 * next to the FASTA when it is missing. Sequences come back as BEND's sequtils.Fasta.fetch makes
 * them: upper-cased, and for '-' reverse-complemented with A<->T, C<->G and every other letter
 * -> N. Each rank opens its own handle (faidx_t is not shared between threads). */
#ifndef BEND_IO_FASTA_H
#define BEND_IO_FASTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_fasta bend_fasta;

bend_status bend_fasta_open(const char *path, bend_fasta **out, bend_error *err);
void bend_fasta_close(bend_fasta *fa);

const char *bend_fasta_path(const bend_fasta *fa);
size_t bend_fasta_n_chroms(const bend_fasta *fa);
const char *bend_fasta_chrom_name(const bend_fasta *fa, size_t i);
/* Length of a chromosome, or -1 when the FASTA has no such sequence. */
int64_t bend_fasta_chrom_length(const bend_fasta *fa, const char *chrom);

/* Writes the end-start bases of chrom:[start,end) into out (no terminator), upper-cased and, when
 * reverse is true, reverse-complemented. The region must lie inside the chromosome. */
bend_status bend_fasta_fetch(bend_fasta *fa, const char *chrom, int64_t start, int64_t end,
                             bool reverse, char *out, bend_error *err);

/* BEND's rules on a buffer, exposed for tests and other callers. */
void bend_dna_upper(char *seq, size_t len);
void bend_dna_reverse_complement(char *seq, size_t len); /* expects upper case */

/* A hint when chrom is missing but the FASTA names it with or without a "chr" prefix. Writes
 * "" when there is none. */
void bend_fasta_suggest_chrom(const bend_fasta *fa, const char *chrom, char *out, size_t out_len);

#endif
