/* The transformer encoder on the CUDA backend against the PyTorch references of
 * tests/fixtures/models (the same expected.h5 files test_encoder.c checks the CPU path with):
 * every family, all sequences in one packed call, the final and every per-layer hidden state
 * within 1e-4 relative error (max|a-b| / max|b|); the BigBird fixture's 770-token sequence runs
 * block-sparse. Also MLM logits (tests/fixtures/encoder/logits.h5), which go through the GPU's
 * own staging buffer. With bf16 projections (bend_transformer_lm_set_bf16), every position's final
 * hidden state must keep a cosine >= 0.999 with the reference. The HDF5 reading below duplicates test_encoder.c's helpers (that file is
 * not shared, and test programs are single files).
 *
 * Without a usable GPU every test is SKIPPED, with the reason printed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/weights.h"
#include "gpu/device.h"
#include "models/lm.h"
#include "models/model_config.h"
#include "models/transformer/encoder.h"
#include "test_h5_read.h"
#include "test_helpers.h"

static char models_[4096];
static bend_device gpu_;
static bool have_gpu;
static char no_gpu_why[512];

#define NEED_GPU()                                                                                 \
    do {                                                                                           \
        if (!have_gpu) {                                                                           \
            print_message("SKIPPED: no usable GPU: %s\n", no_gpu_why);                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static bend_lm *open_lm(const char *dir, bend_model_config *cfg)
{
    bend_error err = {0};
    if (bend_model_config_load(dir, NULL, cfg, &err)) fail_msg("%s: %s", dir, err.msg);
    bend_weights *w = NULL;
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s: %s", dir, err.msg);
    bend_lm *lm = NULL;
    if (bend_lm_open(cfg, w, &gpu_, &lm, &err)) fail_msg("%s on %s: %s", dir, gpu_.name, err.msg);
    bend_weights_close(w); /* the weights now live on the GPU */
    return lm;
}

static void check_family(const char *name)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", models_, name);
    bend_model_config cfg;
    bend_lm *lm = open_lm(dir, &cfg);
    snprintf(path, sizeof path, "%s/expected.h5", dir);
    hid_t h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h5 >= 0);
    int n_seq = 0;
    int64_t offsets[64] = {0};
    int32_t *ids = NULL;
    for (int i = 0; i < 63; i++) {
        char ds[64];
        snprintf(ds, sizeof ds, "/%d", i);
        if (H5Lexists(h5, ds, H5P_DEFAULT) <= 0) break;
        snprintf(ds, sizeof ds, "/%d/input_ids", i);
        void *v = NULL;
        int64_t n = read_ds(h5, ds, H5T_NATIVE_INT32, &v);
        assert_true(n > 0);
        ids = realloc(ids, (size_t)(offsets[i] + n) * sizeof *ids);
        memcpy(ids + offsets[i], v, (size_t)n * sizeof *ids);
        free(v);
        offsets[i + 1] = offsets[i] + n;
        n_seq = i + 1;
    }
    assert_true(n_seq >= 3);
    int64_t T = offsets[n_seq], H = lm->dim;
    float *out = malloc((size_t)(T * H) * sizeof *out);
    assert_non_null(out);
    bend_error err = {0};
    int checked = 0;
    for (int layer = -1; layer <= lm->n_layers; layer++) {
        memset(out, 0xff, (size_t)(T * H) * sizeof *out); /* NaN: rows not written fail */
        double worst = 0.0;
        if (bend_lm_forward(lm, n_seq, offsets, ids, layer, out, &err))
            fail_msg("%s layer %d: %s", name, layer, err.msg);
        for (int s = 0; s < n_seq; s++) {
            char ds[64];
            if (layer < 0)
                snprintf(ds, sizeof ds, "/%d/last_hidden_state", s);
            else
                snprintf(ds, sizeof ds, "/%d/hidden_states/%d", s, layer);
            void *ref = NULL;
            int64_t n = read_ds(h5, ds, H5T_NATIVE_FLOAT, &ref);
            if (n < 0) continue;
            int64_t L = offsets[s + 1] - offsets[s];
            assert_int_equal(n, L * H);
            double e = test_rel_err(out + offsets[s] * H, ref, n);
            free(ref);
            if (!(e <= 1e-4))
                fail_msg("%s on GPU %s (%lld tokens): relative error %.3g > 1e-4", name, ds,
                         (long long)L, e);
            if (e > worst) worst = e;
            checked++;
        }
        print_message("%s (GPU) layer %2d: worst relative error %.2e\n", name, layer, worst);
    }
    assert_true(checked >= n_seq + 3 * (lm->n_layers + 1));
    free(out);
    free(ids);
    H5Fclose(h5);
    bend_lm_close(lm);
}

