/* `bend demo-data`: the files are checked from the outside, with a naive FASTA and BED reader
 * written here: BED headers and columns, intervals inside chromosomes and disjoint, window
 * lengths, every split present, the read sequences against the labels (motifs from
 * demo_truth.tsv), gene-finding classes against splice dinucleotides, enhancer bins against the
 * motif, variant refs against the genome, genome features, determinism. */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <ftw.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo_data.h"

#define NTASK 6
#define PATH_LEN 1024

static const char *const task_names[NTASK] = {"gene_finding",         "enhancer_annotation",
                                              "histone_modification", "chromatin_accessibility",
                                              "cpg_methylation",      "variant_effects"};
enum { T_GENE, T_ENH, T_HIST, T_CHROM, T_CPG, T_VAR };
static const char *const headers[NTASK] = {
    "chromosome\tstart\tend\tstrand\tsplit",
    "chromosome\tstart\tend\tsplit",
    "chromosome\tstart\tend\tstrand\tlabel\tsplit",
    "chromosome\tstart\tend\tstrand\tlabel\tsplit",
    "chromosome\tstart\tend\tstrand\tlabel\tsplit",
    "chromosome\tstart\tend\tref\talt\tlabel\tsplit",
};
static const int depths[NTASK] = {9, 1, 18, 125, 7, 2};

/* ---- naive readers ------------------------------------------------------------------------ */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len) *len = got;
    return buf;
}

typedef struct {
    char *name;
    char *seq;
    size_t len;
} record;

typedef struct {
    record r[64];
    size_t n;
    int bad_lines; /* lines longer than 60, or short lines not at a record's end */
} fasta;

static void fasta_read(const char *path, fasta *fa)
{
    memset(fa, 0, sizeof *fa);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    char *save = NULL;
    size_t short_line = 0; /* length of a previous line shorter than 60 in this record */
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '>') {
            assert_true(fa->n < 64);
            record *rec = &fa->r[fa->n++];
            rec->name = strdup(line + 1);
            rec->seq = malloc(1);
            rec->len = 0;
            short_line = 0;
            continue;
        }
        assert_true(fa->n > 0);
        record *rec = &fa->r[fa->n - 1];
        size_t n = strlen(line);
        if (n > 60 || short_line) fa->bad_lines++;
        if (n < 60) short_line = n;
        rec->seq = realloc(rec->seq, rec->len + n + 1);
        memcpy(rec->seq + rec->len, line, n);
        rec->len += n;
        rec->seq[rec->len] = '\0';
    }
    free(text);
}

static void fasta_free(fasta *fa)
{
    for (size_t i = 0; i < fa->n; i++) {
        free(fa->r[i].name);
        free(fa->r[i].seq);
    }
    fa->n = 0;
}

static const record *fasta_find(const fasta *fa, const char *name)
{
    for (size_t i = 0; i < fa->n; i++)
        if (!strcmp(fa->r[i].name, name)) return &fa->r[i];
    return NULL;
}

typedef struct {
    char *f[16];
    int nf;
} row;

typedef struct {
    char *text;
    char *header;
    row *rows;
    size_t n;
} bed;

static void bed_read(const char *path, bed *b)
{
    memset(b, 0, sizeof *b);
    b->text = slurp(path, NULL);
    assert_non_null(b->text);
    size_t cap = 0;
    char *p = b->text;
    b->header = p;
    char *nl = strchr(p, '\n');
    assert_non_null(nl);
    *nl = '\0';
    p = nl + 1;
    while (*p) {
        nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        *nl = '\0';
        if (b->n == cap) {
            cap = cap ? 2 * cap : 256;
            b->rows = realloc(b->rows, cap * sizeof *b->rows);
        }
        row *r = &b->rows[b->n++];
        r->nf = 0;
        for (char *q = p;; q++) { /* split on tabs, keeping empty fields */
            if (r->nf < 16) r->f[r->nf] = q;
            r->nf++;
            char *tab = strchr(q, '\t');
            if (!tab) break;
            *tab = '\0';
            q = tab;
        }
        p = nl + 1;
    }
}

static void bed_free(bed *b)
{
    free(b->text);
    free(b->rows);
    memset(b, 0, sizeof *b);
}

