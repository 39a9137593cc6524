/* Internal: how the public bend_op_* functions (defined with the CPU code in ops/cpu/) hand a
 * CUDA handle to kernels/ops_cuda_*.cu. Each public function starts with BEND_OPS_DISPATCH, so
 * the one argument convention stays in ops.h and nothing is checked twice. Without CUDA no
 * handle of kind BEND_DEVICE_CUDA can exist and the macros vanish. */
#ifndef BEND_OPS_OPS_CUDA_ENTRY_H
#define BEND_OPS_OPS_CUDA_ENTRY_H

#include "ops/ops.h"

#ifdef BEND_HAVE_CUDA
#define BEND_OPS_DISPATCH(o, call)                                                                 \
    do {                                                                                           \
        if ((o)->kind == BEND_DEVICE_CUDA) {                                                       \
            call;                                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define BEND_OPS_DISPATCH_RET(o, call)                                                             \
    do {                                                                                           \
        if ((o)->kind == BEND_DEVICE_CUDA) return call;                                            \
    } while (0)

bend_status bend_cuda_ops_alloc(const bend_ops *o, size_t bytes, void **out, bend_error *err);
void bend_cuda_ops_free(const bend_ops *o, void *p);
void bend_cuda_ops_upload(const bend_ops *o, void *dst, const void *host_src, size_t bytes);
void bend_cuda_ops_download(const bend_ops *o, void *host_dst, const void *src, size_t bytes);
void bend_cuda_ops_copy(const bend_ops *o, void *dst, const void *src, size_t bytes);
bend_status bend_cuda_ops_sync(const bend_ops *o, bend_error *err);
void bend_cuda_op_gemm(const bend_ops *o, bool trans_a, bool trans_b, int64_t m, int64_t n,
                       int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc);
void bend_cuda_op_linear(const bend_ops *o, int64_t rows, int64_t in, int64_t out, const float *x,
                         int64_t ldx, const float *w, const float *bias, float beta, float *y,
                         int64_t ldy);
void bend_cuda_op_layernorm(const bend_ops *o, int64_t rows, int64_t n, const float *x,
                            const float *gamma, const float *beta, float eps, float *y);
void bend_cuda_op_activation(const bend_ops *o, bend_op_act act, int64_t n, float *x);
void bend_cuda_op_glu(const bend_ops *o, bend_op_act act, int64_t rows, int64_t inner,
                      const float *in, float *out);
void bend_cuda_op_add(const bend_ops *o, int64_t n, const float *x, float *y);
void bend_cuda_op_scale(const bend_ops *o, int64_t n, float s, float *x);
void bend_cuda_op_gather_rows(const bend_ops *o, int64_t rows, int64_t n, const int32_t *idx,
                              const float *table, float beta, float *out);
void bend_cuda_op_rotary(const bend_ops *o, int n_windows, const int64_t *offsets,
                         int64_t n_heads, int64_t head_dim, double base, float *x, int64_t ld);
size_t bend_cuda_op_attention_workspace(const bend_ops *o, const bend_attention_args *a);
void bend_cuda_op_attention(const bend_ops *o, const bend_attention_args *a, void *workspace);
#else
#define BEND_OPS_DISPATCH(o, call) ((void)0)
#define BEND_OPS_DISPATCH_RET(o, call) ((void)0)
#endif

#endif
