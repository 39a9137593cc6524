/* Model weights as users have them on disk, read with no Python and no conversion step:
 * safetensors (mmap), PyTorch zip checkpoints (incl. ZIP64) with the pickle subset torch.save
 * writes for state dicts, the legacy (torch < 1.6) non-zip format, Lightning checkpoints (tensors
 * under `state_dict`), and sharded checkpoints through their *.index.json. Every offset and
 * length is checked against the file size before use; pickles are interpreted symbolically
 * (a GLOBAL is a name, never code).
 *
 * Ownership: a bend_weights owns every tensor's bytes (mapped or read) until bend_weights_close;
 * tensor refs and names point into it. */
#ifndef BEND_CHECKPOINT_WEIGHTS_H
#define BEND_CHECKPOINT_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum bend_dtype {
    BEND_DT_F32 = 0,
    BEND_DT_F16,
    BEND_DT_BF16,
    BEND_DT_F64,
    BEND_DT_I64,
    BEND_DT_I32,
    BEND_DT_I16,
    BEND_DT_I8,
    BEND_DT_U8,
    BEND_DT_BOOL,
} bend_dtype;

const char *bend_dtype_name(bend_dtype dt); /* safetensors' names: "F32", "BF16", "I64", ... */
size_t bend_dtype_size(bend_dtype dt);

enum { BEND_MAX_DIMS = 8 };

typedef struct bend_tensor_ref {
    const char *name;
    bend_dtype dtype;
    int ndim;
    int64_t shape[BEND_MAX_DIMS];
    int64_t stride[BEND_MAX_DIMS]; /* in elements; row-major contiguous unless the checkpoint says otherwise */
    const void *data;              /* the element at index (0, ..., 0), aligned to the element size */
    const char *file;              /* the file it came from, for messages */
} bend_tensor_ref;

typedef struct bend_weights bend_weights;

/* path: a model directory (model.safetensors, model.safetensors.index.json, pytorch_model.bin,
 * pytorch_model.bin.index.json, weights.ckpt are looked for, in that order) or one file. */
bend_status bend_weights_open(const char *path, bend_weights **out, bend_error *err);
void bend_weights_close(bend_weights *w);

size_t bend_weights_count(const bend_weights *w);
const bend_tensor_ref *bend_weights_at(const bend_weights *w, size_t i); /* sorted by name */
const bend_tensor_ref *bend_weights_find(const bend_weights *w, const char *name); /* NULL if absent */
int64_t bend_weights_parameter_count(const bend_weights *w);
const char *bend_weights_format(const bend_weights *w); /* "safetensors", "torch-zip", "torch-legacy", "lightning", ... */

/* A contiguous float32 copy (converted from F16/BF16/F64/integers), checked against the expected
 * shape (ndim dims; a dim of -1 matches any). Errors name the tensor and the file: missing, wrong
 * rank or shape. The caller frees *out. */
bend_status bend_weights_get_f32(const bend_weights *w, const char *name, int ndim,
                                 const int64_t *shape, float **out, bend_error *err);

#endif
