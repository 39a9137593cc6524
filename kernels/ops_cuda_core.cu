// CUDA backend: state, memory and the dense linear algebra on cuBLAS.
//
// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so each GEMM is one
// cublasSgemm with the operands swapped; no transposes are materialized. Math mode is cuBLAS's
// default, which for fp32 never uses TF32 (unless NVIDIA_TF32_OVERRIDE=1 is set in the
// environment), so GEMMs round like the CPU's sgemm up to summation order.
//
// bf16 (bend_ops_cuda_set_precision): bend_op_linear alone switches, since the weights are what
// it reads most; a weight's bf16 copy is made on its first use (the encoder's weights are fixed
// after open, and a freed buffer drops its copy), the activations are rounded per call, and
// cublasGemmEx accumulates in fp32 into the fp32 output. Attention and the rest stay fp32.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_cuda_internal.cuh"

extern "C" {
#include "ops/ops_cuda.h"
}

void bend_cuda_note(bend_cuda_impl *c, const char *op, const char *what)
{
    if (c->first_error[0]) return;
    snprintf(c->first_error, sizeof c->first_error, "GPU %d, %s: %s", c->device, op, what);
}

void bend_cuda_check(bend_cuda_impl *c, cudaError_t e, const char *op)
{
    if (e == cudaSuccess) return;
    char what[256];
    snprintf(what, sizeof what, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    bend_cuda_note(c, op, what);
}

bool bend_cuda_enter(bend_cuda_impl *c, const char *op)
{
    bend_cuda_check(c, cudaSetDevice(c->device), op);
    bend_cuda_check(c, cudaGetLastError(), "an earlier kernel launch");
    return c->first_error[0] == 0;
}

void *bend_cuda_stage(bend_cuda_impl *c, const void *host, size_t bytes, const char *op)
{
    if (bytes > c->cap_stage) {
        size_t cap = bytes < 4096 ? 4096 : 2 * bytes;
        if (c->d_stage) cudaFree(c->d_stage); // synchronizes: no queued op still reads it
        c->d_stage = NULL;
        c->cap_stage = 0;
        cudaError_t e = cudaMalloc(&c->d_stage, cap);
        if (e != cudaSuccess) {
            c->d_stage = NULL;
            bend_cuda_check(c, e, op);
            return NULL;
        }
        c->cap_stage = cap;
    }
    // From pageable memory the call returns once the bytes are staged: host may reuse `host`.
    cudaError_t e = cudaMemcpyAsync(c->d_stage, host, bytes, cudaMemcpyHostToDevice, c->stream);
    if (e != cudaSuccess) {
        bend_cuda_check(c, e, op);
        return NULL;
    }
    return c->d_stage;
}

void bend_cuda_forget_bf16(bend_cuda_impl *c, const void *p);
void bend_cuda_free_bf16(bend_cuda_impl *c);
static bool linear_bf16(bend_cuda_impl *c, int64_t rows, int64_t in, int64_t out, const float *x,
                        int64_t ldx, const float *w, float beta, float *y, int64_t ldy);

static const char *blas_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}

extern "C" bend_status bend_ops_cuda_create(const bend_device *dev, bend_ops **out,
                                            bend_error *err)
{
    *out = NULL;
    if (!dev || dev->kind != BEND_DEVICE_CUDA || dev->index < 0)
        return bend_fail(err, BEND_ERR_INVALID, "the CUDA backend needs a CUDA device");
    cudaError_t e = cudaSetDevice(dev->index);
    if (e != cudaSuccess)
        return bend_fail(err, BEND_ERR_DEVICE, "cannot use GPU %d: %s", dev->index,
                         cudaGetErrorString(e));
    bend_ops *o = (bend_ops *)calloc(1, sizeof *o);
    bend_cuda_impl *c = (bend_cuda_impl *)calloc(1, sizeof *c);
    if (!o || !c) {
        free(o);
        free(c);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory creating the CUDA backend");
    }
    c->device = dev->index;
    e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(o);
        free(c);
        return bend_fail(err, BEND_ERR_DEVICE, "GPU %d: cannot create a CUDA stream: %s",
                         dev->index, cudaGetErrorString(e));
    }
    cublasStatus_t s = cublasCreate(&c->blas);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetStream(c->blas, c->stream);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH);
    if (s != CUBLAS_STATUS_SUCCESS) {
        if (c->blas) cublasDestroy(c->blas);
        cudaStreamDestroy(c->stream);
        free(o);
        free(c);
        return bend_fail(err, BEND_ERR_DEVICE, "GPU %d: cannot start cuBLAS: %s", dev->index,
                         blas_name(s));
    }
    o->kind = BEND_DEVICE_CUDA;
    o->impl = c;
    *out = o;
    return BEND_OK;
}

