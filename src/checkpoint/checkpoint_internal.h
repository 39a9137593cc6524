/* Shared by the checkpoint readers (weights.c: the map and dispatch; safetensors.c, torch_zip.c,
 * torch_legacy.c: one on-disk format each; torch_pickle.c: the symbolic pickle machine). Not part
 * of the public API. Every parser takes the whole file as one byte buffer (mapped by weights.c) so
 * that fuzz targets can hand it bytes from memory. */
#ifndef BEND_CHECKPOINT_INTERNAL_H
#define BEND_CHECKPOINT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint/weights.h"

/* ---- The map (weights.c) ------------------------------------------------------------------- */

bend_weights *ckpt_new(void);
/* Interned copy of a path, stable until bend_weights_close (what tensor refs' `file` points to). */
const char *ckpt_file(bend_weights *w, const char *path, bend_error *err);
/* Maps a whole file read-only; the mapping lives until bend_weights_close. An empty file gives a
 * non-NULL pointer and *len 0. */
bend_status ckpt_map_file(bend_weights *w, const char *path, const uint8_t **buf, size_t *len,
                          bend_error *err);
/* `p` when it is aligned to `align`, else a heap copy of its nbytes that w frees at close. */
bend_status ckpt_aligned(bend_weights *w, const void *p, size_t nbytes, size_t align,
                         const void **out, bend_error *err);
/* Appends a tensor (name need not be NUL-terminated; it is copied). The caller has checked that
 * every element lies inside the bytes `data` points into. */
bend_status ckpt_add(bend_weights *w, const char *name, size_t name_len, bend_dtype dt, int ndim,
                     const int64_t *shape, const int64_t *stride, const void *data,
                     const char *file, bend_error *err);
/* Sorts, drops a name repeated inside one file (the later one wins, as in a Python dict), rejects
 * a name found in two files, and records the format name. */
bend_status ckpt_finalize(bend_weights *w, const char *format, bend_error *err);

/* Number of elements of a shape (sets *numel) and the index one past the last element that
 * (offset, stride) reaches (sets *end; 0 for an empty tensor). False when a size or stride is
 * negative or the arithmetic overflows int64. */
bool ckpt_extent(int ndim, const int64_t *shape, const int64_t *stride, int64_t offset,
                 int64_t *numel, int64_t *end);
/* Row-major strides for a shape. */
void ckpt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
/* "[768, 1024]" into buf. */
const char *ckpt_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

/* ---- Symbolic pickle machine (torch_pickle.c) ---------------------------------------------- */

typedef enum ckpt_pk_kind {
    PK_NONE,
    PK_BOOL,
    PK_INT,
    PK_BIGINT, /* LONG1/LONG4 wider than 8 bytes: s/len are the raw little-endian bytes */
    PK_FLOAT,
    PK_STR,    /* str or bytes: s/len point into the pickle */
    PK_TUPLE,
    PK_LIST,
    PK_DICT,   /* items are key, value, key, value, ... (n is 2 x the number of pairs) */
    PK_SET,
    PK_GLOBAL, /* a name, never resolved to code */
    PK_OPAQUE, /* what a non-tensor global made (OmegaConf configs in Lightning files, ...) */
    PK_STORAGE,
    PK_TENSOR,
} ckpt_pk_kind;

typedef struct ckpt_pk ckpt_pk;
struct ckpt_pk {
    ckpt_pk_kind kind;
    size_t pos;        /* byte offset of the opcode that made it */
    int64_t i;         /* BOOL, INT; GLOBAL: which allow-listed global (ckpt_global_id) */
    double f;          /* FLOAT */
    const char *s;     /* STR, BIGINT; storage key */
    size_t len;
    char *name;        /* GLOBAL, OPAQUE: "module.name" (owned) */
    ckpt_pk **items;   /* TUPLE, LIST, DICT, SET */
    size_t n, cap;
    /* STORAGE: element type, numel from the persistent id, and (legacy views) element offset */
    bend_dtype dtype;
    int64_t numel, view_offset;
    bool is_view;
    /* TENSOR */
    const ckpt_pk *storage;
    int64_t offset;
    int ndim;
    int64_t shape[BEND_MAX_DIMS], stride[BEND_MAX_DIMS];
};

typedef struct ckpt_pickle ckpt_pickle;

/* Runs the pickle that starts at buf[start] up to its STOP. On success *out holds every object it
 * made (free with ckpt_pickle_free), *result the object STOP returned and *end the offset after
 * STOP. `what` names the pickle in messages (e.g. "/x/pytorch_model.bin: archive/data.pkl"). */
bend_status ckpt_pickle_run(const uint8_t *buf, size_t len, size_t start, const char *what,
                            ckpt_pickle **out, const ckpt_pk **result, size_t *end,
                            bend_error *err);
void ckpt_pickle_free(ckpt_pickle *p);
/* The storages the pickle's persistent ids named, in order of appearance. */
size_t ckpt_pickle_storage_count(const ckpt_pickle *p);
const ckpt_pk *ckpt_pickle_storage_at(const ckpt_pickle *p, size_t i);
/* The first global that is outside the tensor allow-list (tolerated only outside a Lightning
 * state_dict); NULL when there was none. */
const ckpt_pk *ckpt_pickle_first_foreign(const ckpt_pickle *p);
const char *ckpt_pk_kind_name(ckpt_pk_kind k);
bool ckpt_pk_is_str(const ckpt_pk *o, const char *s);
const ckpt_pk *ckpt_pk_dict_get(const ckpt_pk *dict, const char *key);

/* ---- Tensors out of a pickled state dict (weights.c) ---------------------------------------- */

/* Finds the bytes of a storage: *data is its element 0 (aligned to the element size), *numel how
 * many elements really exist there. */
typedef bend_status (*ckpt_storage_fn)(void *ctx, const ckpt_pk *storage, const uint8_t **data,
                                       int64_t *numel, bend_error *err);
/* Adds the tensors of a torch.save'd state dict: the top-level dict, or a Lightning checkpoint's
 * `state_dict` (then *lightning is set). */
bend_status ckpt_collect(bend_weights *w, const ckpt_pickle *p, const ckpt_pk *top,
                         const char *file, const char *what, ckpt_storage_fn fn, void *ctx,
                         bool *lightning, bend_error *err);

/* ---- The formats: parse a whole file from memory (buf outlives w) --------------------------- */

bend_status ckpt_safetensors_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                   const char *file, bend_error *err);
bend_status ckpt_torch_zip_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                 const char *file, bool *lightning, bend_error *err);
bend_status ckpt_torch_legacy_parse(bend_weights *w, const uint8_t *buf, size_t len,
                                    const char *file, bool *lightning, bend_error *err);

#endif
