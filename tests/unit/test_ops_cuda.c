/* The CUDA backend (ops/ops_cuda.h) against the CPU backend, op by op, on awkward sizes: one
 * token, odd lengths, windows of 1 / 7 / 130 / 1000 tokens, many heads, head sizes 64 / 80 (and
 * 128 / 256 for the wider kernel variants), strided fused-QKV operands, ALiBi, a key mask and
 * BigBird block-sparse windows. The CPU ops are themselves checked against direct formulas in
 * test_ops.c, so agreement here means the GPU computes the same thing. Tolerances (max|gpu-cpu| /
 * max|cpu|): 1e-5 elementwise and LayerNorm, 1e-4 GEMM and attention (summation order).
 *
 * Without a usable GPU (no driver, no device, or a build without CUDA) every test is SKIPPED,
 * with the reason printed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/device.h"
#include "ops/ops.h"
#include "ops/ops_cuda.h"

static bend_ops *gpu;
static const bend_ops *cpu;
static char no_gpu_why[512];

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

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

/* a device copy of n bytes of host memory */
static void *up(const void *host, size_t bytes)
{
    void *d = NULL;
    bend_error err = {0};
    if (bend_ops_alloc(gpu, bytes, &d, &err)) fail_msg("%s", err.msg);
    bend_ops_upload(gpu, d, host, bytes);
    return d;
}

#define UPF(p, n) ((float *)up(p, (size_t)(n) * sizeof(float)))

/* downloads n floats of d and checks them against want: max|got-want| / max|want| <= tol */
static void expect_close(const float *d, const float *want, int64_t n, double tol, const char *what)
{
    float *got = malloc((size_t)(n > 0 ? n : 1) * sizeof *got);
    assert_non_null(got);
    bend_ops_download(gpu, got, d, (size_t)n * sizeof *got);
    bend_error err = {0};
    if (bend_ops_sync(gpu, &err)) fail_msg("%s: %s", what, err.msg);
    double num = 0.0, den = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (isnan(e) && !(isnan(got[i]) && isnan(want[i]))) e = INFINITY;
        if (isnan(e)) e = 0.0; /* both NaN: the same answer */
        if (e > num) {
            num = e;
            at = i;
        }
        if (fabs((double)want[i]) > den) den = fabs((double)want[i]);
    }
    double rel = num / (den > 0 ? den : 1.0);
    print_message("%-48s n=%-8lld rel err %.2e\n", what, (long long)n, rel);
    if (!(rel <= tol))
        fail_msg("%s: relative error %.3g > %.0e (element %lld: gpu %.9g, cpu %.9g)", what, rel, tol,
                 (long long)at, got[at], want[at]);
    free(got);
}

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (!gpu) {                                                                                \
            print_message("SKIPPED: no usable GPU: %s\n", no_gpu_why);                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void test_gemm(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {130, 67, 129}, {64, 80, 1000}, {5, 3, 0}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++) {
                    int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
                    /* leading dims wider than the matrices: strided operands */
                    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
                    int64_t na = (ta ? k : m) * lda, nb = (tb ? n : k) * ldb, nc = m * ldc;
                    float *a = rand_vec(na), *b = rand_vec(nb), *c = rand_vec(nc);
                    float *da = UPF(a, na), *db = UPF(b, nb), *dc = UPF(c, nc);
                    float beta = bi ? 1.0f : 0.0f;
                    bend_op_gemm(cpu, ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc);
                    bend_op_gemm(gpu, ta, tb, m, n, k, 0.75f, da, lda, db, ldb, beta, dc, ldc);
                    char what[96];
                    snprintf(what, sizeof what, "gemm %lldx%lldx%lld ta=%d tb=%d beta=%g",
                             (long long)m, (long long)n, (long long)k, ta, tb, beta);
                    expect_close(dc, c, nc, 1e-4, what);
                    bend_ops_free(gpu, da);
                    bend_ops_free(gpu, db);
                    bend_ops_free(gpu, dc);
                    free(a);
                    free(b);
                    free(c);
                }
}

