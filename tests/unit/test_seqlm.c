/* Forward-pass parity of the non-transformer LMs (HyenaDNA, AWD-LSTM, ResNet-LM, and GPN's
 * ConvNet through the ResNet-LM checkpoint) with what BEND's PyTorch modules computed:
 * tests/fixtures/models/<family>/expected.h5 (tools/reference/make_model_fixtures.py). Every
 * sequence, every per-layer hidden state and the final one (layer -1) must agree within 1e-4
 * relative error (max |a - b| / max |b|), with all sequences in one forward call (windows of
 * different lengths side by side), one at a time, and again from the filter cache. Then the
 * extra configurations of tests/fixtures/seqlm (AWD-LSTM with reset_token_id, HyenaDNA of order 3).
 * Then the errors: ids outside the vocabulary, layers that do not exist, windows longer than HyenaDNA's
 * l_max, a CUDA device, AWD-LSTM's inner layers through the generic [rows, dim] call. */
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checkpoint/weights.h"
#include "models/lm.h"
#include "models/model_config.h"
#include "test_helpers.h"

enum { MAX_SEQ = 8, MAX_LAYERS = 16 };

typedef struct fixture {
    int n_seq, n_layers;
    int64_t offsets[MAX_SEQ + 1];
    int32_t *ids;
    /* hs[j] = hidden_states/j (j <= n_layers), hs[n_layers + 1] = last_hidden_state; rows of
     * all sequences concatenated, width[j] wide */
    float *hs[MAX_LAYERS + 2];
    int64_t width[MAX_LAYERS + 2];
    /* rows the fixture holds per entry and sequence (the full length) */
    int64_t rows[MAX_LAYERS + 2][MAX_SEQ];
} fixture;

static char models_[4096], extra_[4096];

static int setup(void **state)
{
    (void)state;
    return test_fixture_path("models", models_, sizeof models_) ||
           test_fixture_path("seqlm", extra_, sizeof extra_) ? -1 : 0;
}

/* tests/fixtures/models/<family> */
static const char *fixture_dir(const char *family)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/%s", models_, family);
    return p;
}

/* tests/fixtures/seqlm/<name> (tools/reference/make_seqlm_fixtures.py) */
static const char *extra_dir(const char *name)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/%s", extra_, name);
    return p;
}

/* dataset name -> rows x cols floats (or int64 ids when ids != NULL) appended at row `row0` */
static int64_t read_rows(hid_t f, const char *name, int64_t *cols, float **buf, int64_t row0,
                         int64_t cap_rows)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_dims(s, dims, NULL);
    assert_int_equal(nd, 2);
    if (!*buf) {
        *cols = (int64_t)dims[1];
        *buf = malloc((size_t)(cap_rows * *cols) * sizeof **buf);
        assert_non_null(*buf);
    }
    assert_int_equal((int64_t)dims[1], *cols);
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        *buf + row0 * *cols) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return (int64_t)dims[0];
}

static void load_fixture(const char *dir, int n_layers, fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx->n_layers = n_layers;
    char path[4300];
    snprintf(path, sizeof path, "%s/expected.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    /* ids first: they give the sequence lengths */
    int64_t total = 0;
    int64_t *ids64 = malloc(1 << 20);
    for (int i = 0; i < MAX_SEQ; i++) {
        char group[32], name[64];
        snprintf(group, sizeof group, "/%d", i);
        snprintf(name, sizeof name, "/%d/input_ids", i);
        if (H5Lexists(f, group, H5P_DEFAULT) <= 0) break;
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        hid_t s = H5Dget_space(d);
        hsize_t n = 0;
        H5Sget_simple_extent_dims(s, &n, NULL);
        assert_true(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids64 + total) >= 0);
        H5Sclose(s);
        H5Dclose(d);
        total += (int64_t)n;
        fx->n_seq = i + 1;
        fx->offsets[i + 1] = total;
    }
    assert_true(fx->n_seq >= 2);
    fx->ids = malloc((size_t)total * sizeof *fx->ids);
    for (int64_t r = 0; r < total; r++) fx->ids[r] = (int32_t)ids64[r];
    free(ids64);
    for (int j = 0; j <= n_layers + 1; j++)
        for (int i = 0; i < fx->n_seq; i++) {
            char name[64];
            if (j <= n_layers)
                snprintf(name, sizeof name, "/%d/hidden_states/%d", i, j);
            else
                snprintf(name, sizeof name, "/%d/last_hidden_state", i);
            int64_t rows = read_rows(f, name, &fx->width[j], &fx->hs[j], fx->offsets[i], total);
            int64_t len = fx->offsets[i + 1] - fx->offsets[i];
            if (rows != len)
                fail_msg("%s: %s has %lld rows for %lld tokens", path, name, (long long)rows,
                         (long long)len);
            fx->rows[j][i] = rows;
        }
    H5Fclose(f);
}

