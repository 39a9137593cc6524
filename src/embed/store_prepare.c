#include "embed/store_prepare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/path.h"
#include "core/strbuf.h"
#include "io/labels.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bend_status file_digest(const char *path, uint64_t *out, bend_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return bend_fail(err, BEND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    static char buf[1 << 20];
    uint64_t h = 1469598103934665603ull;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) h = fnv1a(h, buf, n);
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) return bend_fail(err, BEND_ERR_IO, "error reading %s", path);
    *out = h;
    return BEND_OK;
}

static void indent_into(bend_strbuf *sb, const char *text)
{
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        bend_strbuf_puts(sb, "  ");
        bend_strbuf_append(sb, line, n);
        bend_strbuf_puts(sb, "\n");
        line += n + (nl ? 1 : 0);
    }
}

bend_status bend_embed_identity(const bend_embed_settings *s, const bend_config *cfg,
                                const bend_fasta *fasta, bend_embedder *emb, char **out,
                                bend_error *err)
{
    *out = NULL;
    uint64_t bed_digest = 0, ref_digest = 1469598103934665603ull;
    bend_status st = file_digest(s->bed, &bed_digest, err);
    if (st) return st;
    for (size_t i = 0; i < bend_fasta_n_chroms(fasta); i++) {
        const char *name = bend_fasta_chrom_name(fasta, i);
        char line[64];
        ref_digest = fnv1a(ref_digest, name, strlen(name));
        snprintf(line, sizeof line, "\t%lld\n", (long long)bend_fasta_chrom_length(fasta, name));
        ref_digest = fnv1a(ref_digest, line, strlen(line));
    }
    char *model_yaml = NULL;
    if ((st = bend_config_to_yaml(cfg, s->model, true, &model_yaml, err))) return st;
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb, "task: %s\nmodel: %s\nmodel_config:\n", s->task, s->model);
    indent_into(&sb, model_yaml);
    free(model_yaml);
    bend_strbuf_printf(&sb, "embedding_dim: %lld\n", (long long)bend_embedder_dim(emb));
    bend_strbuf_printf(&sb, "dtype: %s\n", s->dtype == BEND_STORE_F16 ? "float16" : "float32");
    bend_strbuf_printf(&sb, "bed_fnv1a64: %016llx\n", (unsigned long long)bed_digest);
    bend_strbuf_printf(&sb, "reference_sequences: %zu\n", bend_fasta_n_chroms(fasta));
    bend_strbuf_printf(&sb, "reference_names_lengths_fnv1a64: %016llx\n", (unsigned long long)ref_digest);
    bend_strbuf_printf(&sb, "read_strand: %s\n", s->read_strand ? "true" : "false");
    if (s->hdf5_file) {
        const char *base = strrchr(s->hdf5_file, '/');
        bend_strbuf_printf(&sb, "labels: hdf5 %s\n", base ? base + 1 : s->hdf5_file);
    } else if (s->label_depth > 0) {
        bend_strbuf_printf(&sb, "labels: bed label column, depth %lld\n", (long long)s->label_depth);
    } else {
        bend_strbuf_puts(&sb, "labels: none\n");
    }
    if (sb.failed) {
        bend_strbuf_free(&sb);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    *out = bend_strbuf_take(&sb);
    return BEND_OK;
}

/* The lines on which two identity texts differ, for the refusal message. */
static void describe_difference(const char *stored, const char *ours, bend_strbuf *sb)
{
    const char *texts[2] = {stored, ours}, *tags[2] = {"store has", "this run has"};
    for (int k = 0; k < 2; k++) {
        for (const char *line = texts[k]; *line;) {
            const char *nl = strchr(line, '\n');
            size_t n = nl ? (size_t)(nl - line) : strlen(line);
            bool found = false;
            for (const char *o = texts[1 - k]; *o && !found;) {
                const char *onl = strchr(o, '\n');
                size_t on = onl ? (size_t)(onl - o) : strlen(o);
                found = on == n && !memcmp(o, line, n);
                o += on + (onl ? 1 : 0);
            }
            if (!found) bend_strbuf_printf(sb, "\n    %s: %.*s", tags[k], (int)n, line);
            line += n + (nl ? 1 : 0);
        }
    }
}

