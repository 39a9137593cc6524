#include "io/labels.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/h5util.h"

struct bend_h5labels {
    char *path;
    hid_t file, dset, space;
    bool variable, is_float;
    int64_t rows, width;
    hid_t mem_type; /* native int64/double, or a vlen of it */
};

static bend_status check_number_class(const bend_h5labels *h, hid_t t, bool *is_float, bend_error *err)
{
    H5T_class_t c = H5Tget_class(t);
    if (c == H5T_INTEGER || c == H5T_ENUM) { /* h5py writes numpy bools as an enum of integers */
        *is_float = false;
        return BEND_OK;
    }
    if (c == H5T_FLOAT) {
        *is_float = true;
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_PARSE, "'labels' in %s holds neither integers nor floats", h->path);
}

bend_status bend_h5labels_open(const char *path, int64_t bed_rows, const char *bed_path,
                               bend_h5labels **out, bend_error *err)
{
    *out = NULL;
    bend_h5_quiet();
    if (access(path, R_OK) != 0)
        return bend_fail(err, BEND_ERR_IO, "cannot read HDF5 label file %s", path);
    bend_h5labels *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    h->file = h->dset = h->space = h->mem_type = -1;
    bend_status st = BEND_OK;
    hid_t ftype = -1;
    if ((h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        st = bend_h5_fail(err, "%s is not a readable HDF5 file", path);
        goto done;
    }
    if (H5Lexists(h->file, "labels", H5P_DEFAULT) <= 0 ||
        (h->dset = H5Dopen2(h->file, "labels", H5P_DEFAULT)) < 0) {
        st = bend_fail(err, BEND_ERR_PARSE, "HDF5 label file %s has no dataset 'labels'", path);
        goto done;
    }
    h->space = H5Dget_space(h->dset);
    int ndims = H5Sget_simple_extent_ndims(h->space);
    hsize_t dims[H5S_MAX_RANK];
    if (ndims < 1) {
        st = bend_fail(err, BEND_ERR_PARSE, "'labels' in %s is a scalar; expected one row per BED row", path);
        goto done;
    }
    H5Sget_simple_extent_dims(h->space, dims, NULL);
    h->rows = (int64_t)dims[0];
    h->width = 1;
    for (int i = 1; i < ndims; i++) h->width *= (int64_t)dims[i];
    ftype = H5Dget_type(h->dset);
    if (H5Tget_class(ftype) == H5T_VLEN) {
        if (ndims != 1) {
            st = bend_fail(err, BEND_ERR_PARSE, "'labels' in %s is variable-length with %d dimensions; "
                           "expected one variable-length row per BED row", path, ndims);
            goto done;
        }
        hid_t base = H5Tget_super(ftype);
        st = check_number_class(h, base, &h->is_float, err);
        H5Tclose(base);
        h->variable = true;
        h->mem_type = H5Tvlen_create(h->is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64);
    } else {
        st = check_number_class(h, ftype, &h->is_float, err);
        h->mem_type = H5Tcopy(h->is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64);
    }
    if (st) goto done;
    if (h->rows != bed_rows)
        st = bend_fail(err, BEND_ERR_INVALID,
                       "HDF5 label file %s holds %lld rows in 'labels', but BED file %s has %lld "
                       "data rows; they must share the row index (row i of one is row i of the other)",
                       path, (long long)h->rows, bed_path, (long long)bed_rows);
done:
    if (ftype >= 0) H5Tclose(ftype);
    if (st) {
        bend_h5labels_close(h);
        return st;
    }
    *out = h;
    return BEND_OK;
}

void bend_h5labels_close(bend_h5labels *h)
{
    if (!h) return;
    if (h->mem_type >= 0) H5Tclose(h->mem_type);
    if (h->space >= 0) H5Sclose(h->space);
    if (h->dset >= 0) H5Dclose(h->dset);
    if (h->file >= 0) H5Fclose(h->file);
    free(h->path);
    free(h);
}

bool bend_h5labels_variable(const bend_h5labels *h) { return h->variable; }
bool bend_h5labels_float(const bend_h5labels *h) { return h->is_float; }
int64_t bend_h5labels_width(const bend_h5labels *h) { return h->width; }

/* Reads one row's variable-length record; the caller reclaims it with H5Dvlen_reclaim. */
static bend_status read_vlen_row(bend_h5labels *h, int64_t row, hvl_t *rec, bend_error *err)
{
    hsize_t start = (hsize_t)row, one = 1;
    H5Sselect_hyperslab(h->space, H5S_SELECT_SET, &start, NULL, &one, NULL);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    herr_t rc = H5Dread(h->dset, h->mem_type, ms, h->space, H5P_DEFAULT, rec);
    H5Sclose(ms);
    if (rc < 0) return bend_h5_fail(err, "cannot read row %lld of 'labels' in %s", (long long)row, h->path);
    return BEND_OK;
}

static void reclaim(bend_h5labels *h, hvl_t *rec)
{
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    H5Dvlen_reclaim(h->mem_type, ms, H5P_DEFAULT, rec);
    H5Sclose(ms);
}

bend_status bend_h5labels_lengths(bend_h5labels *h, const int64_t *rows, int64_t n,
                                  int64_t *lengths, bend_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        hvl_t rec = {0, NULL};
        bend_status st = read_vlen_row(h, rows[i], &rec, err);
        if (st) return st;
        lengths[i] = (int64_t)rec.len;
        reclaim(h, &rec);
    }
    return BEND_OK;
}

bend_status bend_h5labels_read(bend_h5labels *h, const int64_t *rows, int64_t n, void *out,
                               bend_error *err)
{
    char *dst = out;
    size_t elem = 8; /* int64_t and double */
    for (int64_t i = 0; i < n; i++) {
        if (h->variable) {
            hvl_t rec = {0, NULL};
            bend_status st = read_vlen_row(h, rows[i], &rec, err);
            if (st) return st;
            memcpy(dst, rec.p, rec.len * elem);
            dst += rec.len * elem;
            reclaim(h, &rec);
            continue;
        }
        /* Fixed rows: one hyperslab over the first axis, all of the others. */
        hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        H5Sget_simple_extent_dims(h->space, count, NULL);
        start[0] = (hsize_t)rows[i];
        count[0] = 1;
        H5Sselect_hyperslab(h->space, H5S_SELECT_SET, start, NULL, count, NULL);
        hsize_t w = (hsize_t)h->width;
        hid_t ms = H5Screate_simple(1, &w, NULL);
        herr_t rc = H5Dread(h->dset, h->mem_type, ms, h->space, H5P_DEFAULT, dst);
        H5Sclose(ms);
        if (rc < 0) return bend_h5_fail(err, "cannot read row %lld of 'labels' in %s", (long long)rows[i], h->path);
        dst += (size_t)h->width * elem;
    }
    return BEND_OK;
}