static void free_fixture(fixture *fx)
{
    free(fx->ids);
    for (int j = 0; j <= fx->n_layers + 1; j++) free(fx->hs[j]);
}

/* max |a - b| / max |b| over n values */
static bend_lm *open_lm(const char *config_dir, const char *weights_dir, const char *family,
                        bend_model_config *cfg)
{
    bend_error err = {0};
    if (bend_model_config_load(config_dir, family, cfg, &err)) fail_msg("%s", err.msg);
    bend_weights *w = NULL;
    if (bend_weights_open(weights_dir, &w, &err)) fail_msg("%s", err.msg);
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_lm *lm = NULL;
    if (bend_lm_open(cfg, w, &cpu, &lm, &err)) fail_msg("%s", err.msg);
    bend_weights_close(w); /* the lm keeps its own copies */
    return lm;
}

/* Every layer, all sequences in one call, each sequence compared on its own. */
static void check_parity(bend_lm *lm, const bend_model_config *cfg, const fixture *fx,
                         const char *label)
{
    bend_error err = {0};
    int64_t T = fx->offsets[fx->n_seq];
    for (int layer = -1; layer <= fx->n_layers; layer++) {
        int j = layer < 0 ? fx->n_layers + 1 : layer;
        int64_t W = fx->width[j];
        assert_int_equal(bend_lm_output_width(lm, layer), W);
        float *out = malloc((size_t)(T * W) * sizeof *out);
        if (bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, layer, out, &err))
            fail_msg("%s layer %d: %s", label, layer, err.msg);
        for (int i = 0; i < fx->n_seq; i++) {
            size_t at = (size_t)(fx->offsets[i] * W);
            size_t n = (size_t)(fx->rows[j][i] * W);
            double e = test_rel_err(out + at, fx->hs[j] + at, n);
            print_message("%s layer %2d seq %d: rel err %.2e\n", label, layer, i, e);
            if (!(e <= 1e-4)) fail_msg("%s layer %d sequence %d: relative error %.3e", label, layer, i, e);
        }
        /* one window at a time gives the same rows (nothing leaks across windows) */
        for (int i = 0; i < fx->n_seq; i++) {
            int64_t off1[2] = {0, fx->offsets[i + 1] - fx->offsets[i]};
            float *one = malloc((size_t)(off1[1] * W) * sizeof *one);
            assert_int_equal(bend_lm_forward(lm, 1, off1, fx->ids + fx->offsets[i], layer, one, &err),
                             BEND_OK);
            double e = test_rel_err(one, fx->hs[j] + fx->offsets[i] * W, (int64_t)(fx->rows[j][i] * W));
            if (!(e <= 1e-4)) fail_msg("%s layer %d sequence %d alone: %.3e", label, layer, i, e);
            free(one);
        }
        free(out);
    }
}

