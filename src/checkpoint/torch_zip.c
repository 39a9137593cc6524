/* PyTorch's zip checkpoints (torch >= 1.6): the central directory (ZIP64 included: the EOCD64
 * locator and record, and the 0x0001 extra field of entries), stored entries only, each entry's
 * data found through its own local header. `<prefix>/data.pkl` is the state dict pickle and
 * `<prefix>/data/<key>` holds the raw little-endian bytes of storage <key>. */
#include "checkpoint/checkpoint_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

enum {
    SIG_LOCAL = 0x04034b50,
    SIG_CENTRAL = 0x02014b50,
    SIG_EOCD = 0x06054b50,
    SIG_EOCD64 = 0x06064b50,
    SIG_LOCATOR = 0x07064b50,
    CENTRAL_SIZE = 46,
    LOCAL_SIZE = 30,
    EOCD_SIZE = 22,
};

typedef struct zentry {
    const char *name;
    size_t name_len;
    uint64_t comp, size, local;
    unsigned method, flags;
    const void *aligned; /* the storage's bytes, aligned for its dtype (set on first use) */
} zentry;

typedef struct zip {
    bend_weights *w;
    const uint8_t *b;
    size_t len;
    const char *file;
    zentry *e;
    size_t n;
    const char *prefix; /* "archive/" */
    size_t prefix_len;
} zip;

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The EOCD record (and its ZIP64 twin): where the central directory is and how many entries. */
static bend_status find_directory(const zip *z, uint64_t *count, uint64_t *off, uint64_t *size,
                                  bend_error *err)
{
    *count = *off = *size = 0;
    const uint8_t *b = z->b;
    size_t len = z->len, at = SIZE_MAX;
    if (len < EOCD_SIZE)
        return bend_fail(err, BEND_ERR_PARSE, "%s: too short (%zu bytes) for a zip archive", z->file, len);
    size_t lo = len - EOCD_SIZE > 0xffff ? len - EOCD_SIZE - 0xffff : 0;
    for (size_t i = len - EOCD_SIZE + 1; i-- > lo;)
        if (rd(b + i, 4) == SIG_EOCD && i + EOCD_SIZE + rd(b + i + 20, 2) <= len) {
            at = i;
            break;
        }
    if (at == SIZE_MAX)
        return bend_fail(err, BEND_ERR_PARSE, "%s: no zip end-of-central-directory record: the file is truncated or not a zip archive",
                         z->file);
    if (rd(b + at + 4, 2) || rd(b + at + 6, 2))
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: a multi-disk zip archive", z->file);
    *count = rd(b + at + 10, 2);
    *size = rd(b + at + 12, 4);
    *off = rd(b + at + 16, 4);
    if (at >= 20 && rd(b + at - 20, 4) == SIG_LOCATOR) {
        uint64_t rec = rd(b + at - 20 + 8, 8);
        if (len < 56 || rec > len - 56 || rd(b + rec, 4) != SIG_EOCD64)
            return bend_fail(err, BEND_ERR_PARSE, "%s: the ZIP64 locator points at offset %" PRIu64
                             ", where there is no ZIP64 end-of-central-directory record", z->file, rec);
        *count = rd(b + rec + 32, 8);
        *size = rd(b + rec + 40, 8);
        *off = rd(b + rec + 48, 8);
    }
    if (*off > len || *size > len - *off)
        return bend_fail(err, BEND_ERR_PARSE, "%s: the central directory (offset %" PRIu64 ", %" PRIu64
                         " bytes) lies past the end of the file (%zu bytes): truncated?", z->file, *off, *size, len);
    if (*count > *size / CENTRAL_SIZE)
        return bend_fail(err, BEND_ERR_PARSE, "%s: the central directory claims %" PRIu64
                         " entries but has room for %" PRIu64, z->file, *count, *size / CENTRAL_SIZE);
    return BEND_OK;
}

