/* The tensor map (sorted by name) and what every format shares: files mapped and kept, dtype
 * conversion to float32, bend_weights_open's dispatch (directory contents, file name, magic
 * bytes), sharded *.index.json checkpoints and the state dicts of torch pickles (a Lightning
 * checkpoint's tensors are its `state_dict`, keys as stored). */
#include "checkpoint/checkpoint_internal.h"
#include "core/array.h"
#include "core/path.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/half.h"
#include "core/strbuf.h"

typedef struct entry {
    bend_tensor_ref ref; /* first, so that &entry->ref is what callers get */
    size_t seq;          /* insertion order: the later of two equal names in one file wins */
} entry;

typedef struct resource {
    void *p;
    size_t len; /* > 0: a mapping of that length; 0: a heap block */
} resource;

struct bend_weights {
    entry *t;
    size_t n, cap;
    resource *res;
    size_t nres, rescap;
    char **files;
    size_t nfiles, filecap;
    char *source; /* what was opened, for "missing from" messages */
    char format[64];
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [BEND_DT_F32] = {"F32", 4}, [BEND_DT_F16] = {"F16", 2}, [BEND_DT_BF16] = {"BF16", 2},
    [BEND_DT_F64] = {"F64", 8}, [BEND_DT_I64] = {"I64", 8}, [BEND_DT_I32] = {"I32", 4},
    [BEND_DT_I16] = {"I16", 2}, [BEND_DT_I8] = {"I8", 1},   [BEND_DT_U8] = {"U8", 1},
    [BEND_DT_BOOL] = {"BOOL", 1},
};

const char *bend_dtype_name(bend_dtype dt)
{
    return (unsigned)dt <= BEND_DT_BOOL ? dtypes[dt].name : "?";
}

size_t bend_dtype_size(bend_dtype dt) { return (unsigned)dt <= BEND_DT_BOOL ? dtypes[dt].size : 0; }

/* ---- the map ------------------------------------------------------------------------------- */

bend_weights *ckpt_new(void) { return calloc(1, sizeof(bend_weights)); }

static bend_status keep(bend_weights *w, void *p, size_t len, bend_error *err)
{
    if (!bend_reserve_append((void **)&w->res, &w->rescap, w->nres, sizeof *w->res)) {
        if (len) munmap(p, len);
        else free(p);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    w->res[w->nres++] = (resource){p, len};
    return BEND_OK;
}

const char *ckpt_file(bend_weights *w, const char *path, bend_error *err)
{
    for (size_t i = 0; i < w->nfiles; i++)
        if (!strcmp(w->files[i], path)) return w->files[i];
    char *copy = strdup(path);
    if (!copy || !bend_reserve_append((void **)&w->files, &w->filecap, w->nfiles, sizeof *w->files)) {
        free(copy);
        bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return w->files[w->nfiles++] = copy;
}

bend_status ckpt_map_file(bend_weights *w, const char *path, const uint8_t **buf, size_t *len,
                          bend_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bend_fail(err, BEND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bend_fail(err, BEND_ERR_IO, "%s is not a regular file", path);
    }
    *len = (size_t)sb.st_size;
    if (!*len) {
        close(fd);
        *buf = (const uint8_t *)"";
        return BEND_OK;
    }
    void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return bend_fail(err, BEND_ERR_IO, "cannot map %s: %s", path, strerror(e));
    *buf = p;
    return keep(w, p, *len, err);
}

bend_status ckpt_aligned(bend_weights *w, const void *p, size_t nbytes, size_t align,
                         const void **out, bend_error *err)
{
    static const max_align_t nothing; /* where an empty tensor's data points when p is not aligned */
    *out = p;
    if (align <= 1 || (uintptr_t)p % align == 0) return BEND_OK;
    if (!nbytes) {
        *out = &nothing;
        return BEND_OK;
    }
    void *copy = malloc(nbytes); /* malloc's alignment covers every element type */
    if (!copy) return bend_fail(err, BEND_ERR_NOMEM, "out of memory copying %zu bytes", nbytes);
    memcpy(copy, p, nbytes);
    *out = copy;
    return keep(w, copy, 0, err);
}

bend_status ckpt_add(bend_weights *w, const char *name, size_t name_len, bend_dtype dt, int ndim,
                     const int64_t *shape, const int64_t *stride, const void *data,
                     const char *file, bend_error *err)
{
    if (memchr(name, '\0', name_len))
        return bend_fail(err, BEND_ERR_PARSE, "%s: a tensor name contains a NUL byte", file);
    if (ndim < 0 || ndim > BEND_MAX_DIMS)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: tensor '%.*s' has %d dims (at most %d)",
                         file, (int)name_len, name, ndim, BEND_MAX_DIMS);
    if (!bend_reserve_append((void **)&w->t, &w->cap, w->n, sizeof *w->t))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    char *copy = malloc(name_len + 1);
    if (!copy) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    entry *e = &w->t[w->n];
    memset(e, 0, sizeof *e);
    e->ref.name = copy;
    e->ref.dtype = dt;
    e->ref.ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        e->ref.shape[d] = shape[d];
        e->ref.stride[d] = stride[d];
    }
    e->ref.data = data;
    e->ref.file = file;
    e->seq = w->n++;
    return BEND_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->ref.name, y->ref.name);
    if (c) return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