static void test_linear(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t rows_[] = {1, 7, 130};
    for (int r = 0; r < 3; r++)
        for (int bias_on = 0; bias_on < 2; bias_on++)
            for (int bi = 0; bi < 2; bi++) {
                int64_t rows = rows_[r], in = 80, out = 33, ldx = 3 * in, ldy = out + 7;
                float *x = rand_vec(rows * ldx), *w = rand_vec(out * in), *b = rand_vec(out),
                      *y = rand_vec(rows * ldy);
                float *dx = UPF(x, rows * ldx), *dw = UPF(w, out * in), *db = UPF(b, out),
                      *dy = UPF(y, rows * ldy);
                float beta = bi ? 1.0f : 0.0f;
                bend_op_linear(cpu, rows, in, out, x + in, ldx, w, bias_on ? b : NULL, beta, y, ldy);
                bend_op_linear(gpu, rows, in, out, dx + in, ldx, dw, bias_on ? db : NULL, beta, dy,
                               ldy);
                char what[96];
                snprintf(what, sizeof what, "linear rows=%lld bias=%d beta=%g", (long long)rows,
                         bias_on, beta);
                expect_close(dy, y, rows * ldy, 1e-4, what);
                bend_ops_free(gpu, dx);
                bend_ops_free(gpu, dw);
                bend_ops_free(gpu, db);
                bend_ops_free(gpu, dy);
                free(x);
                free(w);
                free(b);
                free(y);
            }
}

static void test_layernorm(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t shapes[][2] = {{1, 1}, {1, 7}, {7, 768}, {33, 2561}, {3, 80}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int variant = 0; variant < 3; variant++) {
            int64_t rows = shapes[s][0], n = shapes[s][1];
            float *x = rand_vec(rows * n), *g = rand_vec(n), *b = rand_vec(n), *y = rand_vec(rows * n);
            for (int64_t i = 0; i < rows * n; i++) x[i] += 100.0f; /* far from 0: variance care */
            float *dx = UPF(x, rows * n), *dg = UPF(g, n), *db = UPF(b, n), *dy = UPF(y, rows * n);
            bool affine = variant != 1, inplace = variant == 2;
            bend_op_layernorm(cpu, rows, n, x, affine ? g : NULL, affine ? b : NULL, 1e-5f,
                              inplace ? x : y);
            bend_op_layernorm(gpu, rows, n, dx, affine ? dg : NULL, affine ? db : NULL, 1e-5f,
                              inplace ? dx : dy);
            char what[96];
            snprintf(what, sizeof what, "layernorm %lldx%lld affine=%d inplace=%d", (long long)rows,
                     (long long)n, affine, inplace);
            expect_close(inplace ? dx : dy, inplace ? x : y, rows * n, 1e-5, what);
            bend_ops_free(gpu, dx);
            bend_ops_free(gpu, dg);
            bend_ops_free(gpu, db);
            bend_ops_free(gpu, dy);
            free(x);
            free(g);
            free(b);
            free(y);
        }
}

static void test_activations_glu(void **state)
{
    (void)state;
    NEED_GPU();
    bend_op_act acts[] = {BEND_OP_ACT_IDENTITY, BEND_OP_ACT_GELU, BEND_OP_ACT_GELU_TANH,
                          BEND_OP_ACT_RELU, BEND_OP_ACT_SILU};
    const char *names[] = {"identity", "gelu", "gelu_tanh", "relu", "silu"};
    int64_t ns[] = {1, 1000003};
    for (int a = 0; a < 5; a++) {
        for (int s = 0; s < 2; s++) {
            int64_t n = ns[s];
            float *x = rand_vec(n);
            for (int64_t i = 0; i < n; i++) x[i] *= 8.0f; /* tails of erf / tanh / exp */
            float *dx = UPF(x, n);
            bend_op_activation(cpu, acts[a], n, x);
            bend_op_activation(gpu, acts[a], n, dx);
            char what[96];
            snprintf(what, sizeof what, "activation %s", names[a]);
            expect_close(dx, x, n, 1e-5, what);
            bend_ops_free(gpu, dx);
            free(x);
        }
        int64_t rows = 7, inner = 37;
        float *in = rand_vec(rows * 2 * inner), *out = rand_vec(rows * inner);
        float *din = UPF(in, rows * 2 * inner), *dout = UPF(out, rows * inner);
        bend_op_glu(cpu, acts[a], rows, inner, in, out);
        bend_op_glu(gpu, acts[a], rows, inner, din, dout);
        char what[96];
        snprintf(what, sizeof what, "glu %s", names[a]);
        expect_close(dout, out, rows * inner, 1e-5, what);
        bend_ops_free(gpu, din);
        bend_ops_free(gpu, dout);
        free(in);
        free(out);
    }
}

