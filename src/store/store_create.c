/* Phase 1 of the store: one process writes all metadata and the creation-time datasets into a
 * temporary file and links it into place (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/h5util.h"
#include "store/store.h"
#include "store/store_internal.h"

struct bend_store_builder {
    char *path, *tmp_path;
    hid_t file;
    size_t n_splits;
    bend_store_split_spec *splits;  /* shallow copies (the caller's arrays outlive the builder) */
    int64_t **label_start;          /* PER_NUCLEOTIDE: prefix sums of label_lengths */
};

static hid_t dataset_props(bool contiguous_early, hsize_t rows, hsize_t cols)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0); /* no timestamps: the same run gives the same bytes */
    if (contiguous_early || rows == 0) {
        /* Parallel independent writes need contiguous storage allocated up front. */
        H5Pset_layout(dcpl, H5D_CONTIGUOUS);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    } else {
        hsize_t chunk[2] = {rows < 65536 ? rows : 65536, cols};
        if (cols && chunk[0] * cols > 1u << 20) chunk[0] = (1u << 20) / cols ? (1u << 20) / cols : 1;
        H5Pset_chunk(dcpl, cols ? 2 : 1, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 4);
    }
    return dcpl;
}

static bend_status create_dataset(hid_t group, const char *name, hid_t type, int rank,
                                  const hsize_t *dims, hid_t dcpl, hid_t *out, bend_error *err)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    *out = H5Dcreate2(group, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(space);
    if (*out < 0) return bend_h5_fail(err, "cannot create dataset '%s'", name);
    return BEND_OK;
}