/* The 0x0001 extra field replaces each 0xffffffff field, in the order size, comp, local. */
static bend_status zip64_extra(const zip *z, zentry *e, const uint8_t *x, size_t xl, bend_error *err)
{
    while (xl >= 4) {
        unsigned id = (unsigned)rd(x, 2);
        size_t sz = (size_t)rd(x + 2, 2);
        if (sz > xl - 4) break; /* a damaged tail of extra fields; the 0x0001 check below decides */
        if (id == 1) {
            const uint8_t *f = x + 4, *fe = x + 4 + sz;
            uint64_t *fields[3] = {&e->size, &e->comp, &e->local};
            for (int k = 0; k < 3; k++) {
                if (*fields[k] != 0xffffffffu) continue;
                if (fe - f < 8)
                    return bend_fail(err, BEND_ERR_PARSE, "%s: entry '%.*s' has a ZIP64 extra field too short for its sizes",
                                     z->file, (int)e->name_len, e->name);
                *fields[k] = rd(f, 8);
                f += 8;
            }
            return BEND_OK;
        }
        x += 4 + sz;
        xl -= 4 + sz;
    }
    if (e->size == 0xffffffffu || e->comp == 0xffffffffu || e->local == 0xffffffffu)
        return bend_fail(err, BEND_ERR_PARSE, "%s: entry '%.*s' needs a ZIP64 extra field but has none",
                         z->file, (int)e->name_len, e->name);
    return BEND_OK;
}

static int cmp_name(const void *a, const void *b)
{
    const zentry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static bend_status read_directory(zip *z, bend_error *err)
{
    uint64_t count, off, size;
    bend_status st = find_directory(z, &count, &off, &size, err);
    if (st) return st;
    if (!(z->e = calloc(count ? count : 1, sizeof *z->e))) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    size_t p = (size_t)off, end = (size_t)(off + size);
    for (uint64_t k = 0; k < count; k++) {
        const uint8_t *c = z->b + p;
        if (end - p < CENTRAL_SIZE || rd(c, 4) != SIG_CENTRAL)
            return bend_fail(err, BEND_ERR_PARSE, "%s: central directory entry %" PRIu64 " (offset %zu) is damaged or cut off",
                             z->file, k, p);
        size_t nl = (size_t)rd(c + 28, 2), xl = (size_t)rd(c + 30, 2), cl = (size_t)rd(c + 32, 2);
        if (CENTRAL_SIZE + nl + xl + cl > end - p)
            return bend_fail(err, BEND_ERR_PARSE, "%s: central directory entry %" PRIu64 " runs past the directory's end",
                             z->file, k);
        zentry *e = &z->e[z->n++];
        e->flags = (unsigned)rd(c + 8, 2);
        e->method = (unsigned)rd(c + 10, 2);
        e->comp = rd(c + 20, 4);
        e->size = rd(c + 24, 4);
        e->local = rd(c + 42, 4);
        e->name = (const char *)c + CENTRAL_SIZE;
        e->name_len = nl;
        if ((st = zip64_extra(z, e, c + CENTRAL_SIZE + nl, xl, err))) return st;
        p += CENTRAL_SIZE + nl + xl + cl;
    }
    if (z->n > 1) qsort(z->e, z->n, sizeof *z->e, cmp_name);
    return BEND_OK;
}

static zentry *find(const zip *z, const char *a, size_t al, const char *b, size_t bl)
{
    char name[1024];
    if (al + bl > sizeof name) return NULL;
    memcpy(name, a, al);
    memcpy(name + al, b, bl);
    zentry key = {.name = name, .name_len = al + bl};
    return bsearch(&key, z->e, z->n, sizeof *z->e, cmp_name);
}

/* An entry's bytes, through its local header (whose name/extra lengths may differ). */
static bend_status entry_data(const zip *z, const zentry *e, const uint8_t **data, bend_error *err)
{
    int nl = (int)e->name_len;
    if (e->flags & 1)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: entry '%.*s' is encrypted", z->file, nl, e->name);
    if (e->method != 0)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: entry '%.*s' is compressed (zip method %u%s); torch.save writes stored "
                         "(uncompressed) entries and bend reads only those: re-save it with torch.save",
                         z->file, nl, e->name, e->method, e->method == 8 ? ", deflate" : "");
    if (e->comp != e->size)
        return bend_fail(err, BEND_ERR_PARSE, "%s: stored entry '%.*s' has different sizes (%" PRIu64 ", %" PRIu64 ")",
                         z->file, nl, e->name, e->comp, e->size);
    const uint8_t *l = z->b + (e->local < z->len ? e->local : 0);
    if (e->local > z->len || z->len - e->local < LOCAL_SIZE || rd(l, 4) != SIG_LOCAL)
        return bend_fail(err, BEND_ERR_PARSE, "%s: no local header for entry '%.*s' at offset %" PRIu64,
                         z->file, nl, e->name, e->local);
    uint64_t start = e->local + LOCAL_SIZE + rd(l + 26, 2) + rd(l + 28, 2);
    if (start > z->len || e->size > z->len - start)
        return bend_fail(err, BEND_ERR_PARSE, "%s: entry '%.*s' (%" PRIu64 " bytes at offset %" PRIu64
                         ") runs past the end of the file (%zu bytes): truncated?", z->file, nl, e->name,
                         e->size, start, z->len);
    *data = z->b + start;
    return BEND_OK;
}