static char complement(char c)
{
    switch (c) {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    case 'a': return 't';
    case 'c': return 'g';
    case 'g': return 'c';
    case 't': return 'a';
    default: return 'N';
    }
}

/* The read sequence, reverse-complemented for '-'; BEND's reading (upper case, non-ACGT as N)
 * unless keep_case, which keeps the letters as they are in the genome (other than ACGTacgt: N). */
static char *read_seq_case(const record *chr, long start, long end, int minus, int keep_case)
{
    size_t n = (size_t)(end - start);
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        char c = chr->seq[start + (long)i];
        if (!keep_case) c = (char)toupper((unsigned char)c);
        s[i] = c && strchr(keep_case ? "ACGTacgt" : "ACGT", c) ? c : 'N';
    }
    s[n] = '\0';
    if (minus) {
        for (size_t i = 0; i < n / 2; i++) {
            char t = s[i];
            s[i] = s[n - 1 - i];
            s[n - 1 - i] = t;
        }
        for (size_t i = 0; i < n; i++) s[i] = complement(s[i]);
    }
    return s;
}

static char *read_seq(const record *chr, long start, long end, int minus)
{
    return read_seq_case(chr, start, end, minus, 0);
}

static void revcomp(char *dst, const char *src)
{
    size_t n = strlen(src);
    for (size_t i = 0; i < n; i++) dst[i] = complement(src[n - 1 - i]);
    dst[n] = '\0';
}

/* ---- fixture: three runs (seed 7 twice, seed 8 once) --------------------------------------- */
static struct {
    char root[PATH_LEN], a[PATH_LEN], b[PATH_LEN], c[PATH_LEN];
    fasta g38, g37;
    char motif[NTASK][128][16]; /* from demo_truth.tsv */
    int nmotif[NTASK];
} fx;

static int task_index(const char *name)
{
    for (int i = 0; i < NTASK; i++)
        if (!strcmp(name, task_names[i])) return i;
    return -1;
}

static void path_of(char *buf, const char *dir, const char *rel)
{
    int n = snprintf(buf, PATH_LEN, "%s/%s", dir, rel);
    if (n < 0 || n >= PATH_LEN) fail_msg("path too long: %s/%s", dir, rel);
}

static void bed_of(bed *b, const char *dir, int task)
{
    char rel[256], path[PATH_LEN];
    snprintf(rel, sizeof rel, "%s/%s.bed", task_names[task], task_names[task]);
    path_of(path, dir, rel);
    bed_read(path, b);
}