static bend_status write_whole(hid_t group, const char *name, hid_t file_type, hid_t mem_type,
                               int rank, const hsize_t *dims, bool contiguous, const void *data,
                               bend_error *err)
{
    hid_t dcpl = dataset_props(contiguous, dims[0], rank > 1 ? dims[1] : 0), d;
    bend_status st = create_dataset(group, name, file_type, rank, dims, dcpl, &d, err);
    H5Pclose(dcpl);
    if (st) return st;
    hsize_t total = dims[0] * (rank > 1 ? dims[1] : 1);
    if (total && data && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = bend_h5_fail(err, "cannot write dataset '%s'", name);
    H5Dclose(d);
    return st;
}

static bend_status create_split(bend_store_builder *b, const bend_store_spec *spec, size_t s,
                                bend_error *err)
{
    const bend_store_split_spec *sp = &spec->splits[s];
    int64_t n = sp->n_samples;
    int64_t *offsets = malloc((size_t)(n + 1) * sizeof *offsets);
    if (!offsets) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    offsets[0] = 0;
    for (int64_t i = 0; i < n; i++) offsets[i + 1] = offsets[i] + sp->rows[i];

    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(b->file, sp->name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    bend_status st = BEND_OK;
    if (g < 0) {
        free(offsets);
        return bend_h5_fail(err, "cannot create group for split '%s'", sp->name);
    }
    /* embeddings: contiguous, allocated now, never filled (a sparse file until written) */
    hsize_t edims[2] = {(hsize_t)offsets[n], (hsize_t)spec->dim};
    hid_t etype = bend_store_embedding_type(spec->dtype);
    hid_t dcpl = dataset_props(true, edims[0], edims[1]), d;
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    st = create_dataset(g, "embeddings", etype, 2, edims, dcpl, &d, err);
    H5Pclose(dcpl);
    H5Tclose(etype);
    if (!st) H5Dclose(d);

    hsize_t n1 = (hsize_t)n + 1, nn = (hsize_t)n;
    if (!st) st = write_whole(g, "offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n1, true, offsets, err);
    if (!st) st = write_whole(g, "bed_row", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &nn, true, sp->bed_row, err);
    hsize_t nsk = (hsize_t)sp->n_skipped;
    if (!st) st = write_whole(g, "skipped_bed_row", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &nsk, true,
                              sp->skipped_bed_row, err);
    if (!st) { /* done flags: zeros written now (n bytes), set by whoever fills a sample */
        uint8_t *zeros = calloc(nn ? nn : 1, 1);
        st = zeros ? write_whole(g, "done", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &nn, true, zeros, err)
                   : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        free(zeros);
    }
    hid_t ltype = sp->label_type == BEND_LABEL_FLOAT64 ? H5T_IEEE_F64LE : H5T_STD_I64LE;
    if (!st && sp->label_kind == BEND_LABELS_PER_SAMPLE) {
        hsize_t ldims[2] = {nn, (hsize_t)sp->label_width};
        hid_t lp = dataset_props(false, ldims[0], ldims[1]);
        st = create_dataset(g, "labels", ltype, 2, ldims, lp, &d, err);
        H5Pclose(lp);
        if (!st) H5Dclose(d);
    } else if (!st && sp->label_kind == BEND_LABELS_PER_NUCLEOTIDE) {
        int64_t *lstart = malloc((size_t)(n + 1) * sizeof *lstart);
        if (!lstart) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        if (!st) {
            lstart[0] = 0;
            for (int64_t i = 0; i < n; i++) lstart[i + 1] = lstart[i] + sp->label_lengths[i];
            b->label_start[s] = lstart;
            st = write_whole(g, "label_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n1, true, lstart, err);
        }
        if (!st) {
            hsize_t ldims[1] = {(hsize_t)lstart[n]};
            hid_t lp = dataset_props(false, ldims[0], 0);
            st = create_dataset(g, "labels", ltype, 1, ldims, lp, &d, err);
            H5Pclose(lp);
            if (!st) H5Dclose(d);
        }
    }
    if (!st) st = bend_h5_write_attr_i64(g, "n_samples", n, err);
    if (!st) st = bend_h5_write_attr_i64(g, "n_rows", offsets[n], err);
    if (!st) st = bend_h5_write_attr_i64(g, "n_skipped", sp->n_skipped, err);
    if (!st) {
        static const char *const kinds[] = {"none", "per_sample", "per_nucleotide"};
        st = bend_h5_write_attr_str(g, "label_kind", kinds[sp->label_kind], err);
    }
    H5Gclose(g);
    free(offsets);
    if (st) bend_error_context(err, "creating split '%s' of store %s", sp->name, b->path);
    return st;
}

static bend_status write_root_attrs(hid_t file, const bend_store_spec *spec, bend_error *err)
{
    const char **names = malloc((spec->n_splits ? spec->n_splits : 1) * sizeof *names);
    if (!names) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < spec->n_splits; i++) names[i] = spec->splits[i].name;
    bend_status st = bend_h5_write_attr_str(file, "format", BEND_STORE_FORMAT, err);
    if (!st) st = bend_h5_write_attr_i64(file, "format_version", BEND_STORE_FORMAT_VERSION, err);
    if (!st) st = bend_h5_write_attr_str(file, "bend_version", BEND_VERSION, err);
    if (!st) st = bend_h5_write_attr_str(file, "task", spec->task, err);
    if (!st) st = bend_h5_write_attr_str(file, "model", spec->model, err);
    if (!st) st = bend_h5_write_attr_i64(file, "embedding_dim", spec->dim, err);
    if (!st) st = bend_h5_write_attr_str(file, "dtype", spec->dtype == BEND_STORE_F16 ? "float16" : "float32", err);
    if (!st) st = bend_h5_write_attr_i64(file, "upsampled", spec->upsampled ? 1 : 0, err);
    if (!st) st = bend_h5_write_attr_str_array(file, "splits", names, spec->n_splits, err);
    if (!st) st = bend_h5_write_attr_str(file, "identity", spec->identity_yaml, err);
    if (!st) st = bend_h5_write_attr_str(file, "config", spec->config_yaml, err);
    free(names);
    return st;
}

bend_status bend_store_build_begin(const char *path, const bend_store_spec *spec,
                                   bend_store_builder **out, bend_error *err)
{
    *out = NULL;
    bend_h5_quiet();
    bend_store_builder *b = calloc(1, sizeof *b);
    if (!b) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    size_t len = strlen(path) + strlen(host) + 64;
    b->path = strdup(path);
    b->tmp_path = malloc(len);
    b->n_splits = spec->n_splits;
    b->splits = calloc(spec->n_splits ? spec->n_splits : 1, sizeof *b->splits);
    b->label_start = calloc(spec->n_splits ? spec->n_splits : 1, sizeof *b->label_start);
    b->file = -1;
    if (!b->path || !b->tmp_path || !b->splits || !b->label_start) {
        bend_store_build_abort(b);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    memcpy(b->splits, spec->splits, spec->n_splits * sizeof *b->splits);
    snprintf(b->tmp_path, len, "%s.tmp.%s.%ld", path, host, (long)getpid());
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t gcpl_root = fcpl; /* the root group's properties live in the file creation list */
    H5Pset_obj_track_times(gcpl_root, 0);
    b->file = H5Fcreate(b->tmp_path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (b->file < 0) {
        bend_status st = bend_h5_fail(err, "cannot create store %s (is the directory writable?)",
                                      b->tmp_path);
        bend_store_build_abort(b);
        return st;
    }
    bend_status st = write_root_attrs(b->file, spec, err);
    for (size_t s = 0; !st && s < spec->n_splits; s++) st = create_split(b, spec, s, err);
    if (st) {
        bend_store_build_abort(b);
        return st;
    }
    *out = b;
    return BEND_OK;
}

bend_status bend_store_build_write_labels(bend_store_builder *b, size_t split, int64_t first,
                                          int64_t count, const void *values, bend_error *err)
{
    const bend_store_split_spec *sp = &b->splits[split];
    if (sp->label_kind == BEND_LABELS_NONE || count == 0) return BEND_OK;
    hid_t g = H5Gopen2(b->file, sp->name, H5P_DEFAULT);
    hid_t d = H5Dopen2(g, "labels", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t start[2], cnt[2];
    int rank;
    if (sp->label_kind == BEND_LABELS_PER_SAMPLE) {
        rank = 2;
        start[0] = (hsize_t)first, start[1] = 0;
        cnt[0] = (hsize_t)count, cnt[1] = (hsize_t)sp->label_width;
    } else {
        rank = 1;
        start[0] = (hsize_t)b->label_start[split][first];
        cnt[0] = (hsize_t)(b->label_start[split][first + count] - b->label_start[split][first]);
    }
    bend_status st = BEND_OK;
    if (cnt[0] * (rank > 1 ? cnt[1] : 1) > 0) {
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
        hid_t ms = H5Screate_simple(rank, cnt, NULL);
        hid_t mt = sp->label_type == BEND_LABEL_FLOAT64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
        if (H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, values) < 0)
            st = bend_h5_fail(err, "cannot write labels of split '%s' to %s", sp->name, b->tmp_path);
        H5Sclose(ms);
    }
    H5Sclose(fs);
    H5Dclose(d);
    H5Gclose(g);
    return st;
}

bend_status bend_store_build_commit(bend_store_builder *b, bool replace, bool *lost_race,
                                    bend_error *err)
{
    *lost_race = false;
    bend_status st = BEND_OK;
    if (H5Fclose(b->file) < 0) st = bend_h5_fail(err, "cannot close %s", b->tmp_path);
    b->file = -1;
    if (!st) { /* the metadata must be on disk before the name makes the store visible */
        int fd = open(b->tmp_path, O_RDONLY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    if (!st && replace) {
        if (rename(b->tmp_path, b->path) != 0)
            st = bend_fail(err, BEND_ERR_IO, "cannot move %s to %s: %s", b->tmp_path, b->path,
                           strerror(errno));
    } else if (!st) {
        /* link() fails if the name exists: of two racing creators exactly one wins. */
        if (link(b->tmp_path, b->path) != 0) {
            if (errno == EEXIST)
                *lost_race = true;
            else
                st = bend_fail(err, BEND_ERR_IO, "cannot create %s: %s", b->path, strerror(errno));
        }
        unlink(b->tmp_path);
    }
    if (st) unlink(b->tmp_path);
    b->file = -1;
    bend_store_build_abort(b);
    return st;
}

void bend_store_build_abort(bend_store_builder *b)
{
    if (!b) return;
    if (b->file >= 0) {
        H5Fclose(b->file);
        unlink(b->tmp_path);
    }
    for (size_t s = 0; s < b->n_splits && b->label_start; s++) free(b->label_start[s]);
    free(b->label_start);
    free(b->splits);
    free(b->path);
    free(b->tmp_path);
    free(b);
}

bend_status bend_store_read_identity(const char *path, char **identity_yaml, bend_error *err)
{
    *identity_yaml = NULL;
    bend_h5_quiet();
    if (access(path, F_OK) != 0)
        return bend_fail(err, BEND_ERR_IO, "%s does not exist", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return bend_h5_fail(err, "%s exists but is not an HDF5 file", path);
    char *format = NULL;
    bend_status st = bend_h5_read_attr_str(f, "format", &format, err);
    if (st || strcmp(format, BEND_STORE_FORMAT) != 0)
        st = bend_fail(err, BEND_ERR_HDF5, "%s exists but is not a bend embedding store", path);
    if (!st) st = bend_h5_read_attr_str(f, "identity", identity_yaml, err);
    free(format);
    H5Fclose(f);
    return st;
}
