/* The CPU compute ops (ops/ops.h) against direct formulas evaluated here in double, on awkward
 * sizes: odd lengths, one token, a window longer than the attention's query block, many heads,
 * strided (fused-QKV) operands. Block-sparse attention is checked against an explicit HF-style
 * key list in which block 0 really appears 1 + r times, not against the +ln(1+r) shortcut the
 * op uses; rotary against its formula and against the property it exists for (q.k depends only
 * on the distance). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static uint64_t rng_state = 88172645463325252ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *rand_vec(int64_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++) v[i] = frand();
    return v;
}

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol * (1.0 + fabs(want))))
        fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

static void test_gemm_transposes(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    int64_t m = 7, n = 5, k = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
            float *a = rand_vec((ta ? k : m) * lda), *b = rand_vec((tb ? n : k) * ldb);
            float *c = rand_vec(m * ldc), *c0 = malloc((size_t)(m * ldc) * sizeof *c0);
            memcpy(c0, c, (size_t)(m * ldc) * sizeof *c);
            bend_op_gemm(o, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    double s = 0;
                    for (int64_t p = 0; p < k; p++)
                        s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                             (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    assert_close(c[i * ldc + j], 0.5 * s + 2.0 * c0[i * ldc + j], 1e-5, "gemm");
                }
            /* the padding columns of C are untouched */
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = n; j < ldc; j++) assert_true(c[i * ldc + j] == c0[i * ldc + j]);
            free(a), free(b), free(c), free(c0);
        }
}

static void test_linear(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    int64_t rows = 5, in = 9, out = 4, ldx = 11, ldy = 6;
    float *x = rand_vec(rows * ldx), *w = rand_vec(out * in), *b = rand_vec(out);
    for (int with_bias = 0; with_bias < 2; with_bias++)
        for (int acc = 0; acc < 2; acc++) {
            float *y = rand_vec(rows * ldy), *y0 = malloc((size_t)(rows * ldy) * sizeof *y0);
            memcpy(y0, y, (size_t)(rows * ldy) * sizeof *y);
            bend_op_linear(o, rows, in, out, x, ldx, w, with_bias ? b : NULL, acc ? 1.0f : 0.0f, y,
                           ldy);
            for (int64_t t = 0; t < rows; t++)
                for (int64_t j = 0; j < out; j++) {
                    double s = with_bias ? b[j] : 0.0;
                    for (int64_t i = 0; i < in; i++) s += (double)x[t * ldx + i] * w[j * in + i];
                    if (acc) s += y0[t * ldy + j];
                    assert_close(y[t * ldy + j], s, 1e-5, "linear");
                }
            free(y), free(y0);
        }
    free(x), free(w), free(b);
}

static void test_layernorm(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    int64_t sizes[] = {1, 2, 17};
    for (int si = 0; si < 3; si++) {
        int64_t n = sizes[si], rows = 3;
        float *x = rand_vec(rows * n), *g = rand_vec(n), *b = rand_vec(n);
        for (int64_t i = 0; i < rows * n; i++) x[i] = 100.0f + 3.0f * x[i]; /* far from zero */
        float *y = malloc((size_t)(rows * n) * sizeof *y);
        bend_op_layernorm(o, rows, n, x, g, b, 1e-5f, y);
        for (int64_t t = 0; t < rows; t++) {
            double mean = 0, var = 0;
            for (int64_t i = 0; i < n; i++) mean += x[t * n + i];
            mean /= n;
            for (int64_t i = 0; i < n; i++) var += (x[t * n + i] - mean) * (x[t * n + i] - mean);
            var /= n;
            for (int64_t i = 0; i < n; i++)
                assert_close(y[t * n + i], (x[t * n + i] - mean) / sqrt(var + 1e-5) * g[i] + b[i],
                             1e-4, "layernorm");
        }
        /* in place gives the same */
        bend_op_layernorm(o, rows, n, x, g, b, 1e-5f, x);
        for (int64_t i = 0; i < rows * n; i++) assert_true(x[i] == y[i]);
        free(x), free(g), free(b), free(y);
    }
}

