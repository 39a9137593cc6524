/* FP exception flags are never read here; without this GCC will not if-convert the clamp in
 * exp_nonpos, and GELU's loops (the hot element-wise code) stay scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "train/layers.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

void bend_conv1d_pack(const float *w, int64_t cout, int64_t cin, int64_t K, float *wk)
{
    for (int64_t o = 0; o < cout; o++)
        for (int64_t c = 0; c < cin; c++)
            for (int64_t k = 0; k < K; k++) wk[(o * K + k) * cin + c] = w[(o * cin + c) * K + k];
}

void bend_conv1d_unpack_add(const float *dwk, int64_t cout, int64_t cin, int64_t K, float *grad)
{
    for (int64_t o = 0; o < cout; o++)
        for (int64_t c = 0; c < cin; c++)
            for (int64_t k = 0; k < K; k++)
                grad[(o * cin + c) * K + k] += dwk[(o * K + k) * cin + c];
}

int64_t bend_conv1d_col_size(int64_t lout, int64_t cin, int64_t K)
{
    return cin < 32 && K > 1 ? lout * K * cin : 0;
}

/* col[t, k * cin + c] = x[t + k * dil - pad_left, c], zero outside the input */
static void im2col(const float *x, int64_t L, int64_t cin, int64_t K, int64_t dil,
                   int64_t pad_left, int64_t lout, float *col)
{
    for (int64_t t = 0; t < lout; t++)
        for (int64_t k = 0; k < K; k++) {
            int64_t src = t + k * dil - pad_left;
            float *dst = col + (t * K + k) * cin;
            if (src >= 0 && src < L)
                memcpy(dst, x + src * cin, (size_t)cin * sizeof *dst);
            else
                memset(dst, 0, (size_t)cin * sizeof *dst);
        }
}

/* db += column sums of dy[n, C], summed in double: n reaches B * L (~10^6 rows), where a float
 * running sum would lose digits */
static void bias_grad(const float *dy, int64_t n, int64_t C, float *db)
{
    double s[C];
    for (int64_t c = 0; c < C; c++) s[c] = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = dy + i * C;
        for (int64_t c = 0; c < C; c++) s[c] += row[c];
    }
    for (int64_t c = 0; c < C; c++) db[c] += (float)s[c];
}

/* Output rows [t0, t1) of tap k read input rows t + off, off = k * dil - pad_left, all in range. */
static int tap_range(int64_t L, int64_t lout, int64_t off, int64_t *t0, int64_t *t1)
{
    int64_t a = off < 0 ? -off : 0;
    int64_t b = L - off < lout ? L - off : lout;
    *t0 = a;
    *t1 = b;
    return b > a;
}

void bend_conv1d_forward(const float *x, int64_t L, int64_t cin, const float *wk,
                         const float *bias, int64_t cout, int64_t K, int64_t dil,
                         int64_t pad_left, float *y, int64_t lout, float *col)
{
    int kc = (int)(K * cin);
    for (int64_t t = 0; t < lout; t++) memcpy(y + t * cout, bias, (size_t)cout * sizeof *y);
    if (col) {
        im2col(x, L, cin, K, dil, pad_left, lout, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)lout, (int)cout, kc, 1.0f, col,
                    kc, wk, kc, 1.0f, y, (int)cout);
        return;
    }
    for (int64_t k = 0; k < K; k++) {
        int64_t off = k * dil - pad_left, t0, t1;
        if (!tap_range(L, lout, off, &t0, &t1)) continue;
        /* tap k's weights: columns [k cin, (k + 1) cin) of the packed [cout, K cin] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), (int)cout, (int)cin,
                    1.0f, x + (t0 + off) * cin, (int)cin, wk + k * cin, kc, 1.0f, y + t0 * cout,
                    (int)cout);
    }
}

void bend_conv1d_backward(const float *x, int64_t L, int64_t cin, const float *wk,
                          const float *dy, int64_t cout, int64_t K, int64_t dil,
                          int64_t pad_left, int64_t lout, float *dwk, float *db, float *dx,
                          float *col)
{
    int kc = (int)(K * cin);
    bias_grad(dy, lout, cout, db);
    if (col) {
        im2col(x, L, cin, K, dil, pad_left, lout, col);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cout, kc, (int)lout, 1.0f, dy,
                    (int)cout, col, kc, 1.0f, dwk, kc);
        if (!dx) return;
        /* dcol = dy W, then each column block scattered back onto the input rows it read */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)lout, kc, (int)cout, 1.0f, dy,
                    (int)cout, wk, kc, 0.0f, col, kc);
        for (int64_t t = 0; t < lout; t++)
            for (int64_t k = 0; k < K; k++) {
                int64_t src = t + k * dil - pad_left;
                if (src < 0 || src >= L) continue;
                const float *from = col + (t * K + k) * cin;
                float *to = dx + src * cin;
                for (int64_t c = 0; c < cin; c++) to[c] += from[c];
            }
        return;
    }
    for (int64_t k = 0; k < K; k++) {
        int64_t off = k * dil - pad_left, t0, t1;
        if (!tap_range(L, lout, off, &t0, &t1)) continue;
        int n = (int)(t1 - t0);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cout, (int)cin, n, 1.0f,
                    dy + t0 * cout, (int)cout, x + (t0 + off) * cin, (int)cin, 1.0f, dwk + k * cin,
                    kc);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, (int)cin, (int)cout, 1.0f,
                        dy + t0 * cout, (int)cout, wk + k * cin, kc, 1.0f, dx + (t0 + off) * cin,
                        (int)cin);
    }
}

