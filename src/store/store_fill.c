/* Phase 2 of the store: ranks (and independent jobs) write embeddings into the regions allocated
 * at creation and mark samples done. Only raw data is written here, never metadata. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "store/h5util.h"
#include "store/store.h"
#include "store/store_internal.h"

/* Raw writes are cut into pieces of at most this many bytes: MPI-IO counts are ints. */
#define MAX_WRITE_BYTES (256u << 20)

typedef struct {
    char *name;
    hid_t group, embeddings, done;
    int64_t n_samples;
    int64_t *offsets;
} store_split;

struct bend_store {
    char *path;
    hid_t file;
    int64_t dim;
    bend_store_dtype dtype;
    size_t n_splits;
    store_split *splits;
    void *scratch; /* float16 conversion buffer */
};

hid_t bend_store_embedding_type(bend_store_dtype dtype)
{
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (dtype == BEND_STORE_F16) { /* sign bit 15, exponent bits 10..14, mantissa 0..9, bias 15 */
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, 15);
    }
    return t;
}

static bend_status open_split(bend_store *s, store_split *sp, bend_error *err)
{
    sp->group = H5Gopen2(s->file, sp->name, H5P_DEFAULT);
    if (sp->group < 0) return bend_h5_fail(err, "cannot open split '%s' in %s", sp->name, s->path);
    sp->embeddings = H5Dopen2(sp->group, "embeddings", H5P_DEFAULT);
    sp->done = H5Dopen2(sp->group, "done", H5P_DEFAULT);
    hid_t off = H5Dopen2(sp->group, "offsets", H5P_DEFAULT);
    if (sp->embeddings < 0 || sp->done < 0 || off < 0) {
        if (off >= 0) H5Dclose(off);
        return bend_h5_fail(err, "split '%s' of %s lacks embeddings, done or offsets", sp->name, s->path);
    }
    hid_t space = H5Dget_space(off);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    bend_status st = BEND_OK;
    sp->n_samples = n > 0 ? (int64_t)n - 1 : 0;
    sp->offsets = malloc((size_t)(n > 0 ? n : 1) * sizeof *sp->offsets);
    if (!sp->offsets)
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    else if (n > 0 && H5Dread(off, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, sp->offsets) < 0)
        st = bend_h5_fail(err, "cannot read offsets of split '%s' in %s", sp->name, s->path);
    H5Dclose(off);
    return st;
}

static void free_store(bend_store *s)
{
    for (size_t i = 0; i < s->n_splits; i++) {
        store_split *sp = &s->splits[i];
        if (sp->embeddings >= 0) H5Dclose(sp->embeddings);
        if (sp->done >= 0) H5Dclose(sp->done);
        if (sp->group >= 0) H5Gclose(sp->group);
        free(sp->offsets);
        free(sp->name);
    }
    free(s->splits);
    free(s->scratch);
    free(s->path);
    free(s);
}

bend_status bend_store_open(const char *path, MPI_Comm comm, bend_store **out, bend_error *err)
{
    *out = NULL;
    bend_h5_quiet();
    bend_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    s->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        free_store(s);
        return bend_h5_fail(err, "cannot open store %s for writing", path);
    }
    char *dtype = NULL;
    bend_status st = bend_h5_read_attr_i64(s->file, "embedding_dim", &s->dim, err);
    if (!st) st = bend_h5_read_attr_str(s->file, "dtype", &dtype, err);
    if (!st) s->dtype = !strcmp(dtype, "float16") ? BEND_STORE_F16 : BEND_STORE_F32;
    free(dtype);
    /* Splits in the order BEND lists them (the `splits` attribute). */
    char **names = NULL;
    size_t n_names = 0;
    if (!st) st = bend_h5_read_attr_str_array(s->file, "splits", &names, &n_names, err);
    if (!st && !(s->splits = calloc(n_names ? n_names : 1, sizeof *s->splits)))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n_names; i++) {
        s->splits[i] = (store_split){.name = names[i], .group = -1, .embeddings = -1, .done = -1};
        names[i] = NULL;
        s->n_splits++;
    }
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    for (size_t i = 0; !st && i < s->n_splits; i++) st = open_split(s, &s->splits[i], err);
    if (st) {
        H5Fclose(s->file);
        free_store(s);
        return st;
    }
    *out = s;
    return BEND_OK;
}

bend_status bend_store_close(bend_store *s, bend_error *err)
{
    if (!s) return BEND_OK;
    hid_t file = s->file;
    char path[4096];
    snprintf(path, sizeof path, "%s", s->path);
    free_store(s);
    if (H5Fclose(file) < 0) return bend_h5_fail(err, "cannot close store %s", path);
    return BEND_OK;
}

