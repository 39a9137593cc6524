/* bend embed-seq MODEL_DIR [--fasta IN.fa|-] --out OUT.h5 [--family F] [--device D] [key=value ...]
 *
 * Embeds free-standing sequences with a language model's checkpoint directory, the way BEND's
 * embedder classes do (models/lm_embedder.h), without a task, a BED file or a store: one float32
 * [L, D] dataset per FASTA record, named by its id (stdin: one sequence per line, named seq_1,
 * seq_2, ...). Sequences are upper-cased first, as BEND's Fasta.fetch does. Letters other than
 * the IUPAC nucleotide codes are an error naming the record; IUPAC ambiguity codes go to the
 * tokenizer as BEND passes them (usually [UNK]). A record whose upsampled rows differ from its
 * length (BEND's pipeline would not store it) is written as BEND's embed() returns it, with a
 * warning and the reason in the dataset's `skip_reason` attribute.
 *
 * The file is written as OUT.h5.tmp and renamed when complete: a failed run leaves no OUT.h5. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include "cli/commands.h"
#include "core/log.h"
#include "gpu/device.h"
#include "io/fasta.h"
#include "models/lm_embedder.h"
#include "store/h5util.h"

/* Nucleotides embedded per embed() call: bounds the model outputs held at once. */
#define BATCH_NUCLEOTIDES ((int64_t)1 << 20)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bend embed-seq MODEL_DIR [--fasta IN.fa|-] --out OUT.h5 [--family F] [--device D]\n"
            "                      [upsample_embeddings=true|false] [remove_special_tokens=true|false]\n"
            "                      [layer=N] [output=embeddings|logits] [batch_tokens=N]\n\n"
            "Embeds each sequence of a FASTA file (or of standard input, one per line, when --fasta is\n"
            "- or absent) with a language-model checkpoint directory, as BEND's embedders do: BEND's\n"
            "windows, special tokens removed and tokens repeated per nucleotide (where BEND upsamples).\n"
            "OUT.h5 gets one float32 [L, D] dataset per record, named by the FASTA id (seq_N for\n"
            "standard input lines).\n\n"
            "  --family F                 dnabert, dnabert2, nucleotide_transformer, gena_lm, grover,\n"
            "                             hyenadna, awdlstm or resnetlm (default: from config.json)\n"
            "  --device D                 auto (default), cpu or cuda\n"
            "  upsample_embeddings=B      one row per nucleotide (default: BEND's for the family)\n"
            "  remove_special_tokens=B    drop CLS/SEP rows (default true)\n"
            "  layer=N                    hidden state N (0 = embeddings) instead of BEND's last layer\n"
            "  output=logits              the masked-LM head's logits instead of hidden states\n"
            "                             (transformers whose checkpoint has the head), with the same\n"
            "                             special-token removal and upsampling\n"
            "  batch_tokens=N             most tokens per model forward call (default %d)\n",
            BEND_LM_BATCH_TOKENS);
}

static bool is_iupac(char c)
{
    return c && strchr("ACGTNRYKMSWBDHV", c) != NULL;
}

static bend_status parse_bool(const char *key, const char *v, int *out, bend_error *err)
{
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1")) *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0")) *out = 0;
    else return bend_fail(err, BEND_ERR_PARSE, "%s: expected true or false, got '%s'", key, v);
    return BEND_OK;
}

static bend_status parse_int(const char *key, const char *v, int64_t *out, bend_error *err)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno) return bend_fail(err, BEND_ERR_PARSE, "%s: expected an integer, got '%s'", key, v);
    *out = x;
    return BEND_OK;
}

/* ---- input records ---------------------------------------------------------------------- */

typedef struct {
    char **names;
    char **seqs;
    int64_t *lens;
    size_t n, cap;
} records;

static void records_free(records *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->seqs[i]);
    }
    free(r->names);
    free(r->seqs);
    free(r->lens);
}

static bend_status records_push(records *r, char *name, char *seq, int64_t len, bend_error *err)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        char **a = realloc(r->names, cap * sizeof *a);
        if (a) r->names = a;
        char **b = realloc(r->seqs, cap * sizeof *b);
        if (b) r->seqs = b;
        int64_t *c = realloc(r->lens, cap * sizeof *c);
        if (c) r->lens = c;
        if (!a || !b || !c) {
            free(name);
            free(seq);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
        r->cap = cap;
    }
    r->names[r->n] = name;
    r->seqs[r->n] = seq;
    r->lens[r->n] = len;
    r->n++;
    return BEND_OK;
}

