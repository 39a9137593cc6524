/* Reading the reference HDF5 files of the encoder tests (CPU and CUDA alike). Include after
 * cmocka.h: failures are cmocka assertions. */
#ifndef BEND_TEST_H5_READ_H
#define BEND_TEST_H5_READ_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads dataset `name` as float or int32 (by mem type); returns its element count, -1 if absent. */
static inline int64_t read_ds(hid_t f, const char *name, hid_t mem, void **out)
{
    *out = NULL;
    /* H5Lexists needs every intermediate group to exist */
    char part[256];
    for (const char *c = strchr(name + 1, '/');; c = strchr(c + 1, '/')) {
        size_t len = c ? (size_t)(c - name) : strlen(name);
        snprintf(part, sizeof part, "%.*s", (int)len, name);
        if (H5Lexists(f, part, H5P_DEFAULT) <= 0) return -1;
        if (!c) break;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t s = H5Dget_space(d);
    int64_t n = H5Sget_simple_extent_npoints(s);
    *out = malloc((size_t)(n > 0 ? n : 1) * 4);
    assert_non_null(*out);
    assert_true(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return n;
}

#endif