static bend_status storage_bytes(void *ctx, const ckpt_pk *s, const uint8_t **data, int64_t *numel,
                                 bend_error *err)
{
    zip *z = ctx;
    char key[300];
    int kl = snprintf(key, sizeof key, "data/%.*s", (int)s->len, s->s);
    zentry *e = find(z, z->prefix, z->prefix_len, key, (size_t)kl);
    if (!e)
        return bend_fail(err, BEND_ERR_PARSE, "%s: storage '%.*s' is used by the pickle but there is no entry %.*s%s",
                         z->file, (int)s->len, s->s, (int)z->prefix_len, z->prefix, key);
    size_t es = bend_dtype_size(s->dtype);
    const uint8_t *raw;
    bend_status st = entry_data(z, e, &raw, err);
    if (st) return st;
    if ((uint64_t)s->numel > e->size / es)
        return bend_fail(err, BEND_ERR_PARSE, "%s: storage '%.*s' should hold %" PRId64 " %s elements but %.*s%s has %" PRIu64 " bytes",
                         z->file, (int)s->len, s->s, s->numel, bend_dtype_name(s->dtype),
                         (int)z->prefix_len, z->prefix, key, e->size);
    if (!e->aligned || (uintptr_t)e->aligned % es)
        if ((st = ckpt_aligned(z->w, raw, (size_t)e->size, es, &e->aligned, err))) return st;
    *data = e->aligned;
    *numel = s->numel;
    return BEND_OK;
}

bend_status ckpt_torch_zip_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                 const char *file, bool *lightning, bend_error *err)
{
    zip z = {.w = w, .b = buf, .len = len, .file = file};
    *lightning = false;
    bend_status st = read_directory(&z, err);
    const zentry *pkl = NULL;
    for (size_t i = 0; !st && i < z.n; i++) { /* <prefix>/data.pkl, with one '/' */
        const zentry *e = &z.e[i];
        const char *slash = memchr(e->name, '/', e->name_len);
        if (slash && e->name_len - (size_t)(slash - e->name) == 9 && !memcmp(slash + 1, "data.pkl", 8)) {
            if (pkl)
                st = bend_fail(err, BEND_ERR_PARSE, "%s: more than one data.pkl (%.*s, %.*s)", file,
                               (int)pkl->name_len, pkl->name, (int)e->name_len, e->name);
            pkl = e;
        }
    }
    if (!st && !pkl)
        st = bend_fail(err, BEND_ERR_INVALID, "%s: a zip archive without <name>/data.pkl: not a PyTorch checkpoint", file);
    const uint8_t *pb = NULL;
    if (!st) {
        z.prefix = pkl->name;
        z.prefix_len = pkl->name_len - 8;
        st = entry_data(&z, pkl, &pb, err);
    }
    const zentry *bo = st ? NULL : find(&z, z.prefix, z.prefix_len, "byteorder", 9);
    const uint8_t *bob;
    if (bo && !(st = entry_data(&z, bo, &bob, err)) && !(bo->size == 6 && !memcmp(bob, "little", 6)))
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: written on a big-endian machine (byteorder is not 'little')", file);
    if (st) {
        free(z.e);
        return st;
    }
    bend_strbuf what = BEND_STRBUF_INIT;
    bend_strbuf_printf(&what, "%s: %.*s", file, (int)pkl->name_len, pkl->name);
    ckpt_pickle *p = NULL;
    const ckpt_pk *top;
    st = ckpt_pickle_run(pb, (size_t)pkl->size, 0, bend_strbuf_cstr(&what), &p, &top, NULL, err);
    if (!st) st = ckpt_collect(w, p, top, file, bend_strbuf_cstr(&what), storage_bytes, &z, lightning, err);
    ckpt_pickle_free(p);
    bend_strbuf_free(&what);
    free(z.e);
    return st;
}