void bend_linear_forward(const float *x, int64_t n, int64_t in, const float *w, const float *b,
                         int64_t out, float *y)
{
    for (int64_t i = 0; i < n; i++) memcpy(y + i * out, b, (size_t)out * sizeof *y);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1.0f, x,
                (int)in, w, (int)in, 1.0f, y, (int)out);
}

void bend_linear_backward(const float *x, int64_t n, int64_t in, const float *w,
                          const float *dy, int64_t out, float *dw, float *db, float *dx)
{
    bias_grad(dy, n, out, db);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1.0f, dy,
                (int)out, x, (int)in, 1.0f, dw, (int)in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, 1.0f,
                    dy, (int)out, w, (int)in, 0.0f, dx, (int)in);
}

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

void bend_layernorm_forward(const float *x, int64_t n, int64_t C, const float *gamma,
                            const float *beta, double eps, float *y, float *mean, float *rstd)
{
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * C;
        double s = 0, ss = 0;
        for (int64_t c = 0; c < C; c++) s += r[c];
        double m = s / (double)C;
        for (int64_t c = 0; c < C; c++) ss += (r[c] - m) * (r[c] - m);
        double rs = 1.0 / sqrt(ss / (double)C + eps);
        mean[i] = (float)m;
        rstd[i] = (float)rs;
        float fm = (float)m, frs = (float)rs;
        float *o = y + i * C;
        for (int64_t c = 0; c < C; c++) o[c] = (r[c] - fm) * frs * gamma[c] + beta[c];
    }
}

void bend_layernorm_backward(const float *x, const float *dy, int64_t n, int64_t C,
                             const float *gamma, const float *mean, const float *rstd,
                             float *dgamma, float *dbeta, float *dx)
{
    double sg[C], sb[C]; /* dgamma, dbeta summed over rows in double */
    for (int64_t c = 0; c < C; c++) sg[c] = sb[c] = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * C, *g = dy + i * C;
        float m = mean[i], rs = rstd[i];
        double a = 0, b = 0; /* mean of dxhat, mean of dxhat * xhat */
        for (int64_t c = 0; c < C; c++) {
            float xh = (r[c] - m) * rs;
            float dxh = g[c] * gamma[c];
            sg[c] += (double)g[c] * xh;
            sb[c] += g[c];
            a += dxh;
            b += (double)dxh * xh;
        }
        float fa = (float)(a / (double)C), fb = (float)(b / (double)C);
        float *o = dx + i * C;
        for (int64_t c = 0; c < C; c++) {
            float xh = (r[c] - m) * rs;
            o[c] = rs * (g[c] * gamma[c] - fa - xh * fb);
        }
    }
    for (int64_t c = 0; c < C; c++) {
        dgamma[c] += (float)sg[c];
        dbeta[c] += (float)sb[c];
    }
}

