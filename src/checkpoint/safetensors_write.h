/* Writing safetensors files (https://huggingface.co/docs/safetensors): what a PyTorch user loads
 * with safetensors.torch.load_file. Tensors are written in the order given, contiguous, with the
 * header padded to a multiple of 8 bytes as the reference writer does. */
#ifndef BEND_CHECKPOINT_SAFETENSORS_WRITE_H
#define BEND_CHECKPOINT_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint/weights.h"
#include "core/error.h"

typedef struct bend_st_tensor {
    const char *name;
    bend_dtype dtype;
    int ndim;
    int64_t shape[BEND_MAX_DIMS];
    const void *data; /* product(shape) elements of dtype */
} bend_st_tensor;

/* Writes path via path.tmp + fsync + rename, so a reader never sees a partial file. metadata:
 * n_meta pairs (key, value) of strings for the header's __metadata__ (may be 0). */
bend_status bend_safetensors_write(const char *path, const bend_st_tensor *tensors, size_t n,
                                   const char *const (*metadata)[2], size_t n_meta, bend_error *err);

#endif