static void read_truth(void)
{
    char path[PATH_LEN];
    path_of(path, fx.a, "demo_truth.tsv");
    char *text = slurp(path, NULL);
    assert_non_null(text);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "task\tlabel\tmotif");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char task[64], motif[32];
        int label;
        assert_int_equal(sscanf(line, "%63[^\t]\t%d\t%31s", task, &label, motif), 3);
        int t = task_index(task);
        assert_true(t >= 0);
        assert_true(label >= 0 && label < 128);
        strcpy(fx.motif[t][t == T_ENH || t == T_VAR ? 0 : label], motif);
        fx.nmotif[t]++;
    }
    free(text);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("BEND_TEST_TMP");
    snprintf(fx.root, PATH_LEN, "%s/demo_data_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fx.root)) return -1;
    path_of(fx.a, fx.root, "a");
    path_of(fx.b, fx.root, "b/nested"); /* output directories are created with their parents */
    path_of(fx.c, fx.root, "c");
    const char *dirs[3] = {fx.a, fx.b, fx.c};
    const uint64_t seeds[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        bend_demo_options o = {dirs[i], 1.0, seeds[i]};
        bend_error err;
        bend_error_clear(&err);
        if (bend_demo_write(&o, &err) != BEND_OK) {
            fprintf(stderr, "bend_demo_write: %s\n", err.msg);
            return -1;
        }
    }
    char path[PATH_LEN];
    path_of(path, fx.a, "genomes/GRCh38.primary_assembly.genome.fa");
    fasta_read(path, &fx.g38);
    path_of(path, fx.a, "genomes/GRCh37.no-chr.fa");
    fasta_read(path, &fx.g37);
    read_truth();
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    fasta_free(&fx.g38);
    fasta_free(&fx.g37);
    nftw(fx.root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* The FASTA a task reads and its chromosome for a row. */
static const record *row_chrom(int task, const row *r)
{
    return fasta_find(task == T_CHROM ? &fx.g37 : &fx.g38, r->f[0]);
}

/* ---- tests -------------------------------------------------------------------------------- */
static void test_bed_headers_and_columns(void **state)
{
    (void)state;
    for (int t = 0; t < NTASK; t++) {
        bed b;
        bed_of(&b, fx.a, t);
        assert_string_equal(b.header, headers[t]);
        int ncol = 1;
        for (const char *p = headers[t]; *p; p++) ncol += *p == '\t';
        assert_true(b.n > 0);
        for (size_t i = 0; i < b.n; i++) assert_int_equal(b.rows[i].nf, ncol);
        bed_free(&b);
    }
}

static void test_intervals_inside_chromosomes_with_stated_lengths(void **state)
{
    (void)state;
    for (int t = 0; t < NTASK; t++) {
        bed b;
        bed_of(&b, fx.a, t);
        for (size_t i = 0; i < b.n; i++) {
            const row *r = &b.rows[i];
            const record *chr = row_chrom(t, r);
            assert_non_null(chr);
            char *e1, *e2;
            long start = strtol(r->f[1], &e1, 10), end = strtol(r->f[2], &e2, 10);
            assert_true(*e1 == '\0' && *e2 == '\0' && start >= 0);
            assert_true((size_t)end <= chr->len);
            long len = end - start;
            switch (t) {
            case T_GENE: assert_true(len >= 1000 && len <= 4000); break;
            case T_ENH: assert_int_equal(len, 100096); break;
            case T_VAR: assert_int_equal(len, 0); assert_true((size_t)start < chr->len); break;
            default: assert_int_equal(len, 512); break;
            }
            if (t == T_GENE || t == T_HIST || t == T_CHROM || t == T_CPG)
                assert_true(!strcmp(r->f[3], "+") || !strcmp(r->f[3], "-"));
        }
        bed_free(&b);
    }
}

/* Intervals of all tasks (variants +-300) are disjoint and hold no N, but do hold soft-masked
 * bases and IUPAC letters. */
typedef struct {
    int chrom;
    long start, end;
} span;

static int span_cmp(const void *x, const void *y)
{
    const span *a = x, *b = y;
    if (a->chrom != b->chrom) return a->chrom - b->chrom;
    return (a->start > b->start) - (a->start < b->start);
}

static void test_intervals_disjoint_clear_of_n_decorated(void **state)
{
    (void)state;
    span *all = NULL;
    size_t n = 0, lower_inside = 0, iupac_inside = 0;
    for (int t = 0; t < NTASK; t++) {
        bed b;
        bed_of(&b, fx.a, t);
        all = realloc(all, (n + b.n) * sizeof *all);
        for (size_t i = 0; i < b.n; i++) {
            const row *r = &b.rows[i];
            const char *name = r->f[0];
            span *s = &all[n++];
            s->chrom = atoi(t == T_CHROM ? name : name + 3);
            assert_true(t == T_CHROM || !strncmp(name, "chr", 3));
            s->start = atol(r->f[1]) - (t == T_VAR ? 300 : 0);
            s->end = atol(r->f[2]) + (t == T_VAR ? 301 : 0);
            const record *chr = row_chrom(t, r);
            for (long p = s->start; p < s->end; p++) {
                char ch = chr->seq[p];
                assert_true(ch != 'N' && ch != 'n');
                lower_inside += islower((unsigned char)ch) != 0;
                iupac_inside += ch && strchr("RYKMSW", ch) != NULL;
            }
        }
        bed_free(&b);
    }
    assert_true(lower_inside > 0 && iupac_inside > 0); /* masking and IUPAC letters reach windows */
    qsort(all, n, sizeof *all, span_cmp);
    for (size_t i = 1; i < n; i++)
        if (all[i].chrom == all[i - 1].chrom) assert_true(all[i].start >= all[i - 1].end);
    free(all);
}

static void test_every_split_present_and_interleaved(void **state)
{
    (void)state;
    for (int t = 0; t < NTASK; t++) {
        bed b;
        bed_of(&b, fx.a, t);
        int col = b.rows[0].nf - 1;
        const char *want[10];
        int nwant = 0;
        if (t == T_ENH) {
            static char folds[10][8];
            for (int k = 0; k < 10; k++) {
                snprintf(folds[k], sizeof folds[k], "part%d", k + 1);
                want[nwant++] = folds[k];
            }
        } else if (t == T_VAR) {
            want[nwant++] = "test";
        } else {
            want[nwant++] = "train";
            want[nwant++] = "valid";
            want[nwant++] = "test";
        }
        size_t count[10] = {0}, changes = 0;
        for (size_t i = 0; i < b.n; i++) {
            int found = -1;
            for (int k = 0; k < nwant; k++)
                if (!strcmp(b.rows[i].f[col], want[k])) found = k;
            assert_true(found >= 0);
            count[found]++;
            if (i && strcmp(b.rows[i].f[col], b.rows[i - 1].f[col])) changes++;
        }
        for (int k = 0; k < nwant; k++) assert_true(count[k] > 0);
        if (t == T_GENE || t == T_HIST || t == T_CHROM || t == T_CPG) {
            assert_true(count[0] > count[1] && count[0] > count[2]); /* ~70/15/15 */
            assert_true(changes > (size_t)nwant);                     /* interleaved */
        }
        bed_free(&b);
    }
}

static void test_multilabel_sequences_match_labels(void **state)
{
    (void)state;
    const int tasks[3] = {T_HIST, T_CHROM, T_CPG};
    for (int k = 0; k < 3; k++) {
        int t = tasks[k];
        assert_int_equal(fx.nmotif[t], depths[t]);
        bed b;
        bed_of(&b, fx.a, t);
        size_t with_labels = 0, without = 0, minus = 0;
        for (size_t i = 0; i < b.n; i++) {
            const row *r = &b.rows[i];
            int is_minus = !strcmp(r->f[3], "-");
            minus += (size_t)is_minus;
            char *seq = read_seq(row_chrom(t, r), atol(r->f[1]), atol(r->f[2]), is_minus);
            char *raw = read_seq_case(row_chrom(t, r), atol(r->f[1]), atol(r->f[2]), is_minus, 1);
            int present[128] = {0}, last = -1;
            for (char *p = r->f[4]; *p;) {
                char *end;
                long id = strtol(p, &end, 10);
                assert_true(end > p && id > last && id < depths[t]); /* ascending, in range */
                present[id] = 1;
                last = (int)id;
                p = *end == ',' ? end + 1 : end;
                assert_true(*end == ',' || *end == '\0');
            }
            if (last >= 0) with_labels++;
            else without++;
            for (int j = 0; j < depths[t]; j++) {
                int found = strstr(seq, fx.motif[t][j]) != NULL;
                if (found != present[j])
                    fail_msg("%s row %zu: label %d is %s but its motif %s is %s", task_names[t],
                             i + 1, j, present[j] ? "present" : "absent", fx.motif[t][j],
                             found ? "there" : "missing");
                if (present[j]) assert_non_null(strstr(raw, fx.motif[t][j])); /* upper case */
            }
            free(seq);
            free(raw);
        }
        assert_true(with_labels > 0 && without > 0 && minus > 0 && minus < b.n);
        bed_free(&b);
    }
}

static void test_gene_finding_labels(void **state)
{
    (void)state;
    bed b;
    bed_of(&b, fx.a, T_GENE);
    char path[PATH_LEN];
    path_of(path, fx.a, "gene_finding/gene_finding.hdf5");
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t dset = H5Dopen2(file, "labels", H5P_DEFAULT);
    assert_true(dset >= 0);
    hid_t ftype = H5Dget_type(dset), space = H5Dget_space(dset);
    assert_int_equal(H5Tget_class(ftype), H5T_VLEN);
    hid_t super = H5Tget_super(ftype);
    assert_int_equal(H5Tget_class(super), H5T_INTEGER);
    assert_int_equal(H5Tget_size(super), 8);
    hsize_t dims[2] = {0, 0};
    assert_int_equal(H5Sget_simple_extent_ndims(space), 1);
    H5Sget_simple_extent_dims(space, dims, NULL);
    assert_int_equal(dims[0], b.n);
    hid_t mtype = H5Tvlen_create(H5T_NATIVE_INT64);
    hvl_t *rows = calloc(b.n, sizeof *rows);
    assert_true(H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    static const char *const splice[9] = {NULL, "GT", NULL, "AG", NULL, "AC", NULL, "CT", NULL};
    size_t sites = 0;
    for (size_t i = 0; i < b.n; i++) {
        const row *r = &b.rows[i];
        long start = atol(r->f[1]), end = atol(r->f[2]);
        int minus = !strcmp(r->f[3], "-");
        assert_int_equal(rows[i].len, (size_t)(end - start));
        const int64_t *cls = rows[i].p;
        char *seq = read_seq(row_chrom(T_GENE, r), start, end, 0); /* forward, as BEND reads it */
        int seen[9] = {0};
        for (size_t p = 0; p < rows[i].len; p++) {
            int64_t c = cls[p];
            assert_true(c >= 0 && c <= 8);
            seen[c] = 1;
            if (c != 8) assert_int_equal(minus, c >= 4);
            if (!splice[c]) continue;
            /* A splice class covers exactly two nucleotides: its dinucleotide. */
            assert_true(p + 1 < rows[i].len && cls[p + 1] == c);
            assert_true(p + 2 == rows[i].len || cls[p + 2] != c);
            if (seq[p] != splice[c][0] || seq[p + 1] != splice[c][1])
                fail_msg("gene row %zu at %zu: class %d over %c%c, want %s", i + 1, p, (int)c,
                         seq[p], seq[p + 1], splice[c]);
            const char *raw = row_chrom(T_GENE, r)->seq + start + (long)p;
            assert_true(raw[0] == splice[c][0] && raw[1] == splice[c][1]); /* planted upper case */
            sites++;
            p++;
        }
        int exon = minus ? 4 : 0, intron = minus ? 6 : 2;
        assert_true(seen[exon] && seen[intron] && seen[8]);
        free(seq);
    }
    assert_true(sites >= 2 * b.n);
    H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, rows);
    free(rows);
    H5Tclose(mtype);
    H5Tclose(super);
    H5Tclose(ftype);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
    bed_free(&b);
}

static void test_enhancer_labels_match_bins(void **state)
{
    (void)state;
    bed b;
    bed_of(&b, fx.a, T_ENH);
    char path[PATH_LEN];
    path_of(path, fx.a, "enhancer_annotation/enhancer_annotation.hdf5");
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t dset = H5Dopen2(file, "labels", H5P_DEFAULT);
    assert_true(dset >= 0);
    hid_t ftype = H5Dget_type(dset), space = H5Dget_space(dset);
    assert_int_equal(H5Tget_class(ftype), H5T_INTEGER);
    assert_int_equal(H5Tget_size(ftype), 8);
    hsize_t dims[2] = {0, 0};
    assert_int_equal(H5Sget_simple_extent_ndims(space), 2);
    H5Sget_simple_extent_dims(space, dims, NULL);
    assert_int_equal(dims[0], b.n);
    assert_int_equal(dims[1], 782);
    int64_t *lab = malloc(b.n * 782 * sizeof *lab);
    assert_true(H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) >= 0);
    const char *motif = fx.motif[T_ENH][0];
    char rc[32];
    revcomp(rc, motif);
    assert_int_equal(strlen(motif), 10);
    size_t positives = 0;
    for (size_t i = 0; i < b.n; i++) {
        long start = atol(b.rows[i].f[1]);
        char *seq = read_seq(row_chrom(T_ENH, &b.rows[i]), start, start + 100096, 0);
        int row_pos = 0;
        for (int bin = 0; bin < 782; bin++) {
            int64_t v = lab[i * 782 + bin];
            assert_true(v == 0 || v == 1);
            char piece[129];
            memcpy(piece, seq + bin * 128, 128);
            piece[128] = '\0';
            if (v) {
                row_pos++;
                assert_non_null(strstr(piece, motif));
            } else {
                assert_null(strstr(piece, motif));
                assert_null(strstr(piece, rc));
            }
        }
        assert_true(row_pos >= 1);
        positives += (size_t)row_pos;
        free(seq);
    }
    double frac = (double)positives / (double)(b.n * 782);
    assert_true(frac > 0.02 && frac < 0.1); /* ~5% */
    free(lab);
    H5Tclose(ftype);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
    bed_free(&b);
}

static void test_variants_match_genome(void **state)
{
    (void)state;
    bed b;
    bed_of(&b, fx.a, T_VAR);
    const char *motif = fx.motif[T_VAR][0];
    assert_int_equal(strlen(motif), 8);
    size_t ones = 0;
    for (size_t i = 0; i < b.n; i++) {
        const row *r = &b.rows[i];
        const record *chr = row_chrom(T_VAR, r);
        long pos = atol(r->f[1]);
        assert_string_equal(r->f[1], r->f[2]);
        assert_int_equal(strlen(r->f[3]), 1);
        assert_int_equal(strlen(r->f[4]), 1);
        char ref = r->f[3][0], alt = r->f[4][0];
        assert_non_null(strchr("ACGT", ref));
        assert_non_null(strchr("ACGT", alt));
        assert_true(ref != alt);
        assert_int_equal(chr->seq[pos], ref); /* the genome base, upper case */
        assert_true(!strcmp(r->f[5], "0") || !strcmp(r->f[5], "1"));
        int label = r->f[5][0] - '0';
        ones += (size_t)label;
        char *around = read_seq(chr, pos - 7, pos + 8, 0);
        int covered = 0;
        for (int o = 0; o < 8; o++) covered |= !strncmp(around + o, motif, 8);
        assert_int_equal(covered, label);
        free(around);
    }
    assert_int_equal(ones, b.n / 2);
    bed_free(&b);
}

static void test_genome_features(void **state)
{
    (void)state;
    assert_int_equal(fx.g38.n, 4);
    assert_int_equal(fx.g37.n, 4);
    assert_int_equal(fx.g38.bad_lines, 0);
    assert_int_equal(fx.g37.bad_lines, 0);
    size_t lower = 0, iupac = 0, total = 0;
    for (size_t c = 0; c < fx.g38.n; c++) {
        const record *a = &fx.g38.r[c], *b = &fx.g37.r[c];
        char want[16];
        snprintf(want, sizeof want, "chr%zu", c + 1);
        assert_string_equal(a->name, want);
        snprintf(want, sizeof want, "%zu", c + 1);
        assert_string_equal(b->name, want);
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->seq, b->seq, a->len);
        /* N runs at both ends, and at least one long one inside. */
        assert_true(a->len > 20000);
        for (size_t p = 0; p < 5000; p++) {
            assert_int_equal(a->seq[p], 'N');
            assert_int_equal(a->seq[a->len - 1 - p], 'N');
        }
        size_t run = 0, longest_inside = 0;
        size_t first_base = strspn(a->seq, "N");
        for (size_t p = first_base; p < a->len; p++) {
            run = a->seq[p] == 'N' ? run + 1 : 0;
            if (p < a->len - 10000 && run > longest_inside) longest_inside = run;
        }
        assert_true(longest_inside >= 1000);
        for (size_t p = 0; p < a->len; p++) {
            char ch = a->seq[p];
            lower += islower((unsigned char)ch) != 0;
            iupac += strchr("RYKMSW", ch) != NULL && ch;
            assert_non_null(strchr("ACGTNacgtRYKMSW", ch));
        }
        total += a->len;
    }
    double frac = (double)lower / (double)total;
    assert_true(frac > 0.05 && frac < 0.15);
    assert_true(iupac >= 10 && iupac <= 40);
}

