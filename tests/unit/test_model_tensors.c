/* The name -> shape map of what each family's forward pass reads (models/model_tensors.h),
 * checked against what PyTorch wrote: for every reference checkpoint in tests/fixtures/models the
 * check passes, detects the right key prefix, and the expected list equals the tensors.json
 * entries under that prefix minus the documented extras (pooler, contact head, position_ids,
 * inv_freq, LM / MLM heads, AWD-LSTM's stale h2h copy, Caduceus's complement_map buffers); the
 * same for tests/fixtures/model_tensors (GPN, Caduceus, bidirectional AWD-LSTM). Then broken checkpoints written here (a
 * tensor removed, a shape changed, an integer dtype, a config that disagrees with the weights)
 * fail with BEND_ERR_INVALID naming the tensor, the file and both shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint/weights.h"
#include "models/model_config.h"
#include "models/model_tensors.h"
#include "test_helpers.h"

static char models_[4096];
static const char *scratch;

/* fixture directory, the prefix its checkpoints use */
static const struct {
    const char *dir, *prefix;
} fixtures[] = {
    {"awdlstm", "encoder."},       {"dnabert2", "bert."}, {"dnabert6", "bert."},
    {"gena_lm_bert", "bert."},     {"gena_lm_bigbird", "bert."}, {"grover", ""},
    {"hyenadna", "model.backbone."}, {"nt_v1", "esm."}, {"resnetlm", "model."},
    {"caduceus_ph", "caduceus.backbone."}, {"caduceus_ps", "caduceus.backbone."},
};

/* tests/fixtures/model_tensors (tools/reference/make_model_tensor_fixtures.py): state dicts of
 * GPN's legacy ConvNet, Caduceus (ph, ps = RCPS, untied mamba_rev projections) and BEND's
 * bidirectional AWD-LSTM at tiny sizes */
static const struct {
    const char *dir, *prefix;
} more_fixtures[] = {
    {"gpn", "model."},
    {"caduceus_ph", "caduceus.backbone."},
    {"caduceus_ps", "caduceus.backbone."},
    {"caduceus_untied", "caduceus.backbone."},
    {"awdlstm_bi", "encoder."},
};
static char more_[4096];

static int setup(void **state)
{
    (void)state;
    if (test_fixture_path("models", models_, sizeof models_)) return -1;
    if (test_fixture_path("model_tensors", more_, sizeof more_)) return -1;
    scratch = test_scratch_dir("model_tensors");
    return 0;
}

static const char *path_in(const char *dir, const char *name)
{
    static char paths[8][8400];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 8400, "%s/%s", dir, name);
    return p;
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

/* text with the first `old` replaced by `new` (which must be there); the caller frees */
static char *replaced(const char *text, const char *old, const char *new_text)
{
    const char *at = strstr(text, old);
    if (!at) fail_msg("\"%s\" not found", old);
    size_t a = (size_t)(at - text), lo = strlen(old), ln = strlen(new_text);
    char *s = malloc(strlen(text) - lo + ln + 1);
    assert_non_null(s);
    memcpy(s, text, a);
    memcpy(s + a, new_text, ln);
    strcpy(s + a + ln, at + lo);
    return s;
}

static bool starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static bool ends(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The extras a checkpoint may hold that no forward pass reads (the header's documented list). */
static bool ignorable(const char *name, const char *prefix)
{
    if (!starts(name, prefix))
        return starts(name, "cls.") || starts(name, "lm_head.") || starts(name, "decoder.") ||
               starts(name, "model.lm_head.");
    const char *rel = name + strlen(prefix);
    return starts(rel, "pooler.") || starts(rel, "contact_head.") || ends(rel, "position_ids") ||
           ends(rel, "inv_freq") || ends(rel, ".module.h2h.weight") || ends(rel, "complement_map");
}

static void check_fixture(const char *base, const char *fixture, const char *want_prefix);

static void test_fixtures_match_pytorch(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++)
        check_fixture(models_, fixtures[f].dir, fixtures[f].prefix);
}

static void test_more_fixtures_match_pytorch(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof more_fixtures / sizeof *more_fixtures; f++)
        check_fixture(more_, more_fixtures[f].dir, more_fixtures[f].prefix);
}

