/* The safetensors writer: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, the bytes. */
#include "checkpoint/safetensors_write.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t tensor_bytes(const bend_st_tensor *t)
{
    size_t n = bend_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

static char *header_json(const bend_st_tensor *tensors, size_t n, const char *const (*metadata)[2],
                         size_t n_meta)
{
    json_t *root = json_object();
    size_t offset = 0;
    if (n_meta) {
        json_t *meta = json_object();
        for (size_t i = 0; i < n_meta; i++)
            json_object_set_new(meta, metadata[i][0], json_string(metadata[i][1]));
        json_object_set_new(root, "__metadata__", meta);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < tensors[i].ndim; d++)
            json_array_append_new(shape, json_integer(tensors[i].shape[d]));
        size_t bytes = tensor_bytes(&tensors[i]);
        json_t *entry = json_pack("{s:s, s:o, s:[I,I]}", "dtype", bend_dtype_name(tensors[i].dtype),
                                  "shape", shape, "data_offsets", (json_int_t)offset,
                                  (json_int_t)(offset + bytes));
        json_object_set_new(root, tensors[i].name, entry);
        offset += bytes;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

bend_status bend_safetensors_write(const char *path, const bend_st_tensor *tensors, size_t n,
                                   const char *const (*metadata)[2], size_t n_meta, bend_error *err)
{
    char *json = header_json(tensors, n, metadata, n_meta);
    if (!json) return bend_fail(err, BEND_ERR_NOMEM, "out of memory writing %s", path);
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    size_t tmp_len = strlen(path) + 32;
    char *tmp = malloc(tmp_len);
    if (!tmp) {
        free(json);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory writing %s", path);
    }
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bend_status st = f ? BEND_OK : bend_fail(err, BEND_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (!st) {
        unsigned char le[8];
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
        bool ok = fwrite(le, 1, 8, f) == 8 && fwrite(json, 1, len, f) == len;
        for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
        for (size_t i = 0; ok && i < n; i++) {
            size_t bytes = tensor_bytes(&tensors[i]);
            ok = fwrite(tensors[i].data, 1, bytes, f) == bytes;
        }
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if (fclose(f) != 0) ok = false;
        if (!ok) st = bend_fail(err, BEND_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (!st && rename(tmp, path) != 0)
        st = bend_fail(err, BEND_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st && f) unlink(tmp);
    free(tmp);
    free(json);
    return st;
}