bend_status ckpt_finalize(bend_weights *w, const char *format, bend_error *err)
{
    snprintf(w->format, sizeof w->format, "%s", format);
    if (w->n > 1) qsort(w->t, w->n, sizeof *w->t, cmp_entry);
    size_t out = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (out && !strcmp(w->t[out - 1].ref.name, w->t[i].ref.name)) {
            if (w->t[out - 1].ref.file != w->t[i].ref.file)
                return bend_fail(err, BEND_ERR_INVALID, "tensor '%s' is in both %s and %s",
                                 w->t[i].ref.name, w->t[out - 1].ref.file, w->t[i].ref.file);
            free((char *)w->t[out - 1].ref.name);
            w->t[out - 1] = w->t[i];
            continue;
        }
        w->t[out++] = w->t[i];
    }
    w->n = out;
    return BEND_OK;
}

void bend_weights_close(bend_weights *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free((char *)w->t[i].ref.name);
    for (size_t i = 0; i < w->nres; i++) {
        if (w->res[i].len) munmap(w->res[i].p, w->res[i].len);
        else free(w->res[i].p);
    }
    for (size_t i = 0; i < w->nfiles; i++) free(w->files[i]);
    free(w->t);
    free(w->res);
    free(w->files);
    free(w->source);
    free(w);
}

size_t bend_weights_count(const bend_weights *w) { return w ? w->n : 0; }

const bend_tensor_ref *bend_weights_at(const bend_weights *w, size_t i)
{
    return w && i < w->n ? &w->t[i].ref : NULL;
}

const bend_tensor_ref *bend_weights_find(const bend_weights *w, const char *name)
{
    size_t lo = 0, hi = w ? w->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, w->t[mid].ref.name);
        if (!c) return &w->t[mid].ref;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const char *bend_weights_format(const bend_weights *w) { return w ? w->format : ""; }

/* ---- shapes -------------------------------------------------------------------------------- */

bool ckpt_extent(int ndim, const int64_t *shape, const int64_t *stride, int64_t offset,
                 int64_t *numel, int64_t *end)
{
    int64_t n = 1, last = offset;
    if (offset < 0) return false;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || stride[d] < 0) return false;
        if (__builtin_mul_overflow(n, shape[d], &n)) return false;
    }
    for (int d = 0; d < ndim && n; d++) {
        int64_t step;
        if (__builtin_mul_overflow(shape[d] - 1, stride[d], &step)) return false;
        if (__builtin_add_overflow(last, step, &last)) return false;
    }
    if (n > INT64_MAX / 8) return false; /* bytes must fit too */
    *numel = n;
    if (!n) *end = 0;
    else if (__builtin_add_overflow(last, 1, end)) return false;
    return true;
}

void ckpt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d] > 0 ? shape[d] : 1;
    }
}