static void compare_trees(const char *x, const char *y, int *differ)
{
    static const char *const files[] = {
        "genomes/GRCh38.primary_assembly.genome.fa", "genomes/GRCh37.no-chr.fa",
        "README.txt", "demo_truth.tsv",
        "gene_finding/gene_finding.bed", "gene_finding/gene_finding.hdf5",
        "enhancer_annotation/enhancer_annotation.bed",
        "enhancer_annotation/enhancer_annotation.hdf5",
        "histone_modification/histone_modification.bed",
        "chromatin_accessibility/chromatin_accessibility.bed",
        "cpg_methylation/cpg_methylation.bed", "variant_effects/variant_effects.bed"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char px[PATH_LEN], py[PATH_LEN];
        path_of(px, x, files[i]);
        path_of(py, y, files[i]);
        size_t nx = 0, ny = 0;
        char *a = slurp(px, &nx), *b = slurp(py, &ny);
        assert_non_null(a);
        assert_non_null(b);
        differ[i] = nx != ny || memcmp(a, b, nx) != 0;
        free(a);
        free(b);
    }
}

static int file_count;

static int count_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)sb;
    (void)ftw;
    file_count += flag == FTW_F;
    return 0;
}

static int count_entries(const char *dir)
{
    file_count = 0;
    if (nftw(dir, count_file, 16, FTW_PHYS) != 0) return -1;
    return file_count;
}

