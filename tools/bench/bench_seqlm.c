/* CPU forward throughput of the non-transformer LMs (HyenaDNA, AWD-LSTM, ResNet-LM), for the
 * side-by-side with BEND's own PyTorch modules that tools/bench/seqlm_vs_bend.sh runs (no timing
 * in tests).
 *
 *   bench_seqlm [forward] MODEL_DIR IDS_FILE B L REPS [REF_FILE]
 *     Opens the checkpoint the way the embedder does (config.json, weights, bend_lm_open on the
 *     CPU) and runs bend_lm_forward over B packed windows of L ids read from IDS_FILE (raw int32,
 *     B*L, the ids PyTorch got). The first call is timed on its own: for HyenaDNA it also
 *     computes and caches the filter spectra and FFT plans for this length, which every later
 *     call of the same length reuses. Then REPS timed calls (median and min reported). With
 *     REF_FILE (raw float32 [B*L, dim], PyTorch's output for the same ids) it reports the largest
 *     absolute difference relative to the largest reference magnitude, so that a fast number
 *     cannot come from a wrong result.
 *
 *   bench_seqlm ops hyena|resnet D L REPS
 *     One HyenaDNA block (d_inner 4D, order 2) or one ResNet-LM layer (kernel 9, dilation 8) at
 *     width D over one window of L rows, on random data, each op timed on its own through the ops
 *     API (median of REPS after one untimed call): where a layer's time goes.
 *
 * Threads: whatever OPENBLAS_NUM_THREADS says; the GEMMs (and GEMVs) are the only threaded
 * parts, FFTs and the pointwise and recurrent loops run on one thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint/weights.h"
#include "gpu/device.h"
#include "models/lm.h"
#include "models/model_config.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"
#include "bench_common.h"

static float *rand_buf(int64_t n, float scale, uint64_t *state)
{
    float *f = malloc((size_t)n * sizeof *f);
    if (!f) {
        fprintf(stderr, "bench_seqlm: out of memory\n");
        exit(1);
    }
    rand_fill(f, n, scale, state);
    return f;
}

static int ops_mode(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_seqlm ops hyena|resnet D L REPS\n");
        return 2;
    }
    int hyena = !strcmp(argv[2], "hyena");
    int64_t D = atoll(argv[3]), L = atoll(argv[4]), I = 4 * D, Z = 3 * D, K = 9, dil = 8;
    int reps = atoi(argv[5]);
    if ((!hyena && strcmp(argv[2], "resnet")) || D < 1 || L < 1 || reps < 1 || reps > 64) {
        fprintf(stderr, "bench_seqlm: bad ops arguments\n");
        return 2;
    }
    const bend_ops *o = bend_ops_cpu();
    uint64_t st = 7;
    int64_t offs[2] = {0, L};
    double times[64], total = 0.0, Ld = (double)L;
    float *x = rand_buf(L * D, 2.0f, &st), *u = rand_buf(L * D, 2.0f, &st);
    float *g = rand_buf(D, 1.0f, &st), *be = rand_buf(D, 0.1f, &st);
    bend_error err;
    printf("ops %s D=%lld L=%lld reps=%d\n", argv[2], (long long)D, (long long)L, reps);
    if (hyena) {
        float *z = rand_buf(L * Z, 2.0f, &st), *h = rand_buf(L * I, 1.0f, &st);
        float *w_in = rand_buf(Z * D, 0.05f, &st), *b_in = rand_buf(Z, 0.1f, &st);
        float *w_out = rand_buf(D * D, 0.05f, &st), *b_out = rand_buf(D, 0.1f, &st);
        float *w1 = rand_buf(I * D, 0.05f, &st), *b1 = rand_buf(I, 0.1f, &st);
        float *w2 = rand_buf(D * I, 0.05f, &st), *b2 = rand_buf(D, 0.1f, &st);
        float *sw = rand_buf(Z * 3, 0.5f, &st), *sb = rand_buf(Z, 0.1f, &st);
        float *k = rand_buf(L * D, 0.1f, &st), *dskip = rand_buf(D, 0.1f, &st);
        bend_fftconv *f = NULL;
        check(bend_fftconv_create(o, L, &f, &err), &err);
        float *spec = malloc((size_t)(D * bend_fftconv_spectrum_floats(f)) * sizeof *spec);
        if (!spec) return 1;
        TIME_OP("filter spectrum (FFT of k)", 0, bend_fftconv_filter_spectrum(f, D, k, D, spec));
        total = 0.0; /* cached across calls: not part of a warm block */
        TIME_OP("layernorm x2", 0, {
            bend_op_layernorm(o, L, D, x, g, be, 1e-5f, u);
            bend_op_layernorm(o, L, D, x, g, be, 1e-5f, u);
        });
        TIME_OP("linear in_proj D->3D", 2.0 * Ld * D * Z,
                bend_op_linear(o, L, D, Z, u, D, w_in, b_in, 0.0f, z, Z));
        TIME_OP("short causal dwconv k3", 0,
                bend_op_causal_dwconv(o, 1, offs, Z, 3, sw, sb, z, Z, z, Z));
        TIME_OP("fftconv (+skip, gate)", 0, {
            for (int64_t t = 0; t < L; t++)
                for (int64_t c = 0; c < D; c++) z[t * Z + 2 * D + c] *= z[t * Z + D + c];
            bend_fftconv_apply(f, D, spec, dskip, z + 2 * D, Z, z, Z, u, D);
        });
        TIME_OP("linear out_proj (+res)", 2.0 * Ld * D * D,
                bend_op_linear(o, L, D, D, u, D, w_out, b_out, 1.0f, x, D));
        TIME_OP("linear fc1 D->4D", 2.0 * Ld * D * I,
                bend_op_linear(o, L, D, I, u, D, w1, b1, 0.0f, h, I));
        TIME_OP("gelu (tanh)", 0, bend_op_activation(o, BEND_OP_ACT_GELU_TANH, L * I, h));
        TIME_OP("linear fc2 4D->D (+res)", 2.0 * Ld * I * D,
                bend_op_linear(o, L, I, D, h, I, w2, b2, 1.0f, x, D));
        float *bufs[] = {z, h, w_in, b_in, w_out, b_out, w1, b1, w2, b2, sw, sb, k, dskip, spec};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
        bend_fftconv_destroy(f);
    } else {
        float *w = rand_buf(D * D * K, 0.05f, &st), *wp = rand_buf(D * D * K, 0.05f, &st);
        float *b = rand_buf(D, 0.1f, &st), *wl = rand_buf(D * D, 0.05f, &st);
        bend_conv1d_pack_weight(D, D, K, w, wp);
        TIME_OP("dilated conv1d k9 d8", 2.0 * Ld * D * D * (double)K,
                bend_op_dilated_conv1d(o, 1, offs, D, D, K, dil, dil * (K - 1) / 2, wp, b, x,
                                       u));
        TIME_OP("gelu (erf) x2", 0, {
            bend_op_activation(o, BEND_OP_ACT_GELU, L * D, u);
            bend_op_activation(o, BEND_OP_ACT_GELU, L * D, u);
        });
        TIME_OP("layernorm x2", 0, {
            bend_op_layernorm(o, L, D, u, g, be, 1e-5f, u);
            bend_op_layernorm(o, L, D, u, g, be, 1e-5f, u);
        });
        TIME_OP("residual add x2", 0, {
            bend_op_add(o, L * D, u, x);
            bend_op_add(o, L * D, u, x);
        });
        TIME_OP("linear D->D", 2.0 * Ld * D * D,
                bend_op_linear(o, L, D, D, x, D, wl, b, 0.0f, u, D));
        free(w);
        free(wp);
        free(b);
        free(wl);
    }
    printf("op %-26s %9.4f s  (%.1f nt/s per layer)\n", "layer total", total, Ld / total);
    free(x);
    free(u);
    free(g);
    free(be);
    return 0;
}