/* Upper-cases and checks one sequence; `where` names it in messages. */
static bend_status check_sequence(char *seq, int64_t len, const char *where, bend_error *err)
{
    if (len == 0) return bend_fail(err, BEND_ERR_PARSE, "%s: empty sequence", where);
    bend_dna_upper(seq, (size_t)len);
    for (int64_t i = 0; i < len; i++)
        if (!is_iupac(seq[i]))
            return bend_fail(err, BEND_ERR_PARSE, "%s: character '%c' (0x%02x) at position %lld is not a "
                             "nucleotide letter (A, C, G, T, N or an IUPAC code)", where,
                             seq[i] >= 0x20 && seq[i] < 0x7f ? seq[i] : '?', (unsigned char)seq[i],
                             (long long)i + 1);
    return BEND_OK;
}

/* faidx leaves records without sequence out of its index: one pass over the headers finds them
 * (and counts the records, which shows duplicate ids that the index merged). */
static bend_status scan_headers(const char *path, size_t *n_records, bend_error *err)
{
    *n_records = 0;
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) return bend_fail(err, BEND_ERR_IO, "cannot open FASTA %s: %s", path, strerror(errno));
    kstring_t line = {0, 0, NULL};
    char name[256] = "";
    int64_t residues = 0;
    bend_status st = BEND_OK;
    int rc;
    while (!st && (rc = bgzf_getline(fp, '\n', &line)) >= 0) {
        if (line.l && line.s[0] == '>') {
            if (*n_records && residues == 0)
                st = bend_fail(err, BEND_ERR_PARSE, "%s record '%s': empty sequence", path, name);
            size_t k = 1;
            while (k < line.l && line.s[k] != ' ' && line.s[k] != '\t' && line.s[k] != '\r') k++;
            snprintf(name, sizeof name, "%.*s", (int)(k - 1), line.s + 1);
            residues = 0;
            (*n_records)++;
        } else {
            for (size_t k = 0; k < line.l; k++) residues += line.s[k] != '\r' && line.s[k] != ' ';
        }
    }
    if (!st && *n_records && residues == 0)
        st = bend_fail(err, BEND_ERR_PARSE, "%s record '%s': empty sequence", path, name);
    free(line.s);
    bgzf_close(fp);
    return st;
}

static bend_status read_fasta(const char *path, records *r, bend_error *err)
{
    size_t n_records;
    bend_status st = scan_headers(path, &n_records, err);
    if (st) return st;
    bend_fasta *fa;
    st = bend_fasta_open(path, &fa, err);
    if (st) return st;
    if (bend_fasta_n_chroms(fa) != n_records) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s: %zu records but %zu distinct ids (two records share an id)",
                       path, n_records, bend_fasta_n_chroms(fa));
        bend_fasta_close(fa);
        return st;
    }
    for (size_t i = 0; i < bend_fasta_n_chroms(fa) && !st; i++) {
        const char *name = bend_fasta_chrom_name(fa, i);
        int64_t len = bend_fasta_chrom_length(fa, name);
        char where[512];
        snprintf(where, sizeof where, "%s record '%s'", path, name);
        char *seq = malloc((size_t)len + 1), *nm = strdup(name);
        if (!seq || !nm) {
            free(seq);
            free(nm);
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory (%s, %lld nt)", where, (long long)len);
            break;
        }
        if (len > 0) st = bend_fasta_fetch(fa, name, 0, len, false, seq, err);
        seq[len > 0 ? len : 0] = '\0';
        if (!st) st = check_sequence(seq, len, where, err);
        if (st) {
            free(seq);
            free(nm);
            break;
        }
        st = records_push(r, nm, seq, len, err);
    }
    if (!st && r->n == 0) st = bend_fail(err, BEND_ERR_PARSE, "%s: no FASTA records", path);
    bend_fasta_close(fa);
    return st;
}

