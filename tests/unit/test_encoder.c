/* The transformer encoder (models/transformer) against what PyTorch computed for the reference
 * checkpoints in tests/fixtures/models (tools/reference/make_model_fixtures.py): for every family
 * with a fixture (DNABERT, GROVER, NT v1, DNABERT-2, GENA-LM BERT, GENA-LM BigBird) all sequences
 * run in ONE packed forward call, and the final and every per-layer hidden state must be within
 * 1e-4 relative error (max|a-b| / max|b|) of expected.h5. The BigBird fixture's 770-token sequence
 * ran with block-sparse attention in HF. NT v2 has no released-code reference: its fixture is HF
 * ESM with rotary positions and NT v2's SwiGLU FFN swapped in (tests/fixtures/encoder). Then the errors: ids outside the table, windows longer
 * than the position table, a bad layer, a CUDA device. MLM logits against each family's
 * *ForMaskedLM (tests/fixtures/encoder/logits.h5). */
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
#include "models/lm.h"
#include "models/lm_families.h"
#include "models/model_config.h"
#include "models/transformer/encoder.h"
#include "test_h5_read.h"
#include "test_helpers.h"

static char models_[4096];

static int setup(void **state)
{
    (void)state;
    return test_fixture_path("models", models_, sizeof models_);
}

typedef struct fixture {
    bend_model_config cfg;
    bend_lm *lm;
    int n_seq;
    int64_t *offsets;
    int32_t *ids;
    hid_t h5;
} fixture;

static void open_fixture(const char *name, fixture *fx)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", models_, name);
    bend_error err = {0};
    if (bend_model_config_load(dir, NULL, &fx->cfg, &err)) fail_msg("%s: %s", dir, err.msg);
    bend_weights *w = NULL;
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s: %s", dir, err.msg);
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    if (bend_lm_open(&fx->cfg, w, &cpu, &fx->lm, &err)) fail_msg("%s: %s", dir, err.msg);
    bend_weights_close(w); /* the encoder keeps its own float32 copies */
    assert_int_equal(fx->lm->dim, fx->cfg.hidden_size);
    assert_int_equal(fx->lm->n_layers, fx->cfg.num_layers);

    snprintf(path, sizeof path, "%s/expected.h5", dir);
    fx->h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(fx->h5 >= 0);
    fx->n_seq = 0;
    fx->offsets = calloc(64, sizeof *fx->offsets);
    fx->ids = NULL;
    for (int i = 0; i < 63; i++) {
        char ds[64];
        snprintf(ds, sizeof ds, "/%d/input_ids", i);
        void *v = NULL;
        snprintf(path, sizeof path, "/%d", i);
        if (H5Lexists(fx->h5, path, H5P_DEFAULT) <= 0) break;
        int64_t n = read_ds(fx->h5, ds, H5T_NATIVE_INT32, &v);
        assert_true(n > 0);
        fx->ids = realloc(fx->ids, (size_t)(fx->offsets[i] + n) * sizeof *fx->ids);
        memcpy(fx->ids + fx->offsets[i], v, (size_t)n * sizeof *fx->ids);
        free(v);
        fx->offsets[i + 1] = fx->offsets[i] + n;
        fx->n_seq = i + 1;
    }
    assert_true(fx->n_seq >= 3);
}

static void close_fixture(fixture *fx)
{
    bend_lm_close(fx->lm);
    H5Fclose(fx->h5);
    free(fx->offsets);
    free(fx->ids);
}

