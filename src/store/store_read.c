/* Reading a finished store from one process (bend train, tools): no MPI, plain HDF5 reads, so any
 * number of ranks can each open the file read-only. Everything per split that is small (offsets,
 * label offsets) is read at open; embeddings and labels are read per sample range on demand,
 * because a split's labels alone can be gigabytes (chromatin accessibility: 2 M x 125). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/half.h"
#include "store/h5util.h"
#include "store/store_internal.h"

typedef struct reader_split {
    char *name;
    int64_t n;
    int64_t *offsets;       /* n + 1 */
    int64_t *label_offsets; /* n + 1; per-sample labels get i * width */
    bend_label_kind label_kind;
    bend_label_type label_type;
    int64_t label_width;
    int64_t n_done;
    hid_t embeddings, labels;
} reader_split;

struct bend_store_reader {
    char *path;
    hid_t file;
    char *task, *model;
    int64_t dim;
    bend_store_dtype dtype;
    size_t n_splits;
    reader_split *splits;
    uint16_t *scratch; /* float16 rows before conversion */
    size_t scratch_len;
};

static bend_status read_i64_all(hid_t g, const char *name, int64_t n, int64_t **out, const char *path,
                                const char *split, bend_error *err)
{
    *out = malloc((size_t)(n > 0 ? n : 1) * sizeof **out);
    if (!*out) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", path);
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    bend_status st = BEND_OK;
    if (d < 0 || H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        st = bend_h5_fail(err, "%s: cannot read %s/%s", path, split, name);
    if (d >= 0) H5Dclose(d);
    return st;
}

static bend_status open_split(bend_store_reader *r, reader_split *s, bend_error *err)
{
    hid_t g = H5Gopen2(r->file, s->name, H5P_DEFAULT);
    if (g < 0) return bend_h5_fail(err, "%s: no group for split '%s'", r->path, s->name);
    char *kind = NULL;
    bend_status st = bend_h5_read_attr_i64(g, "n_samples", &s->n, err);
    if (!st) st = bend_h5_read_attr_str(g, "label_kind", &kind, err);
    if (!st) st = read_i64_all(g, "offsets", s->n + 1, &s->offsets, r->path, s->name, err);
    uint8_t *done = NULL;
    if (!st && !(done = malloc((size_t)(s->n > 0 ? s->n : 1))))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", r->path);
    hid_t dd = st ? -1 : H5Dopen2(g, "done", H5P_DEFAULT);
    if (!st && (dd < 0 || H5Dread(dd, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done) < 0))
        st = bend_h5_fail(err, "%s: cannot read %s/done", r->path, s->name);
    if (dd >= 0) H5Dclose(dd);
    for (int64_t i = 0; !st && i < s->n; i++) s->n_done += done[i] != 0;
    free(done);
    if (!st) {
        s->embeddings = H5Dopen2(g, "embeddings", H5P_DEFAULT);
        if (s->embeddings < 0) st = bend_h5_fail(err, "%s: no %s/embeddings", r->path, s->name);
    }
    if (!st) {
        s->label_kind = !strcmp(kind, "per_sample")       ? BEND_LABELS_PER_SAMPLE
                        : !strcmp(kind, "per_nucleotide") ? BEND_LABELS_PER_NUCLEOTIDE
                                                          : BEND_LABELS_NONE;
    }
    if (!st && s->label_kind != BEND_LABELS_NONE) {
        s->labels = H5Dopen2(g, "labels", H5P_DEFAULT);
        if (s->labels < 0) st = bend_h5_fail(err, "%s: no %s/labels", r->path, s->name);
    }
    if (!st && s->label_kind != BEND_LABELS_NONE) {
        hid_t t = H5Dget_type(s->labels), sp = H5Dget_space(s->labels);
        s->label_type = H5Tget_class(t) == H5T_FLOAT ? BEND_LABEL_FLOAT64 : BEND_LABEL_INT64;
        hsize_t dims[2] = {0, 1};
        int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
        H5Tclose(t);
        H5Sclose(sp);
        if (s->label_kind == BEND_LABELS_PER_SAMPLE) {
            s->label_width = nd == 2 ? (int64_t)dims[1] : 1;
            if (!(s->label_offsets = malloc((size_t)(s->n + 1) * sizeof *s->label_offsets)))
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", r->path);
            for (int64_t i = 0; !st && i <= s->n; i++) s->label_offsets[i] = i * s->label_width;
        } else {
            st = read_i64_all(g, "label_offsets", s->n + 1, &s->label_offsets, r->path, s->name, err);
        }
    }
    free(kind);
    H5Gclose(g);
    return st;
}

bend_status bend_store_reader_open(const char *path, bend_store_reader **out, bend_error *err)
{
    *out = NULL;
    bend_h5_quiet();
    if (access(path, R_OK) != 0)
        return bend_fail(err, BEND_ERR_IO, "cannot read store %s: run bend embed first", path);
    bend_store_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *format = NULL, *dtype = NULL, **names = NULL;
    size_t n_names = 0;
    bend_status st = r->file < 0 ? bend_h5_fail(err, "%s is not an HDF5 file", path) : BEND_OK;
    if (!st && (bend_h5_read_attr_str(r->file, "format", &format, err) ||
                strcmp(format, BEND_STORE_FORMAT)))
        st = bend_fail(err, BEND_ERR_HDF5, "%s is not a bend embedding store", path);
    if (!st) st = bend_h5_read_attr_str(r->file, "task", &r->task, err);
    if (!st) st = bend_h5_read_attr_str(r->file, "model", &r->model, err);
    if (!st) st = bend_h5_read_attr_str(r->file, "dtype", &dtype, err);
    if (!st) st = bend_h5_read_attr_i64(r->file, "embedding_dim", &r->dim, err);
    if (!st) st = bend_h5_read_attr_str_array(r->file, "splits", &names, &n_names, err);
    if (!st) r->dtype = !strcmp(dtype, "float16") ? BEND_STORE_F16 : BEND_STORE_F32;
    if (!st && !(r->splits = calloc(n_names ? n_names : 1, sizeof *r->splits)))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_names; i++) {
        if (!st) {
            r->splits[i].name = names[i];
            r->splits[i].embeddings = r->splits[i].labels = -1;
            r->n_splits = i + 1;
            st = open_split(r, &r->splits[i], err);
        } else {
            free(names[i]);
        }
    }
    free(names);
    free(format);
    free(dtype);
    if (st) {
        bend_store_reader_close(r);
        return st;
    }
    *out = r;
    return BEND_OK;
}