extern "C" void bend_ops_cuda_destroy(bend_ops *o)
{
    if (!o) return;
    bend_cuda_impl *c = cuda_impl(o);
    if (c) {
        cudaSetDevice(c->device);
        cudaStreamSynchronize(c->stream);
        cublasDestroy(c->blas);
        bend_cuda_free_bf16(c);
        if (c->d_stage) cudaFree(c->d_stage);
        cudaStreamDestroy(c->stream);
        free(c->h_stage);
        free(c);
    }
    free(o);
}

extern "C" bend_status bend_cuda_ops_alloc(const bend_ops *o, size_t bytes, void **out,
                                           bend_error *err)
{
    bend_cuda_impl *c = cuda_impl(o);
    *out = NULL;
    cudaError_t e = cudaSetDevice(c->device);
    if (e == cudaSuccess) e = cudaMalloc(out, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        *out = NULL;
        (void)cudaGetLastError(); // an allocation failure is not sticky: clear it
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        return bend_fail(err, e == cudaErrorMemoryAllocation ? BEND_ERR_NOMEM : BEND_ERR_DEVICE,
                         "GPU %d: cannot allocate %zu bytes (%zu of %zu free): %s", c->device,
                         bytes, free_b, total_b, cudaGetErrorString(e));
    }
    return BEND_OK;
}

extern "C" void bend_cuda_ops_free(const bend_ops *o, void *p)
{
    if (!p) return;
    bend_cuda_impl *c = cuda_impl(o);
    cudaSetDevice(c->device);
    if (c->n_wcache) bend_cuda_forget_bf16(c, p);
    bend_cuda_check(c, cudaFree(p), "free"); // cudaFree waits for queued work using p
}

extern "C" void bend_cuda_ops_upload(const bend_ops *o, void *dst, const void *host_src,
                                     size_t bytes)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (!bytes || !bend_cuda_enter(c, "upload")) return;
    bend_cuda_check(c, cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, c->stream),
                    "upload");
}

extern "C" void bend_cuda_ops_download(const bend_ops *o, void *host_dst, const void *src,
                                       size_t bytes)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (!bytes || !bend_cuda_enter(c, "download")) return;
    // waits, so the caller may read host_dst at once
    bend_cuda_check(c, cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, c->stream),
                    "download");
    bend_cuda_check(c, cudaStreamSynchronize(c->stream), "download");
}

extern "C" void bend_cuda_ops_copy(const bend_ops *o, void *dst, const void *src, size_t bytes)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (!bytes || dst == src || !bend_cuda_enter(c, "copy")) return;
    const char *d = (const char *)dst, *s = (const char *)src;
    if (d < s + bytes && s < d + bytes) { // overlapping (memmove semantics): no single memcpy
        bend_cuda_note(c, "copy", "overlapping device-to-device copy is not supported");
        return;
    }
    bend_cuda_check(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream),
                    "copy");
}

extern "C" bend_status bend_cuda_ops_sync(const bend_ops *o, bend_error *err)
{
    bend_cuda_impl *c = cuda_impl(o);
    bend_cuda_check(c, cudaSetDevice(c->device), "sync");
    bend_cuda_check(c, cudaGetLastError(), "a kernel launch");
    bend_cuda_check(c, cudaStreamSynchronize(c->stream), "queued GPU work");
    if (!c->first_error[0]) return BEND_OK;
    bend_status st = bend_fail(err, BEND_ERR_DEVICE, "CUDA error on %s", c->first_error);
    c->first_error[0] = 0; // reported once; a sticky context error will recur by itself
    return st;
}