static void test_activations(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    /* values from the definitions (Python math: 0.5*x*(1+erf(x/sqrt(2))), the tanh form, x/(1+e^-x)) */
    float v[4] = {1.0f, -2.0f, 0.0f, 3.5f};
    const double gelu[4] = {0.8413447460685429, -0.04550026389635842, 0.0, 3.4991857982233756};
    const double gelu_tanh[4] = {0.8411919906082768, -0.04540230591222494, 0.0, 3.499383802344626};
    const double silu[4] = {0.7310585786300049, -0.2384058440442351, 0.0, 3.3974071923702525};
    float x[4];
    memcpy(x, v, sizeof x);
    bend_op_activation(o, BEND_OP_ACT_GELU, 4, x);
    for (int i = 0; i < 4; i++) assert_close(x[i], gelu[i], 1e-6, "gelu");
    memcpy(x, v, sizeof x);
    bend_op_activation(o, BEND_OP_ACT_GELU_TANH, 4, x);
    for (int i = 0; i < 4; i++) assert_close(x[i], gelu_tanh[i], 1e-6, "gelu_tanh");
    memcpy(x, v, sizeof x);
    bend_op_activation(o, BEND_OP_ACT_SILU, 4, x);
    for (int i = 0; i < 4; i++) assert_close(x[i], silu[i], 1e-6, "silu");
    memcpy(x, v, sizeof x);
    bend_op_activation(o, BEND_OP_ACT_RELU, 4, x);
    for (int i = 0; i < 4; i++) assert_close(x[i], v[i] > 0 ? v[i] : 0, 0, "relu");
}

static void test_glu(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    int64_t rows = 3, inner = 5;
    float *in = rand_vec(rows * 2 * inner), out[15];
    bend_op_glu(o, BEND_OP_ACT_SILU, rows, inner, in, out); /* SwiGLU: SiLU(first half) * second */
    for (int64_t t = 0; t < rows; t++)
        for (int64_t j = 0; j < inner; j++) {
            double a = in[t * 2 * inner + j], b = in[t * 2 * inner + inner + j];
            assert_close(out[t * inner + j], a / (1 + exp(-a)) * b, 1e-6, "swiglu");
        }
    bend_op_glu(o, BEND_OP_ACT_GELU, rows, inner, in, out); /* GEGLU */
    for (int64_t t = 0; t < rows; t++)
        for (int64_t j = 0; j < inner; j++) {
            double a = in[t * 2 * inner + j], b = in[t * 2 * inner + inner + j];
            assert_close(out[t * inner + j], 0.5 * a * (1 + erf(a / sqrt(2.0))) * b, 1e-6, "geglu");
        }
    free(in);
}

static void test_add_scale_gather(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    float x[3] = {1, 2, 3}, y[3] = {10, 20, 30};
    bend_op_add(o, 3, x, y);
    assert_true(y[0] == 11 && y[1] == 22 && y[2] == 33);
    bend_op_scale(o, 3, 0.5f, y);
    assert_true(y[0] == 5.5f && y[2] == 16.5f);
    float table[4 * 3] = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, out[3 * 3];
    int32_t idx[3] = {3, 0, 3};
    bend_op_gather_rows(o, 3, 3, idx, table, 0.0f, out);
    assert_true(out[0] == 30 && out[3] == 0 && out[8] == 32);
    bend_op_gather_rows(o, 3, 3, idx, table, 1.0f, out);
    assert_true(out[0] == 60 && out[4] == 2 && out[8] == 64);
}

