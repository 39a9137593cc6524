/* Caduceus forward-pass parity (src/models/seqlm/caduceus.c) with kuleshov-group/caduceus's
 * CaduceusForMaskedLM on mamba_ssm 1.2.0.post1's reference ops: tests/fixtures/models/
 * caduceus_{ph,ps}/expected.h5 (tools/reference/make_caduceus_fixture.py). Every sequence and
 * every hidden state (0 = embeddings, j = mixer output of block j-1, n_layer and -1 = final norm,
 * BEND's output) within 1e-4 relative error (max |a - b| / max |b|), all sequences in one call and
 * each alone. Then the model property RCPS exists for: the ps output of the reverse complement is
 * the forward output flipped in length and channels. Then the errors: ids outside the table,
 * layers that do not exist, a CUDA device, fused_add_norm false. Last, the whole LM embedder
 * (Caduceus tokenizer, BEND's windows, this forward) on the fixture's sequence strings, one in
 * lower case: BEND's CaduceusEmbedder output is last_hidden_state. */
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
#include "models/embedder.h"
#include "models/lm.h"
#include "models/lm_embedder.h"
#include "models/model_config.h"
#include "store/h5util.h"
#include "test_helpers.h"

enum { MAX_SEQ = 8, MAX_ENTRIES = 8 };

typedef struct fixture {
    int n_seq, n_entries; /* entries: hidden_states/0..n_layers, then last_hidden_state */
    int64_t offsets[MAX_SEQ + 1];
    int32_t *ids;
    float *hs[MAX_ENTRIES];
    int64_t width;
} fixture;

static char models_[4096];

static int setup(void **state)
{
    (void)state;
    return test_fixture_path("models", models_, sizeof models_) ? -1 : 0;
}

static const char *fixture_dir(const char *name)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/%s", models_, name);
    return p;
}

/* 1-D int64 or 2-D float dataset; returns its first dimension, *cols the second */
static int64_t read_ds(hid_t f, const char *name, hid_t type, void *dst, int64_t *cols)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) fail_msg("no dataset %s", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {0, 1};
    H5Sget_simple_extent_dims(s, dims, NULL);
    if (cols) *cols = (int64_t)dims[1];
    if (dst) assert_true(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return (int64_t)dims[0];
}

static void load_fixture(const char *dir, int n_layers, fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    char path[4300], name[96];
    snprintf(path, sizeof path, "%s/expected.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    int64_t ids64[4096], total = 0;
    for (int i = 0; i < MAX_SEQ; i++) {
        snprintf(name, sizeof name, "/%d", i);
        if (H5Lexists(f, name, H5P_DEFAULT) <= 0) break;
        snprintf(name, sizeof name, "/%d/input_ids", i);
        int64_t n = read_ds(f, name, H5T_NATIVE_INT64, NULL, NULL);
        assert_true(total + n <= 4096);
        read_ds(f, name, H5T_NATIVE_INT64, ids64 + total, NULL);
        total += n;
        fx->n_seq = i + 1;
        fx->offsets[i + 1] = total;
    }
    assert_int_equal(fx->n_seq, 3);
    fx->ids = malloc((size_t)total * sizeof *fx->ids);
    for (int64_t r = 0; r < total; r++) fx->ids[r] = (int32_t)ids64[r];
    fx->n_entries = n_layers + 2;
    for (int j = 0; j < fx->n_entries; j++)
        for (int i = 0; i < fx->n_seq; i++) {
            if (j <= n_layers)
                snprintf(name, sizeof name, "/%d/hidden_states/%d", i, j);
            else
                snprintf(name, sizeof name, "/%d/last_hidden_state", i);
            int64_t cols = 0;
            int64_t rows = read_ds(f, name, H5T_NATIVE_FLOAT, NULL, &cols);
            assert_int_equal(rows, fx->offsets[i + 1] - fx->offsets[i]);
            if (!fx->hs[j]) {
                fx->width = cols;
                fx->hs[j] = malloc((size_t)(total * cols) * sizeof(float));
            }
            assert_int_equal(cols, fx->width);
            read_ds(f, name, H5T_NATIVE_FLOAT, fx->hs[j] + fx->offsets[i] * cols, NULL);
        }
    H5Fclose(f);
}

static void free_fixture(fixture *fx)
{
    free(fx->ids);
    for (int j = 0; j < fx->n_entries; j++) free(fx->hs[j]);
}

static bend_lm *open_lm(const char *config_dir, const char *weights_dir, bend_model_config *cfg,
                        bend_status want, bend_error *err)
{
    if (bend_model_config_load(config_dir, NULL, cfg, err)) fail_msg("%s", err->msg);
    bend_weights *w = NULL;
    if (bend_weights_open(weights_dir, &w, err)) fail_msg("%s", err->msg);
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_lm *lm = NULL;
    bend_status st = bend_lm_open(cfg, w, &cpu, &lm, err);
    if (st != want) fail_msg("open %s: status %d, want %d: %s", config_dir, st, want, err->msg);
    bend_weights_close(w); /* the lm keeps its own copies */
    return lm;
}

static void check_parity(bend_lm *lm, const fixture *fx, const char *label)
{
    bend_error err = {0};
    int64_t T = fx->offsets[fx->n_seq], W = fx->width;
    float *out = malloc((size_t)(T * W) * sizeof *out);
    for (int layer = -1; layer <= lm->n_layers; layer++) {
        int j = layer < 0 ? lm->n_layers + 1 : layer;
        assert_int_equal(bend_lm_output_width(lm, layer), W);
        if (bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, layer, out, &err))
            fail_msg("%s layer %d: %s", label, layer, err.msg);
        for (int i = 0; i < fx->n_seq; i++) {
            int64_t r0 = fx->offsets[i], L = fx->offsets[i + 1] - r0;
            double e = test_rel_err(out + r0 * W, fx->hs[j] + r0 * W, (int64_t)(L * W));
            print_message("%s layer %2d seq %d: rel err %.2e\n", label, layer, i, e);
            if (!(e <= 1e-4))
                fail_msg("%s layer %d sequence %d: relative error %.3e", label, layer, i, e);
            /* alone: nothing crosses a window boundary (the reverse scan included) */
            int64_t off1[2] = {0, L};
            float *one = malloc((size_t)(L * W) * sizeof *one);
            assert_int_equal(bend_lm_forward(lm, 1, off1, fx->ids + r0, layer, one, &err),
                             BEND_OK);
            e = test_rel_err(one, fx->hs[j] + r0 * W, (int64_t)(L * W));
            if (!(e <= 1e-4))
                fail_msg("%s layer %d sequence %d alone: %.3e", label, layer, i, e);
            free(one);
        }
    }
    free(out);
}

static void check_errors(bend_lm *lm, const bend_model_config *cfg, const fixture *fx)
{
    bend_error err = {0};
    int64_t T = fx->offsets[fx->n_seq];
    float *out = malloc((size_t)(T * fx->width) * sizeof *out);
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    memcpy(ids, fx->ids, (size_t)T * sizeof *ids);
    ids[T - 1] = (int32_t)cfg->embedding_rows;
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, ids, -1, out, &err),
                     BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "token id"));
    ids[T - 1] = -1;
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, ids, 1, out, &err),
                     BEND_ERR_INVALID);
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, lm->n_layers + 1, out,
                                     &err),
                     BEND_ERR_INVALID);
    assert_int_equal(bend_lm_forward(lm, fx->n_seq, fx->offsets, fx->ids, -2, out, &err),
                     BEND_ERR_INVALID);
    int64_t zero = 0;
    assert_int_equal(bend_lm_forward(lm, 0, &zero, fx->ids, -1, out, &err), BEND_OK);
    free(ids);
    free(out);
}