static void check_fixture(const char *base, const char *fixture, const char *want_prefix)
{
    {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", base, fixture);
        bend_error err;
        bend_error_clear(&err);
        bend_model_config cfg;
        if (bend_model_config_load(dir, NULL, &cfg, &err)) fail_msg("%s: %s", dir, err.msg);
        bend_tensor_expect *ex = NULL;
        size_t n = 0;
        if (bend_model_expected_tensors(&cfg, &ex, &n, &err)) fail_msg("%s: %s", dir, err.msg);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (!strcmp(ex[i].name, ex[j].name)) fail_msg("%s: %s listed twice", dir, ex[i].name);

        json_error_t jerr;
        json_t *ref = json_load_file(path_in(dir, "tensors.json"), 0, &jerr);
        if (!ref) fail_msg("%s/tensors.json: %s", dir, jerr.text);
        json_t *files = json_object_get(ref, "files");
        assert_true(json_object_size(files) > 0);
        const char *fname;
        json_t *fv;
        json_object_foreach(files, fname, fv) {
            const char *wpath = path_in(dir, fname);
            bend_weights *w = NULL;
            if (bend_weights_open(wpath, &w, &err)) fail_msg("%s: %s", wpath, err.msg);
            const char *prefix = NULL;
            if (bend_model_check_weights(&cfg, w, &prefix, &err))
                fail_msg("%s: check failed: %s", wpath, err.msg);
            if (strcmp(prefix, want_prefix))
                fail_msg("%s: prefix '%s', expected '%s'", wpath, prefix, want_prefix);

            /* tensors.json under the prefix, minus the extras == the expected list */
            json_t *tensors = json_object_get(fv, "tensors");
            const char *name;
            json_t *tv;
            size_t needed = 0;
            json_object_foreach(tensors, name, tv) {
                if (ignorable(name, prefix)) continue;
                if (!starts(name, prefix)) fail_msg("%s: '%s' is outside prefix '%s'", wpath, name, prefix);
                needed++;
                const char *rel = name + strlen(prefix);
                const bend_tensor_expect *e = NULL;
                for (size_t i = 0; i < n && !e; i++)
                    if (!strcmp(ex[i].name, rel)) e = &ex[i];
                if (!e) fail_msg("%s: PyTorch wrote '%s', which the expected list lacks", wpath, name);
                json_t *shape = json_object_get(tv, "shape");
                if ((size_t)e->ndim != json_array_size(shape))
                    fail_msg("%s: '%s' has %zu dims, expected %d", wpath, name,
                             json_array_size(shape), e->ndim);
                for (int d = 0; d < e->ndim; d++) {
                    int64_t got = json_integer_value(json_array_get(shape, (size_t)d));
                    if (e->shape[d] >= 0 && e->shape[d] != got)
                        fail_msg("%s: '%s' dim %d is %lld, expected %lld", wpath, name, d,
                                 (long long)got, (long long)e->shape[d]);
                }
            }
            if (needed != n)
                fail_msg("%s: %zu tensors needed in tensors.json, %zu expected", wpath, needed, n);
            bend_weights_close(w);
        }
        json_decref(ref);
        free(ex);
    }
}

/* Writes dir/model.safetensors with w's tensors (zero data): `skip` left out, `reshape` given
 * first dimension d0, `as_int` stored as I32. */