static void test_rotary(void **state)
{
    (void)state;
    const bend_ops *o = bend_ops_cpu();
    int64_t nh = 3, hd = 8, ld = nh * hd + 5, offs[3] = {0, 1, 6};
    float *x = rand_vec(6 * ld), *x0 = malloc((size_t)(6 * ld) * sizeof *x0);
    memcpy(x0, x, (size_t)(6 * ld) * sizeof *x);
    bend_op_rotary(o, 2, offs, nh, hd, 10000.0, x, ld);
    for (int64_t t = 0; t < 6; t++) {
        int64_t pos = t < 1 ? t : t - 1; /* positions restart in the second window */
        for (int64_t h = 0; h < nh; h++)
            for (int64_t i = 0; i < hd / 2; i++) {
                double th = pos * pow(10000.0, -2.0 * i / hd);
                double a = x0[t * ld + h * hd + i], b = x0[t * ld + h * hd + i + hd / 2];
                assert_close(x[t * ld + h * hd + i], a * cos(th) - b * sin(th), 1e-5, "rotary lo");
                assert_close(x[t * ld + h * hd + i + hd / 2], b * cos(th) + a * sin(th), 1e-5,
                             "rotary hi");
            }
        for (int64_t j = nh * hd; j < ld; j++) assert_true(x[t * ld + j] == x0[t * ld + j]);
    }
    free(x), free(x0);

    /* the same q and k vectors at positions (i, j) and (i + 5, j + 5): equal dot products */
    float q[1 * 8], k[1 * 8];
    for (int i = 0; i < 8; i++) q[i] = frand(), k[i] = frand();
    float rows[12 * 8];
    for (int t = 0; t < 12; t++) memcpy(rows + t * 8, t % 2 ? k : q, sizeof q);
    int64_t one[2] = {0, 12};
    bend_op_rotary(o, 1, one, 1, 8, 10000.0, rows, 8);
    double d1 = 0, d2 = 0; /* q at 2, k at 7; q at 4, k at 9 (distance 5 both) */
    for (int i = 0; i < 8; i++) d1 += rows[2 * 8 + i] * rows[7 * 8 + i];
    for (int i = 0; i < 8; i++) d2 += rows[4 * 8 + i] * rows[9 * 8 + i];
    assert_close(d1, d2, 1e-5, "rotary relative");
}

/* direct attention for one window/head/query with an explicit key list (duplicates allowed) */
static void direct_row(const bend_attention_args *a, int64_t start, int64_t h, int64_t qi,
                       const int64_t *keys, int64_t nk, double *out)
{
    int64_t hd = a->head_dim;
    double *s = malloc((size_t)nk * sizeof *s), mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < nk; c++) {
        int64_t j = keys[c];
        double d = 0;
        for (int64_t e = 0; e < hd; e++)
            d += (double)a->q[(start + qi) * a->ldq + h * hd + e] * a->k[(start + j) * a->ldk + h * hd + e];
        d *= a->scale;
        if (a->alibi_slopes) d -= a->alibi_slopes[h] * fabs((double)(qi - j));
        if (a->key_bias) d += a->key_bias[start + j];
        s[c] = d;
        if (d > mx) mx = d;
    }
    for (int64_t c = 0; c < nk; c++) sum += s[c] = exp(s[c] - mx);
    for (int64_t e = 0; e < hd; e++) {
        double v = 0;
        for (int64_t c = 0; c < nk; c++) v += s[c] / sum * a->v[(start + keys[c]) * a->ldv + h * hd + e];
        out[e] = v;
    }
    free(s);
}

static void check_attention(const bend_attention_args *a)
{
    const bend_ops *o = bend_ops_cpu();
    void *ws = malloc(bend_op_attention_workspace(o, a));
    bend_op_attention(o, a, ws);
    free(ws);
    int64_t hd = a->head_dim;
    double ref[64];
    int64_t *keys = malloc(4096 * sizeof *keys);
    for (int w = 0; w < a->n_windows; w++) {
        int64_t start = a->offsets[w], L = a->offsets[w + 1] - start;
        bool sparse = a->block_sparse && a->block_sparse[w];
        int64_t bs = a->sparse_block_size, n = sparse ? (L + bs - 1) / bs : 0;
        for (int64_t h = 0; h < a->n_heads; h++)
            for (int64_t i = 0; i < L; i++) {
                int64_t nk = 0, qb = sparse ? i / bs : 0;
                if (!sparse || qb == 0 || qb == n - 1) {
                    for (int64_t j = 0; j < L; j++) keys[nk++] = j;
                } else {
                    /* HF's key blocks: block 1: [0, 1, 2, n-1]; block n-2: [0, n-3, n-2, n-1];
                     * else [0, i-1, i, i+1, n-1]; then r random blocks (block 0 in eval) */
                    int64_t list[16], nb = 0;
                    if (qb == 1) {
                        list[nb++] = 0, list[nb++] = 1, list[nb++] = 2, list[nb++] = n - 1;
                    } else if (qb == n - 2) {
                        list[nb++] = 0, list[nb++] = n - 3, list[nb++] = n - 2, list[nb++] = n - 1;
                    } else {
                        list[nb++] = 0, list[nb++] = qb - 1, list[nb++] = qb, list[nb++] = qb + 1;
                        list[nb++] = n - 1;
                    }
                    for (int64_t r = 0; r < a->sparse_random_blocks; r++) list[nb++] = 0;
                    for (int64_t b = 0; b < nb; b++)
                        for (int64_t j = list[b] * bs; j < (list[b] + 1) * bs && j < L; j++)
                            keys[nk++] = j; /* keys past L are HF's masked padding */
                }
                direct_row(a, start, h, i, keys, nk, ref);
                for (int64_t e = 0; e < hd; e++) {
                    char what[96];
                    snprintf(what, sizeof what, "attention w%d h%lld q%lld e%lld", w, (long long)h,
                             (long long)i, (long long)e);
                    assert_close(a->out[(start + i) * a->ldo + h * hd + e], ref[e], 2e-5, what);
                }
            }
    }
    free(keys);
}