static void check_cuda_refused(const char *name)
{
    bend_model_config cfg;
    bend_error err = {0};
    assert_int_equal(bend_model_config_load(fixture_dir(name), NULL, &cfg, &err), BEND_OK);
    bend_weights *w = NULL;
    assert_int_equal(bend_weights_open(fixture_dir(name), &w, &err), BEND_OK);
    bend_device gpu = {.kind = BEND_DEVICE_CUDA, .index = 0, .name = "test gpu"};
    bend_lm *lm = (bend_lm *)&cfg; /* must be reset to NULL */
    assert_int_equal(bend_lm_open(&cfg, w, &gpu, &lm, &err), BEND_ERR_UNSUPPORTED);
    assert_null(lm);
    assert_non_null(strstr(err.msg, "CUDA"));
    bend_weights_close(w);
}

static void run_fixture(const char *name, int64_t width)
{
    bend_model_config cfg;
    bend_error err = {0};
    bend_lm *lm = open_lm(fixture_dir(name), fixture_dir(name), &cfg, BEND_OK, &err);
    assert_int_equal(cfg.family, BEND_FAMILY_CADUCEUS);
    assert_int_equal(lm->n_layers, 3);
    assert_int_equal(lm->dim, width);
    fixture fx;
    load_fixture(fixture_dir(name), lm->n_layers, &fx);
    assert_int_equal(fx.width, width);
    check_parity(lm, &fx, name);
    check_errors(lm, &cfg, &fx);
    bend_lm_close(lm);
    free_fixture(&fx);
    check_cuda_refused(name);
}

static void test_caduceus_ph(void **state)
{
    (void)state;
    run_fixture("caduceus_ph", 24);
}

static void test_caduceus_ps(void **state)
{
    (void)state;
    run_fixture("caduceus_ps", 48);
}

/* RC equivariance of the ps model, every layer: f(rc(x))[t, c] = f(x)[L-1-t, W-1-c] (A<->T,
 * C<->G; N stays). Not from the fixture: a property that breaks with any swapped half, wrong
 * flip or unreversed norm weight. */