static void check_errors(bend_lm *lm, const bend_model_config *cfg, const fixture *fx,
                         int32_t bad_id)
{
    bend_error err = {0};
    int64_t T = fx->offsets[fx->n_seq];
    float *out = malloc((size_t)(T * 64 + 64) * sizeof *out);
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    memcpy(ids, fx->ids, (size_t)T * sizeof *ids);
    ids[T - 1] = bad_id;
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, ids, -1, out, &err),
                     BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "token id"));
    ids[T - 1] = -1;
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, ids, -1, out, &err),
                     BEND_ERR_INVALID);
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, lm->n_layers + 1, out,
                                     &err),
                     BEND_ERR_INVALID);
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, -2, out, &err),
                     BEND_ERR_INVALID);
    /* no windows at all is fine */
    int64_t zero = 0;
    assert_int_equal(bend_lm_forward(lm, 0, &zero, fx->ids, -1, out, &err), BEND_OK);
    (void)cfg;
    free(ids);
    free(out);
}

static void check_cuda_refused(const char *family)
{
    bend_model_config cfg;
    bend_error err = {0};
    assert_int_equal(bend_model_config_load(fixture_dir(family), NULL, &cfg, &err), BEND_OK);
    bend_weights *w = NULL;
    assert_int_equal(bend_weights_open(fixture_dir(family), &w, &err), BEND_OK);
    bend_device gpu = {.kind = BEND_DEVICE_CUDA, .index = 0, .name = "test gpu"};
    bend_lm *lm = (bend_lm *)&cfg; /* must be reset to NULL */
    assert_int_equal(bend_lm_open(&cfg, w, &gpu, &lm, &err), BEND_ERR_UNSUPPORTED);
    assert_null(lm);
    assert_non_null(strstr(err.msg, "CUDA"));
    bend_weights_close(w);
}

static void test_hyenadna(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_lm *lm = open_lm(fixture_dir("hyenadna"), fixture_dir("hyenadna"), NULL, &cfg);
    fixture fx;
    load_fixture(fixture_dir("hyenadna"), lm->n_layers, &fx);
    assert_int_equal(lm->n_layers, 2);
    check_parity(lm, &cfg, &fx, "hyenadna");
    check_parity(lm, &cfg, &fx, "hyenadna (cached filters)");
    check_errors(lm, &cfg, &fx, (int32_t)cfg.embedding_rows);

    /* l_max tokens run (the longest fixture sequence is exactly l_max); one more is refused */
    bend_error err = {0};
    int64_t L = cfg.hyena.l_max + 1, off[2] = {0, L};
    int32_t *ids = calloc((size_t)L, sizeof *ids);
    float *out = malloc((size_t)(L * lm->dim) * sizeof *out);
    assert_int_equal(bend_lm_forward(lm, 1, off, ids, -1, out, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "tokens"));
    off[1] = L - 1;
    assert_int_equal(bend_lm_forward(lm, 1, off, ids, -1, out, &err), BEND_OK);
    free(ids);
    free(out);
    bend_lm_close(lm);
    free_fixture(&fx);
    check_cuda_refused("hyenadna");
}

static void test_awdlstm(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_lm *lm = open_lm(fixture_dir("awdlstm"), fixture_dir("awdlstm"), NULL, &cfg);
    fixture fx;
    load_fixture(fixture_dir("awdlstm"), lm->n_layers, &fx);
    assert_int_equal(lm->dim, 16);
    check_parity(lm, &cfg, &fx, "awdlstm");
    check_errors(lm, &cfg, &fx, (int32_t)cfg.vocab_size);
    /* layer 1 is hidden_size (32) wide, the embedding and the last layer input_size (16) */
    assert_int_equal(bend_lm_output_width(lm, 1), 32);
    assert_int_equal(bend_lm_output_width(lm, 0), 16);
    assert_int_equal(bend_lm_output_width(lm, 2), 16);
    assert_int_equal(bend_lm_output_width(lm, BEND_LM_LAYER_LOGITS), 0);
    bend_lm_close(lm);
    free_fixture(&fx);
    check_cuda_refused("awdlstm");
}