static void test_attention_dense(void **state)
{
    (void)state;
    /* windows of 1, 7 and 130 tokens (130 > the 64-row query block), 5 heads of 3, fused QKV */
    int64_t offs[4] = {0, 1, 8, 138}, T = 138, nh = 5, hd = 3, A = nh * hd;
    float *qkv = rand_vec(T * 3 * A), *out = calloc((size_t)(T * (A + 2)), sizeof *out);
    for (int64_t i = 0; i < T * 3 * A; i++) qkv[i] *= 3.0f; /* peaky softmax */
    bend_attention_args a = {.n_windows = 3, .offsets = offs, .n_heads = nh, .head_dim = hd,
                             .q = qkv, .k = qkv + A, .v = qkv + 2 * A, .ldq = 3 * A, .ldk = 3 * A,
                             .ldv = 3 * A, .out = out, .ldo = A + 2,
                             .scale = (float)(1 / sqrt((double)hd))};
    check_attention(&a);
    float slopes[5] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.70710677f};
    a.alibi_slopes = slopes;
    check_attention(&a);
    float *kb = calloc((size_t)T, sizeof *kb);
    for (int64_t t = 0; t < T; t += 3) kb[t] = -10000.0f; /* masked keys */
    kb[1] = 0.0f;                                         /* the 7-token window keeps its first key */
    a.key_bias = kb;
    check_attention(&a);
    free(qkv), free(out), free(kb);
}

static void test_attention_block_sparse(void **state)
{
    (void)state;
    /* blocks of 4, r = 2; windows: 39 tokens (10 blocks, last partial), 48 (12 whole blocks), and
     * a dense 9-token window between them */
    int64_t offs[4] = {0, 39, 48, 96}, T = 96, nh = 2, hd = 5, A = nh * hd;
    uint8_t sparse[3] = {1, 0, 1};
    float *q = rand_vec(T * A), *k = rand_vec(T * A), *v = rand_vec(T * A);
    float *out = calloc((size_t)(T * A), sizeof *out);
    for (int64_t i = 0; i < T * A; i++) q[i] *= 2.0f, k[i] *= 2.0f;
    bend_attention_args a = {.n_windows = 3, .offsets = offs, .n_heads = nh, .head_dim = hd, .q = q,
                             .k = k, .v = v, .ldq = A, .ldk = A, .ldv = A, .out = out, .ldo = A,
                             .scale = (float)(1 / sqrt((double)hd)), .block_sparse = sparse,
                             .sparse_block_size = 4, .sparse_random_blocks = 2};
    check_attention(&a);
    /* the sparse result differs from dense attention (the check above is not vacuous) */
    float *dense = calloc((size_t)(T * A), sizeof *dense);
    bend_attention_args d = a;
    d.block_sparse = NULL;
    d.out = dense;
    void *ws = malloc(bend_op_attention_workspace(bend_ops_cpu(), &d));
    bend_op_attention(bend_ops_cpu(), &d, ws);
    double diff = 0;
    for (int64_t i = 0; i < 39 * A; i++) diff = fmax(diff, fabs(dense[i] - out[i]));
    assert_true(diff > 1e-2);
    free(ws), free(dense), free(q), free(k), free(v), free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_transposes), cmocka_unit_test(test_linear),
        cmocka_unit_test(test_layernorm),       cmocka_unit_test(test_activations),
        cmocka_unit_test(test_glu),             cmocka_unit_test(test_add_scale_gather),
        cmocka_unit_test(test_rotary),          cmocka_unit_test(test_attention_dense),
        cmocka_unit_test(test_attention_block_sparse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