/* bf16 projections: the final hidden state of every position, by cosine against the reference */
static void check_family_bf16(const char *name)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", models_, name);
    bend_model_config cfg;
    bend_lm *lm = open_lm(dir, &cfg);
    bend_error err = {0};
    if (bend_transformer_lm_set_bf16(lm, true, &err)) fail_msg("%s: %s", name, err.msg);
    snprintf(path, sizeof path, "%s/expected.h5", dir);
    hid_t h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h5 >= 0);
    int64_t H = lm->dim;
    double worst = 1.0;
    for (int s = 0; s < 63; s++) {
        char ds[64];
        snprintf(ds, sizeof ds, "/%d", s);
        if (H5Lexists(h5, ds, H5P_DEFAULT) <= 0) break;
        snprintf(ds, sizeof ds, "/%d/input_ids", s);
        void *ids = NULL, *ref = NULL;
        int64_t L = read_ds(h5, ds, H5T_NATIVE_INT32, &ids);
        snprintf(ds, sizeof ds, "/%d/last_hidden_state", s);
        assert_int_equal(read_ds(h5, ds, H5T_NATIVE_FLOAT, &ref), L * H);
        float *out = malloc((size_t)(L * H) * sizeof *out);
        assert_non_null(out);
        int64_t offs[2] = {0, L};
        if (bend_lm_forward(lm, 1, offs, ids, -1, out, &err)) fail_msg("%s: %s", name, err.msg);
        const float *r = ref;
        for (int64_t t = 0; t < L; t++) {
            double dot = 0, na = 0, nb = 0;
            for (int64_t j = 0; j < H; j++) {
                dot += (double)out[t * H + j] * r[t * H + j];
                na += (double)out[t * H + j] * out[t * H + j];
                nb += (double)r[t * H + j] * r[t * H + j];
            }
            double cs = dot / sqrt(na * nb);
            if (!(cs >= 0.999))
                fail_msg("%s bf16: sequence %d position %lld cosine %.6f < 0.999", name, s,
                         (long long)t, cs);
            if (cs < worst) worst = cs;
        }
        free(out);
        free(ids);
        free(ref);
    }
    print_message("%s (GPU, bf16 projections): worst position cosine %.6f\n", name, worst);
    H5Fclose(h5);
    bend_lm_close(lm);
}

static void test_bf16(void **state)
{
    (void)state;
    NEED_GPU();
    const char *fams[] = {"dnabert6", "grover", "nt_v1", "dnabert2", "gena_lm_bert",
                          "gena_lm_bigbird", "../encoder/nt_v2"};
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) check_family_bf16(fams[f]);
}

static void test_dnabert(void **state) { (void)state; NEED_GPU(); check_family("dnabert6"); }
static void test_grover(void **state) { (void)state; NEED_GPU(); check_family("grover"); }
static void test_nt_v1(void **state) { (void)state; NEED_GPU(); check_family("nt_v1"); }
static void test_dnabert2(void **state) { (void)state; NEED_GPU(); check_family("dnabert2"); }
static void test_gena_bert(void **state) { (void)state; NEED_GPU(); check_family("gena_lm_bert"); }
static void test_gena_bigbird(void **state) { (void)state; NEED_GPU(); check_family("gena_lm_bigbird"); }
static void test_nt_v2_like(void **state) { (void)state; NEED_GPU(); check_family("../encoder/nt_v2"); }