const char *ckpt_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && o < n; d++) {
        if (shape[d] < 0) o += (size_t)snprintf(buf + o, n - o, "%s*", d ? ", " : "");
        else o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, d ? ", " : "", shape[d]);
    }
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

static bool same_layout(const bend_tensor_ref *a, const bend_tensor_ref *b)
{
    return a->data == b->data && a->dtype == b->dtype && a->ndim == b->ndim &&
           !memcmp(a->shape, b->shape, sizeof a->shape) && !memcmp(a->stride, b->stride, sizeof a->stride);
}

static int cmp_data(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t)(*(const bend_tensor_ref *const *)x)->data,
              b = (uintptr_t)(*(const bend_tensor_ref *const *)y)->data;
    return (a > b) - (a < b);
}

int64_t bend_weights_parameter_count(const bend_weights *w)
{
    /* Elements of floating-point tensors (integer and bool buffers are not parameters); tensors
     * aliasing the same bytes with the same layout (tied weights) count once. -1: no memory. */
    size_t m = 0;
    const bend_tensor_ref **refs = malloc((w && w->n ? w->n : 1) * sizeof *refs);
    if (!refs) return -1;
    for (size_t i = 0; w && i < w->n; i++) {
        bend_dtype dt = w->t[i].ref.dtype;
        if (dt == BEND_DT_F32 || dt == BEND_DT_F16 || dt == BEND_DT_BF16 || dt == BEND_DT_F64)
            refs[m++] = &w->t[i].ref;
    }
    if (m > 1) qsort(refs, m, sizeof *refs, cmp_data);
    int64_t total = 0;
    for (size_t i = 0; i < m; i++) {
        bool dup = false;
        for (size_t j = i; j-- > 0 && refs[j]->data == refs[i]->data && !dup;) dup = same_layout(refs[j], refs[i]);
        if (dup) continue;
        int64_t n = 1;
        for (int d = 0; d < refs[i]->ndim; d++) n *= refs[i]->shape[d];
        total += n;
    }
    free(refs);
    return total;
}

/* ---- float32 copies ------------------------------------------------------------------------ */