int64_t bend_store_dim(const bend_store *s) { return s->dim; }
size_t bend_store_n_splits(const bend_store *s) { return s->n_splits; }
const char *bend_store_split_name(const bend_store *s, size_t i) { return s->splits[i].name; }
int64_t bend_store_n_samples(const bend_store *s, size_t i) { return s->splits[i].n_samples; }
const int64_t *bend_store_offsets(const bend_store *s, size_t i) { return s->splits[i].offsets; }

bend_status bend_store_read_done(bend_store *s, size_t split, uint8_t *flags, bend_error *err)
{
    store_split *sp = &s->splits[split];
    if (sp->n_samples == 0) return BEND_OK;
    if (H5Dread(sp->done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags) < 0)
        return bend_h5_fail(err, "cannot read the done flags of split '%s' in %s", sp->name, s->path);
    return BEND_OK;
}

static bend_status write_rows(bend_store *s, store_split *sp, int64_t row0, int64_t n_rows,
                              const float *rows, bend_error *err)
{
    size_t elem = s->dtype == BEND_STORE_F16 ? 2 : 4;
    int64_t per_piece = (int64_t)(MAX_WRITE_BYTES / ((size_t)s->dim * elem));
    if (per_piece < 1) per_piece = 1;
    hid_t mem_type = bend_store_embedding_type(s->dtype);
    if (s->dtype == BEND_STORE_F32) {
        H5Tclose(mem_type);
        mem_type = H5Tcopy(H5T_NATIVE_FLOAT);
    }
    if (s->dtype == BEND_STORE_F16 && !s->scratch)
        s->scratch = malloc((size_t)per_piece * (size_t)s->dim * 2);
    bend_status st = BEND_OK;
    if (s->dtype == BEND_STORE_F16 && !s->scratch) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    hid_t fs = H5Dget_space(sp->embeddings);
    for (int64_t done = 0; !st && done < n_rows; done += per_piece) {
        int64_t n = n_rows - done < per_piece ? n_rows - done : per_piece;
        hsize_t start[2] = {(hsize_t)(row0 + done), 0}, cnt[2] = {(hsize_t)n, (hsize_t)s->dim};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
        hid_t ms = H5Screate_simple(2, cnt, NULL);
        const void *buf = rows + done * s->dim;
        if (s->dtype == BEND_STORE_F16) {
            bend_f32_to_f16_array(buf, s->scratch, (size_t)n * (size_t)s->dim);
            buf = s->scratch;
        }
        if (H5Dwrite(sp->embeddings, mem_type, ms, fs, H5P_DEFAULT, buf) < 0)
            st = bend_h5_fail(err, "cannot write rows %lld..%lld of split '%s' in %s",
                              (long long)(row0 + done), (long long)(row0 + done + n), sp->name, s->path);
        H5Sclose(ms);
    }
    H5Sclose(fs);
    H5Tclose(mem_type);
    return st;
}

static bend_status mark_done(bend_store *s, store_split *sp, int64_t first, int64_t count,
                             bend_error *err)
{
    uint8_t *ones = malloc((size_t)count);
    if (!ones) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    memset(ones, 1, (size_t)count);
    hid_t fs = H5Dget_space(sp->done);
    hsize_t start[1] = {(hsize_t)first}, cnt[1] = {(hsize_t)count};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    hid_t ms = H5Screate_simple(1, cnt, NULL);
    bend_status st = BEND_OK;
    if (H5Dwrite(sp->done, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, ones) < 0)
        st = bend_h5_fail(err, "cannot mark samples %lld..%lld of split '%s' done in %s",
                          (long long)first, (long long)(first + count), sp->name, s->path);
    H5Sclose(ms);
    H5Sclose(fs);
    free(ones);
    return st;
}

bend_status bend_store_write_samples(bend_store *s, size_t split, int64_t first, int64_t count,
                                     const float *rows, bend_error *err)
{
    store_split *sp = &s->splits[split];
    if (first < 0 || count < 0 || first + count > sp->n_samples)
        return bend_fail(err, BEND_ERR_INTERNAL, "samples %lld..%lld are outside split '%s' (%lld samples)",
                         (long long)first, (long long)(first + count), sp->name, (long long)sp->n_samples);
    if (count == 0) return BEND_OK;
    int64_t row0 = sp->offsets[first], n_rows = sp->offsets[first + count] - row0;
    /* Data first, flag second: a sample marked done always holds its rows. */
    bend_status st = n_rows ? write_rows(s, sp, row0, n_rows, rows, err) : BEND_OK;
    return st ? st : mark_done(s, sp, first, count, err);
}
