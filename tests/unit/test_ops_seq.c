/* The sequence ops of ops/ops_seq.h against their defining formulas evaluated directly (in
 * double, O(L^2) where the op uses an FFT) on awkward sizes: windows of 1 and 2 rows, odd
 * lengths, channel counts that leave a partial FFT block, kernels of even and odd size, an LSTM
 * window that straddles the input-projection row block, in-place calls. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "ops/ops_seq.h"

static uint64_t rng = 88172645463325252ull;
static float urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = urand();
    return p;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || isnan(d)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return den > 0 ? num / den : num;
}

static void test_causal_dwconv(void **state)
{
    (void)state;
    const int64_t offs[] = {0, 1, 3, 10, 10, 43}; /* lengths 1, 2, 7, 0, 33 */
    int nw = 5;
    int64_t T = offs[nw];
    /* kernels 1..4 and 17 (the op's plain-loop path), 5 and 70 channels (two chunks of 64) */
    const int64_t kernels[] = {1, 2, 3, 4, 17}, chans[] = {5, 70};
    for (int ki = 0; ki < 10; ki++) {
        int64_t K = kernels[ki % 5], C = chans[ki / 5], ld = C + 2; /* ld > C: honoured */
        float *x = rand_buf((size_t)(T * ld)), *w = rand_buf((size_t)(C * K)),
              *b = rand_buf((size_t)C);
        float *y = malloc((size_t)(T * C) * sizeof *y);
        double *ref = malloc((size_t)(T * C) * sizeof *ref);
        for (int win = 0; win < nw; win++)
            for (int64_t t = 0; t < offs[win + 1] - offs[win]; t++)
                for (int64_t c = 0; c < C; c++) {
                    double acc = b[c];
                    for (int64_t j = 0; j < K; j++) {
                        int64_t s = t - (K - 1) + j;
                        if (s >= 0) acc += (double)w[c * K + j] * x[(offs[win] + s) * ld + c];
                    }
                    ref[(offs[win] + t) * C + c] = acc;
                }
        bend_op_causal_dwconv(bend_ops_cpu(), nw, offs, C, K, w, b, x, ld, y, C);
        assert_true(rel_err(y, ref, (size_t)(T * C)) < 1e-6);
        /* in place, same leading dimension */
        bend_op_causal_dwconv(bend_ops_cpu(), nw, offs, C, K, w, b, x, ld, x, ld);
        for (int64_t r = 0; r < T; r++)
            for (int64_t c = 0; c < C; c++) y[r * C + c] = x[r * ld + c];
        assert_true(rel_err(y, ref, (size_t)(T * C)) < 1e-6);
        free(x), free(w), free(b), free(y), free(ref);
    }
}

/* direct causal convolution + skip, then gate */
static void fft_ref(int64_t L, int64_t C, const float *k, const float *x, const float *dskip,
                    const float *gate, double *ref)
{
    for (int64_t t = 0; t < L; t++)
        for (int64_t c = 0; c < C; c++) {
            double acc = 0;
            for (int64_t j = 0; j <= t; j++) acc += (double)k[j * C + c] * x[(t - j) * C + c];
            if (dskip) acc += (double)dskip[c] * x[t * C + c];
            if (gate) acc *= gate[t * C + c];
            ref[t * C + c] = acc;
        }
}

static void test_fftconv(void **state)
{
    (void)state;
    const int64_t lengths[] = {1, 2, 3, 7, 33, 66, 101, 1000, 4099};
    const int64_t channels[] = {1, 3, 37};
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++)
        for (size_t ci = 0; ci < sizeof channels / sizeof *channels; ci++) {
            int64_t L = lengths[li], C = channels[ci];
            if (L > 1000 && C > 3) continue; /* the direct reference is O(L^2 C) */
            bend_error err = {0};
            bend_fftconv *f = NULL;
            assert_int_equal(bend_fftconv_create(bend_ops_cpu(), L, &f, &err), BEND_OK);
            assert_int_equal(bend_fftconv_length(f), L);
            assert_true(bend_fftconv_fft_size(f) >= 2 * L - 1);
            int64_t sf = bend_fftconv_spectrum_floats(f);
            /* a decaying filter, like Hyena's modulated ones */
            float *k = rand_buf((size_t)(L * C)), *x = rand_buf((size_t)(L * C)),
                  *g = rand_buf((size_t)(L * C)), *d = rand_buf((size_t)C);
            for (int64_t t = 0; t < L; t++)
                for (int64_t c = 0; c < C; c++) k[t * C + c] *= expf(-0.01f * (float)t);
            float *spec = malloc((size_t)(C * sf) * sizeof *spec);
            float *y = malloc((size_t)(L * C) * sizeof *y);
            double *ref = malloc((size_t)(L * C) * sizeof *ref);
            bend_fftconv_filter_spectrum(f, C, k, C, spec);

            fft_ref(L, C, k, x, NULL, NULL, ref);
            bend_fftconv_apply(f, C, spec, NULL, x, C, NULL, 0, y, C);
            assert_true(rel_err(y, ref, (size_t)(L * C)) < 1e-5);

            fft_ref(L, C, k, x, d, g, ref);
            bend_fftconv_apply(f, C, spec, d, x, C, g, C, y, C);
            assert_true(rel_err(y, ref, (size_t)(L * C)) < 1e-5);
            /* in place */
            bend_fftconv_apply(f, C, spec, d, x, C, g, C, x, C);
            assert_true(rel_err(x, ref, (size_t)(L * C)) < 1e-5);
            bend_fftconv_destroy(f);
            free(k), free(x), free(g), free(d), free(spec), free(y), free(ref);
        }
    bend_error err = {0};
    bend_fftconv *f = NULL;
    assert_int_equal(bend_fftconv_create(bend_ops_cpu(), 0, &f, &err), BEND_ERR_INVALID);
    assert_null(f);
}