static void test_add_scale_gather_copy(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t n = 1001;
    float *x = rand_vec(n), *y = rand_vec(n);
    float *dx = UPF(x, n), *dy = UPF(y, n);
    bend_op_add(cpu, n, x, y);
    bend_op_add(gpu, n, dx, dy);
    expect_close(dy, y, n, 1e-6, "add");
    bend_op_scale(cpu, n, -0.37f, y);
    bend_op_scale(gpu, n, -0.37f, dy);
    expect_close(dy, y, n, 1e-6, "scale");
    bend_ops_copy(gpu, dx, dy, (size_t)n * sizeof(float));
    expect_close(dx, y, n, 0.0, "copy");

    int64_t rows = 9, w = 77, trows = 13;
    int32_t idx[9] = {0, 12, 3, 3, 7, 0, 1, 11, 12};
    float *table = rand_vec(trows * w), *out = rand_vec(rows * w);
    float *dt = UPF(table, trows * w), *dout = UPF(out, rows * w);
    int32_t *didx = up(idx, sizeof idx);
    bend_op_gather_rows(cpu, rows, w, idx, table, 1.0f, out);
    bend_op_gather_rows(gpu, rows, w, didx, dt, 1.0f, dout);
    expect_close(dout, out, rows * w, 1e-6, "gather_rows beta=1");
    bend_op_gather_rows(cpu, rows, w, idx, table, 0.0f, out);
    bend_op_gather_rows(gpu, rows, w, didx, dt, 0.0f, dout);
    expect_close(dout, out, rows * w, 0.0, "gather_rows beta=0");
    bend_ops_free(gpu, dx);
    bend_ops_free(gpu, dy);
    bend_ops_free(gpu, dt);
    bend_ops_free(gpu, dout);
    bend_ops_free(gpu, didx);
    free(x);
    free(y);
    free(table);
    free(out);
}

static void test_rotary(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t hds[] = {64, 80};
    /* windows of 1, 7, 130, 1000 tokens; the second call starts at row 1 (offsets[0] != 0) */
    int64_t offs[5] = {0, 1, 8, 138, 1138};
    for (int h = 0; h < 2; h++)
        for (int part = 0; part < 2; part++) {
            int64_t hd = hds[h], nh = 3, ld = 3 * nh * hd + 4, T = offs[4];
            float *x = rand_vec(T * ld);
            float *dx = UPF(x, T * ld);
            const int64_t *o = part ? offs + 1 : offs;
            int nw = part ? 3 : 4;
            /* the key part of a fused QKV row */
            bend_op_rotary(cpu, nw, o, nh, hd, 10000.0, x + nh * hd, ld);
            bend_op_rotary(gpu, nw, o, nh, hd, 10000.0, dx + nh * hd, ld);
            char what[96];
            snprintf(what, sizeof what, "rotary hd=%lld windows from row %lld", (long long)hd,
                     (long long)o[0]);
            expect_close(dx, x, T * ld, 1e-5, what);
            bend_ops_free(gpu, dx);
            free(x);
        }
}