// C = beta * C over an m x n block (k == 0, where cuBLAS may reject the call)
__global__ void scale_block(int64_t m, int64_t n, float beta, float *c, int64_t ldc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float *p = c + (i / n) * ldc + i % n;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

extern "C" void bend_cuda_op_gemm(const bend_ops *o, bool trans_a, bool trans_b, int64_t m,
                                  int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                                  const float *b, int64_t ldb, float beta, float *c_,
                                  int64_t ldc)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (m <= 0 || n <= 0 || !bend_cuda_enter(c, "gemm")) return;
    if (k <= 0) {
        scale_block<<<bend_cuda_blocks(m * n, 256), 256, 0, c->stream>>>(m, n, beta, c_, ldc);
        BEND_CUDA_LAUNCHED(c, "gemm");
        return;
    }
    cublasStatus_t s = cublasSgemm(c->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k,
                                   &alpha, b, (int)ldb, a, (int)lda, &beta, c_, (int)ldc);
    if (s != CUBLAS_STATUS_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "cublasSgemm(m=%lld n=%lld k=%lld) failed: %s", (long long)m,
                 (long long)n, (long long)k, blas_name(s));
        bend_cuda_note(c, "gemm", what);
    }
}

// y[t, j] = beta * y[t, j] + bias[j] (beta 0: overwrite), as the CPU rounds it (no FMA)
__global__ void bias_rows(int64_t rows, int64_t out, const float *bias, float beta, float *y,
                          int64_t ldy)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * out;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t j = i % out;
        float *p = y + (i / out) * ldy + j;
        *p = beta == 0.0f ? bias[j] : __fadd_rn(__fmul_rn(beta, *p), bias[j]);
    }
}

extern "C" void bend_cuda_op_linear(const bend_ops *o, int64_t rows, int64_t in, int64_t out,
                                    const float *x, int64_t ldx, const float *w,
                                    const float *bias, float beta, float *y, int64_t ldy)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (rows <= 0 || out <= 0 || !bend_cuda_enter(c, "linear")) return;
    if (bias) {
        bias_rows<<<bend_cuda_blocks(rows * out, 256), 256, 0, c->stream>>>(rows, out, bias, beta,
                                                                             y, ldy);
        BEND_CUDA_LAUNCHED(c, "linear");
        beta = 1.0f;
    }
    if (in > 0 && c->precision == BEND_CUDA_BF16) {
        linear_bf16(c, rows, in, out, x, ldx, w, beta, y, ldy);
        return;
    }
    bend_cuda_op_gemm(o, false, true, rows, out, in, 1.0f, x, ldx, w, in, beta, y, ldy);
}

// ---- bf16 linear ----

extern "C" bend_status bend_ops_cuda_set_precision(bend_ops *o, bend_cuda_precision p,
                                                   bend_error *err)
{
    if (!o || o->kind != BEND_DEVICE_CUDA)
        return bend_fail(err, BEND_ERR_INVALID, "bf16 precision needs a CUDA backend");
    if (p != BEND_CUDA_FP32 && p != BEND_CUDA_BF16)
        return bend_fail(err, BEND_ERR_INVALID, "unknown CUDA precision %d", (int)p);
    cuda_impl(o)->precision = (int)p;
    return BEND_OK;
}

// dst[r, i] = bf16(src[r * ld + i]), r < rows, i < cols (dst contiguous)
__global__ void to_bf16(int64_t rows, int64_t cols, const float *src, int64_t ld,
                        __nv_bfloat16 *dst)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < rows * cols;
         e += (int64_t)gridDim.x * blockDim.x)
        dst[e] = __float2bfloat16_rn(src[(e / cols) * ld + e % cols]);
}

