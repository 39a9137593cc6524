/* The compute interface model code calls: dense linear algebra and the position-wise and
 * attention kernels of the transformer families (and whatever else wants a GEMM or LayerNorm).
 *
 * Every op takes a backend handle first. Pointers are in the backend's memory (host memory for
 * the CPU backend, device memory for a CUDA one); matrices are row-major with an explicit leading
 * dimension (elements between consecutive rows), so column slices such as the Q / K / V parts of
 * a fused QKV projection are passed as (pointer + column offset, ld) without copies.
 *
 * Hot calls never allocate and never fail: shapes are the caller's responsibility (the model code
 * validates them once, at open); an op that needs scratch space takes a workspace whose size the
 * matching *_workspace function returns. A GPU backend may queue work asynchronously; errors it
 * detects surface at bend_ops_sync (the CPU backend's sync always succeeds). */
#ifndef BEND_OPS_OPS_H
#define BEND_OPS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "gpu/device.h"

typedef struct bend_ops {
    bend_device_kind kind;
    void *impl; /* backend state (CUDA: stream, cuBLAS handle); NULL on the CPU */
} bend_ops;

/* The CPU backend (a static object; never freed). */
const bend_ops *bend_ops_cpu(void);

/* ---- memory (backend memory; the CPU backend uses 64-byte aligned host memory) ---- */
bend_status bend_ops_alloc(const bend_ops *o, size_t bytes, void **out, bend_error *err);
void bend_ops_free(const bend_ops *o, void *p);
/* host -> backend, backend -> host, backend -> backend */
void bend_ops_upload(const bend_ops *o, void *dst, const void *host_src, size_t bytes);
void bend_ops_download(const bend_ops *o, void *host_dst, const void *src, size_t bytes);
void bend_ops_copy(const bend_ops *o, void *dst, const void *src, size_t bytes);
/* Waits for queued work; reports errors a backend could only detect late. */
bend_status bend_ops_sync(const bend_ops *o, bend_error *err);

/* ---- dense linear algebra ---- */

/* C[m,n] = alpha * op(A) * op(B) + beta * C, row-major; op(A) is A ([m,k], lda) or, with trans_a,
 * A^T of A [k,m]; likewise B ([k,n] or, with trans_b, B [n,k]). */
void bend_op_gemm(const bend_ops *o, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc);

/* A torch Linear over the rows of x: y[t,:] = x[t,:] W^T + bias + beta * y[t,:], t < rows.
 * w is the checkpoint's [out, in] (row-major, ld in); bias [out] or NULL; beta 0 (overwrite) or
 * 1 (accumulate: a residual add for free). x [rows, in] with ldx; y [rows, out] with ldy; x and y
 * must not overlap. */
void bend_op_linear(const bend_ops *o, int64_t rows, int64_t in, int64_t out, const float *x,
                    int64_t ldx, const float *w, const float *bias, float beta, float *y,
                    int64_t ldy);

/* ---- position-wise ops (rows of width n, contiguous: ld == n) ---- */

/* y = (x - mean) / sqrt(var + eps) * gamma + beta per row, biased variance, accumulated in
 * double; y may equal x. gamma / beta may be NULL (1 / 0). */
void bend_op_layernorm(const bend_ops *o, int64_t rows, int64_t n, const float *x,
                       const float *gamma, const float *beta, float eps, float *y);

typedef enum bend_op_act {
    BEND_OP_ACT_IDENTITY = 0,
    BEND_OP_ACT_GELU,      /* 0.5 x (1 + erf(x / sqrt 2)) */
    BEND_OP_ACT_GELU_TANH, /* HF gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    BEND_OP_ACT_RELU,
    BEND_OP_ACT_SILU,      /* x * sigmoid(x) */
} bend_op_act;

/* x[i] = act(x[i]) for i < n (in place). */
void bend_op_activation(const bend_ops *o, bend_op_act act, int64_t n, float *x);

/* Gated linear unit: out[t, j] = act(in[t, j]) * in[t, inner + j], j < inner; in [rows, 2*inner]
 * (the gated half first, as DNABERT-2's GEGLU and NT v2's SwiGLU split); out [rows, inner]. */
void bend_op_glu(const bend_ops *o, bend_op_act act, int64_t rows, int64_t inner,
                 const float *in, float *out);

/* y[i] += x[i] (residual), x[i] *= s (scale), i < n. */
void bend_op_add(const bend_ops *o, int64_t n, const float *x, float *y);
void bend_op_scale(const bend_ops *o, int64_t n, float s, float *x);

/* out[t, :] = beta * out[t, :] + table[idx[t], :], t < rows; table [*, n] contiguous; idx are
 * backend-memory int32 row numbers the caller has range-checked. beta 0 or 1 (sum of embeddings). */
void bend_op_gather_rows(const bend_ops *o, int64_t rows, int64_t n, const int32_t *idx,
                         const float *table, float beta, float *out);

/* ---- sequence ops over packed windows ----
 * All windows' tokens are packed row after row (window w = rows offsets[w] .. offsets[w+1]); the
 * offsets array is HOST memory on every backend (it decides the launch shape). */

/* Rotary position embedding, rotate-half convention (HF ESM / NT v2), positions restarting at 0
 * in every window, over the whole head width: for i < hd/2, with f_i = base^(-2i/hd) and
 * theta = pos * f_i (float32, as torch computes it):
 *   x'[i] = x[i] cos(theta) - x[i + hd/2] sin(theta); x'[i + hd/2] = x[i + hd/2] cos + x[i] sin.
 * x: rows of n_heads * head_dim values (head-major) with ld; in place. head_dim even. */
void bend_op_rotary(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t n_heads,
                    int64_t head_dim, double base, float *x, int64_t ld);

typedef struct bend_attention_args {
    int n_windows;
    const int64_t *offsets;   /* host, [n_windows + 1] */
    int64_t n_heads, head_dim;
    /* rows of n_heads * head_dim (head h = columns h*hd .. h*hd+hd-1) */
    const float *q, *k, *v;
    int64_t ldq, ldk, ldv;
    float *out;               /* context, same layout; must not overlap q, k, v */
    int64_t ldo;
    float scale;              /* scores = scale * q.k (1/sqrt(hd); 1 when q is prescaled) */
    /* Optional additive terms on the scores, NULL for none: */
    const float *alibi_slopes;/* [n_heads] backend memory: -slope_h * |i - j| (symmetric ALiBi) */
    const float *key_bias;    /* [offsets[n_windows]] backend memory, per key token (a padding
                                 mask: 0 or -10000 / -inf) */
    /* BigBird block-sparse attention (HF eval semantics, random blocks all = block 0) for the
     * windows w with block_sparse[w] != 0 (host memory; NULL: all dense), with blocks of
     * sparse_block_size tokens; the window is treated as padded to a whole number of blocks
     * with masked keys. */
    const uint8_t *block_sparse;
    int64_t sparse_block_size;
    int64_t sparse_random_blocks; /* number of "random" blocks (all block 0 in eval) */
} bend_attention_args;

/* Scratch bytes bend_op_attention needs for these args (depends on the longest window). */
size_t bend_op_attention_workspace(const bend_ops *o, const bend_attention_args *a);

/* Softmax attention, per window and head: out_i = sum_j softmax_j(s_ij) v_j with
 * s_ij = scale q_i.k_j + terms above, j over the window's keys (all of them: bidirectional). */
void bend_op_attention(const bend_ops *o, const bend_attention_args *a, void *workspace);

#endif
