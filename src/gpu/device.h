/* Which compute device a rank uses. Built with CUDA, this asks the runtime (never the driver
 * directly, so the same binary starts on machines without one); built without, every query
 * answers "no GPU". The choice of GPU from the local rank is a pure function, tested without
 * any GPU. */
#ifndef BEND_GPU_DEVICE_H
#define BEND_GPU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef enum bend_device_kind { BEND_DEVICE_CPU = 0, BEND_DEVICE_CUDA = 1 } bend_device_kind;

typedef struct bend_device {
    bend_device_kind kind;
    int index;         /* CUDA ordinal among the visible devices; -1 on the CPU */
    char name[256];    /* "NVIDIA H100 80GB HBM3" or "cpu" */
} bend_device;

/* True when this binary contains the CUDA kernels. */
bool bend_cuda_built(void);

/* Number of visible CUDA devices; 0 with a reason in `why` when there are none or the runtime
 * cannot start (no driver, no device, or no CUDA in this build). */
int bend_cuda_device_count(char *why, size_t why_len);

/* Makes ordinal `index` current for this thread and fills dev. */
bend_status bend_cuda_select(int index, bend_device *dev, bend_error *err);

/* The GPU for a rank: local_rank modulo the visible count (ranks beyond the GPU count share). */
int bend_gpu_for_local_rank(int local_rank, int visible_devices);

/* Resolves device=auto|cpu|cuda for this rank. auto picks a GPU when one is visible, else the
 * CPU with a one-line notice from rank 0; cuda without a GPU is an error. */
bend_status bend_device_choose(const char *request, int local_rank, bend_device *dev,
                               bend_error *err);

#endif