static void test_logits(void **state)
{
    (void)state;
    NEED_GPU();
    const char *fams[] = {"dnabert6", "nt_v1", "dnabert2", "gena_lm_bert", "gena_lm_bigbird"};
    char path[4300];
    snprintf(path, sizeof path, "%s/../encoder/logits.h5", models_);
    hid_t h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h5 >= 0);
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", models_, fams[f]);
        bend_model_config cfg;
        bend_lm *lm = open_lm(dir, &cfg);
        int64_t V = bend_lm_output_width(lm, BEND_LM_LAYER_LOGITS);
        assert_true(V >= cfg.vocab_size);
        int64_t offs[8] = {0};
        int32_t *ids = NULL;
        float *refs[8] = {0};
        int n = 0;
        for (; n < 7; n++) {
            char ds[128];
            void *v = NULL;
            snprintf(ds, sizeof ds, "/%s/%d/input_ids", fams[f], n);
            int64_t L = read_ds(h5, ds, H5T_NATIVE_INT32, &v);
            if (L < 0) break;
            ids = realloc(ids, (size_t)(offs[n] + L) * sizeof *ids);
            memcpy(ids + offs[n], v, (size_t)L * sizeof *ids);
            free(v);
            offs[n + 1] = offs[n] + L;
            snprintf(ds, sizeof ds, "/%s/%d/logits", fams[f], n);
            assert_int_equal(read_ds(h5, ds, H5T_NATIVE_FLOAT, (void **)&refs[n]), L * V);
        }
        assert_true(n >= 1);
        float *out = malloc((size_t)(offs[n] * V) * sizeof *out);
        bend_error err = {0};
        if (bend_lm_forward(lm, n, offs, ids, BEND_LM_LAYER_LOGITS, out, &err))
            fail_msg("%s: %s", fams[f], err.msg);
        for (int s = 0; s < n; s++) {
            double e = test_rel_err(out + offs[s] * V, refs[s], (offs[s + 1] - offs[s]) * V);
            print_message("%s (GPU) logits %d: relative error %.2e\n", fams[f], s, e);
            if (!(e <= 1e-4)) fail_msg("%s logits of sequence %d on GPU: relative error %.3g", fams[f], s, e);
            free(refs[s]);
        }
        free(out);
        free(ids);
        bend_lm_close(lm);
    }
    H5Fclose(h5);
}

int main(void)
{
    const char *f = getenv("BEND_TEST_FIXTURES");
    if (!f || !*f) {
        fprintf(stderr, "BEND_TEST_FIXTURES is not set\n");
        return 1;
    }
    snprintf(models_, sizeof models_, "%s/models", f);
    int n = bend_cuda_device_count(no_gpu_why, sizeof no_gpu_why);
    if (n > 0) {
        bend_error err = {0};
        if (bend_cuda_select(0, &gpu_, &err)) {
            fprintf(stderr, "test_encoder_cuda: a GPU is visible but unusable: %s\n", err.msg);
            return 1;
        }
        have_gpu = true;
        fprintf(stderr, "test_encoder_cuda: running on %s\n", gpu_.name);
    } else {
        fprintf(stderr, "test_encoder_cuda: SKIPPING every test: no usable GPU (%s)\n", no_gpu_why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dnabert),    cmocka_unit_test(test_grover),
        cmocka_unit_test(test_nt_v1),      cmocka_unit_test(test_dnabert2),
        cmocka_unit_test(test_gena_bert),  cmocka_unit_test(test_gena_bigbird),
        cmocka_unit_test(test_nt_v2_like), cmocka_unit_test(test_logits),
        cmocka_unit_test(test_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