void bend_batchnorm_forward(const float *x, int64_t n, int64_t C, const float *gamma,
                            const float *beta, float *running_mean, float *running_var,
                            int train, float *y, float *mean, float *rstd)
{
    const double eps = 1e-5, momentum = 0.1;
    if (train) {
        /* per-channel sums in double over rows, row-wise for contiguous access */
        double s[C], ss[C];
        for (int64_t c = 0; c < C; c++) s[c] = ss[c] = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *r = x + i * C;
            for (int64_t c = 0; c < C; c++) s[c] += r[c];
        }
        for (int64_t c = 0; c < C; c++) s[c] /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            const float *r = x + i * C;
            for (int64_t c = 0; c < C; c++) ss[c] += (r[c] - s[c]) * (r[c] - s[c]);
        }
        for (int64_t c = 0; c < C; c++) {
            double var = ss[c] / (double)n;
            mean[c] = (float)s[c];
            rstd[c] = (float)(1.0 / sqrt(var + eps));
            double unbiased = n > 1 ? ss[c] / (double)(n - 1) : var;
            running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * s[c]);
            running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
        }
    } else {
        for (int64_t c = 0; c < C; c++) {
            mean[c] = running_mean[c];
            rstd[c] = (float)(1.0 / sqrt((double)running_var[c] + eps));
        }
    }
    float scale[C], shift[C];
    for (int64_t c = 0; c < C; c++) {
        scale[c] = rstd[c] * gamma[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * C;
        float *o = y + i * C;
        for (int64_t c = 0; c < C; c++) o[c] = r[c] * scale[c] + shift[c];
    }
}

void bend_batchnorm_backward(const float *x, const float *dy, int64_t n, int64_t C,
                             const float *gamma, const float *mean, const float *rstd,
                             float *dgamma, float *dbeta, float *dx)
{
    double sg[C], sgx[C];
    for (int64_t c = 0; c < C; c++) sg[c] = sgx[c] = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * C, *g = dy + i * C;
        for (int64_t c = 0; c < C; c++) {
            sg[c] += g[c];
            sgx[c] += (double)g[c] * ((r[c] - mean[c]) * rstd[c]);
        }
    }
    float a[C], b[C];
    for (int64_t c = 0; c < C; c++) {
        dgamma[c] += (float)sgx[c];
        dbeta[c] += (float)sg[c];
        /* dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)) */
        a[c] = (float)(sg[c] / (double)n);
        b[c] = (float)(sgx[c] / (double)n);
    }
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * C, *g = dy + i * C;
        float *o = dx + i * C;
        for (int64_t c = 0; c < C; c++) {
            float xh = (r[c] - mean[c]) * rstd[c];
            o[c] = gamma[c] * rstd[c] * (g[c] - a[c] - xh * b[c]);
        }
    }
}

void bend_avgpool_forward(const float *x, int64_t L, int64_t C, int64_t w, float *y)
{
    int64_t lo = L / w;
    float inv = 1.0f / (float)w;
    for (int64_t j = 0; j < lo; j++) {
        float *o = y + j * C;
        memset(o, 0, (size_t)C * sizeof *o);
        for (int64_t i = 0; i < w; i++) {
            const float *r = x + (j * w + i) * C;
            for (int64_t c = 0; c < C; c++) o[c] += r[c];
        }
        for (int64_t c = 0; c < C; c++) o[c] *= inv;
    }
}

void bend_avgpool_backward(const float *dy, int64_t L, int64_t C, int64_t w, float *dx)
{
    int64_t lo = L / w;
    float inv = 1.0f / (float)w;
    for (int64_t j = 0; j < lo; j++)
        for (int64_t i = 0; i < w; i++) {
            float *o = dx + (j * w + i) * C;
            const float *g = dy + j * C;
            for (int64_t c = 0; c < C; c++) o[c] = g[c] * inv;
        }
    memset(dx + lo * w * C, 0, (size_t)((L - lo * w) * C) * sizeof *dx);
}

void bend_maxpool_relu_forward(const float *x, int64_t L, int64_t C, int64_t p, float *y,
                               int32_t *arg)
{
    int64_t lo = L / p;
    for (int64_t j = 0; j < lo; j++) {
        float *o = y + j * C;
        int32_t *a = arg + j * C;
        const float *r0 = x + j * p * C;
        for (int64_t c = 0; c < C; c++) {
            o[c] = r0[c] > 0 ? r0[c] : 0.0f;
            a[c] = (int32_t)(j * p);
        }
        for (int64_t i = 1; i < p; i++) {
            const float *r = x + (j * p + i) * C;
            for (int64_t c = 0; c < C; c++) {
                float v = r[c] > 0 ? r[c] : 0.0f;
                if (v > o[c]) {
                    o[c] = v;
                    a[c] = (int32_t)(j * p + i);
                }
            }
        }
    }
}

void bend_maxpool_relu_backward(const float *x, const float *dy, const int32_t *arg, int64_t L,
                                int64_t C, int64_t p, float *dx)
{
    memset(dx, 0, (size_t)(L * C) * sizeof *dx);
    int64_t lo = L / p;
    for (int64_t j = 0; j < lo; j++)
        for (int64_t c = 0; c < C; c++) {
            int64_t at = (int64_t)arg[j * C + c] * C + c;
            if (x[at] > 0) dx[at] += dy[j * C + c];
        }
}
