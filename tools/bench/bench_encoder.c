/* Transformer encoder throughput on the CPU, for the side-by-side with PyTorch that
 * tools/bench/encoder_vs_torch.sh runs (no timing in tests). Two modes:
 *
 *   bench_encoder forward MODEL_DIR IDS_FILE B L WARMUP_WINDOWS REPS [REF_FILE]
 *     Opens the checkpoint the way the embedder does (config, weights, bend_lm_open on the CPU),
 *     runs bend_lm_forward over B packed windows of L ids read from IDS_FILE (raw int32, B*L,
 *     the ids PyTorch got), once on the first WARMUP_WINDOWS windows, then REPS timed times over
 *     all B. With REF_FILE (raw float32 [B*L, hidden], PyTorch's last_hidden_state) it also
 *     reports how far the output is from it, so a fast number cannot come from a wrong result.
 *     Prints wall and process CPU seconds (median): on a shared machine the CPU time of a
 *     one-thread run is what other users' load disturbs least.
 *
 *   bench_encoder ops H HEADS FFN L B REPS
 *     One post-LN encoder block's ops at that shape on random data, each op timed on its own
 *     through the ops API (median of REPS): where a layer's time goes.
 *
 * Threads: whatever OPENBLAS_NUM_THREADS says (everything outside the GEMMs is one thread). */
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
#include "bench_common.h"

