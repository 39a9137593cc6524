/* PyTorch's legacy (torch < 1.6, or _use_new_zipfile_serialization=False) checkpoints: pickles
 * back to back (the magic number, protocol version 1001, sys_info, the state dict, the list of
 * storage keys), then for each key in that list an int64 element count and the raw bytes. */
#include "checkpoint/checkpoint_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lstore {
    const char *key;
    size_t key_len;
    bend_dtype dtype;
    const uint8_t *raw;
    int64_t count;
    const void *aligned;
} lstore;

typedef struct legacy {
    bend_weights *w;
    const char *file;
    lstore *s;
    size_t n;
} legacy;

static const uint8_t magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static int cmp_key(const void *a, const void *b)
{
    const lstore *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static bend_status storage_bytes(void *ctx, const ckpt_pk *s, const uint8_t **data, int64_t *numel,
                                 bend_error *err)
{
    legacy *l = ctx;
    lstore key = {.key = s->s, .key_len = s->len};
    lstore *e = bsearch(&key, l->s, l->n, sizeof *l->s, cmp_key);
    if (!e)
        return bend_fail(err, BEND_ERR_PARSE, "%s: storage '%.*s' is used by the pickle but not in the storage list",
                         l->file, (int)s->len, s->s);
    size_t es = bend_dtype_size(s->dtype);
    if (!e->aligned || (uintptr_t)e->aligned % es) {
        bend_status st = ckpt_aligned(l->w, e->raw, (size_t)e->count * bend_dtype_size(e->dtype), es, &e->aligned, err);
        if (st) return st;
    }
    /* The data is in units of the first dtype the key was written with; a view is a window. */
    int64_t nbytes = e->count * (int64_t)bend_dtype_size(e->dtype), first = s->is_view ? s->view_offset : 0;
    if (first > nbytes / (int64_t)es || s->numel > nbytes / (int64_t)es - first)
        return bend_fail(err, BEND_ERR_PARSE, "%s: storage '%.*s' should hold %" PRId64 " %s elements%s but has %" PRId64 " bytes",
                         l->file, (int)s->len, s->s, s->numel, bend_dtype_name(s->dtype),
                         s->is_view ? " (a view)" : "", nbytes);
    *data = (const uint8_t *)e->aligned + first * (int64_t)es;
    *numel = s->numel;
    return BEND_OK;
}

/* Runs one of the leading pickles and checks what it must be. */
static bend_status header_pickle(const uint8_t *b, size_t len, size_t *pos, const char *file, int which,
                                 bend_error *err)
{
    ckpt_pickle *p;
    const ckpt_pk *r;
    bend_status st = ckpt_pickle_run(b, len, *pos, file, &p, &r, pos, err);
    if (st) return st;
    if (which == 0 && !(r->kind == PK_BIGINT && r->len == sizeof magic && !memcmp(r->s, magic, sizeof magic)))
        st = bend_fail(err, BEND_ERR_INVALID, "%s: a pickle, but not a PyTorch checkpoint (no legacy magic number)", file);
    if (which == 1 && !(r->kind == PK_INT && r->i == 1001))
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: legacy PyTorch protocol version is not 1001", file);
    if (which == 2) {
        const ckpt_pk *le = ckpt_pk_dict_get(r, "little_endian");
        if (r->kind != PK_DICT)
            st = bend_fail(err, BEND_ERR_PARSE, "%s: legacy sys_info is a %s, expected a dict", file, ckpt_pk_kind_name(r->kind));
        else if (le && le->kind == PK_BOOL && !le->i)
            st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: written on a big-endian machine", file);
    }
    ckpt_pickle_free(p);
    return st;
}

/* The storage list and the data after it. */
static bend_status read_storages(legacy *l, const ckpt_pickle *main, const uint8_t *b, size_t len,
                                 size_t pos, bend_error *err)
{
    ckpt_pickle *p;
    const ckpt_pk *keys;
    bend_status st = ckpt_pickle_run(b, len, pos, l->file, &p, &keys, &pos, err);
    if (st) return st;
    if (keys->kind != PK_LIST) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s: the storage key list is a %s", l->file, ckpt_pk_kind_name(keys->kind));
        goto done;
    }
    if (!(l->s = calloc(keys->n ? keys->n : 1, sizeof *l->s))) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < keys->n; i++) {
        const ckpt_pk *k = keys->items[i], *typed = NULL;
        for (size_t j = 0; k->kind == PK_STR && j < ckpt_pickle_storage_count(main) && !typed; j++) {
            const ckpt_pk *s = ckpt_pickle_storage_at(main, j);
            if (s->len == k->len && !memcmp(s->s, k->s, k->len)) typed = s;
        }
        if (!typed) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s: storage list entry %zu is not a key the state dict uses", l->file, i);
            goto done;
        }
        size_t es = bend_dtype_size(typed->dtype);
        if (len - pos < 8) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s: the file ends before storage '%.*s' (byte %zu): truncated?",
                           l->file, (int)k->len, k->s, pos);
            goto done;
        }
        uint64_t count = 0;
        for (int d = 7; d >= 0; d--) count = count << 8 | b[pos + (size_t)d];
        pos += 8;
        if (count > (len - pos) / es) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s: storage '%.*s' (%" PRIu64 " %s elements at byte %zu) runs past the end of the file: truncated?",
                           l->file, (int)k->len, k->s, count, bend_dtype_name(typed->dtype), pos);
            goto done;
        }
        l->s[l->n++] = (lstore){.key = k->s, .key_len = k->len, .dtype = typed->dtype, .raw = b + pos,
                                .count = (int64_t)count};
        pos += (size_t)count * es;
    }
    if (l->n > 1) qsort(l->s, l->n, sizeof *l->s, cmp_key);
done:
    ckpt_pickle_free(p);
    return st;
}

bend_status ckpt_torch_legacy_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                    const char *file, bool *lightning, bend_error *err)
{
    legacy l = {.w = w, .file = file};
    size_t pos = 0;
    *lightning = false;
    bend_status st = BEND_OK;
    for (int which = 0; which < 3 && !st; which++) st = header_pickle(buf, len, &pos, file, which, err);
    if (st) return st;
    ckpt_pickle *p;
    const ckpt_pk *top;
    if ((st = ckpt_pickle_run(buf, len, pos, file, &p, &top, &pos, err))) return st;
    st = read_storages(&l, p, buf, len, pos, err);
    if (!st) st = ckpt_collect(w, p, top, file, file, storage_bytes, &l, lightning, err);
    ckpt_pickle_free(p);
    free(l.s);
    return st;
}
