/* CPU backend: the convolutions of ops_seq.h that need no FFT (Hyena's short causal depthwise
 * filter, the ConvNets' dilated convolution as shifted GEMMs). */
#include <string.h>

#include "ops/ops_seq.h"

/* Channels per chunk: the chunk's taps sit tap-major on the stack, so the inner loop over
 * channels reads x, w and the accumulator contiguously (vectorizable). */
enum { DW_CHUNK = 64, DW_MAX_K = 16 };

void bend_op_causal_dwconv(const bend_ops *o, int n_windows, const int64_t *offsets, int64_t C,
                           int64_t K, const float *w, const float *bias, const float *x,
                           int64_t ldx, float *y, int64_t ldy)
{
    (void)o;
    if (K > DW_MAX_K) { /* plain loops; no model here uses such a kernel */
        for (int win = 0; win < n_windows; win++) {
            int64_t r0 = offsets[win], L = offsets[win + 1] - r0;
            for (int64_t t = L - 1; t >= 0; t--) /* in place: see below */
                for (int64_t c = 0; c < C; c++) {
                    float acc = bias ? bias[c] : 0.0f;
                    for (int64_t j = K - 1 - t > 0 ? K - 1 - t : 0; j < K; j++)
                        acc += w[c * K + j] * x[(r0 + t - (K - 1) + j) * ldx + c];
                    y[(r0 + t) * ldy + c] = acc;
                }
        }
        return;
    }
    float wt[DW_MAX_K][DW_CHUNK], acc[DW_CHUNK];
    for (int64_t c0 = 0; c0 < C; c0 += DW_CHUNK) {
        int64_t nc = C - c0 < DW_CHUNK ? C - c0 : DW_CHUNK;
        for (int64_t j = 0; j < K; j++)
            for (int64_t c = 0; c < nc; c++) wt[j][c] = w[(c0 + c) * K + j];
        for (int win = 0; win < n_windows; win++) {
            int64_t r0 = offsets[win], L = offsets[win + 1] - r0;
            /* Last row first: row t reads rows t-K+1 .. t only, so going down keeps every row
             * it reads unwritten and y may be x. */
            for (int64_t t = L - 1; t >= 0; t--) {
                for (int64_t c = 0; c < nc; c++) acc[c] = bias ? bias[c0 + c] : 0.0f;
                for (int64_t j = K - 1 - t > 0 ? K - 1 - t : 0; j < K; j++) {
                    const float *xr = x + (r0 + t - (K - 1) + j) * ldx + c0;
                    for (int64_t c = 0; c < nc; c++) acc[c] += wt[j][c] * xr[c];
                }
                memcpy(y + (r0 + t) * ldy + c0, acc, (size_t)nc * sizeof *acc);
            }
        }
    }
}

void bend_conv1d_pack_weight(int64_t Cout, int64_t Cin, int64_t K, const float *w, float *wp)
{
    for (int64_t oc = 0; oc < Cout; oc++)
        for (int64_t c = 0; c < Cin; c++)
            for (int64_t j = 0; j < K; j++)
                wp[(j * Cout + oc) * Cin + c] = w[(oc * Cin + c) * K + j];
}

void bend_op_dilated_conv1d(const bend_ops *o, int n_windows, const int64_t *offsets,
                            int64_t Cin, int64_t Cout, int64_t K, int64_t dilation,
                            int64_t pad_left, const float *wp, const float *bias, const float *x,
                            float *y)
{
    int64_t r0 = offsets[0], rows = offsets[n_windows] - r0;
    for (int64_t t = 0; t < rows; t++) {
        float *yr = y + (r0 + t) * Cout;
        if (bias)
            memcpy(yr, bias, (size_t)Cout * sizeof *yr);
        else
            memset(yr, 0, (size_t)Cout * sizeof *yr);
    }
    /* Tap j reads row t + s (s = j*dilation - pad_left) of the same window: a row-shifted view of
     * x, so each tap is one GEMM over the rows whose source row lies inside the window. */
    for (int win = 0; win < n_windows; win++) {
        int64_t w0 = offsets[win], L = offsets[win + 1] - w0;
        for (int64_t j = 0; j < K; j++) {
            int64_t s = j * dilation - pad_left;
            int64_t t0 = s < 0 ? -s : 0, t1 = s > 0 ? L - s : L;
            if (t1 <= t0) continue;
            bend_op_gemm(o, false, true, t1 - t0, Cout, Cin, 1.0f, x + (w0 + t0 + s) * Cin, Cin,
                         wp + j * Cout * Cin, Cin, 1.0f, y + (w0 + t0) * Cout, Cout);
        }
    }
}