static void test_ps_rc_equivariance(void **state)
{
    (void)state;
    bend_model_config cfg;
    bend_error err = {0};
    bend_lm *lm = open_lm(fixture_dir("caduceus_ps"), fixture_dir("caduceus_ps"), &cfg, BEND_OK,
                          &err);
    fixture fx;
    load_fixture(fixture_dir("caduceus_ps"), lm->n_layers, &fx);
    int i = 1; /* the 31-nt sequence with an N */
    int64_t r0 = fx.offsets[i], L = fx.offsets[i + 1] - r0, W = lm->dim, off[2] = {0, L};
    int32_t *rc = malloc((size_t)L * sizeof *rc);
    for (int64_t t = 0; t < L; t++) {
        int32_t id = fx.ids[r0 + L - 1 - t];
        rc[t] = id >= 7 && id <= 10 ? 17 - id : id;
    }
    float *a = malloc((size_t)(L * W) * sizeof *a), *b = malloc((size_t)(L * W) * sizeof *b);
    for (int layer = -1; layer <= lm->n_layers; layer++) {
        assert_int_equal(bend_lm_forward(lm, 1, off, fx.ids + r0, layer, a, &err), BEND_OK);
        assert_int_equal(bend_lm_forward(lm, 1, off, rc, layer, b, &err), BEND_OK);
        for (int64_t t = 0; t < L; t++)
            for (int64_t c = 0; c < W / 2; c++) { /* b := flip_LC(b): each pair once */
                float *p = b + t * W + c, *q = b + (L - 1 - t) * W + (W - 1 - c);
                float v = *p;
                *p = *q;
                *q = v;
            }
        double e = test_rel_err(b, a, (int64_t)(L * W));
        print_message("ps rc equivariance layer %2d: rel err %.2e\n", layer, e);
        if (!(e <= 1e-4)) fail_msg("layer %d: RC output is not the flipped output (%.3e)", layer, e);
    }
    free(a);
    free(b);
    free(rc);
    bend_lm_close(lm);
    free_fixture(&fx);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

/* The unfused path wires RCPS norms differently and changes what hidden_states[-1] is: refused. */
static void test_unfused_refused(void **state)
{
    (void)state;
    char path[4300];
    snprintf(path, sizeof path, "%s/config.json", fixture_dir("caduceus_ps"));
    char *text = read_text(path);
    char *at = strstr(text, "\"fused_add_norm\": true");
    assert_non_null(at);
    memcpy(at, "\"fused_add_norm\":false", 22);
    const char *dir = test_scratch_dir("caduceus_unfused");
    test_write_file(dir, "config.json", text);
    free(text);
    bend_model_config cfg;
    bend_error err = {0};
    bend_lm *lm = open_lm(dir, fixture_dir("caduceus_ps"), &cfg, BEND_ERR_UNSUPPORTED, &err);
    assert_null(lm);
    assert_non_null(strstr(err.msg, "fused_add_norm"));
}

/* The LM embedder end to end: strings in, BEND's hidden_states[-1] out, several forward calls. */
static void check_embedder(const char *name)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/expected.h5", fixture_dir(name));
    bend_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    bend_lm_embedder_options o;
    bend_lm_embedder_options_init(&o);
    o.family = "caduceus";
    o.batch_tokens = 40; /* the 64-nt sequence alone, the others in other calls */
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_embedder *e = NULL;
    bend_error err = {0};
    if (bend_lm_embedder_open_dir(fixture_dir(name), &o, &cpu, &e, &err)) fail_msg("%s", err.msg);
    int64_t W = bend_embedder_dim(e), lens[3], total = 0;
    char *seqs[3];
    for (int i = 0; i < 3; i++) {
        char group[16];
        snprintf(group, sizeof group, "%d", i);
        hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
        assert_int_equal(bend_h5_read_attr_str(g, "sequence", &seqs[i], &err), BEND_OK);
        H5Gclose(g);
        lens[i] = (int64_t)strlen(seqs[i]);
        total += lens[i];
    }
    for (char *c = seqs[2]; *c; c++) *c = (char)(*c - 'A' + 'a'); /* CaduceusTokenizer upper-cases */
    float *out = malloc((size_t)(total * W) * sizeof *out);
    if (bend_embedder_embed(e, 3, (const char *const *)seqs, lens, out, &err))
        fail_msg("%s: %s", name, err.msg);
    fixture fx;
    load_fixture(fixture_dir(name), 3, &fx);
    assert_int_equal(fx.width, W);
    int last = fx.n_entries - 1;
    for (int i = 0; i < 3; i++) {
        double e2 = test_rel_err(out + fx.offsets[i] * W, fx.hs[last] + fx.offsets[i] * W,
                            (size_t)(lens[i] * W));
        print_message("%s embedder seq %d: rel err %.2e\n", name, i, e2);
        if (!(e2 <= 1e-4)) fail_msg("%s embedder sequence %d: %.3e", name, i, e2);
        free(seqs[i]);
    }
    free(out);
    free_fixture(&fx);
    bend_embedder_close(e);
    H5Fclose(f);
}

static void test_embedder(void **state)
{
    (void)state;
    check_embedder("caduceus_ph");
    check_embedder("caduceus_ps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caduceus_ph),
        cmocka_unit_test(test_caduceus_ps),
        cmocka_unit_test(test_ps_rc_equivariance),
        cmocka_unit_test(test_unfused_refused),
        cmocka_unit_test(test_embedder),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