int main(int argc, char **argv)
{
    bench_name = "bench_seqlm";
    if (argc >= 2 && !strcmp(argv[1], "ops")) return ops_mode(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "forward")) {
        argc--;
        argv++;
    }
    if (argc < 6) {
        fprintf(stderr, "usage: bench_seqlm [forward] MODEL_DIR IDS_FILE B L REPS [REF_FILE] | "
                        "bench_seqlm ops hyena|resnet D L REPS\n");
        return 2;
    }
    const char *dir = argv[1], *ids_path = argv[2], *ref_path = argc > 6 ? argv[6] : NULL;
    int B = atoi(argv[3]), reps = atoi(argv[5]);
    int64_t L = atoll(argv[4]);
    if (B < 1 || L < 1 || reps < 1) {
        fprintf(stderr, "bench_seqlm: bad B, L or REPS\n");
        return 2;
    }
    bend_error err;
    bend_model_config cfg;
    bend_weights *w = NULL;
    bend_lm *lm = NULL;
    bend_device dev = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    double t0 = now_s();
    check(bend_model_config_load(dir, NULL, &cfg, &err), &err);
    check(bend_weights_open(dir, &w, &err), &err);
    check(bend_lm_open(&cfg, w, &dev, &lm, &err), &err);
    double t_open = now_s() - t0;

    int64_t T = (int64_t)B * L, H = lm->dim;
    int32_t *ids = read_all(ids_path, (size_t)T * sizeof *ids);
    int64_t *offs = malloc((size_t)(B + 1) * sizeof *offs);
    float *out = malloc((size_t)(T * H) * sizeof *out);
    double *times = malloc((size_t)reps * sizeof *times);
    if (!offs || !out || !times) {
        fprintf(stderr, "bench_seqlm: out of memory\n");
        return 1;
    }
    for (int b = 0; b <= B; b++) offs[b] = (int64_t)b * L;

    double s = now_s();
    check(bend_lm_forward(lm, B, offs, ids, BEND_LM_LAYER_BEND, out, &err), &err);
    double first = now_s() - s;
    for (int r = 0; r < reps; r++) {
        s = now_s();
        check(bend_lm_forward(lm, B, offs, ids, BEND_LM_LAYER_BEND, out, &err), &err);
        times[r] = now_s() - s;
    }
    double best = times[0];
    for (int r = 1; r < reps; r++) best = times[r] < best ? times[r] : best;
    double med = median(times, reps);
    printf("bend family=%s layers=%d dim=%lld tokens=%lld open_s=%.3f first_s=%.4f reps=%d "
           "median_s=%.4f min_s=%.4f",
           bend_model_family_name(cfg.family), lm->n_layers, (long long)H, (long long)T, t_open,
           first, reps, med, best);
    if (ref_path) {
        /* relative to the largest reference magnitude: element-wise relative error is
         * meaningless for entries near 0 */
        float *ref = read_all(ref_path, (size_t)(T * H) * sizeof *ref);
        double max_err = 0.0, max_ref = 0.0;
        int finite = 1;
        for (int64_t i = 0; i < T * H; i++) {
            double d = fabs((double)out[i] - (double)ref[i]);
            if (!isfinite(out[i])) finite = 0;
            if (d > max_err) max_err = d;
            if (fabs((double)ref[i]) > max_ref) max_ref = fabs((double)ref[i]);
        }
        printf(" max_abs_err=%.3g max_abs_ref=%.3g rel_err=%.3g finite=%d", max_err, max_ref,
               max_ref > 0 ? max_err / max_ref : max_err, finite);
        free(ref);
    }
    printf("\n");
    free(times);
    free(out);
    free(offs);
    free(ids);
    bend_lm_close(lm);
    bend_weights_close(w);
    return 0;
}
