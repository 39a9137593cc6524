// CUDA backend: the position-wise ops and rotary embedding. Each rounds as its CPU twin in
// src/ops/cpu/ops_cpu_pointwise.c does: the transcendental functions in double, and explicit
// _rn intrinsics where the CPU does a separate multiply and add (nvcc would fuse them into an
// FMA, which rounds once instead of twice).
#include <math.h>

#include "ops_cuda_internal.cuh"

#define GRID_STRIDE(i, n)                                                                          \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);                      \
         i += (int64_t)gridDim.x * blockDim.x)

enum { LN_THREADS = 256 };

// sum over the block in double; every thread gets the total
__device__ double block_sum(double v, double *sh)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); // sh may still be read from the previous call
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    double t = 0.0;
    for (int w = 0; w < (int)(blockDim.x / 32); w++) t += sh[w];
    return t;
}

// one block per row: the CPU's two passes in double (mean, then the squared deviations)
__global__ void layernorm_rows(int64_t n, const float *x, const float *gamma, const float *beta,
                               float eps, float *y)
{
    __shared__ double sh[LN_THREADS / 32];
    const float *xr = x + blockIdx.x * n;
    float *yr = y + blockIdx.x * n;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
    double mean = block_sum(s, sh) / (double)n;
    double v = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        double d = xr[i] - mean;
        v += d * d;
    }
    double var = block_sum(v, sh) / (double)n;
    float inv = (float)(1.0 / sqrt(var + (double)eps));
    float m = (float)mean;
    // each element is read and written by the same thread: y may equal x
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float t = __fmul_rn(__fsub_rn(xr[i], m), inv);
        if (gamma) t = __fmul_rn(t, gamma[i]);
        if (beta) t = __fadd_rn(t, beta[i]);
        yr[i] = t;
    }
}

extern "C" void bend_cuda_op_layernorm(const bend_ops *o, int64_t rows, int64_t n, const float *x,
                                       const float *gamma, const float *beta, float eps, float *y)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (rows <= 0 || n <= 0 || !bend_cuda_enter(c, "layernorm")) return;
    for (int64_t r0 = 0; r0 < rows; r0 += 2147483647LL) { // gridDim.x limit
        int64_t nr = rows - r0 < 2147483647LL ? rows - r0 : 2147483647LL;
        layernorm_rows<<<(unsigned)nr, LN_THREADS, 0, c->stream>>>(n, x + r0 * n, gamma, beta,
                                                                   eps, y + r0 * n);
        BEND_CUDA_LAUNCHED(c, "layernorm");
    }
}

__device__ __forceinline__ float act_one(int act, float x)
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
    default: return x;
    }
}

__global__ void activation_k(int act, int64_t n, float *x)
{
    GRID_STRIDE(i, n) x[i] = act_one(act, x[i]);
}

extern "C" void bend_cuda_op_activation(const bend_ops *o, bend_op_act act, int64_t n, float *x)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (act == BEND_OP_ACT_IDENTITY || n <= 0 || !bend_cuda_enter(c, "activation")) return;
    activation_k<<<bend_cuda_blocks(n, 256), 256, 0, c->stream>>>((int)act, n, x);
    BEND_CUDA_LAUNCHED(c, "activation");
}

__global__ void glu_k(int act, int64_t rows, int64_t inner, const float *in, float *out)
{
    GRID_STRIDE(i, rows * inner) {
        int64_t t = i / inner, j = i % inner;
        const float *a = in + t * 2 * inner;
        out[i] = __fmul_rn(act_one(act, a[j]), a[inner + j]);
    }
}

extern "C" void bend_cuda_op_glu(const bend_ops *o, bend_op_act act, int64_t rows, int64_t inner,
                                 const float *in, float *out)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (rows <= 0 || inner <= 0 || !bend_cuda_enter(c, "glu")) return;
    glu_k<<<bend_cuda_blocks(rows * inner, 256), 256, 0, c->stream>>>((int)act, rows, inner, in,
                                                                       out);
    BEND_CUDA_LAUNCHED(c, "glu");
}

__global__ void add_k(int64_t n, const float *x, float *y)
{
    GRID_STRIDE(i, n) y[i] += x[i];
}

extern "C" void bend_cuda_op_add(const bend_ops *o, int64_t n, const float *x, float *y)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (n <= 0 || !bend_cuda_enter(c, "add")) return;
    add_k<<<bend_cuda_blocks(n, 256), 256, 0, c->stream>>>(n, x, y);
    BEND_CUDA_LAUNCHED(c, "add");
}

