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