/* Writes every split's labels into the new store, a block of samples at a time. */
static bend_status write_labels(bend_store_builder *b, const bend_embed_plan *plan,
                                const bend_bed *bed, bend_h5labels *h5, int64_t depth,
                                const bend_store_split_spec *specs, bend_error *err)
{
    enum { BLOCK = 4096 };
    bend_status st = BEND_OK;
    void *buf = NULL;
    size_t cap = 0;
    for (size_t s = 0; s < plan->n_splits && !st; s++) {
        const bend_store_split_spec *sp = &specs[s];
        if (sp->label_kind == BEND_LABELS_NONE) continue;
        for (int64_t first = 0; first < sp->n_samples && !st; first += BLOCK) {
            int64_t n = sp->n_samples - first < BLOCK ? sp->n_samples - first : BLOCK;
            size_t need = 0;
            if (sp->label_kind == BEND_LABELS_PER_SAMPLE) {
                need = (size_t)(n * sp->label_width);
            } else {
                for (int64_t i = 0; i < n; i++) need += (size_t)sp->label_lengths[first + i];
            }
            if (need > cap) {
                void *q = realloc(buf, need * 8);
                if (!q) { st = bend_fail(err, BEND_ERR_NOMEM, "out of memory"); break; }
                buf = q;
                cap = need;
            }
            const int64_t *rows = plan->split_rows[s] + first;
            if (h5) {
                st = bend_h5labels_read(h5, rows, n, buf, err);
            } else {
                for (int64_t i = 0; i < n; i++)
                    bend_bed_multi_hot(bed, (size_t)rows[i], (int)depth, (int64_t *)buf + i * depth);
            }
            if (!st) st = bend_store_build_write_labels(b, s, first, n, buf, err);
        }
    }
    free(buf);
    return st;
}

/* The configuration that decides the store's contents, resolved: the data keys, the task's block
 * and the model's block. Run-control keys (chunk, splits, chunk_size, device, work sizes) are
 * left out, so runs that differ only in how the work is split create identical files. */
static bend_status content_config(const bend_embed_settings *s, const bend_config *cfg, char **out,
                                  bend_error *err)
{
    *out = NULL;
    char *task_yaml = NULL, *model_yaml = NULL, *embedders = NULL;
    bend_status st = bend_config_to_yaml(cfg, s->task, true, &task_yaml, err);
    if (!st) st = bend_config_to_yaml(cfg, s->model, true, &model_yaml, err);
    if (!st && bend_config_has(cfg, "embedders_dir")) st = bend_config_get_str(cfg, "embedders_dir", &embedders, err);
    if (!st) {
        bend_strbuf sb = BEND_STRBUF_INIT;
        /* single-quoted YAML scalars: a quote is written twice */
        const char *keys[] = {"task", "model", "data_dir", "embedders_dir", "dtype"};
        const char *vals[] = {s->task, s->model, s->data_dir, embedders ? embedders : "",
                              s->dtype == BEND_STORE_F16 ? "float16" : "float32"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            bend_strbuf_printf(&sb, "%s: '", keys[i]);
            for (const char *c = vals[i]; *c; c++) {
                if (*c == '\'')
                    bend_strbuf_puts(&sb, "''");
                else
                    bend_strbuf_append(&sb, c, 1);
            }
            bend_strbuf_puts(&sb, "'\n");
        }
        bend_strbuf_printf(&sb, "%s:\n", s->task);
        indent_into(&sb, task_yaml);
        bend_strbuf_printf(&sb, "%s:\n", s->model);
        indent_into(&sb, model_yaml);
        if (sb.failed) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        *out = bend_strbuf_take(&sb);
    }
    free(task_yaml);
    free(model_yaml);
    free(embedders);
    return st;
}

