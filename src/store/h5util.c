#include "store/h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bend_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    /* The walk goes from the innermost (where it failed) outwards: keep the first. */
    char *out = data;
    if (n == 0 && e->desc) snprintf(out, 512, "%s", e->desc);
    return 0;
}

bend_status bend_h5_fail(bend_error *err, const char *fmt, ...)
{
    char what[2048], why[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, why);
    H5Eclear2(H5E_DEFAULT);
    if (why[0]) return bend_fail(err, BEND_ERR_HDF5, "%s (HDF5: %s)", what, why);
    return bend_fail(err, BEND_ERR_HDF5, "%s", what);
}

static bend_status write_attr(hid_t obj, const char *name, hid_t type, hid_t space,
                              const void *buf, bend_error *err)
{
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return bend_h5_fail(err, "cannot create attribute '%s'", name);
    herr_t rc = H5Awrite(a, type, buf);
    H5Aclose(a);
    if (rc < 0) return bend_h5_fail(err, "cannot write attribute '%s'", name);
    return BEND_OK;
}

bend_status bend_h5_write_attr_str(hid_t obj, const char *name, const char *value, bend_error *err)
{
    /* Variable-length UTF-8 strings: h5py returns them as str. */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    bend_status st = write_attr(obj, name, t, s, &value, err);
    H5Sclose(s);
    H5Tclose(t);
    return st;
}

bend_status bend_h5_write_attr_i64(hid_t obj, const char *name, int64_t value, bend_error *err)
{
    hid_t s = H5Screate(H5S_SCALAR);
    bend_status st = write_attr(obj, name, H5T_STD_I64LE, s, &value, err);
    H5Sclose(s);
    return st;
}

bend_status bend_h5_write_attr_str_array(hid_t obj, const char *name, const char *const *values,
                                         size_t n, bend_error *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims[1] = {n};
    hid_t s = H5Screate_simple(1, dims, NULL);
    bend_status st = write_attr(obj, name, t, s, values, err);
    H5Sclose(s);
    H5Tclose(t);
    return st;
}

bend_status bend_h5_read_attr_str(hid_t obj, const char *name, char **out, bend_error *err)
{
    *out = NULL;
    if (H5Aexists(obj, name) <= 0) return bend_fail(err, BEND_ERR_HDF5, "attribute '%s' is missing", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return bend_h5_fail(err, "cannot open attribute '%s'", name);
    hid_t ft = H5Aget_type(a);
    bend_status st = BEND_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        st = bend_fail(err, BEND_ERR_HDF5, "attribute '%s' is not a string", name);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *v = NULL;
        if (H5Aread(a, mt, &v) < 0) {
            st = bend_h5_fail(err, "cannot read attribute '%s'", name);
        } else {
            *out = strdup(v ? v : "");
            hid_t s = H5Screate(H5S_SCALAR);
            H5Dvlen_reclaim(mt, s, H5P_DEFAULT, &v);
            H5Sclose(s);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        char *v = calloc(n + 1, 1);
        if (v && H5Aread(a, ft, v) >= 0) {
            *out = v;
        } else {
            free(v);
            st = bend_h5_fail(err, "cannot read attribute '%s'", name);
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    if (!st && !*out) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    return st;
}

bend_status bend_h5_read_attr_i64(hid_t obj, const char *name, int64_t *out, bend_error *err)
{
    if (H5Aexists(obj, name) <= 0) return bend_fail(err, BEND_ERR_HDF5, "attribute '%s' is missing", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return bend_h5_fail(err, "cannot open attribute '%s'", name);
    herr_t rc = H5Aread(a, H5T_NATIVE_INT64, out);
    H5Aclose(a);
    return rc < 0 ? bend_h5_fail(err, "cannot read attribute '%s'", name) : BEND_OK;
}

bend_status bend_h5_read_attr_str_array(hid_t obj, const char *name, char ***out, size_t *n,
                                        bend_error *err)
{
    *out = NULL;
    *n = 0;
    if (H5Aexists(obj, name) <= 0) return bend_fail(err, BEND_ERR_HDF5, "attribute '%s' is missing", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return bend_h5_fail(err, "cannot open attribute '%s'", name);
    hid_t space = H5Aget_space(a);
    hssize_t count = H5Sget_simple_extent_npoints(space);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char **raw = calloc(count > 0 ? (size_t)count : 1, sizeof *raw);
    char **copy = calloc(count > 0 ? (size_t)count : 1, sizeof *copy);
    bend_status st = BEND_OK;
    if (!raw || !copy) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    } else if (count > 0 && H5Aread(a, mt, raw) < 0) {
        st = bend_h5_fail(err, "cannot read attribute '%s'", name);
    } else {
        for (hssize_t i = 0; i < count && !st; i++)
            if (!(copy[i] = strdup(raw[i] ? raw[i] : ""))) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        if (count > 0) H5Dvlen_reclaim(mt, space, H5P_DEFAULT, raw);
    }
    if (st && copy) {
        for (hssize_t i = 0; i < count; i++) free(copy[i]);
        free(copy);
        copy = NULL;
    }
    free(raw);
    H5Tclose(mt);
    H5Sclose(space);
    H5Aclose(a);
    if (!st) {
        *out = copy;
        *n = (size_t)count;
    }
    return st;
}