static void test_same_seed_same_bytes_other_seed_differs(void **state)
{
    (void)state;
    int differ[12];
    compare_trees(fx.a, fx.b, differ);
    for (int i = 0; i < 12; i++) assert_int_equal(differ[i], 0);
    assert_int_equal(count_entries(fx.a), 12); /* nothing else, so nothing else could differ */
    assert_int_equal(count_entries(fx.b), 12);
    compare_trees(fx.a, fx.c, differ);
    assert_int_equal(differ[0], 1); /* genome */
    assert_int_equal(differ[3], 1); /* motifs */
}

static void test_bad_options_fail_with_messages(void **state)
{
    (void)state;
    bend_error err;
    bend_error_clear(&err);
    bend_demo_options o = {NULL, 1.0, 1};
    assert_int_equal(bend_demo_write(&o, &err), BEND_ERR_INVALID);
    o.out_dir = fx.root;
    o.scale = 0.0;
    assert_int_equal(bend_demo_write(&o, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "scale"));
    /* A regular file where a directory must go. */
    char blocker[PATH_LEN], inside[PATH_LEN];
    path_of(blocker, fx.root, "blocker");
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    path_of(inside, blocker, "out");
    o.out_dir = inside;
    o.scale = 0.01;
    bend_error_clear(&err);
    assert_int_equal(bend_demo_write(&o, &err), BEND_ERR_IO);
    assert_non_null(strstr(err.msg, "blocker"));
    remove(blocker);
}