static void test_dilated_conv1d(void **state)
{
    (void)state;
    const int64_t offs[] = {0, 1, 6, 36, 38}; /* lengths 1, 5, 30, 2 */
    int nw = 4;
    int64_t T = offs[nw], Cin = 5, Cout = 3;
    const int64_t kernels[] = {1, 4, 9}, dilations[] = {1, 2, 3, 32};
    for (int ki = 0; ki < 3; ki++)
        for (int di = 0; di < 4; di++) {
            int64_t K = kernels[ki], dil = dilations[di], pad = dil * (K - 1) / 2;
            float *x = rand_buf((size_t)(T * Cin)), *w = rand_buf((size_t)(Cout * Cin * K)),
                  *b = rand_buf((size_t)Cout);
            float *wp = malloc((size_t)(Cout * Cin * K) * sizeof *wp);
            float *y = malloc((size_t)(T * Cout) * sizeof *y);
            double *ref = malloc((size_t)(T * Cout) * sizeof *ref);
            for (int win = 0; win < nw; win++) {
                int64_t L = offs[win + 1] - offs[win];
                for (int64_t t = 0; t < L; t++)
                    for (int64_t o = 0; o < Cout; o++) {
                        double acc = b[o];
                        for (int64_t j = 0; j < K; j++) {
                            int64_t s = t - pad + j * dil;
                            if (s < 0 || s >= L) continue;
                            for (int64_t c = 0; c < Cin; c++)
                                acc += (double)w[(o * Cin + c) * K + j] *
                                       x[(offs[win] + s) * Cin + c];
                        }
                        ref[(offs[win] + t) * Cout + o] = acc;
                    }
            }
            bend_conv1d_pack_weight(Cout, Cin, K, w, wp);
            bend_op_dilated_conv1d(bend_ops_cpu(), nw, offs, Cin, Cout, K, dil, pad, wp, b, x, y);
            assert_true(rel_err(y, ref, (size_t)(T * Cout)) < 1e-6);
            free(x), free(w), free(b), free(wp), free(y), free(ref);
        }
}

static double sigm(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static void test_lstm(void **state)
{
    (void)state;
    /* the last window crosses the BEND_LSTM_ROW_BLOCK boundary of the input projection */
    const int64_t offs[] = {0, 1, 4, 4, 30, 30 + BEND_LSTM_ROW_BLOCK + 7};
    int nw = 5;
    int64_t T = offs[nw], in = 3, H = 2, G = 4 * H;
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    for (int64_t r = 0; r < T; r++) ids[r] = (int32_t)(r * 7 % 5);
    for (int order = 0; order < 2; order++)
        for (int64_t reset = -1; reset <= 2; reset += 3) {
            float *x = rand_buf((size_t)(T * in)), *wi = rand_buf((size_t)(G * in)),
                  *wh = rand_buf((size_t)(G * H)), *bi = rand_buf((size_t)G),
                  *bh = rand_buf((size_t)G);
            float *y = malloc((size_t)(T * H) * sizeof *y);
            double *ref = malloc((size_t)(T * H) * sizeof *ref);
            for (int win = 0; win < nw; win++) {
                double h[8] = {0}, c[8] = {0}, p[32];
                for (int64_t t = 0; t < offs[win + 1] - offs[win]; t++) {
                    int64_t r = offs[win] + t;
                    if (reset >= 0 && t >= 2 && ids[r - 1] == reset) {
                        memset(h, 0, sizeof h), memset(c, 0, sizeof c);
                        for (int64_t j = 0; j < H; j++) ref[(r - 1) * H + j] = 0;
                    }
                    for (int64_t g = 0; g < G; g++) {
                        double acc = (double)bi[g] + bh[g];
                        for (int64_t j = 0; j < in; j++) acc += (double)wi[g * in + j] * x[r * in + j];
                        for (int64_t j = 0; j < H; j++) acc += (double)wh[g * H + j] * h[j];
                        p[g] = acc;
                    }
                    for (int64_t j = 0; j < H; j++) {
                        double ig = sigm(p[j]), fg = sigm(p[H + j]);
                        double gg = order ? tanh(p[3 * H + j]) : tanh(p[2 * H + j]);
                        double og = order ? sigm(p[2 * H + j]) : sigm(p[3 * H + j]);
                        c[j] = fg * c[j] + ig * gg;
                        h[j] = og * tanh(c[j]);
                        ref[r * H + j] = h[j];
                    }
                }
            }
            size_t ws = bend_op_lstm_workspace(bend_ops_cpu(), nw, offs, H);
            void *work = malloc(ws);
            bend_op_lstm(bend_ops_cpu(), nw, offs, in, H,
                         order ? BEND_LSTM_GATES_IFOG : BEND_LSTM_GATES_IFGO, x, in, wi, bi, wh, bh,
                         ids, reset, y, H, work);
            assert_true(rel_err(y, ref, (size_t)(T * H)) < 1e-5);
            free(work), free(x), free(wi), free(wh), free(bi), free(bh), free(y), free(ref);
        }
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_causal_dwconv),
        cmocka_unit_test(test_fftconv),
        cmocka_unit_test(test_dilated_conv1d),
        cmocka_unit_test(test_lstm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