static void write_safetensors(const char *dir, const bend_weights *w, const char *skip,
                              const char *reshape, int64_t d0, const char *as_int)
{
    json_t *hdr = json_object();
    uint64_t off = 0;
    for (size_t i = 0; i < bend_weights_count(w); i++) {
        const bend_tensor_ref *r = bend_weights_at(w, i);
        if (skip && !strcmp(r->name, skip)) continue;
        json_t *shape = json_array();
        uint64_t count = 1;
        for (int d = 0; d < r->ndim; d++) {
            int64_t s = d == 0 && reshape && !strcmp(r->name, reshape) ? d0 : r->shape[d];
            json_array_append_new(shape, json_integer(s));
            count *= (uint64_t)s;
        }
        bool integer = as_int && !strcmp(r->name, as_int);
        json_t *t = json_pack("{s:s,s:o,s:[I,I]}", "dtype", integer ? "I32" : "F32", "shape", shape,
                              "data_offsets", (json_int_t)off, (json_int_t)(off + 4 * count));
        assert_non_null(t);
        json_object_set_new(hdr, r->name, t);
        off += 4 * count;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    assert_non_null(text);
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    FILE *fp = fopen(path_in(dir, "model.safetensors"), "wb");
    assert_non_null(fp);
    uint64_t n = padded;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(n >> (8 * i));
    fwrite(le, 1, 8, fp);
    fwrite(text, 1, len, fp);
    for (size_t i = len; i < padded; i++) fputc(' ', fp);
    for (uint64_t i = 0; i < off; i++) fputc(0, fp);
    fclose(fp);
    free(text);
    json_decref(hdr);
}

/* A copy of fixture `fix` (config.json + a rewritten model.safetensors) in scratch/name; returns
 * the check's status and message. */
static bend_status check_broken(const char *fix, const char *name, const char *skip,
                                const char *reshape, int64_t d0, const char *as_int, bend_error *err)
{
    char src[4400], dst[4400];
    snprintf(src, sizeof src, "%s/%s", models_, fix);
    snprintf(dst, sizeof dst, "%s/%s", scratch, name);
    assert_int_equal(mkdir(dst, 0755), 0);
    char *cfgtext = read_text(path_in(src, "config.json"));
    test_write_file(dst, "config.json", cfgtext);
    free(cfgtext);
    bend_weights *w = NULL;
    bend_error_clear(err);
    if (bend_weights_open(src, &w, err)) fail_msg("%s: %s", src, err->msg);
    write_safetensors(dst, w, skip, reshape, d0, as_int);
    bend_weights_close(w);

    bend_model_config cfg;
    if (bend_model_config_load(dst, NULL, &cfg, err)) fail_msg("%s: %s", dst, err->msg);
    if (bend_weights_open(dst, &w, err)) fail_msg("%s: %s", dst, err->msg);
    bend_status st = bend_model_check_weights(&cfg, w, NULL, err);
    bend_weights_close(w);
    return st;
}

static void assert_has(const char *msg, const char *want)
{
    if (!strstr(msg, want)) fail_msg("message lacks \"%s\": %s", want, msg);
}

static void test_unchanged_copy_passes(void **state)
{
    (void)state;
    bend_error err;
    /* the writer itself keeps a checkpoint valid: only the edits below break it */
    bend_status st = check_broken("grover", "same", NULL, NULL, 0, NULL, &err);
    if (st) fail_msg("unchanged copy: %s", err.msg);
}

static void test_missing_tensor(void **state)
{
    (void)state;
    bend_error err;
    bend_status st = check_broken("grover", "missing", "encoder.layer.1.attention.self.key.weight",
                                  NULL, 0, NULL, &err);
    assert_int_equal(st, BEND_ERR_INVALID);
    assert_has(err.msg, "tensor 'encoder.layer.1.attention.self.key.weight' [16, 16]");
    assert_has(err.msg, "is missing");
    assert_has(err.msg, "missing/model.safetensors");
    assert_has(err.msg, "similar names present: 'encoder.layer.0.attention.self.key.weight' [16, 16]");
    assert_null(strstr(err.msg, "more of the")); /* the only problem */
}

static void test_wrong_shape(void **state)
{
    (void)state;
    bend_error err;
    bend_status st = check_broken("dnabert6", "shape", NULL,
                                  "bert.encoder.layer.0.intermediate.dense.weight", 65, NULL, &err);
    assert_int_equal(st, BEND_ERR_INVALID);
    assert_has(err.msg, "shape/model.safetensors: tensor 'bert.encoder.layer.0.intermediate.dense.weight'"
                        " has shape [65, 16]");
    assert_has(err.msg, "expects [64, 16]");
    assert_has(err.msg, "shape/config.json");
}

static void test_integer_dtype(void **state)
{
    (void)state;
    bend_error err;
    bend_status st = check_broken("nt_v1", "dtype", NULL, NULL, 0,
                                  "esm.encoder.layer.1.output.dense.bias", &err);
    assert_int_equal(st, BEND_ERR_INVALID);
    assert_has(err.msg, "tensor 'esm.encoder.layer.1.output.dense.bias' has dtype I32");
    /* an integer buffer the forward pass does not read is fine */
    st = check_broken("gena_lm_bert", "posids", NULL, NULL, 0, "bert.embeddings.position_ids", &err);
    if (st) fail_msg("integer position_ids: %s", err.msg);
}

/* The config disagrees with the weights: a hidden size, HyenaDNA's checkpoint_mixer. */
static void test_config_disagrees(void **state)
{
    (void)state;
    bend_error err;
    bend_error_clear(&err);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/nt_v1", models_);
    char *orig = read_text(path_in(dir, "config.json"));
    char *text = replaced(orig, "\"hidden_size\": 16", "\"hidden_size\": 32");
    free(orig);
    bend_model_config cfg;
    if (bend_model_config_parse(text, path_in(dir, "config.json"), dir, NULL, &cfg, &err))
        fail_msg("%s", err.msg);
    free(text);
    bend_weights *w = NULL;
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s", err.msg);
    assert_int_equal(bend_model_check_weights(&cfg, w, NULL, &err), BEND_ERR_INVALID);
    assert_has(err.msg, "tensor 'esm.embeddings.word_embeddings.weight' has shape [4105, 16]");
    assert_has(err.msg, "expects [4105, 32]");
    assert_has(err.msg, "nt_v1/model.safetensors");
    bend_weights_close(w);

    snprintf(dir, sizeof dir, "%s/hyenadna", models_);
    orig = read_text(path_in(dir, "config.json"));
    text = replaced(orig, "\"checkpoint_mixer\": true", "\"checkpoint_mixer\": false");
    free(orig);
    if (bend_model_config_parse(text, path_in(dir, "config.json"), dir, NULL, &cfg, &err))
        fail_msg("%s", err.msg);
    free(text);
    assert_false(cfg.hyena.checkpoint_mixer);
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s", err.msg);
    assert_int_equal(bend_model_check_weights(&cfg, w, NULL, &err), BEND_ERR_INVALID);
    assert_has(err.msg, "tensor 'model.backbone.layers.0.mixer.in_proj.weight' [96, 32]");
    assert_has(err.msg, "'model.backbone.layers.0.mixer.layer.in_proj.weight' [96, 32]");
    assert_has(err.msg, "weights.ckpt");
    bend_weights_close(w);

    /* the wrong family altogether: nothing under any of its prefixes */
    snprintf(dir, sizeof dir, "%s/dnabert6", models_);
    if (bend_model_config_load(dir, "nucleotide_transformer", &cfg, &err)) fail_msg("%s", err.msg);
    if (bend_weights_open(dir, &w, &err)) fail_msg("%s", err.msg);
    assert_int_equal(bend_model_check_weights(&cfg, w, NULL, &err), BEND_ERR_INVALID);
    assert_has(err.msg, "'esm.embeddings.word_embeddings.weight'");
    assert_has(err.msg, "is this the right model family?");
    bend_weights_close(w);
}

static void test_uncovered_families(void **state)
{
    (void)state;
    bend_error err;
    bend_error_clear(&err);
    bend_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.family = BEND_FAMILY_GPN;
    cfg.arch = BEND_ARCH_GPN_ROFORMER;
    bend_tensor_expect *ex = (bend_tensor_expect *)&cfg; /* must be reset */
    size_t n = 7;
    assert_int_equal(bend_model_expected_tensors(&cfg, &ex, &n, &err), BEND_ERR_UNSUPPORTED);
    assert_null(ex);
    assert_int_equal(n, 0);
    assert_has(err.msg, "gpn");
    cfg.family = BEND_FAMILY_ONEHOT;
    cfg.arch = BEND_ARCH_NONE;
    assert_int_equal(bend_model_expected_tensors(&cfg, &ex, &n, &err), BEND_OK);
    assert_int_equal(n, 0);
}

/* BEND's AWDLSTM builds its bidirectional stacks only under weight drop: without it there is
 * nothing to check against, and the message says why. */
static void test_bidirectional_awdlstm_without_weight_drop(void **state)
{
    (void)state;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/awdlstm_bi", more_);
    char *orig = read_text(path_in(dir, "config.json"));
    char *text = replaced(orig, "\"weight_dropout_prob\": 0.5", "\"weight_dropout_prob\": 0");
    free(orig);
    bend_error err;
    bend_error_clear(&err);
    bend_model_config cfg;
    if (bend_model_config_parse(text, path_in(dir, "config.json"), dir, NULL, &cfg, &err))
        fail_msg("%s", err.msg);
    free(text);
    bend_tensor_expect *ex = NULL;
    size_t n = 0;
    assert_int_equal(bend_model_expected_tensors(&cfg, &ex, &n, &err), BEND_ERR_UNSUPPORTED);
    assert_has(err.msg, "has no LSTM layers");
}

/* Caduceus's tied mamba_rev projections are read from mamba_fwd: without them the check fails
 * and names the tensor; a checkpoint's missing reverse-strand x_proj too. */
static void test_caduceus_broken(void **state)
{
    (void)state;
    bend_error err;
    char src[4400];
    snprintf(src, sizeof src, "%s/caduceus_ph", more_);
    /* check_broken copies from the models fixtures; copy by hand from ours */
    const char *cases[][2] = {
        {"cad_fwd_in", "caduceus.backbone.layers.1.mixer.mamba_fwd.in_proj.weight"},
        {"cad_rev_x", "caduceus.backbone.layers.0.mixer.mamba_rev.x_proj.weight"},
    };
    for (size_t c = 0; c < 2; c++) {
        char dst[4400];
        snprintf(dst, sizeof dst, "%s/%s", scratch, cases[c][0]);
        assert_int_equal(mkdir(dst, 0755), 0);
        char *cfgtext = read_text(path_in(src, "config.json"));
        test_write_file(dst, "config.json", cfgtext);
        free(cfgtext);
        bend_weights *w = NULL;
        bend_error_clear(&err);
        if (bend_weights_open(src, &w, &err)) fail_msg("%s: %s", src, err.msg);
        write_safetensors(dst, w, cases[c][1], NULL, 0, NULL);
        bend_weights_close(w);
        bend_model_config cfg;
        if (bend_model_config_load(dst, NULL, &cfg, &err)) fail_msg("%s: %s", dst, err.msg);
        if (bend_weights_open(dst, &w, &err)) fail_msg("%s: %s", dst, err.msg);
        assert_int_equal(bend_model_check_weights(&cfg, w, NULL, &err), BEND_ERR_INVALID);
        bend_weights_close(w);
        char want[300];
        snprintf(want, sizeof want, "tensor '%s'", cases[c][1]);
        assert_has(err.msg, want);
        assert_has(err.msg, "is missing");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_match_pytorch),
        cmocka_unit_test(test_unchanged_copy_passes),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_integer_dtype),
        cmocka_unit_test(test_config_disagrees),
        cmocka_unit_test(test_uncovered_families),
        cmocka_unit_test(test_more_fixtures_match_pytorch),
        cmocka_unit_test(test_bidirectional_awdlstm_without_weight_drop),
        cmocka_unit_test(test_caduceus_broken),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
