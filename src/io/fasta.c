#include "io/fasta.h"

#include <errno.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bend_fasta {
    faidx_t *fai;
    char *path;
};

bend_status bend_fasta_open(const char *path, bend_fasta **out, bend_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return bend_fail(err, BEND_ERR_IO, "cannot open reference FASTA %s: %s", path,
                         strerror(errno));
    if (S_ISDIR(st.st_mode))
        return bend_fail(err, BEND_ERR_IO, "reference FASTA %s is a directory", path);
    char fai_path[4096];
    snprintf(fai_path, sizeof fai_path, "%s.fai", path);
    bool had_index = access(fai_path, R_OK) == 0;
    bend_fasta *fa = calloc(1, sizeof *fa);
    if (!fa || !(fa->path = strdup(path))) {
        free(fa);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    /* FAI_CREATE builds the index when it is missing (fai_build3 writes <path>.fai). */
    fa->fai = fai_load3(path, NULL, NULL, FAI_CREATE);
    if (!fa->fai) {
        bend_status s = had_index
            ? bend_fail(err, BEND_ERR_IO, "cannot load the index %s of reference FASTA %s (is it "
                        "stale or corrupt? delete it and bend rebuilds it)", fai_path, path)
            : bend_fail(err, BEND_ERR_PARSE, "cannot index reference FASTA %s: it is not a valid "
                        "FASTA (every sequence's lines must have equal lengths) or %s cannot be "
                        "written", path, fai_path);
        free(fa->path);
        free(fa);
        return s;
    }
    if (faidx_nseq(fa->fai) == 0) {
        bend_fasta_close(fa);
        return bend_fail(err, BEND_ERR_PARSE, "reference FASTA %s holds no sequences", path);
    }
    *out = fa;
    return BEND_OK;
}

void bend_fasta_close(bend_fasta *fa)
{
    if (!fa) return;
    if (fa->fai) fai_destroy(fa->fai);
    free(fa->path);
    free(fa);
}

const char *bend_fasta_path(const bend_fasta *fa) { return fa->path; }
size_t bend_fasta_n_chroms(const bend_fasta *fa) { return (size_t)faidx_nseq(fa->fai); }
const char *bend_fasta_chrom_name(const bend_fasta *fa, size_t i)
{
    return faidx_iseq(fa->fai, (int)i);
}

int64_t bend_fasta_chrom_length(const bend_fasta *fa, const char *chrom)
{
    if (!faidx_has_seq(fa->fai, chrom)) return -1;
    return faidx_seq_len(fa->fai, chrom); /* faidx_seq_len64 needs htslib >= 1.18 */
}

void bend_dna_upper(char *seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (seq[i] >= 'a' && seq[i] <= 'z') seq[i] = (char)(seq[i] - 'a' + 'A');
}

static char complement(char c)
{
    switch (c) {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    default: return 'N'; /* BEND: baseComplement.get(base, 'N') */
    }
}

void bend_dna_reverse_complement(char *seq, size_t len)
{
    for (size_t i = 0, j = len; i < j;) {
        j--;
        char a = complement(seq[i]), b = complement(seq[j]);
        seq[i] = b;
        seq[j] = a;
        i++;
    }
}

bend_status bend_fasta_fetch(bend_fasta *fa, const char *chrom, int64_t start, int64_t end,
                             bool reverse, char *out, bend_error *err)
{
    int64_t chrom_len = bend_fasta_chrom_length(fa, chrom);
    if (chrom_len < 0)
        return bend_fail(err, BEND_ERR_INVALID, "chromosome '%s' is not in reference FASTA %s",
                         chrom, fa->path);
    if (start < 0 || end < start || end > chrom_len)
        return bend_fail(err, BEND_ERR_INVALID,
                         "region %s:%lld-%lld lies outside chromosome %s (length %lld) of %s",
                         chrom, (long long)start, (long long)end, chrom, (long long)chrom_len,
                         fa->path);
    size_t n = (size_t)(end - start);
    if (n == 0) return BEND_OK;
    hts_pos_t got = 0;
    char *seq = faidx_fetch_seq64(fa->fai, chrom, start, end - 1, &got); /* 0-based inclusive */
    if (!seq || got != (hts_pos_t)n) {
        free(seq);
        return bend_fail(err, BEND_ERR_IO, "cannot read %s:%lld-%lld from %s (truncated file or "
                         "stale .fai index?)", chrom, (long long)start, (long long)end, fa->path);
    }
    memcpy(out, seq, n);
    free(seq);
    bend_dna_upper(out, n);
    if (reverse) bend_dna_reverse_complement(out, n);
    return BEND_OK;
}

void bend_fasta_suggest_chrom(const bend_fasta *fa, const char *chrom, char *out, size_t out_len)
{
    out[0] = '\0';
    char alt[512];
    if (!strncmp(chrom, "chr", 3))
        snprintf(alt, sizeof alt, "%s", chrom + 3);
    else
        snprintf(alt, sizeof alt, "chr%s", chrom);
    if (faidx_has_seq(fa->fai, alt))
        snprintf(out, out_len, "; the FASTA has '%s' (the BED and the reference disagree on the "
                 "'chr' prefix: is this the right reference_fasta?)", alt);
}