static int forward_mode(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: bench_encoder forward MODEL_DIR IDS_FILE B L WARMUP_WINDOWS REPS "
                        "[REF_FILE]\n");
        return 2;
    }
    const char *dir = argv[2], *ids_path = argv[3], *ref_path = argc > 8 ? argv[8] : NULL;
    int B = atoi(argv[4]), warm = atoi(argv[6]), reps = atoi(argv[7]);
    int64_t L = atoll(argv[5]);
    if (B < 1 || L < 1 || reps < 1 || warm < 0 || warm > B) {
        fprintf(stderr, "bench_encoder: bad B, L, WARMUP_WINDOWS or REPS\n");
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
    double *times = malloc((size_t)reps * sizeof *times), *cpu = malloc((size_t)reps * sizeof *cpu);
    if (!offs || !out || !times || !cpu) {
        fprintf(stderr, "bench_encoder: out of memory\n");
        return 1;
    }
    for (int b = 0; b <= B; b++) offs[b] = (int64_t)b * L;

    if (warm) check(bend_lm_forward(lm, warm, offs, ids, BEND_LM_LAYER_BEND, out, &err), &err);
    for (int r = 0; r < reps; r++) {
        double s = now_s(), c = cpu_s();
        check(bend_lm_forward(lm, B, offs, ids, BEND_LM_LAYER_BEND, out, &err), &err);
        times[r] = now_s() - s;
        cpu[r] = cpu_s() - c;
    }
    double best = times[0];
    for (int r = 1; r < reps; r++) best = times[r] < best ? times[r] : best;
    double med = median(times, reps);
    printf("bend family=%s layers=%d hidden=%lld tokens=%lld open_s=%.2f reps=%d median_s=%.4f "
           "min_s=%.4f cpu_s=%.4f tok_per_s=%.1f",
           bend_model_family_name(cfg.family), lm->n_layers, (long long)H, (long long)T, t_open,
           reps, med, best, median(cpu, reps), (double)T / med);
    if (ref_path) {
        /* error relative to the largest reference value: element-wise relative error is
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
    free(cpu);
    free(times);
    free(out);
    free(offs);
    free(ids);
    bend_lm_close(lm);
    bend_weights_close(w);
    return 0;
}

static float *rand_buf(const bend_ops *o, int64_t n, float scale, uint64_t *state)
{
    bend_error err;
    void *p = NULL;
    check(bend_ops_alloc(o, (size_t)n * sizeof(float), &p, &err), &err);
    rand_fill(p, n, scale, state);
    return p;
}

static int ops_mode(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: bench_encoder ops H HEADS FFN L B REPS\n");
        return 2;
    }
    int64_t H = atoll(argv[2]), nh = atoll(argv[3]), I = atoll(argv[4]), L = atoll(argv[5]);
    int B = atoi(argv[6]), reps = atoi(argv[7]);
    if (H < 1 || nh < 1 || H % nh || I < 1 || L < 1 || B < 1 || reps < 1 || reps > 64) {
        fprintf(stderr, "bench_encoder: bad ops shape\n");
        return 2;
    }
    const bend_ops *o = bend_ops_cpu();
    int64_t T = (int64_t)B * L;
    uint64_t st = 42;
    float *x = rand_buf(o, T * H, 2.0f, &st), *qkv = rand_buf(o, T * 3 * H, 2.0f, &st);
    float *ctx = rand_buf(o, T * H, 1.0f, &st), *ffn = rand_buf(o, T * I, 1.0f, &st);
    float *wqkv = rand_buf(o, 3 * H * H, 0.05f, &st), *bqkv = rand_buf(o, 3 * H, 0.1f, &st);
    float *wo = rand_buf(o, H * H, 0.05f, &st), *bo = rand_buf(o, H, 0.1f, &st);
    float *w1 = rand_buf(o, I * H, 0.05f, &st), *b1 = rand_buf(o, I, 0.1f, &st);
    float *w2 = rand_buf(o, H * I, 0.05f, &st), *b2 = rand_buf(o, H, 0.1f, &st);
    float *g = rand_buf(o, H, 1.0f, &st), *be = rand_buf(o, H, 0.1f, &st);
    int64_t *offs = malloc((size_t)(B + 1) * sizeof *offs);
    double times[64], total = 0.0;
    for (int b = 0; b <= B; b++) offs[b] = (int64_t)b * L;
    bend_attention_args a = {.n_windows = B, .offsets = offs, .n_heads = nh, .head_dim = H / nh,
                             .q = qkv, .k = qkv + H, .v = qkv + 2 * H, .ldq = 3 * H,
                             .ldk = 3 * H, .ldv = 3 * H, .out = ctx, .ldo = H,
                             .scale = (float)(1.0 / sqrt((double)(H / nh)))};
    bend_error err;
    void *ws = NULL;
    check(bend_ops_alloc(o, bend_op_attention_workspace(o, &a), &ws, &err), &err);
    double Td = (double)T;
    printf("ops H=%lld heads=%lld ffn=%lld L=%lld B=%d tokens=%lld reps=%d\n", (long long)H,
           (long long)nh, (long long)I, (long long)L, B, (long long)T, reps);
    TIME_OP("linear qkv", 2.0 * Td * H * 3 * H,
            bend_op_linear(o, T, H, 3 * H, x, H, wqkv, bqkv, 0.0f, qkv, 3 * H));
    TIME_OP("attention", 4.0 * Td * L * H, bend_op_attention(o, &a, ws));
    TIME_OP("linear out (+res)", 2.0 * Td * H * H,
            bend_op_linear(o, T, H, H, ctx, H, wo, bo, 1.0f, x, H));
    TIME_OP("layernorm x2", 0, {
        bend_op_layernorm(o, T, H, x, g, be, 1e-12f, x);
        bend_op_layernorm(o, T, H, x, g, be, 1e-12f, x);
    });
    TIME_OP("linear ffn1", 2.0 * Td * H * I,
            bend_op_linear(o, T, H, I, x, H, w1, b1, 0.0f, ffn, I));
    TIME_OP("gelu (erf)", 0, bend_op_activation(o, BEND_OP_ACT_GELU, T * I, ffn));
    TIME_OP("linear ffn2 (+res)", 2.0 * Td * I * H,
            bend_op_linear(o, T, I, H, ffn, I, w2, b2, 1.0f, x, H));
    printf("op %-22s %9.4f s  (%.1f tok/s per layer)\n", "block total", total, Td / total);
    float *bufs[] = {x, qkv, ctx, ffn, wqkv, bqkv, wo, bo, w1, b1, w2, b2, g, be};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) bend_ops_free(o, bufs[i]);
    bend_ops_free(o, ws);
    free(offs);
    return 0;
}

int main(int argc, char **argv)
{
    bench_name = "bench_encoder";
    if (argc >= 2 && !strcmp(argv[1], "forward")) return forward_mode(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "ops")) return ops_mode(argc, argv);
    fprintf(stderr, "usage: bench_encoder forward ... | bench_encoder ops ... (see the source)\n");
    return 2;
}
