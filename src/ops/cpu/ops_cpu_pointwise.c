/* CPU backend: the position-wise ops (LayerNorm, activations, GLU, residual add, embedding gather)
 * and rotary embedding. Plain loops; the compiler vectorizes what it can. */
#include <math.h>
#include <string.h>

#include "ops/cpu/gelu.h"
#include "ops/ops.h"
#include "ops/ops_cuda_entry.h"

void bend_op_layernorm(const bend_ops *o, int64_t rows, int64_t n, const float *x,
                       const float *gamma, const float *beta, float eps, float *y)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_layernorm(o, rows, n, x, gamma, beta, eps, y));
    (void)o;
    for (int64_t t = 0; t < rows; t++) {
        const float *xr = x + t * n;
        float *yr = y + t * n;
        /* two passes in double: the variance of values far from 0 stays exact */
        double mean = 0.0;
        for (int64_t i = 0; i < n; i++) mean += xr[i];
        mean /= (double)n;
        double var = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double d = xr[i] - mean;
            var += d * d;
        }
        var /= (double)n;
        float inv = (float)(1.0 / sqrt(var + (double)eps));
        float m = (float)mean;
        for (int64_t i = 0; i < n; i++) {
            float v = (xr[i] - m) * inv;
            if (gamma) v *= gamma[i];
            if (beta) v += beta[i];
            yr[i] = v;
        }
    }
}

static inline float act_one(bend_op_act act, float x)
{
    switch (act) {
    case BEND_OP_ACT_GELU: return (float)(0.5 * x * (1.0 + erf(x * 0.70710678118654752440)));
    case BEND_OP_ACT_GELU_TANH: {
        double xd = x;
        return (float)(0.5 * xd *
                       (1.0 + tanh(0.79788456080286535588 * (xd + 0.044715 * xd * xd * xd))));
    }
    case BEND_OP_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case BEND_OP_ACT_SILU: return (float)(x / (1.0 + exp(-(double)x)));
    case BEND_OP_ACT_IDENTITY:
    default: return x;
    }
}

void bend_op_activation(const bend_ops *o, bend_op_act act, int64_t n, float *x)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_activation(o, act, n, x));
    (void)o;
    if (act == BEND_OP_ACT_IDENTITY) return;
    if (act == BEND_OP_ACT_GELU) { /* the hottest ones: vectorised (erf: threaded too) */
        bend_gelu_forward(x, n, x);
        return;
    }
    if (act == BEND_OP_ACT_GELU_TANH) {
        bend_gelu_tanh_forward(x, n, x);
        return;
    }
    for (int64_t i = 0; i < n; i++) x[i] = act_one(act, x[i]);
}

void bend_op_glu(const bend_ops *o, bend_op_act act, int64_t rows, int64_t inner,
                 const float *in, float *out)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_glu(o, act, rows, inner, in, out));
    (void)o;
    for (int64_t t = 0; t < rows; t++) {
        const float *a = in + t * 2 * inner, *b = a + inner;
        float *y = out + t * inner;
        for (int64_t j = 0; j < inner; j++) y[j] = act_one(act, a[j]) * b[j];
    }
}

void bend_op_add(const bend_ops *o, int64_t n, const float *x, float *y)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_add(o, n, x, y));
    (void)o;
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void bend_op_scale(const bend_ops *o, int64_t n, float s, float *x)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_scale(o, n, s, x));
    (void)o;
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

void bend_op_gather_rows(const bend_ops *o, int64_t rows, int64_t n, const int32_t *idx,
                         const float *table, float beta, float *out)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_gather_rows(o, rows, n, idx, table, beta, out));
    (void)o;
    for (int64_t t = 0; t < rows; t++) {
        const float *src = table + (int64_t)idx[t] * n;
        float *dst = out + t * n;
        if (beta == 0.0f)
            memcpy(dst, src, (size_t)n * sizeof *dst);
        else
            for (int64_t i = 0; i < n; i++) dst[i] = beta * dst[i] + src[i];
    }
}

void bend_op_rotary(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t n_heads,
                    int64_t head_dim, double base, float *x, int64_t ld)
{
    BEND_OPS_DISPATCH(o, bend_cuda_op_rotary(o, n_windows, offsets, n_heads, head_dim, base, x, ld));
    (void)o;
    int64_t half = head_dim / 2;
    float inv_freq[512];
    if (half > 512) return; /* no model has heads wider than 1024 */
    /* float32 throughout, as torch builds the table: 1 / base ** (arange(0, hd, 2).float() / hd) */
    for (int64_t i = 0; i < half; i++)
        inv_freq[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)head_dim);
    for (int w = 0; w < n_windows; w++) {
        for (int64_t t = offsets[w]; t < offsets[w + 1]; t++) {
            float pos = (float)(t - offsets[w]);
            float *row = x + t * ld;
            for (int64_t i = 0; i < half; i++) {
                float theta = pos * inv_freq[i];
                float c = (float)cos((double)theta), s = (float)sin((double)theta);
                for (int64_t h = 0; h < n_heads; h++) {
                    float *xh = row + h * head_dim;
                    float a = xh[i], b = xh[i + half];
                    xh[i] = a * c - b * s;
                    xh[i + half] = b * c + a * s;
                }
            }
        }
    }
}