static bend_status create_store(const bend_embed_settings *s, const bend_config *cfg,
                                const bend_embed_plan *plan, const bend_bed *bed,
                                bend_embedder *emb, const char *identity, bool replace,
                                bool *lost_race, bend_error *err)
{
    bend_h5labels *h5 = NULL;
    bend_status st = BEND_OK;
    size_t ns = plan->n_splits ? plan->n_splits : 1;
    bend_store_split_spec *specs = calloc(ns, sizeof *specs);
    int64_t **label_len = calloc(ns, sizeof *label_len);
    char *config_yaml = NULL;
    bend_store_builder *b = NULL;
    if (!specs || !label_len) { st = bend_fail(err, BEND_ERR_NOMEM, "out of memory"); goto done; }
    if (s->hdf5_file && (st = bend_h5labels_open(s->hdf5_file, plan->n_rows, s->bed, &h5, err))) goto done;
    int64_t mismatched = 0, first_bad = -1;
    for (size_t i = 0; i < plan->n_splits && !st; i++) {
        bend_store_split_spec *sp = &specs[i];
        sp->name = plan->split_names[i];
        sp->n_samples = plan->split_n[i];
        sp->rows = plan->sample_rows[i];
        sp->bed_row = plan->split_rows[i];
        sp->n_skipped = plan->split_skipped[i];
        sp->skipped_bed_row = plan->split_skipped_rows[i];
        if (h5 && bend_h5labels_variable(h5)) {
            sp->label_kind = BEND_LABELS_PER_NUCLEOTIDE;
            sp->label_type = bend_h5labels_float(h5) ? BEND_LABEL_FLOAT64 : BEND_LABEL_INT64;
            if (!(label_len[i] = malloc((size_t)(sp->n_samples ? sp->n_samples : 1) * sizeof **label_len))) {
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
                break;
            }
            st = bend_h5labels_lengths(h5, plan->split_rows[i], sp->n_samples, label_len[i], err);
            sp->label_lengths = label_len[i];
            for (int64_t k = 0; !st && k < sp->n_samples; k++) {
                int64_t r = plan->split_rows[i][k];
                if (label_len[i][k] != plan->end[r] - plan->start[r] && mismatched++ == 0) first_bad = r;
            }
        } else if (h5) {
            sp->label_kind = BEND_LABELS_PER_SAMPLE;
            sp->label_type = bend_h5labels_float(h5) ? BEND_LABEL_FLOAT64 : BEND_LABEL_INT64;
            sp->label_width = bend_h5labels_width(h5);
        } else if (s->label_depth > 0) {
            sp->label_kind = BEND_LABELS_PER_SAMPLE;
            sp->label_width = s->label_depth;
        }
    }
    if (!st && mismatched)
        bend_warn("%lld per-nucleotide label rows in %s differ in length from their regions (first: "
                  "%s line %lld); they are stored as they are", (long long)mismatched, s->hdf5_file,
                  s->bed, (long long)bed->line[first_bad]);
    if (!st) st = content_config(s, cfg, &config_yaml, err);
    bend_store_spec spec = {.task = s->task, .model = s->model, .dim = bend_embedder_dim(emb),
                            .dtype = s->dtype, .upsampled = bend_embedder_one_row_per_nucleotide(emb),
                            .identity_yaml = identity, .config_yaml = config_yaml,
                            .n_splits = plan->n_splits, .splits = specs};
    if (!st) st = bend_store_build_begin(s->store_path, &spec, &b, err);
    if (!st) st = write_labels(b, plan, bed, h5, s->label_depth, specs, err);
    if (!st) {
        st = bend_store_build_commit(b, replace, lost_race, err);
        b = NULL;
    }
done:
    bend_store_build_abort(b);
    bend_h5labels_close(h5);
    for (size_t i = 0; label_len && i < plan->n_splits; i++) free(label_len[i]);
    free(label_len);
    free(specs);
    free(config_yaml);
    return st;
}

bend_status bend_embed_store_prepare(const bend_embed_settings *s, const bend_config *cfg,
                                     const bend_embed_plan *plan, const bend_bed *bed,
                                     const bend_fasta *fasta, bend_embedder *emb, bool *created,
                                     bend_error *err)
{
    *created = false;
    char *ours = NULL, *stored = NULL;
    bend_status st = bend_mkdir_p(s->store_dir, "output directory", err);
    if (!st && access(s->store_dir, W_OK) != 0)
        st = bend_fail(err, BEND_ERR_IO, "output directory %s is not writable: %s", s->store_dir,
                       strerror(errno));
    if (!st) st = bend_embed_identity(s, cfg, fasta, emb, &ours, err);
    for (int attempt = 0; !st && attempt < 2; attempt++) {
        bend_error probe;
        bend_status exists = bend_store_read_identity(s->store_path, &stored, &probe);
        bool replace = false;
        if (exists == BEND_OK && !strcmp(stored, ours)) break; /* ours: fill it in */
        if (exists == BEND_OK || exists == BEND_ERR_HDF5) {
            if (!s->overwrite) {
                if (exists == BEND_OK) {
                    bend_strbuf sb = BEND_STRBUF_INIT;
                    describe_difference(stored, ours, &sb);
                    st = bend_fail(err, BEND_ERR_MISMATCH,
                                   "%s was written for another model or configuration:%s\n  pass "
                                   "overwrite=true to replace it (its embeddings are lost), or "
                                   "choose another data_dir", s->store_path, bend_strbuf_cstr(&sb));
                    bend_strbuf_free(&sb);
                } else {
                    st = bend_fail(err, BEND_ERR_MISMATCH,
                                   "%s; refusing to overwrite it: pass overwrite=true to replace "
                                   "it, or choose another data_dir", probe.msg);
                }
                break;
            }
            bend_info("replacing %s (overwrite=true)", s->store_path);
            replace = true;
        }
        free(stored);
        stored = NULL;
        bool lost_race = false;
        st = create_store(s, cfg, plan, bed, emb, ours, replace, &lost_race, err);
        if (!st && !lost_race) {
            *created = true;
            break;
        }
        /* Another job created it between our check and our link: check theirs once more. */
    }
    free(ours);
    free(stored);
    return st;
}