void bend_store_reader_close(bend_store_reader *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_splits; i++) {
        reader_split *s = &r->splits[i];
        if (s->embeddings >= 0) H5Dclose(s->embeddings);
        if (s->labels >= 0) H5Dclose(s->labels);
        free(s->name);
        free(s->offsets);
        free(s->label_offsets);
    }
    if (r->file >= 0) H5Fclose(r->file);
    free(r->splits);
    free(r->scratch);
    free(r->task);
    free(r->model);
    free(r->path);
    free(r);
}

const char *bend_store_reader_path(const bend_store_reader *r) { return r->path; }
const char *bend_store_reader_task(const bend_store_reader *r) { return r->task; }
const char *bend_store_reader_model(const bend_store_reader *r) { return r->model; }
int64_t bend_store_reader_dim(const bend_store_reader *r) { return r->dim; }
size_t bend_store_reader_n_splits(const bend_store_reader *r) { return r->n_splits; }

bend_status bend_store_reader_split(const bend_store_reader *r, const char *name, size_t *index,
                                    bend_error *err)
{
    for (size_t i = 0; i < r->n_splits; i++)
        if (!strcmp(r->splits[i].name, name)) {
            *index = i;
            return BEND_OK;
        }
    bend_strbuf sb = BEND_STRBUF_INIT;
    for (size_t i = 0; i < r->n_splits; i++)
        bend_strbuf_printf(&sb, "%s%s", i ? ", " : "", r->splits[i].name);
    bend_status st = bend_fail(err, BEND_ERR_INVALID, "%s has no split '%s'; its splits are %s",
                               r->path, name, sb.len ? bend_strbuf_cstr(&sb) : "(none)");
    bend_strbuf_free(&sb);
    return st;
}