static void test_resnetlm(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_lm *lm = open_lm(fixture_dir("resnetlm"), fixture_dir("resnetlm"), NULL, &cfg);
    fixture fx;
    load_fixture(fixture_dir("resnetlm"), lm->n_layers, &fx);
    assert_int_equal(lm->n_layers, 4);
    check_parity(lm, &cfg, &fx, "resnetlm");
    check_errors(lm, &cfg, &fx, (int32_t)lm->dim);
    bend_lm_close(lm);
    free_fixture(&fx);
    check_cuda_refused("resnetlm");
}

/* GPN's ConvNet is BEND's with a configurable dilation base: the ResNet-LM checkpoint under a
 * GPN config.json (base 2: the same schedule) must give the same states; base 3 must not. */
static void test_gpn_convnet(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("seqlm_gpn");
    const char *cfg_text =
        "{\"model_type\": \"ConvNet\", \"hidden_size\": 16, \"n_layers\": 4, \"kernel_size\": 9,"
        " \"dilation_double_every\": 1, \"dilation_max\": 4, \"dilation_cycle\": 3,"
        " \"dilation_base\": %d, \"n_aux_features\": 0, \"aux_features_vocab_size\": 5,"
        " \"vocab_size\": 7}";
    char text[1024];
    snprintf(text, sizeof text, cfg_text, 2);
    test_write_file(dir, "config.json", text);
    bend_model_config cfg;
    bend_lm *lm = open_lm(dir, fixture_dir("resnetlm"), NULL, &cfg);
    assert_int_equal(cfg.family, BEND_FAMILY_GPN);
    fixture fx;
    load_fixture(fixture_dir("resnetlm"), lm->n_layers, &fx);
    check_parity(lm, &cfg, &fx, "gpn");
    bend_lm_close(lm);

    snprintf(text, sizeof text, cfg_text, 3);
    test_write_file(dir, "config.json", text);
    lm = open_lm(dir, fixture_dir("resnetlm"), NULL, &cfg);
    int64_t T = fx.offsets[fx.n_seq];
    float *out = malloc((size_t)(T * 16) * sizeof *out);
    bend_error err = {0};
    assert_int_equal(bend_lm_forward(lm, fx.n_seq, fx.offsets, fx.ids, -1, out, &err), BEND_OK);
    assert_true(test_rel_err(out, fx.hs[fx.n_layers + 1], (int64_t)(T * 16)) > 1e-3);
    free(out);
    bend_lm_close(lm);
    free_fixture(&fx);
}

/* AWD-LSTM with reset_token_id (3 layers): ids 3 at position 0 (never checked), 1, in runs and
 * last; BEND's in-place reset also zeroes the reset token's own output row. */
static void test_awdlstm_reset(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_lm *lm = open_lm(extra_dir("awdlstm_reset"), extra_dir("awdlstm_reset"), NULL, &cfg);
    assert_int_equal(cfg.awdlstm.reset_token_id, 3);
    assert_int_equal(lm->n_layers, 3);
    fixture fx;
    load_fixture(extra_dir("awdlstm_reset"), lm->n_layers, &fx);
    check_parity(lm, &cfg, &fx, "awdlstm_reset");
    bend_lm_close(lm);
    free_fixture(&fx);
}

/* HyenaDNA with an order-3 operator (two long convolutions per block), emb_dim 3, keys without
 * checkpoint_mixer renaming, layer.shift 0; windows of 1 and 2 tokens and l_max. */
static void test_hyenadna_order3(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_lm *lm = open_lm(extra_dir("hyenadna_order3"), extra_dir("hyenadna_order3"), NULL, &cfg);
    assert_int_equal(cfg.hyena.order, 3);
    assert_true(cfg.hyena.modulation_shift == 0.0);
    fixture fx;
    load_fixture(extra_dir("hyenadna_order3"), lm->n_layers, &fx);
    check_parity(lm, &cfg, &fx, "hyenadna_order3");
    bend_lm_close(lm);
    free_fixture(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hyenadna),
        cmocka_unit_test(test_awdlstm),
        cmocka_unit_test(test_resnetlm),
        cmocka_unit_test(test_gpn_convnet),
        cmocka_unit_test(test_awdlstm_reset),
        cmocka_unit_test(test_hyenadna_order3),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
