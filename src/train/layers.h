/* The layer kernels of the downstream networks, forward and backward, on channels-last data
 * (rows of C floats: x[n * C + c]). Internal to src/train. Backward functions ADD into parameter
 * gradients (PyTorch's accumulate semantics) and, where an input gradient is asked for, also add
 * into it, so callers zero what they own. Convolutions and linears go through cblas_sgemm; the
 * element-wise loops are plain C over contiguous arrays. */
#ifndef BEND_TRAIN_LAYERS_H
#define BEND_TRAIN_LAYERS_H

#include <stdint.h>

#include "ops/cpu/gelu.h"

/* Conv1d on one sample, channels last: x[L, cin] -> y[lout, cout], where output t reads input
 * t - pad_left + k * dil (zero outside [0, L)). wk is the weight repacked as [cout][K][cin]
 * (bend_conv1d_pack from PyTorch's [cout][cin][K]). Wide inputs go through K shifted GEMMs with
 * no copy of the input (an im2col buffer [L, K * cin] is gigabytes for 2560-wide embeddings);
 * narrow ones (one-hot, cin < 32, where a GEMM with inner size cin is inefficient) through an
 * im2col buffer `col` of bend_conv1d_col_size() floats, one GEMM with inner size K * cin.
 * col: NULL when bend_conv1d_col_size() is 0, else that workspace (contents not kept). */
int64_t bend_conv1d_col_size(int64_t lout, int64_t cin, int64_t K);
void bend_conv1d_pack(const float *w, int64_t cout, int64_t cin, int64_t K, float *wk);
void bend_conv1d_forward(const float *x, int64_t L, int64_t cin, const float *wk,
                         const float *bias, int64_t cout, int64_t K, int64_t dil,
                         int64_t pad_left, float *y, int64_t lout, float *col);
/* dwk (packed layout) and db accumulate; dx (may be NULL) accumulates. */
void bend_conv1d_backward(const float *x, int64_t L, int64_t cin, const float *wk,
                          const float *dy, int64_t cout, int64_t K, int64_t dil,
                          int64_t pad_left, int64_t lout, float *dwk, float *db, float *dx,
                          float *col);
/* grad[cout][cin][K] += dwk[cout][K][cin] */
void bend_conv1d_unpack_add(const float *dwk, int64_t cout, int64_t cin, int64_t K, float *grad);

/* y[n, out] = x[n, in] W^T + b, W [out][in] (nn.Linear). */
void bend_linear_forward(const float *x, int64_t n, int64_t in, const float *w, const float *b,
                         int64_t out, float *y);
/* dw, db accumulate; dx (may be NULL) is OVERWRITTEN (dx = dy W). */
void bend_linear_backward(const float *x, int64_t n, int64_t in, const float *w,
                          const float *dy, int64_t out, float *dw, float *db, float *dx);

/* nn.GELU() (exact, erf): bend_gelu_forward / bend_gelu_backward in ops/cpu/gelu.h, shared with
 * the LM encoders. */

/* nn.LayerNorm(C) over each row (eps given); mean and rstd per row are saved for backward.
 * Backward: dgamma, dbeta accumulate; dx is OVERWRITTEN. */
void bend_layernorm_forward(const float *x, int64_t n, int64_t C, const float *gamma,
                            const float *beta, double eps, float *y, float *mean, float *rstd);
void bend_layernorm_backward(const float *x, const float *dy, int64_t n, int64_t C,
                             const float *gamma, const float *mean, const float *rstd,
                             float *dgamma, float *dbeta, float *dx);

/* nn.BatchNorm1d(C) on rows (statistics over all n rows per channel). train: batch statistics
 * (biased variance to normalise; running_var gets the unbiased one, momentum 0.1), saved mean /
 * rstd per channel; eval: running statistics. Backward of train mode; dx OVERWRITTEN. */
void bend_batchnorm_forward(const float *x, int64_t n, int64_t C, const float *gamma,
                            const float *beta, float *running_mean, float *running_var,
                            int train, float *y, float *mean, float *rstd);
void bend_batchnorm_backward(const float *x, const float *dy, int64_t n, int64_t C,
                             const float *gamma, const float *mean, const float *rstd,
                             float *dgamma, float *dbeta, float *dx);

/* AvgPool1d(w, w) / MaxPool1d(p, p) along the length of one sample x[L, C] -> y[L / w, C]
 * (the remainder is dropped). Max keeps the first maximum's row (PyTorch's tie rule) in arg. */
void bend_avgpool_forward(const float *x, int64_t L, int64_t C, int64_t w, float *y);
void bend_avgpool_backward(const float *dy, int64_t L, int64_t C, int64_t w, float *dx);
void bend_maxpool_relu_forward(const float *x, int64_t L, int64_t C, int64_t p, float *y,
                               int32_t *arg);
/* dx OVERWRITTEN (zeros where no max was taken) with the ReLU's gradient folded in: the
 * gradient reaches row arg only where x there is > 0. */
void bend_maxpool_relu_backward(const float *x, const float *dy, const int32_t *arg, int64_t L,
                                int64_t C, int64_t p, float *dx);

#endif