static void test_small_scale_keeps_every_split(void **state)
{
    (void)state;
    char dir[PATH_LEN];
    path_of(dir, fx.root, "tiny");
    bend_demo_options o = {dir, 0.001, 3};
    bend_error err;
    bend_error_clear(&err);
    assert_int_equal(bend_demo_write(&o, &err), BEND_OK);
    bed b;
    bed_of(&b, dir, T_ENH);
    assert_int_equal(b.n, 10); /* one per fold */
    bed_free(&b);
    bed_of(&b, dir, T_HIST);
    assert_int_equal(b.n, 3); /* one per split */
    int seen[3] = {0, 0, 0};
    for (size_t i = 0; i < b.n; i++) {
        const char *split = b.rows[i].f[5];
        seen[0] += !strcmp(split, "train");
        seen[1] += !strcmp(split, "valid");
        seen[2] += !strcmp(split, "test");
    }
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    bed_free(&b);
    bed_of(&b, dir, T_VAR);
    assert_int_equal(b.n, 2);
    bed_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bed_headers_and_columns),
        cmocka_unit_test(test_intervals_inside_chromosomes_with_stated_lengths),
        cmocka_unit_test(test_intervals_disjoint_clear_of_n_decorated),
        cmocka_unit_test(test_every_split_present_and_interleaved),
        cmocka_unit_test(test_multilabel_sequences_match_labels),
        cmocka_unit_test(test_gene_finding_labels),
        cmocka_unit_test(test_enhancer_labels_match_bins),
        cmocka_unit_test(test_variants_match_genome),
        cmocka_unit_test(test_genome_features),
        cmocka_unit_test(test_same_seed_same_bytes_other_seed_differs),
        cmocka_unit_test(test_bad_options_fail_with_messages),
        cmocka_unit_test(test_small_scale_keeps_every_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