/* All sequences in one forward per layer; every sequence's rows against the reference. */
static void check_family(const char *name)
{
    fixture fx;
    open_fixture(name, &fx);
    int64_t T = fx.offsets[fx.n_seq], H = fx.lm->dim;
    float *out = malloc((size_t)(T * H) * sizeof *out);
    assert_non_null(out);
    bend_error err = {0};
    int checked = 0;
    for (int layer = -1; layer <= fx.lm->n_layers; layer++) {
        memset(out, 0xff, (size_t)(T * H) * sizeof *out); /* NaN: rows not written fail */
        double worst = 0.0;
        if (bend_lm_forward(fx.lm, fx.n_seq, fx.offsets, fx.ids, layer, out, &err))
            fail_msg("%s layer %d: %s", name, layer, err.msg);
        for (int s = 0; s < fx.n_seq; s++) {
            char ds[64];
            if (layer < 0)
                snprintf(ds, sizeof ds, "/%d/last_hidden_state", s);
            else
                snprintf(ds, sizeof ds, "/%d/hidden_states/%d", s, layer);
            void *ref = NULL;
            int64_t n = read_ds(fx.h5, ds, H5T_NATIVE_FLOAT, &ref);
            if (n < 0) continue; /* BigBird's long sequence has last_hidden_state only */
            int64_t L = fx.offsets[s + 1] - fx.offsets[s];
            assert_int_equal(n, L * H);
            double e = test_rel_err(out + fx.offsets[s] * H, ref, n);
            free(ref);
            if (!(e <= 1e-4))
                fail_msg("%s %s (%lld tokens): relative error %.3g > 1e-4", name, ds, (long long)L, e);
            if (e > worst) worst = e;
            checked++;
        }
        print_message("%s layer %2d: worst relative error %.2e\n", name, layer, worst);
    }
    /* every sequence's last state and each of the first three sequences' N + 1 layers */
    assert_true(checked >= fx.n_seq + 3 * (fx.lm->n_layers + 1));
    free(out);
    close_fixture(&fx);
}

static void test_dnabert(void **state) { (void)state; check_family("dnabert6"); }
static void test_grover(void **state) { (void)state; check_family("grover"); }
static void test_nt_v1(void **state) { (void)state; check_family("nt_v1"); }
static void test_dnabert2(void **state) { (void)state; check_family("dnabert2"); }
static void test_gena_bert(void **state) { (void)state; check_family("gena_lm_bert"); }
static void test_gena_bigbird(void **state) { (void)state; check_family("gena_lm_bigbird"); }
/* tools/reference/make_encoder_ntv2_fixture.py: HF ESM (rotary) with NT v2's SwiGLU FFN swapped
 * in, not InstaDeep's remote code itself */
static void test_nt_v2_like(void **state) { (void)state; check_family("../encoder/nt_v2"); }

/* MLM logits against each family's *ForMaskedLM (tools/reference/make_encoder_logits_fixture.py,
 * tests/fixtures/encoder/logits.h5): all kept sequences of a family in one call. */
static void test_logits(void **state)
{
    (void)state;
    const char *fams[] = {"dnabert6", "nt_v1", "dnabert2", "gena_lm_bert", "gena_lm_bigbird"};
    char path[4300];
    snprintf(path, sizeof path, "%s/../encoder/logits.h5", models_);
    hid_t h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h5 >= 0);
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        fixture fx;
        open_fixture(fams[f], &fx);
        int64_t V = bend_lm_output_width(fx.lm, BEND_LM_LAYER_LOGITS);
        assert_true(V >= fx.cfg.vocab_size);
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
        if (bend_lm_forward(fx.lm, n, offs, ids, BEND_LM_LAYER_LOGITS, out, &err))
            fail_msg("%s: %s", fams[f], err.msg);
        for (int s = 0; s < n; s++) {
            double e = test_rel_err(out + offs[s] * V, refs[s], (offs[s + 1] - offs[s]) * V);
            print_message("%s logits %d: relative error %.2e\n", fams[f], s, e);
            if (!(e <= 1e-4)) fail_msg("%s logits of sequence %d: relative error %.3g", fams[f], s, e);
            free(refs[s]);
        }
        free(out);
        free(ids);
        close_fixture(&fx);
    }
    H5Fclose(h5);

    /* GROVER's fixture is a bare BertModel: no head, no logits */
    fixture fx;
    open_fixture("grover", &fx);
    assert_int_equal(bend_lm_output_width(fx.lm, BEND_LM_LAYER_LOGITS), 0);
    bend_error err = {0};
    float dummy[64 * 16];
    assert_int_equal(bend_lm_forward(fx.lm, 1, fx.offsets, fx.ids, BEND_LM_LAYER_LOGITS, dummy, &err),
                     BEND_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "head"));
    close_fixture(&fx);
}

