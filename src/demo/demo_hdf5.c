/* The tasks' HDF5 label files: one dataset `labels` per file, written with the serial API and
 * default property lists except that object times are not tracked (same input, same bytes).
 *   gene_finding.hdf5:        [rows] variable-length int64, per-nucleotide classes
 *   enhancer_annotation.hdf5: [rows, 782] int64, 1 where the bin is an enhancer */
#include <hdf5.h>
#include <stdlib.h>

#include "demo/demo_internal.h"

static bend_status write_labels(const char *path, hid_t ftype, hid_t mtype, int rank,
                                const hsize_t *dims, const void *data, bend_error *err)
{
    /* HDF5 prints its error stack by default; the library must not print. */
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    bend_status st = BEND_OK;
    hid_t file = -1, space = -1, dcpl = -1, dset = -1;
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        st = bend_fail(err, BEND_ERR_HDF5, "cannot create HDF5 file '%s'", path);
        goto done;
    }
    space = H5Screate_simple(rank, dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        st = bend_fail(err, BEND_ERR_HDF5, "'%s': cannot prepare dataset 'labels'", path);
        goto done;
    }
    dset = H5Dcreate2(file, "labels", ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        st = bend_fail(err, BEND_ERR_HDF5, "'%s': cannot create dataset 'labels'", path);
        goto done;
    }
    if (H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = bend_fail(err, BEND_ERR_HDF5, "'%s': cannot write dataset 'labels'", path);
done:
    if (dset >= 0 && H5Dclose(dset) < 0 && st == BEND_OK)
        st = bend_fail(err, BEND_ERR_HDF5, "'%s': cannot close dataset 'labels'", path);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (file >= 0 && H5Fclose(file) < 0 && st == BEND_OK)
        st = bend_fail(err, BEND_ERR_HDF5, "cannot finish HDF5 file '%s'", path);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    return st;
}

bend_status demo_write_gene_hdf5(const demo_task *t, const char *path, bend_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < t->n; i++) total += t->s[i].len;
    int64_t *values = malloc(total * sizeof *values);
    hvl_t *rows = malloc(t->n * sizeof *rows);
    if (!values || !rows) {
        free(values);
        free(rows);
        return bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path);
    }
    int64_t *at = values;
    for (size_t i = 0; i < t->n; i++) {
        const demo_sample *s = &t->s[i];
        for (uint32_t j = 0; j < s->len; j++) at[j] = s->classes[j];
        rows[i].len = s->len;
        rows[i].p = at;
        at += s->len;
    }
    bend_status st = BEND_OK;
    hid_t ftype = H5Tvlen_create(H5T_STD_I64LE), mtype = H5Tvlen_create(H5T_NATIVE_INT64);
    if (ftype < 0 || mtype < 0) {
        st = bend_fail(err, BEND_ERR_HDF5, "'%s': cannot create the vlen int64 type", path);
    } else {
        hsize_t dims[1] = {t->n};
        st = write_labels(path, ftype, mtype, 1, dims, rows, err);
    }
    if (ftype >= 0) H5Tclose(ftype);
    if (mtype >= 0) H5Tclose(mtype);
    free(values);
    free(rows);
    return st;
}

bend_status demo_write_enhancer_hdf5(const demo_task *t, const char *path, bend_error *err)
{
    int64_t *values = malloc(t->n * DEMO_ENH_BINS * sizeof *values);
    if (!values) return bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path);
    for (size_t i = 0; i < t->n; i++)
        for (size_t b = 0; b < DEMO_ENH_BINS; b++)
            values[i * DEMO_ENH_BINS + b] = t->s[i].classes[b];
    hsize_t dims[2] = {t->n, DEMO_ENH_BINS};
    bend_status st = write_labels(path, H5T_STD_I64LE, H5T_NATIVE_INT64, 2, dims, values, err);
    free(values);
    return st;
}