/* one attention case on both backends: fused QKV [T, 3A] input, context [T, A + 5] output */
static void attention_case(const char *name, int nw, const int64_t *offs, int64_t nh, int64_t hd,
                           bool alibi, bool mask, const uint8_t *sparse, int64_t bs, int64_t r)
{
    int64_t T = offs[nw], A = nh * hd, ldqkv = 3 * A, ldo = A + 5;
    float *qkv = rand_vec(T * ldqkv), *out = rand_vec(T * ldo), *slopes = rand_vec(nh),
          *kb = rand_vec(T);
    for (int64_t i = 0; i < T * ldqkv; i++) qkv[i] *= 2.0f; /* peaked softmax rows */
    for (int64_t h = 0; h < nh; h++) slopes[h] = 0.05f * fabsf(slopes[h]);
    for (int64_t t = 0; t < T; t++) kb[t] = t % 5 == 3 ? -10000.0f : 0.0f;
    float *dqkv = UPF(qkv, T * ldqkv), *dout = UPF(out, T * ldo), *dsl = UPF(slopes, nh),
          *dkb = UPF(kb, T);
    bend_attention_args a = {
        .n_windows = nw, .offsets = offs, .n_heads = nh, .head_dim = hd,
        .q = qkv, .k = qkv + A, .v = qkv + 2 * A, .ldq = ldqkv, .ldk = ldqkv, .ldv = ldqkv,
        .out = out, .ldo = ldo, .scale = (float)(1.0 / sqrt((double)hd)),
        .alibi_slopes = alibi ? slopes : NULL, .key_bias = mask ? kb : NULL,
        .block_sparse = sparse, .sparse_block_size = bs, .sparse_random_blocks = r,
    };
    bend_attention_args g = a;
    g.q = dqkv;
    g.k = dqkv + A;
    g.v = dqkv + 2 * A;
    g.out = dout;
    g.alibi_slopes = alibi ? dsl : NULL;
    g.key_bias = mask ? dkb : NULL;

    bend_error err = {0};
    void *cws = malloc(bend_op_attention_workspace(cpu, &a)), *gws = NULL;
    assert_non_null(cws);
    if (bend_ops_alloc(gpu, bend_op_attention_workspace(gpu, &g), &gws, &err))
        fail_msg("%s", err.msg);
    bend_op_attention(cpu, &a, cws);
    bend_op_attention(gpu, &g, gws);
    char what[128];
    snprintf(what, sizeof what, "attention %s nh=%lld hd=%lld alibi=%d mask=%d", name,
             (long long)nh, (long long)hd, alibi, mask);
    expect_close(dout, out, T * ldo, 1e-4, what);
    bend_ops_free(gpu, gws);
    bend_ops_free(gpu, dqkv);
    bend_ops_free(gpu, dout);
    bend_ops_free(gpu, dsl);
    bend_ops_free(gpu, dkb);
    free(cws);
    free(qkv);
    free(out);
    free(slopes);
    free(kb);
}

static void test_attention_dense(void **state)
{
    (void)state;
    NEED_GPU();
    int64_t offs[5] = {0, 1, 8, 138, 1138}; /* windows of 1, 7, 130, 1000 */
    int64_t hds[] = {64, 80};
    for (int h = 0; h < 2; h++)
        for (int variant = 0; variant < 3; variant++)
            attention_case("1/7/130/1000", 4, offs, 4, hds[h], variant == 1, variant == 2, NULL, 0, 0);
    attention_case("1/7/130/1000 both terms", 4, offs, 3, 64, true, true, NULL, 0, 0);
    int64_t small[3] = {0, 7, 37};
    attention_case("7/30 many heads", 2, small, 40, 64, true, false, NULL, 0, 0);
    attention_case("7/30 hd128", 2, small, 2, 128, false, false, NULL, 0, 0);
    attention_case("7/30 hd256", 2, small, 2, 256, false, true, NULL, 0, 0);
    attention_case("7/30 hd2", 2, small, 3, 2, false, false, NULL, 0, 0);
}

static void test_attention_block_sparse(void **state)
{
    (void)state;
    NEED_GPU();
    /* 130 and 1000 tokens sparse (blocks of 16, the last one partial), 7 dense, 40 sparse but
     * only 3 blocks, 1 sparse; r = 3 random blocks */
    int64_t offs[6] = {0, 130, 137, 1137, 1177, 1178};
    uint8_t sparse[5] = {1, 0, 1, 1, 1};
    attention_case("bigbird bs16 r3", 5, offs, 4, 64, false, false, sparse, 16, 3);
    attention_case("bigbird bs16 r3 masked", 5, offs, 2, 80, false, true, sparse, 16, 3);
    attention_case("bigbird bs64 r2", 5, offs, 2, 64, false, false, sparse, 64, 2);
}

/* bf16 linear: close to the fp32 CPU result (rows' cosine >= 0.999, error <= 2e-2), and really
 * rounded (not bit-equal to fp32); a second call reuses the cached weight copy; fp32 comes back. */