__global__ void scale_k(int64_t n, float s, float *x)
{
    GRID_STRIDE(i, n) x[i] *= s;
}

extern "C" void bend_cuda_op_scale(const bend_ops *o, int64_t n, float s, float *x)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (n <= 0 || !bend_cuda_enter(c, "scale")) return;
    scale_k<<<bend_cuda_blocks(n, 256), 256, 0, c->stream>>>(n, s, x);
    BEND_CUDA_LAUNCHED(c, "scale");
}

__global__ void gather_k(int64_t rows, int64_t n, const int32_t *idx, const float *table,
                         float beta, float *out)
{
    GRID_STRIDE(i, rows * n) {
        float src = table[(int64_t)idx[i / n] * n + i % n];
        out[i] = beta == 0.0f ? src : __fadd_rn(__fmul_rn(beta, out[i]), src);
    }
}

extern "C" void bend_cuda_op_gather_rows(const bend_ops *o, int64_t rows, int64_t n,
                                         const int32_t *idx, const float *table, float beta,
                                         float *out)
{
    bend_cuda_impl *c = cuda_impl(o);
    if (rows <= 0 || n <= 0 || !bend_cuda_enter(c, "gather_rows")) return;
    gather_k<<<bend_cuda_blocks(rows * n, 256), 256, 0, c->stream>>>(rows, n, idx, table, beta,
                                                                      out);
    BEND_CUDA_LAUNCHED(c, "gather_rows");
}

// one thread per (row, i < half): the angle as float32 like torch, cos / sin in double
__global__ void rotary_k(int n_windows, const int64_t *offs, const float *inv_freq, int64_t half,
                         int64_t n_heads, int64_t head_dim, float *x, int64_t ld)
{
    int64_t T = offs[n_windows];
    GRID_STRIDE(g, T * half) {
        int64_t t = g / half, i = g % half;
        int lo = 0, hi = n_windows - 1; // the window holding row t: last w with offs[w] <= t
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (offs[mid] <= t) lo = mid; else hi = mid - 1;
        }
        float pos = (float)(t - offs[lo]);
        float theta = __fmul_rn(pos, inv_freq[i]);
        float c = (float)cos((double)theta), s = (float)sin((double)theta);
        float *row = x + t * ld;
        for (int64_t h = 0; h < n_heads; h++) {
            float *xh = row + h * head_dim;
            float a = xh[i], b = xh[i + half];
            xh[i] = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
            xh[i + half] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
        }
    }
}

extern "C" void bend_cuda_op_rotary(const bend_ops *o, int n_windows, const int64_t *offsets,
                                    int64_t n_heads, int64_t head_dim, double base, float *x,
                                    int64_t ld)
{
    bend_cuda_impl *c = cuda_impl(o);
    int64_t half = head_dim / 2;
    if (n_windows <= 0 || half <= 0 || half > 512 || !bend_cuda_enter(c, "rotary")) return;
    int64_t T = offsets[n_windows] - offsets[0];
    if (T <= 0) return;
    // offsets (made relative to the first row, as the CPU indexes x by offsets) and the
    // frequencies, computed here with the host's powf exactly as the CPU does, in one upload
    size_t n_off = (size_t)n_windows + 1, bytes = n_off * sizeof(int64_t) + (size_t)half * 4;
    if (bytes > c->cap_hstage) {
        void *p = realloc(c->h_stage, bytes);
        if (!p) {
            bend_cuda_note(c, "rotary", "out of host memory staging the window offsets");
            return;
        }
        c->h_stage = p;
        c->cap_hstage = bytes;
    }
    int64_t *ho = (int64_t *)c->h_stage;
    float *hf = (float *)(ho + n_off);
    for (size_t w = 0; w < n_off; w++) ho[w] = offsets[w] - offsets[0];
    for (int64_t i = 0; i < half; i++)
        hf[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)head_dim);
    int64_t *d = (int64_t *)bend_cuda_stage(c, c->h_stage, bytes, "rotary");
    if (!d) return;
    rotary_k<<<bend_cuda_blocks(T * half, 256), 256, 0, c->stream>>>(
        n_windows, d, (const float *)(d + n_off), half, n_heads, head_dim, x + offsets[0] * ld,
        ld);
    BEND_CUDA_LAUNCHED(c, "rotary");
}