bend_store_split_info bend_store_reader_split_info(const bend_store_reader *r, size_t split)
{
    const reader_split *s = &r->splits[split];
    return (bend_store_split_info){s->name, s->n, s->n_done, s->offsets, s->label_kind,
                                   s->label_type, s->label_width, s->label_offsets};
}

/* Rows [row0, row0 + n) of a split's embeddings as float32. */
static bend_status read_rows(bend_store_reader *r, reader_split *s, int64_t row0, int64_t n,
                             float *out, bend_error *err)
{
    if (n == 0) return BEND_OK;
    hsize_t start[2] = {(hsize_t)row0, 0}, cnt[2] = {(hsize_t)n, (hsize_t)r->dim};
    size_t values = (size_t)n * (size_t)r->dim;
    void *buf = out;
    hid_t mem_type;
    if (r->dtype == BEND_STORE_F16) {
        if (r->scratch_len < values) {
            uint16_t *p = realloc(r->scratch, values * sizeof *p);
            if (!p) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", r->path);
            r->scratch = p;
            r->scratch_len = values;
        }
        buf = r->scratch;
        mem_type = bend_store_embedding_type(BEND_STORE_F16);
    } else {
        mem_type = H5Tcopy(H5T_NATIVE_FLOAT);
    }
    hid_t fs = H5Dget_space(s->embeddings), ms = H5Screate_simple(2, cnt, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    bend_status st = BEND_OK;
    if (H5Dread(s->embeddings, mem_type, ms, fs, H5P_DEFAULT, buf) < 0)
        st = bend_h5_fail(err, "%s: cannot read rows %lld..%lld of split '%s'", r->path,
                          (long long)row0, (long long)(row0 + n), s->name);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(mem_type);
    if (!st && r->dtype == BEND_STORE_F16)
        for (size_t i = 0; i < values; i++) out[i] = bend_f16_to_f32(r->scratch[i]);
    return st;
}

bend_status bend_store_reader_rows(bend_store_reader *r, size_t split, int64_t first, int64_t count,
                                   float *out, bend_error *err)
{
    reader_split *s = &r->splits[split];
    if (first < 0 || count < 0 || first + count > s->n)
        return bend_fail(err, BEND_ERR_INTERNAL, "%s: samples %lld..%lld outside split '%s' (%lld)",
                         r->path, (long long)first, (long long)(first + count), s->name,
                         (long long)s->n);
    return read_rows(r, s, s->offsets[first], s->offsets[first + count] - s->offsets[first], out,
                     err);
}

bend_status bend_store_reader_labels(bend_store_reader *r, size_t split, int64_t first,
                                     int64_t count, double *out, bend_error *err)
{
    reader_split *s = &r->splits[split];
    if (s->label_kind == BEND_LABELS_NONE)
        return bend_fail(err, BEND_ERR_INVALID, "%s: split '%s' has no labels", r->path, s->name);
    if (first < 0 || count < 0 || first + count > s->n)
        return bend_fail(err, BEND_ERR_INTERNAL, "%s: samples %lld..%lld outside split '%s'",
                         r->path, (long long)first, (long long)(first + count), s->name);
    int64_t v0 = s->label_offsets[first], nv = s->label_offsets[first + count] - v0;
    if (nv == 0) return BEND_OK;
    hid_t fs = H5Dget_space(s->labels);
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t start[2] = {(hsize_t)v0, 0}, cnt[2] = {(hsize_t)nv, 1};
    if (nd == 2) {
        start[0] = (hsize_t)first;
        cnt[0] = (hsize_t)count;
        cnt[1] = (hsize_t)s->label_width;
    }
    hsize_t mcnt = (hsize_t)nv;
    hid_t ms = H5Screate_simple(1, &mcnt, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    bend_status st = BEND_OK;
    if (H5Dread(s->labels, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0)
        st = bend_h5_fail(err, "%s: cannot read labels of samples %lld..%lld of split '%s'",
                          r->path, (long long)first, (long long)(first + count), s->name);
    H5Sclose(ms);
    H5Sclose(fs);
    return st;
}