/* One window alone gives the rows it gets inside a packed call (windows never see each other). */
static void test_windows_independent(void **state)
{
    (void)state;
    fixture fx;
    open_fixture("dnabert2", &fx);
    int64_t T = fx.offsets[fx.n_seq], H = fx.lm->dim;
    float *all = malloc((size_t)(T * H) * sizeof *all);
    bend_error err = {0};
    assert_int_equal(bend_lm_forward(fx.lm, fx.n_seq, fx.offsets, fx.ids, -1, all, &err), BEND_OK);
    for (int s = 0; s < fx.n_seq; s++) {
        int64_t L = fx.offsets[s + 1] - fx.offsets[s], off[2] = {0, L};
        float *one = malloc((size_t)(L * H) * sizeof *one);
        assert_int_equal(bend_lm_forward(fx.lm, 1, off, fx.ids + fx.offsets[s], -1, one, &err),
                         BEND_OK);
        assert_true(test_rel_err(one, all + fx.offsets[s] * H, L * H) < 1e-6);
        free(one);
    }
    free(all);
    close_fixture(&fx);
}

static void test_errors(void **state)
{
    (void)state;
    fixture fx;
    open_fixture("dnabert6", &fx);
    bend_error err = {0};
    int64_t H = fx.lm->dim;
    float *out = malloc((size_t)(600 * H) * sizeof *out);
    int32_t ids[600];
    for (int i = 0; i < 600; i++) ids[i] = 5 + i % 100;
    int64_t off[2] = {0, 4};

    ids[2] = (int32_t)fx.cfg.embedding_rows; /* one past the table */
    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, -1, out, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "outside"));
    ids[2] = -1;
    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, -1, out, &err), BEND_ERR_INVALID);
    ids[2] = 7;

    off[1] = fx.cfg.max_positions + 1; /* one token more than the position table */
    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, -1, out, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "positions"));
    off[1] = fx.cfg.max_positions;
    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, -1, out, &err), BEND_OK);

    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, fx.lm->n_layers + 1, out, &err),
                     BEND_ERR_INVALID);
    assert_int_equal(bend_lm_forward(fx.lm, 1, off, ids, -3, out, &err), BEND_ERR_INVALID);
    /* zero windows, and an empty window, are no-ops */
    assert_int_equal(bend_lm_forward(fx.lm, 0, off, ids, -1, out, &err), BEND_OK);
    int64_t empty[3] = {0, 0, 3};
    assert_int_equal(bend_lm_forward(fx.lm, 2, empty, ids, -1, out, &err), BEND_OK);
    free(out);

    char dir[4200];
    snprintf(dir, sizeof dir, "%s/dnabert6", models_);
    bend_weights *w = NULL;
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s", err.msg);
    bend_device gpu = {.kind = BEND_DEVICE_CUDA, .index = 0, .name = "gpu"};
    bend_lm *lm = NULL;
    /* Without CUDA in the build: unsupported. With it: a GPU runs it (tests/unit/
     * test_encoder_cuda.c checks the values), or there is none and the open fails cleanly. */
    bend_status st = bend_transformer_lm_open(&fx.cfg, w, &gpu, &lm, &err);
    if (!bend_cuda_built()) {
        assert_int_equal(st, BEND_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "CUDA"));
    } else if (st != BEND_OK) {
        assert_int_equal(st, BEND_ERR_DEVICE);
    }
    if (st != BEND_OK) assert_null(lm);
    bend_lm_close(lm);
    bend_weights_close(w);
    close_fixture(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dnabert),    cmocka_unit_test(test_grover),
        cmocka_unit_test(test_nt_v1),      cmocka_unit_test(test_dnabert2),
        cmocka_unit_test(test_gena_bert),  cmocka_unit_test(test_gena_bigbird),
        cmocka_unit_test(test_nt_v2_like), cmocka_unit_test(test_logits),
        cmocka_unit_test(test_windows_independent), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
