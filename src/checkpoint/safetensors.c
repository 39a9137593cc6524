/* safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
 * Offsets are relative to the data's start. Every pair is checked against the file size and
 * against dtype size x element count, and no two tensors may overlap. */
#include "checkpoint/checkpoint_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_HEADER = 100 * 1024 * 1024 }; /* the reference implementation's limit */

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static bool dtype_from_name(const char *s, bend_dtype *dt)
{
    for (int d = BEND_DT_F32; d <= BEND_DT_BOOL; d++)
        if (!strcmp(s, bend_dtype_name((bend_dtype)d))) {
            *dt = (bend_dtype)d;
            return true;
        }
    return false;
}

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* One header entry: dtype, shape, and offsets that fit the data and the dtype. */
static bend_status parse_entry(const char *file, const char *name, json_t *v, uint64_t data_len,
                               bend_dtype *dt, int *ndim, int64_t *shape, span *sp, bend_error *err)
{
    *dt = BEND_DT_F32;
    *ndim = 0;
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) ||
        json_array_size(jo) != 2)
        return bend_fail(err, BEND_ERR_PARSE, "%s: header entry '%s' needs \"dtype\" (string), \"shape\" "
                         "(array) and \"data_offsets\" ([begin, end])", file, name);
    if (!dtype_from_name(json_string_value(jd), dt))
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s (bend reads F32, F16, "
                         "BF16, F64, I64, I32, I16, I8, U8, BOOL)", file, name, json_string_value(jd));
    if (json_array_size(js) > BEND_MAX_DIMS)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: tensor '%s' has %zu dims (at most %d)", file,
                         name, json_array_size(js), BEND_MAX_DIMS);
    *ndim = (int)json_array_size(js);
    int64_t stride[BEND_MAX_DIMS], numel, end;
    for (int d = 0; d < *ndim; d++) {
        json_t *x = json_array_get(js, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: tensor '%s' has a shape entry that is not a non-negative integer",
                             file, name);
        shape[d] = json_integer_value(x);
    }
    ckpt_contiguous_strides(*ndim, shape, stride);
    if (!ckpt_extent(*ndim, shape, stride, 0, &numel, &end))
        return bend_fail(err, BEND_ERR_PARSE, "%s: tensor '%s' has a shape too large to address", file, name);
    json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
    if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < json_integer_value(jb))
        return bend_fail(err, BEND_ERR_PARSE, "%s: tensor '%s' has data_offsets that are not integers 0 <= begin <= end",
                         file, name);
    sp->begin = (uint64_t)json_integer_value(jb);
    sp->end = (uint64_t)json_integer_value(je);
    sp->name = name;
    if (sp->end > data_len)
        return bend_fail(err, BEND_ERR_PARSE, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64
                         "] past the end of the data (%" PRIu64 " bytes): truncated?", file, name, sp->begin,
                         sp->end, data_len);
    uint64_t want = (uint64_t)numel * bend_dtype_size(*dt);
    if (sp->end - sp->begin != want) {
        char shp[256];
        return bend_fail(err, BEND_ERR_PARSE, "%s: tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64
                         "] (%" PRIu64 " bytes) but %s %s needs %" PRIu64 " bytes", file, name, sp->begin,
                         sp->end, sp->end - sp->begin, bend_dtype_name(*dt),
                         ckpt_shape_str(*ndim, shape, shp, sizeof shp), want);
    }
    return BEND_OK;
}

bend_status ckpt_safetensors_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                   const char *file, bend_error *err)
{
    if (len < 8)
        return bend_fail(err, BEND_ERR_PARSE, "%s: %zu bytes, too short for a safetensors header length", file, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > len - 8)
        return bend_fail(err, BEND_ERR_PARSE, "%s: safetensors header length %" PRIu64 " runs past the end of the file (%zu bytes)",
                         file, n, len);
    if (n > MAX_HEADER)
        return bend_fail(err, BEND_ERR_PARSE, "%s: safetensors header length %" PRIu64 " is over the 100 MB limit", file, n);
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bend_fail(err, BEND_ERR_PARSE, "%s: the safetensors header is not valid JSON: %s (line %d, column %d)",
                         file, je.text, je.line, je.column);
    bend_status st = BEND_OK;
    span *spans = NULL;
    size_t ns = 0;
    if (!json_is_object(root)) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s: the safetensors header is not a JSON object", file);
        goto done;
    }
    spans = calloc(json_object_size(root) + 1, sizeof *spans);
    if (!spans) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    const uint8_t *data = buf + 8 + n;
    uint64_t data_len = len - 8 - n;
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        if (!strcmp(name, "__metadata__")) continue;
        bend_dtype dt;
        int ndim;
        int64_t shape[BEND_MAX_DIMS], stride[BEND_MAX_DIMS];
        if ((st = parse_entry(file, name, v, data_len, &dt, &ndim, shape, &spans[ns], err))) goto done;
        ckpt_contiguous_strides(ndim, shape, stride);
        const void *p;
        size_t nbytes = (size_t)(spans[ns].end - spans[ns].begin);
        if ((st = ckpt_aligned(w, data + spans[ns].begin, nbytes, bend_dtype_size(dt), &p, err))) goto done;
        if ((st = ckpt_add(w, name, strlen(name), dt, ndim, shape, stride, p, file, err))) goto done;
        ns++;
    }
    if (ns > 1) qsort(spans, ns, sizeof *spans, cmp_span);
    const span *last = NULL; /* the non-empty span reaching furthest so far */
    for (size_t i = 0; i < ns; i++) {
        if (spans[i].end == spans[i].begin) continue;
        if (last && spans[i].begin < last->end) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 "] and '%s' [%" PRIu64
                           ", %" PRIu64 "] overlap", file, last->name, last->begin, last->end,
                           spans[i].name, spans[i].begin, spans[i].end);
            goto done;
        }
        if (!last || spans[i].end > last->end) last = &spans[i];
    }
done:
    free(spans);
    json_decref(root);
    return st;
}
