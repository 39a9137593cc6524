/* Small helpers around the HDF5 C API: its error stack turned into our messages (HDF5's own
 * automatic printing is switched off), and attributes read and written in one call. */
#ifndef BEND_STORE_H5UTIL_H
#define BEND_STORE_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "core/error.h"

/* Turns off HDF5's automatic error printing for this process (idempotent). */
void bend_h5_quiet(void);

/* Like bend_fail with BEND_ERR_HDF5, appending HDF5's innermost error description. */
bend_status bend_h5_fail(bend_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bend_status bend_h5_write_attr_str(hid_t obj, const char *name, const char *value, bend_error *err);
bend_status bend_h5_write_attr_i64(hid_t obj, const char *name, int64_t value, bend_error *err);
bend_status bend_h5_write_attr_str_array(hid_t obj, const char *name, const char *const *values,
                                         size_t n, bend_error *err);
/* *out is malloc'd; BEND_ERR_HDF5 when missing or not a string. */
bend_status bend_h5_read_attr_str(hid_t obj, const char *name, char **out, bend_error *err);
/* A 1-D variable-length string array; *out is a malloc'd array of malloc'd strings. */
bend_status bend_h5_read_attr_str_array(hid_t obj, const char *name, char ***out, size_t *n,
                                        bend_error *err);
bend_status bend_h5_read_attr_i64(hid_t obj, const char *name, int64_t *out, bend_error *err);

#endif