static void test_linear_bf16(void **state)
{
    (void)state;
    NEED_GPU();
    bend_error err = {0};
    int64_t rows = 130, in = 768, out = 67, ldx = in + 3, ldy = out;
    float *x = rand_vec(rows * ldx), *w = rand_vec(out * in), *b = rand_vec(out),
          *y = rand_vec(rows * ldy), *got = malloc((size_t)(rows * ldy) * sizeof(float));
    assert_non_null(got);
    float *dx = UPF(x, rows * ldx), *dw = UPF(w, out * in), *db = UPF(b, out),
          *dy = UPF(y, rows * ldy);
    bend_op_linear(cpu, rows, in, out, x, ldx, w, b, 0.0f, y, ldy);
    assert_int_equal(bend_ops_cuda_set_precision(gpu, BEND_CUDA_BF16, &err), BEND_OK);
    for (int rep = 0; rep < 2; rep++) {
        bend_op_linear(gpu, rows, in, out, dx, ldx, dw, db, 0.0f, dy, ldy);
        bend_ops_download(gpu, got, dy, (size_t)(rows * ldy) * sizeof(float));
        if (bend_ops_sync(gpu, &err)) fail_msg("bf16 linear: %s", err.msg);
        double num = 0, den = 0, worst_cos = 1.0;
        for (int64_t t = 0; t < rows; t++) {
            double dot = 0, na = 0, nb = 0;
            for (int64_t j = 0; j < out; j++) {
                double g = got[t * ldy + j], r = y[t * ldy + j];
                dot += g * r;
                na += g * g;
                nb += r * r;
                if (fabs(g - r) > num) num = fabs(g - r);
                if (fabs(r) > den) den = fabs(r);
            }
            double cs = dot / sqrt(na * nb);
            if (!(cs >= worst_cos)) worst_cos = cs;
        }
        print_message("linear bf16 (call %d): rel err %.2e, worst row cosine %.6f\n", rep, num / den,
                      worst_cos);
        if (!(worst_cos >= 0.999) || !(num / den <= 2e-2))
            fail_msg("bf16 linear: cosine %.6f, relative error %.3g", worst_cos, num / den);
        if (!(num / den > 1e-6)) fail_msg("bf16 linear equals fp32: the bf16 path did not run");
    }
    assert_int_equal(bend_ops_cuda_set_precision(gpu, BEND_CUDA_FP32, &err), BEND_OK);
    bend_op_linear(gpu, rows, in, out, dx, ldx, dw, db, 0.0f, dy, ldy);
    expect_close(dy, y, rows * ldy, 1e-4, "linear fp32 after bf16");
    bend_ops_free(gpu, dx);
    bend_ops_free(gpu, dw); /* drops the cached bf16 copy with it */
    bend_ops_free(gpu, db);
    bend_ops_free(gpu, dy);
    free(x);
    free(w);
    free(b);
    free(y);
    free(got);
}

/* errors surface at sync, naming CUDA; the backend stays usable only for reporting */
static void test_sync_ok(void **state)
{
    (void)state;
    NEED_GPU();
    bend_error err = {0};
    assert_int_equal(bend_ops_sync(gpu, &err), BEND_OK);
    void *p = NULL;
    /* an impossible allocation fails cleanly with a message, without poisoning the context */
    assert_int_not_equal(bend_ops_alloc(gpu, (size_t)1 << 62, &p, &err), BEND_OK);
    assert_null(p);
    assert_non_null(strstr(err.msg, "GPU"));
    assert_int_equal(bend_ops_sync(gpu, &err), BEND_OK);
}

int main(void)
{
    cpu = bend_ops_cpu();
    int n = bend_cuda_device_count(no_gpu_why, sizeof no_gpu_why);
    if (n > 0) {
        bend_device dev;
        bend_error err = {0};
        if (bend_cuda_select(0, &dev, &err) || bend_ops_cuda_create(&dev, &gpu, &err)) {
            fprintf(stderr, "test_ops_cuda: a GPU is visible but unusable: %s\n", err.msg);
            return 1; /* a GPU that cannot be used is a failure, not a skip */
        }
        fprintf(stderr, "test_ops_cuda: running on %s\n", dev.name);
    } else {
        fprintf(stderr, "test_ops_cuda: SKIPPING every test: no usable GPU (%s)\n", no_gpu_why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_activations_glu),
        cmocka_unit_test(test_add_scale_gather_copy),
        cmocka_unit_test(test_rotary),
        cmocka_unit_test(test_attention_dense),
        cmocka_unit_test(test_attention_block_sparse),
        cmocka_unit_test(test_linear_bf16),
        cmocka_unit_test(test_sync_ok),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    bend_ops_cuda_destroy(gpu);
    return rc;
}
