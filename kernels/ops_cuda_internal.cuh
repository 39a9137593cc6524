// Shared by kernels/ops_cuda_*.cu: the CUDA backend's state and its error bookkeeping.
// Ops never fail at the call (ops.h): the first CUDA / cuBLAS error is remembered with the op
// that met it and reported by bend_ops_sync.
#ifndef BEND_KERNELS_OPS_CUDA_INTERNAL_CUH
#define BEND_KERNELS_OPS_CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "ops/ops.h"
#include "ops/ops_cuda_entry.h"
}

struct bend_cuda_impl {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    char first_error[512]; // "" while all is well
    // Device staging for the host arrays some ops take (window offsets, rotary frequencies):
    // grown on demand, reused in stream order.
    void *d_stage;
    size_t cap_stage;
    // Host buffer where the attention tile list is built before its upload.
    void *h_stage;
    size_t cap_hstage;
    // bf16 linear (bend_ops_cuda_set_precision): weight copies keyed by the fp32 weight's
    // address (dropped when that buffer is freed), and the activations' bf16 scratch.
    int precision;
    struct bf16_weight {
        const float *src;
        size_t n;
        __nv_bfloat16 *copy;
    } *wcache;
    size_t n_wcache, cap_wcache;
    __nv_bfloat16 *xbuf;
    size_t cap_xbuf; // elements
};

static inline bend_cuda_impl *cuda_impl(const bend_ops *o) { return (bend_cuda_impl *)o->impl; }

void bend_cuda_note(bend_cuda_impl *c, const char *op, const char *what);
void bend_cuda_check(bend_cuda_impl *c, cudaError_t e, const char *op);
// Makes the backend's GPU current (another thread may call) and reports launch errors of the
// previous op; returns false when the op must be skipped.
bool bend_cuda_enter(bend_cuda_impl *c, const char *op);
// Uploads bytes of host memory to the device staging area (one per backend, reused by each op);
// NULL on failure (noted).
void *bend_cuda_stage(bend_cuda_impl *c, const void *host, size_t bytes, const char *op);

// after every kernel launch: a bad launch configuration is reported with the op that made it
#define BEND_CUDA_LAUNCHED(c, op) bend_cuda_check(c, cudaGetLastError(), op " (kernel launch)")

static inline unsigned bend_cuda_blocks(int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads;
    if (b > 65535LL * 16) b = 65535LL * 16; // grid-stride loops cover the rest
    return (unsigned)(b > 0 ? b : 1);
}

#endif
