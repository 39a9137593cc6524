/* A readable summary of a store (one process, read-only): used by `bend info` and at the end of
 * `bend embed`. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/h5util.h"
#include "store/store.h"

static bend_status describe_split(hid_t file, const char *name, int64_t chunk_size,
                                  bend_strbuf *sb, int64_t *done_total, int64_t *n_total,
                                  bend_error *err)
{
    hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
    if (g < 0) return bend_h5_fail(err, "split '%s' is missing", name);
    int64_t n = 0, rows = 0, skipped = 0;
    char *kind = NULL;
    bend_status st = bend_h5_read_attr_i64(g, "n_samples", &n, err);
    if (!st && H5Aexists(g, "n_skipped") > 0) st = bend_h5_read_attr_i64(g, "n_skipped", &skipped, err);
    if (!st) st = bend_h5_read_attr_i64(g, "n_rows", &rows, err);
    if (!st) st = bend_h5_read_attr_str(g, "label_kind", &kind, err);
    uint8_t *done = st ? NULL : malloc((size_t)(n ? n : 1));
    if (!st && !done) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (!st && n) {
        hid_t d = H5Dopen2(g, "done", H5P_DEFAULT);
        if (d < 0 || H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done) < 0)
            st = bend_h5_fail(err, "cannot read done flags of split '%s'", name);
        if (d >= 0) H5Dclose(d);
    }
    char labels[128] = "none";
    if (!st && strcmp(kind, "none")) {
        hid_t d = H5Dopen2(g, "labels", H5P_DEFAULT);
        hid_t sp = H5Dget_space(d);
        hsize_t dims[2] = {0, 0};
        int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
        if (nd == 2)
            snprintf(labels, sizeof labels, "%s [%llu, %llu]", kind, (unsigned long long)dims[0],
                     (unsigned long long)dims[1]);
        else
            snprintf(labels, sizeof labels, "%s [%llu] + label_offsets", kind, (unsigned long long)dims[0]);
        H5Sclose(sp);
        H5Dclose(d);
    }
    if (!st) {
        int64_t n_done = 0, chunks = n / chunk_size + 1, chunks_done = 0;
        for (int64_t i = 0; i < n; i++) n_done += done[i];
        for (int64_t c = 0; c < chunks; c++) {
            int64_t a = c * chunk_size, b = (c + 1) * chunk_size < n ? (c + 1) * chunk_size : n;
            bool complete = true;
            for (int64_t i = a; i < b && complete; i++) complete = done[i];
            chunks_done += complete;
        }
        bend_strbuf_printf(sb, "  %-12s %10lld %10lld %14lld   %4lld/%-4lld  %s", name,
                           (long long)n, (long long)n_done, (long long)rows, (long long)chunks_done,
                           (long long)chunks, labels);
        if (skipped) bend_strbuf_printf(sb, "; %lld BED rows not embedded (skipped_bed_row)", (long long)skipped);
        bend_strbuf_puts(sb, "\n");
        *done_total += n_done;
        *n_total += n;
    }
    free(done);
    free(kind);
    H5Gclose(g);
    return st;
}

bend_status bend_store_describe(const char *path, int64_t chunk_size, bend_strbuf *sb,
                                bend_error *err)
{
    bend_h5_quiet();
    if (access(path, R_OK) != 0) return bend_fail(err, BEND_ERR_IO, "cannot read store %s", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return bend_h5_fail(err, "%s is not an HDF5 file", path);
    char *format = NULL, *task = NULL, *model = NULL, *dtype = NULL;
    int64_t dim = 0, upsampled = 0;
    char **splits = NULL;
    size_t n_splits = 0;
    bend_status st = bend_h5_read_attr_str(f, "format", &format, err);
    if (st || strcmp(format, BEND_STORE_FORMAT))
        st = bend_fail(err, BEND_ERR_HDF5, "%s is not a bend embedding store", path);
    if (!st) st = bend_h5_read_attr_str(f, "task", &task, err);
    if (!st) st = bend_h5_read_attr_str(f, "model", &model, err);
    if (!st) st = bend_h5_read_attr_str(f, "dtype", &dtype, err);
    if (!st) st = bend_h5_read_attr_i64(f, "embedding_dim", &dim, err);
    if (!st) st = bend_h5_read_attr_i64(f, "upsampled", &upsampled, err);
    if (!st) st = bend_h5_read_attr_str_array(f, "splits", &splits, &n_splits, err);
    if (!st) {
        bend_strbuf_printf(sb, "store %s\n  task %s, model %s: %lld-dim %s embeddings%s\n", path,
                           task, model, (long long)dim, dtype,
                           upsampled ? ", one row per nucleotide" : "");
        bend_strbuf_printf(sb, "  %-12s %10s %10s %14s   %-9s  %s\n", "split", "samples", "done",
                           "rows", "chunks", "labels");
    }
    int64_t done_total = 0, n_total = 0;
    for (size_t i = 0; !st && i < n_splits; i++)
        st = describe_split(f, splits[i], chunk_size, sb, &done_total, &n_total, err);
    if (!st)
        bend_strbuf_printf(sb, "  %lld of %lld samples embedded (chunks of %lld samples)%s\n",
                           (long long)done_total, (long long)n_total, (long long)chunk_size,
                           done_total == n_total ? "" : "; run the same command again to finish");
    for (size_t i = 0; i < n_splits; i++) free(splits[i]);
    free(splits);
    free(format);
    free(task);
    free(model);
    free(dtype);
    H5Fclose(f);
    return st;
}