/* n elements `stride` elements apart, converted to float. */
static void convert_run(const uint8_t *src, bend_dtype dt, int64_t n, int64_t stride, float *dst)
{
    size_t es = bend_dtype_size(dt), step = (size_t)stride * es;
    if (dt == BEND_DT_F32 && stride == 1) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    for (int64_t i = 0; i < n; i++, src += step) {
        switch (dt) {
        case BEND_DT_F32: memcpy(&dst[i], src, 4); break;
        case BEND_DT_F16: {
            uint16_t h;
            memcpy(&h, src, 2);
            dst[i] = bend_f16_to_f32(h);
            break;
        }
        case BEND_DT_BF16: {
            uint16_t h;
            memcpy(&h, src, 2);
            uint32_t u = (uint32_t)h << 16;
            memcpy(&dst[i], &u, 4);
            break;
        }
        case BEND_DT_F64: {
            double v;
            memcpy(&v, src, 8);
            dst[i] = (float)v;
            break;
        }
        case BEND_DT_I64: {
            int64_t v;
            memcpy(&v, src, 8);
            dst[i] = (float)v;
            break;
        }
        case BEND_DT_I32: {
            int32_t v;
            memcpy(&v, src, 4);
            dst[i] = (float)v;
            break;
        }
        case BEND_DT_I16: {
            int16_t v;
            memcpy(&v, src, 2);
            dst[i] = (float)v;
            break;
        }
        case BEND_DT_I8: dst[i] = (float)(int8_t)src[0]; break;
        case BEND_DT_U8: dst[i] = (float)src[0]; break;
        case BEND_DT_BOOL: dst[i] = src[0] ? 1.0f : 0.0f; break;
        }
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    enum { L = 128 };
    size_t la = strnlen(a, L), lb = strnlen(b, L), row[L + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static bool ends_with_dotted(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls > lx && s[ls - lx - 1] == '.' && !strcmp(s + ls - lx, suffix);
}

static bend_status missing(const bend_weights *w, const char *name, bend_error *err)
{
    enum { K = 3 };
    size_t best[K], score[K], nb = 0, limit = strlen(name) / 3 + 2;
    for (size_t i = 0; i < w->n; i++) {
        const char *c = w->t[i].ref.name;
        /* The same name under another prefix (bert./esm./model.) ranks first. */
        size_t s = ends_with_dotted(c, name) || ends_with_dotted(name, c) ? 0 : edit_distance(name, c) + 1;
        if (s > limit) continue;
        size_t k;
        if (nb < K) k = nb++;
        else if (s < score[K - 1]) k = K - 1;
        else continue;
        while (k > 0 && score[k - 1] > s) {
            best[k] = best[k - 1];
            score[k] = score[k - 1];
            k--;
        }
        best[k] = i;
        score[k] = s;
    }
    bend_strbuf sb = BEND_STRBUF_INIT;
    for (size_t k = 0; k < nb; k++) bend_strbuf_printf(&sb, "%s%s", k ? ", " : "", w->t[best[k]].ref.name);
    bend_status st = bend_fail(err, BEND_ERR_INVALID, "tensor '%s' is missing from %s (it has %zu tensors; %s%s)",
                               name, w->source ? w->source : "the checkpoint", w->n,
                               nb ? "similar names: " : "no similar names", bend_strbuf_cstr(&sb));
    bend_strbuf_free(&sb);
    return st;
}

bend_status bend_weights_get_f32(const bend_weights *w, const char *name, int ndim,
                                 const int64_t *shape, float **out, bend_error *err)
{
    *out = NULL;
    const bend_tensor_ref *r = bend_weights_find(w, name);
    if (!r) return missing(w, name, err);
    bool ok = ndim == r->ndim;
    for (int d = 0; ok && d < ndim; d++) ok = shape[d] < 0 || shape[d] == r->shape[d];
    if (!ok) {
        char have[256], want[256];
        return bend_fail(err, BEND_ERR_INVALID, "tensor '%s' in %s has shape %s, expected %s", name,
                         r->file, ckpt_shape_str(r->ndim, r->shape, have, sizeof have),
                         ckpt_shape_str(ndim, shape, want, sizeof want));
    }
    int64_t numel = 1;
    for (int d = 0; d < r->ndim; d++) numel *= r->shape[d]; /* checked when it was added */
    if ((uint64_t)numel > SIZE_MAX / sizeof(float) - 1)
        return bend_fail(err, BEND_ERR_NOMEM, "tensor '%s' is too large", name);
    float *dst = malloc((size_t)(numel ? numel : 1) * sizeof *dst);
    if (!dst) return bend_fail(err, BEND_ERR_NOMEM, "out of memory for tensor '%s' (%" PRId64 " floats)", name, numel);
    if (numel) {
        /* Odometer over every dim but the last; the last is one strided run. */
        int nd = r->ndim;
        int64_t inner = nd ? r->shape[nd - 1] : 1, istride = nd ? r->stride[nd - 1] : 1;
        int64_t idx[BEND_MAX_DIMS] = {0}, off = 0;
        size_t es = bend_dtype_size(r->dtype);
        for (int64_t done = 0; done < numel; done += inner) {
            convert_run((const uint8_t *)r->data + (size_t)off * es, r->dtype, inner, istride, dst + done);
            for (int d = nd - 2; d >= 0; d--) {
                off += r->stride[d];
                if (++idx[d] < r->shape[d]) break;
                off -= r->stride[d] * r->shape[d];
                idx[d] = 0;
            }
        }
    }
    *out = dst;
    return BEND_OK;
}

/* ---- state dicts of torch pickles ---------------------------------------------------------- */

bend_status ckpt_collect(bend_weights *w, const ckpt_pickle *p, const ckpt_pk *top,
                         const char *file, const char *what, ckpt_storage_fn fn, void *ctx,
                         bool *lightning, bend_error *err)
{
    const ckpt_pk *sd = ckpt_pk_dict_get(top, "state_dict");
    *lightning = sd && sd->kind == PK_DICT;
    if (!*lightning) {
        sd = top;
        if (top->kind != PK_DICT)
            return bend_fail(err, BEND_ERR_INVALID, "%s holds a %s, expected a dict of tensors (a state dict)",
                             what, ckpt_pk_kind_name(top->kind));
        const ckpt_pk *g = ckpt_pickle_first_foreign(p);
        if (g)
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s, byte %zu: GLOBAL '%s' is not allowed in a state dict (allowed: "
                             "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                             "torch._utils._rebuild_parameter, torch.*Storage, torch.Size)",
                             what, g->pos, g->name);
    }
    size_t added = 0;
    for (size_t i = 0; i + 1 < sd->n; i += 2) {
        const ckpt_pk *k = sd->items[i], *v = sd->items[i + 1];
        if (v->kind == PK_OPAQUE || (v->kind == PK_TENSOR && k->kind != PK_STR))
            return bend_fail(err, BEND_ERR_INVALID, "%s, byte %zu: a state dict entry is a '%s' object%s",
                             what, v->pos, v->kind == PK_OPAQUE ? v->name : "tensor",
                             v->kind == PK_OPAQUE ? ", not a tensor" : " under a key that is not a string");
        if (v->kind != PK_TENSOR) continue; /* a non-tensor entry (None, a nested dict, ...) */
        const uint8_t *base;
        int64_t avail, numel, end;
        bend_status st = fn(ctx, v->storage, &base, &avail, err);
        if (st) return st;
        const ckpt_pk *s = v->storage;
        if (!ckpt_extent(v->ndim, v->shape, v->stride, v->offset, &numel, &end) || end > avail) {
            char shp[256];
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s, byte %zu: tensor '%.*s' (shape %s, storage offset %" PRId64
                             ") reaches past the end of storage '%.*s', which holds %" PRId64 " %s elements",
                             what, v->pos, (int)k->len, k->s, ckpt_shape_str(v->ndim, v->shape, shp, sizeof shp),
                             v->offset, (int)s->len, s->s, avail, bend_dtype_name(s->dtype));
        }
        const uint8_t *data = numel ? base + (size_t)v->offset * bend_dtype_size(s->dtype) : base;
        if ((st = ckpt_add(w, k->s, k->len, s->dtype, v->ndim, v->shape, v->stride, data, file, err)))
            return st;
        added++;
    }
    if (!added)
        return bend_fail(err, BEND_ERR_INVALID, "%s has no tensors in its %s", what,
                         *lightning ? "state_dict" : "top-level dict");
    return BEND_OK;
}

/* ---- opening ------------------------------------------------------------------------------- */


static bool has_suffix(const char *s, const char *suf)
{
    size_t ls = strlen(s), lx = strlen(suf);
    return ls >= lx && !strcmp(s + ls - lx, suf);
}

/* One file of any single-file format (not an index); *format is set to its format's name. */
static bend_status load_file(bend_weights *w, const char *path, const char **format, bend_error *err)
{
    const char *file = ckpt_file(w, path, err);
    if (!file) return BEND_ERR_NOMEM;
    const uint8_t *b;
    size_t n;
    bend_status st = ckpt_map_file(w, path, &b, &n, err);
    if (st) return st;
    bool lightning = false;
    if (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))) {
        st = ckpt_torch_zip_parse(w, b, n, file, &lightning, err);
        *format = lightning ? "lightning" : "torch-zip";
    } else if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) {
        st = ckpt_torch_legacy_parse(w, b, n, file, &lightning, err);
        *format = lightning ? "lightning" : "torch-legacy";
    } else if ((n >= 9 && b[8] == '{') || has_suffix(path, ".safetensors")) {
        st = ckpt_safetensors_parse(w, b, n, file, err);
        *format = "safetensors";
    } else {
        char head[64] = "";
        for (size_t i = 0; i < n && i < 8; i++) snprintf(head + 3 * i, sizeof head - 3 * i, "%02x ", b[i]);
        st = bend_fail(err, BEND_ERR_INVALID,
                       "%s is not a checkpoint format bend reads (safetensors: 8-byte header length "
                       "then '{'; PyTorch zip: 'PK\\x03\\x04'; legacy PyTorch: 0x80 0x02); it starts "
                       "with %s(%zu bytes)", path, head, n);
    }
    return st;
}