static bend_status read_lines(FILE *in, records *r, bend_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    bend_status st = BEND_OK;
    size_t lineno = 0;
    while (!st && (got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue; /* blank lines separate nothing: skipped */
        char name[64], where[128];
        snprintf(name, sizeof name, "seq_%zu", r->n + 1);
        snprintf(where, sizeof where, "standard input line %zu (%s)", lineno, name);
        char *seq = strdup(line), *nm = strdup(name);
        if (!seq || !nm) {
            free(seq);
            free(nm);
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            break;
        }
        st = check_sequence(seq, (int64_t)got, where, err);
        if (st) {
            free(seq);
            free(nm);
            break;
        }
        st = records_push(r, nm, seq, (int64_t)got, err);
    }
    free(line);
    if (!st && r->n == 0) st = bend_fail(err, BEND_ERR_PARSE, "standard input: no sequences");
    return st;
}

/* ---- output ------------------------------------------------------------------------------ */

/* HDF5 link names cannot contain '/' or be "." : those characters become '_'. */
static void dataset_name(const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s", id);
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
    if (!strcmp(out, ".")) snprintf(out, n, "_");
}

static bend_status write_one(hid_t file, const char *id, const float *rows, int64_t n_rows, int64_t dim,
                             int64_t len, const char *skip, bend_error *err)
{
    char name[1024];
    dataset_name(id, name, sizeof name);
    if (H5Lexists(file, name, H5P_DEFAULT) > 0)
        return bend_fail(err, BEND_ERR_INVALID, "record '%s': a dataset '%s' was already written (two "
                         "records with the same id)", id, name);
    hsize_t shape[2] = {(hsize_t)n_rows, (hsize_t)dim};
    hid_t sp = H5Screate_simple(2, shape, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(file, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bend_status st = BEND_OK;
    if (d < 0) st = bend_h5_fail(err, "record '%s': cannot create dataset '%s'", id, name);
    if (!st && n_rows > 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        st = bend_h5_fail(err, "record '%s': cannot write dataset '%s'", id, name);
    if (!st) st = bend_h5_write_attr_i64(d, "sequence_length", len, err);
    if (!st && skip[0]) st = bend_h5_write_attr_str(d, "skip_reason", skip, err);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    return st;
}

typedef struct {
    const char *model, *fasta, *out, *family, *device;
    bend_lm_embedder_options o;
} embed_seq_args;

static bend_status run(const embed_seq_args *a, bend_error *err)
{
    records r = {0};
    bend_status st;
    if (a->fasta && strcmp(a->fasta, "-")) st = read_fasta(a->fasta, &r, err);
    else st = read_lines(stdin, &r, err);
    bend_device dev;
    if (!st) st = bend_device_choose(a->device, 0, &dev, err);
    bend_embedder *e = NULL;
    if (!st) st = bend_lm_embedder_open_dir(a->model, &a->o, &dev, &e, err);
    if (st) {
        records_free(&r);
        return st;
    }
    int64_t dim = bend_embedder_dim(e);
    char tmp[4096 + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", a->out);
    bend_h5_quiet();
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) st = bend_h5_fail(err, "cannot create %s", tmp);
    if (!st) st = bend_h5_write_attr_str(file, "model", a->model, err);
    if (!st) st = bend_h5_write_attr_str(file, "family", bend_embedder_family(e), err);
    if (!st) st = bend_h5_write_attr_i64(file, "embedding_dim", dim, err);

    int64_t *rows = calloc(r.n, sizeof *rows);
    char (*skip)[256] = calloc(r.n, sizeof *skip);
    if (!st && (!rows || !skip)) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r.n && !st; i++) {
        st = bend_embedder_count_rows(e, r.seqs[i], r.lens[i], &rows[i], skip[i], sizeof skip[i], err);
        if (st) bend_error_context(err, "record '%s'", r.names[i]);
        else if (skip[i][0])
            bend_warn("record '%s': %s; written as BEND's embedder returns it (%lld rows), which BEND's "
                      "pipeline would not store", r.names[i], skip[i], (long long)rows[i]);
    }
    float *out = NULL;
    size_t out_cap = 0;
    /* Batches of records: one embed() call each, so windows of several short records share
     * forward calls. */
    for (size_t i = 0; i < r.n && !st;) {
        size_t j = i;
        int64_t nt = 0, n_rows = 0;
        while (j < r.n && (j == i || nt + r.lens[j] <= BATCH_NUCLEOTIDES)) {
            nt += r.lens[j];
            n_rows += rows[j];
            j++;
        }
        size_t need = (size_t)(n_rows ? n_rows : 1) * (size_t)dim;
        if (need > out_cap) {
            float *p = realloc(out, need * sizeof *p);
            if (!p) {
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory (%lld rows x %lld)", (long long)n_rows,
                               (long long)dim);
                break;
            }
            out = p;
            out_cap = need;
        }
        st = bend_embedder_embed(e, j - i, (const char *const *)r.seqs + i, r.lens + i, out, err);
        const float *p = out;
        for (size_t k = i; k < j && !st; k++) {
            st = write_one(file, r.names[k], p, rows[k], dim, r.lens[k], skip[k], err);
            p += rows[k] * dim;
        }
        i = j;
    }
    free(out);
    free(rows);
    free(skip);
    if (file >= 0 && H5Fclose(file) < 0 && !st) st = bend_h5_fail(err, "cannot finish writing %s", tmp);
    if (!st && rename(tmp, a->out))
        st = bend_fail(err, BEND_ERR_IO, "cannot rename %s to %s: %s", tmp, a->out, strerror(errno));
    if (st) remove(tmp);
    else bend_info("wrote %zu embeddings (dim %lld) to %s", r.n, (long long)dim, a->out);
    bend_embedder_close(e);
    records_free(&r);
    return st;
}

int bend_cmd_embed_seq(int argc, char **argv)
{
    embed_seq_args a = {.device = "auto"};
    bend_lm_embedder_options_init(&a.o);
    a.o.keep_skipped = true;
    bool logits = false, layer_given = false;
    bend_error err;
    bend_error_clear(&err);
    bend_status st = BEND_OK;
    for (int i = 1; i < argc && !st; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        const char **flag = !strcmp(arg, "--fasta") ? &a.fasta : !strcmp(arg, "--out") ? &a.out
                          : !strcmp(arg, "--family") ? &a.family : !strcmp(arg, "--device") ? &a.device : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        } else if (flag) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bend embed-seq: %s needs a value\n", arg);
                return 2;
            }
            *flag = argv[++i];
        } else if (arg[0] == '-' && arg[1] == '-' && eq) { /* --out=X style */
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
            const char **f2 = !strcmp(key, "--fasta") ? &a.fasta : !strcmp(key, "--out") ? &a.out
                            : !strcmp(key, "--family") ? &a.family : !strcmp(key, "--device") ? &a.device : NULL;
            if (!f2) {
                fprintf(stderr, "bend embed-seq: unknown option '%s'\n", arg);
                usage(stderr);
                return 2;
            }
            *f2 = eq + 1;
        } else if (eq && arg[0] != '-') {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
            const char *v = eq + 1;
            int64_t x = 0;
            if (!strcmp(key, "upsample_embeddings")) st = parse_bool(key, v, &a.o.upsample, &err);
            else if (!strcmp(key, "remove_special_tokens")) st = parse_bool(key, v, &a.o.remove_special_tokens, &err);
            else if (!strcmp(key, "layer")) {
                if (!(st = parse_int(key, v, &x, &err))) a.o.layer = (int)x;
                layer_given = true;
            } else if (!strcmp(key, "batch_tokens")) {
                if (!(st = parse_int(key, v, &x, &err))) a.o.batch_tokens = x;
            } else if (!strcmp(key, "output")) {
                if (!strcmp(v, "logits"))
                    logits = true;
                else if (!strcmp(v, "embeddings"))
                    logits = false;
                else
                    st = bend_fail(&err, BEND_ERR_PARSE, "output: expected embeddings or logits, got '%s'", v);
            } else {
                st = bend_fail(&err, BEND_ERR_PARSE, "unknown setting '%s' (expected upsample_embeddings, "
                               "remove_special_tokens, layer, output or batch_tokens)", key);
            }
        } else if (arg[0] == '-' && arg[1]) {
            fprintf(stderr, "bend embed-seq: unknown option '%s'\n", arg);
            usage(stderr);
            return 2;
        } else if (!a.model) {
            a.model = arg;
        } else {
            fprintf(stderr, "bend embed-seq: unexpected argument '%s'\n", arg);
            usage(stderr);
            return 2;
        }
    }
    if (!st && (!a.model || !a.out)) {
        fprintf(stderr, "bend embed-seq: %s\n", !a.model ? "MODEL_DIR is required" : "--out OUT.h5 is required");
        usage(stderr);
        return 2;
    }
    if (!st && logits && layer_given)
        st = bend_fail(&err, BEND_ERR_PARSE, "output=logits and layer=N exclude each other: the "
                       "logits come from the masked-language-model head on the last layer");
    if (logits) a.o.layer = BEND_LM_LAYER_LOGITS;
    a.o.family = a.family;
    if (!st) st = run(&a, &err);
    if (st) {
        bend_report_error(&err);
        return bend_status_exit_code(st);
    }
    return 0;
}
