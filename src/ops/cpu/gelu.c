/* FP exception flags are never read here; without this GCC will not if-convert the clamps, and
 * GELU's loops (the hot element-wise code of training and of the encoders) stay scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "ops/cpu/gelu.h"

#include <cblas.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/* exp for x <= 88 without a libm call, so GELU's loops vectorise: Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2 / 2, a degree-7 Taylor polynomial (truncation < 4e-9), and 2^n
 * built in the exponent bits; below -87 (under FLT_MIN) it returns exp(-87). */
static inline float exp_small(float x)
{
    x = x < -87.0f ? -87.0f : x;
    /* round to nearest by the 1.5 * 2^23 trick: roundf is a library call on plain SSE2 */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* x with the low 12 mantissa bits cleared: its square is exact in float */
static inline float high_half(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= 0xFFFFF000u;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* Phi(x) = erfc(-x / sqrt 2) / 2 to about one float ulp, branch-free so the loops vectorise:
 * for |z| < 0.5 erf's Taylor series (8 terms, truncation < 1e-10); beyond, the Chebyshev fit of
 * erfc (Numerical Recipes' erfcc, relative error < 1.2e-7, which is < 3e-8 absolute on Phi
 * there). Going through erfc keeps Phi's relative accuracy in the negative tail, where
 * 1 + erf(x) cancels. Exact nn.GELU is the target: PyTorch's own float32 CPU kernel is ~1e-6
 * off for large |x|, and every ulp matters once LayerNorm divides by a small spread. */
static inline float normal_cdf(float x)
{
    float z = -x * 0.70710678118654752f;
    float a = __builtin_fabsf(z);
    float t = 1.0f / (1.0f + 0.5f * a);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    /* exp(p - a^2), a^2 = x^2 / 2, as exp(-xh^2 / 2) exp(p - (x^2 - xh^2) / 2) with xh = |x| cut
     * to 12 bits so xh^2 is exact: a rounded z or z^2 of ~8 would cost exp ~8-20 ulp in the
     * tail (fdlibm's erfc splits the same way) */
    float xa = __builtin_fabsf(x), xh = high_half(xa), xl = xa - xh;
    float c = t * exp_small(-0.5f * xh * xh) * exp_small(p - 0.5f * (2.0f * xh + xl) * xl);
    float tail = 0.5f * (z >= 0 ? c : 2.0f - c);
    /* erf(z) = 2/sqrt(pi) sum (-1)^n z^(2n+1) / (n! (2n+1)) */
    float q = z * z;
    float s = -1.0f / 75600;
    s = s * q + 1.0f / 9360;
    s = s * q - 1.0f / 1320;
    s = s * q + 1.0f / 216;
    s = s * q - 1.0f / 42;
    s = s * q + 1.0f / 10;
    s = s * q - 1.0f / 3;
    s = s * q + 1.0f;
    float centre = 0.5f - 0.56418958354775629f * z * s; /* (1 - erf(z)) / 2 */
    return a < 0.5f ? centre : tail;
}

static void gelu_forward_range(const float *x, int64_t n, float *y)
{
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * normal_cdf(x[i]);
}

static void gelu_backward_range(const float *x, const float *dy, int64_t n, float *dx)
{
    /* d/dx x Phi(x) = Phi(x) + x phi(x) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float vh = high_half(v), vl = v - vh; /* exp(-v^2 / 2) split as in normal_cdf */
        float pdf = 0.39894228040143268f * exp_small(-0.5f * vh * vh) *
                    exp_small(-0.5f * (2.0f * vh + vl) * vl);
        dx[i] = dy[i] * (normal_cdf(v) + v * pdf);
    }
}

/* HF's gelu_new, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with tanh|u| = (1 - t) / (1 + t),
 * t = exp(-2|u|) <= 1 (no overflow, branch-free); absolute error ~1e-7, as the float result needs. */
void bend_gelu_tanh_forward(const float *x, int64_t n, float *y)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float u = 0.79788456080286535588f * (v + 0.044715f * v * v * v);
        float t = exp_small(-2.0f * __builtin_fabsf(u));
        float th = (1.0f - t) / (1.0f + t);
        y[i] = 0.5f * v * (1.0f + (u < 0 ? -th : th));
    }
}

/* GELU is the costliest element-wise step (tens of millions of values per batch for gene
 * finding), so large arrays are split over as many threads as OpenBLAS uses: one setting
 * (OPENBLAS_NUM_THREADS) governs all of a rank's compute threads. */
typedef struct gelu_job {
    const float *x, *dy;
    float *out;
    int64_t n;
    pthread_t thread;
    bool started;
} gelu_job;

static void *gelu_job_run(void *arg)
{
    gelu_job *j = arg;
    if (j->dy)
        gelu_backward_range(j->x, j->dy, j->n, j->out);
    else
        gelu_forward_range(j->x, j->n, j->out);
    return NULL;
}

static void gelu_parallel(const float *x, const float *dy, int64_t n, float *out)
{
    enum { MAX_THREADS = 64, MIN_CHUNK = 1 << 18 };
    int64_t t = openblas_get_num_threads();
    if (t > MAX_THREADS) t = MAX_THREADS;
    if (t > n / MIN_CHUNK) t = n / MIN_CHUNK;
    if (t < 1) t = 1;
    /* chunks of a multiple of 16 values keep every thread's vector loop aligned alike */
    int64_t chunk = ((n + t - 1) / t + 15) / 16 * 16;
    gelu_job jobs[MAX_THREADS];
    int64_t used = 0;
    for (int64_t a = 0; a < n; a += chunk, used++) {
        gelu_job *j = &jobs[used];
        *j = (gelu_job){.x = x + a, .dy = dy ? dy + a : NULL, .out = out + a,
                        .n = a + chunk <= n ? chunk : n - a};
        /* the first chunk runs on this thread, below; a thread that cannot start runs here */
        if (used > 0) j->started = pthread_create(&j->thread, NULL, gelu_job_run, j) == 0;
        if (used > 0 && !j->started) gelu_job_run(j);
    }
    if (used > 0) gelu_job_run(&jobs[0]);
    for (int64_t k = 1; k < used; k++)
        if (jobs[k].started) pthread_join(jobs[k].thread, NULL);
}

void bend_gelu_forward(const float *x, int64_t n, float *y)
{
    gelu_parallel(x, NULL, n, y);
}

void bend_gelu_backward(const float *x, const float *dy, int64_t n, float *dx)
{
    gelu_parallel(x, dy, n, dx);
}