// The bf16 copy of weight w [n floats], made (queued on the stream) on first use.
static __nv_bfloat16 *bf16_weight(bend_cuda_impl *c, const float *w, size_t n)
{
    for (size_t i = 0; i < c->n_wcache; i++)
        if (c->wcache[i].src == w && c->wcache[i].n == n) return c->wcache[i].copy;
    if (c->n_wcache == c->cap_wcache) {
        size_t cap = c->cap_wcache ? 2 * c->cap_wcache : 64;
        void *p = realloc(c->wcache, cap * sizeof *c->wcache);
        if (!p) {
            bend_cuda_note(c, "linear (bf16)", "out of host memory listing bf16 weights");
            return NULL;
        }
        c->wcache = (bend_cuda_impl::bf16_weight *)p;
        c->cap_wcache = cap;
    }
    __nv_bfloat16 *copy = NULL;
    cudaError_t e = cudaMalloc(&copy, n * sizeof *copy);
    if (e != cudaSuccess) {
        bend_cuda_check(c, e, "linear (bf16 weight copy)");
        return NULL;
    }
    to_bf16<<<bend_cuda_blocks((int64_t)n, 256), 256, 0, c->stream>>>(1, (int64_t)n, w, 0, copy);
    BEND_CUDA_LAUNCHED(c, "linear (bf16 weight copy)");
    c->wcache[c->n_wcache++] = {w, n, copy};
    return copy;
}

// Drops the bf16 copies of weights inside a buffer being freed (its address may be reused).
void bend_cuda_forget_bf16(bend_cuda_impl *c, const void *p)
{
    for (size_t i = 0; i < c->n_wcache;) {
        if ((const void *)c->wcache[i].src == p) {
            cudaFree(c->wcache[i].copy);
            c->wcache[i] = c->wcache[--c->n_wcache];
        } else {
            i++;
        }
    }
}

void bend_cuda_free_bf16(bend_cuda_impl *c)
{
    for (size_t i = 0; i < c->n_wcache; i++) cudaFree(c->wcache[i].copy);
    free(c->wcache);
    c->wcache = NULL;
    c->n_wcache = c->cap_wcache = 0;
    if (c->xbuf) cudaFree(c->xbuf);
    c->xbuf = NULL;
    c->cap_xbuf = 0;
}

// y = x W^T (+ beta y) with bf16 x and W, fp32 accumulation and y; false if it could not run
static bool linear_bf16(bend_cuda_impl *c, int64_t rows, int64_t in, int64_t out, const float *x,
                        int64_t ldx, const float *w, float beta, float *y, int64_t ldy)
{
    __nv_bfloat16 *wb = bf16_weight(c, w, (size_t)(out * in));
    if (!wb) return false;
    size_t need = (size_t)(rows * in);
    if (need > c->cap_xbuf) {
        if (c->xbuf) cudaFree(c->xbuf); // synchronizes: no queued GEMM still reads it
        c->xbuf = NULL;
        c->cap_xbuf = 0;
        cudaError_t e = cudaMalloc(&c->xbuf, need * sizeof *c->xbuf);
        if (e != cudaSuccess) {
            c->xbuf = NULL;
            bend_cuda_check(c, e, "linear (bf16 activations)");
            return false;
        }
        c->cap_xbuf = need;
    }
    to_bf16<<<bend_cuda_blocks((int64_t)need, 256), 256, 0, c->stream>>>(rows, in, x, ldx, c->xbuf);
    BEND_CUDA_LAUNCHED(c, "linear (bf16 activations)");
    const float one = 1.0f;
    // column-major: y^T [out, rows] = W [out, in] (the row-major buffer read transposed) x^T
    cublasStatus_t s = cublasGemmEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)rows, (int)in,
                                    &one, wb, CUDA_R_16BF, (int)in, c->xbuf, CUDA_R_16BF, (int)in,
                                    &beta, y, CUDA_R_32F, (int)ldy, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS) {
        char what[160];
        snprintf(what, sizeof what, "cublasGemmEx bf16 (rows=%lld in=%lld out=%lld) failed: %s",
                 (long long)rows, (long long)in, (long long)out, blas_name(s));
        bend_cuda_note(c, "linear", what);
    }
    return true;
}
