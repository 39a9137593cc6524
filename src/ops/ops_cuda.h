/* The CUDA backend of the compute interface (ops/ops.h): a stream and a cuBLAS handle on one GPU.
 * Every bend_op_* called with a handle from here runs on that GPU, asynchronously on the stream
 * (bend_ops_download and bend_ops_sync wait); pointers are device memory from bend_ops_alloc.
 * Built without CUDA, create answers BEND_ERR_UNSUPPORTED.
 *
 * Precision: by default fp32 throughout, TF32 off (cuBLAS default math), so results match the CPU
 * backend to rounding. BEND_CUDA_BF16 switches bend_op_linear (not gemm, not attention) to bf16
 * inputs with fp32 accumulation and output: a bf16 copy of each weight is made on its first use
 * and kept until the weight is freed; the activations are rounded to bf16 per call. */
#ifndef BEND_OPS_OPS_CUDA_H
#define BEND_OPS_OPS_CUDA_H

#include "core/error.h"
#include "gpu/device.h"
#include "ops/ops.h"

/* A backend on dev->index (dev->kind must be BEND_DEVICE_CUDA); the caller destroys it. */
bend_status bend_ops_cuda_create(const bend_device *dev, bend_ops **out, bend_error *err);
/* Waits for queued work and frees the stream, cuBLAS handle and staging buffers (not the
 * buffers the caller allocated). NULL is a no-op. */
void bend_ops_cuda_destroy(bend_ops *o);

typedef enum bend_cuda_precision { BEND_CUDA_FP32 = 0, BEND_CUDA_BF16 = 1 } bend_cuda_precision;

/* Chooses the precision of later bend_op_linear calls on o (a CUDA backend). */
bend_status bend_ops_cuda_set_precision(bend_ops *o, bend_cuda_precision p, bend_error *err);

#endif