static bool plain_file_name(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* {"metadata": {...}, "weight_map": {tensor: shard file}}: every shard, each name checked. */
static bend_status load_index(bend_weights *w, const char *path, bend_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return bend_fail(err, access(path, R_OK) ? BEND_ERR_IO : BEND_ERR_PARSE,
                         "%s: not a readable JSON index: %s (line %d)", path, je.text, je.line);
    json_t *map = json_object_get(root, "weight_map");
    bend_status st = BEND_OK;
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    const char **shards = NULL;
    size_t nsh = 0;
    if (!dir) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (slash) *slash = '\0';
    else strcpy(dir, ".");
    if (!json_is_object(map) || !json_object_size(map)) {
        st = bend_fail(err, BEND_ERR_INVALID, "%s: expected a non-empty object \"weight_map\" (tensor name -> shard file)", path);
        goto done;
    }
    shards = calloc(json_object_size(map), sizeof *shards);
    if (!shards) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(map, key, val) {
        const char *s = json_string_value(val);
        if (!s || !plain_file_name(s)) {
            st = bend_fail(err, BEND_ERR_INVALID, "%s: weight_map[\"%s\"] is not a file name in the same directory", path, key);
            goto done;
        }
        size_t i = 0;
        while (i < nsh && strcmp(shards[i], s)) i++;
        if (i == nsh) shards[nsh++] = s;
    }
    const char *fmt = "";
    for (size_t i = 0; i < nsh && !st; i++) {
        char *sp = bend_path_join(dir, shards[i]);
        if (!sp) {
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            break;
        }
        if (has_suffix(sp, ".index.json"))
            st = bend_fail(err, BEND_ERR_INVALID, "%s: shard %s is itself an index", path, sp);
        else if ((st = load_file(w, sp, &fmt, err)))
            bend_error_context(err, "shard of %s", path);
        free(sp);
    }
    if (st) goto done;
    char format[64];
    snprintf(format, sizeof format, "%s-sharded", fmt);
    if ((st = ckpt_finalize(w, format, err))) goto done;
    json_object_foreach(map, key, val) {
        const bend_tensor_ref *r = bend_weights_find(w, key);
        const char *shard = json_string_value(val), *in = r ? strrchr(r->file, '/') : NULL;
        if (!r || strcmp(in ? in + 1 : r->file, shard)) {
            st = bend_fail(err, BEND_ERR_INVALID, "%s maps tensor '%s' to %s, but %s", path, key, shard,
                           r ? "it was found in another shard" : "that shard has no such tensor");
            goto done;
        }
    }
done:
    free(shards);
    free(dir);
    json_decref(root);
    return st;
}

bend_status bend_weights_open(const char *path, bend_weights **out, bend_error *err)
{
    static const char *const candidates[] = {"model.safetensors", "model.safetensors.index.json",
                                             "pytorch_model.bin", "pytorch_model.bin.index.json",
                                             "weights.ckpt"};
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb)) return bend_fail(err, BEND_ERR_IO, "cannot open model weights %s: %s", path, strerror(errno));
    bend_weights *w = ckpt_new();
    if (!w) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (S_ISDIR(sb.st_mode)) {
        for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !w->source; i++) {
            char *p = bend_path_join(path, candidates[i]);
            if (p && !stat(p, &sb) && S_ISREG(sb.st_mode)) w->source = p;
            else free(p);
        }
        if (!w->source) {
            bend_weights_close(w);
            return bend_fail(err, BEND_ERR_IO, "%s has no model weights: looked for model.safetensors, "
                             "model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json "
                             "and weights.ckpt", path);
        }
    } else if (!(w->source = strdup(path))) {
        bend_weights_close(w);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    bend_status st;
    if (has_suffix(w->source, ".index.json")) {
        st = load_index(w, w->source, err);
    } else {
        const char *fmt = "";
        st = load_file(w, w->source, &fmt, err);
        if (!st) st = ckpt_finalize(w, fmt, err);
    }
    if (st) {
        bend_weights_close(w);
        return st;
    }
    *out = w;
    return BEND_OK;
}
