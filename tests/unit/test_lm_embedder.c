/* The generic LM embedder (models/lm_embedder.h).
 *
 * 1. Around a fake bend_lm whose row for a token is (id, position in its window, window length,
 *    a hash of the window's ids), on the inputs of tests/fixtures/windows/expected.json: every
 *    output row must be the window token BEND's own embed() code took it from (row_src there),
 *    whether the sequences run in one forward call or are split over many by the token budget.
 * 2. With the real forward passes (probed; families still without one are skipped visibly), on
 *    the fixture checkpoints: embed() equals BEND's embed() (tests/fixtures/embedders/NAME.h5 from
 *    tools/reference/make_embedder_fixtures.py) within 1e-4 relative (to the value, or to the
 *    sequence's RMS for values near zero).
 * 3. The registry opener: embedding_dim mismatch names both numbers and the config.json. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hdf5.h>
#include <jansson.h>

#include "io/config.h"
#include "models/lm_embedder.h"
#include "store/h5util.h"
#include "test_helpers.h"

static const char *fixtures(void)
{
    const char *f = getenv("BEND_TEST_FIXTURES");
    return f && *f ? f : "tests/fixtures";
}

/* ---- 1. fake lm ------------------------------------------------------------------------- */

enum { FAKE_DIM = 4 };

typedef struct {
    bend_lm base;
    int calls;
    int64_t max_call_tokens;
    int last_layer;
    int64_t budget;
    int over_budget; /* calls of several windows with more tokens than the budget */
} fake_lm;

static float window_hash(const int32_t *ids, int64_t n)
{
    int64_t h = 0;
    for (int64_t k = 0; k < n; k++) h = (h * 31 + ids[k] + 7) % 1000003;
    return (float)h;
}

static bend_status fake_forward(bend_lm *lm, int n_windows, const int64_t *off, const int32_t *ids,
                                int layer, float *out, bend_error *err)
{
    (void)err;
    fake_lm *f = (fake_lm *)lm;
    assert_int_equal(off[0], 0);
    f->calls++;
    f->last_layer = layer;
    if (off[n_windows] > f->max_call_tokens) f->max_call_tokens = off[n_windows];
    if (n_windows > 1 && off[n_windows] > f->budget) f->over_budget++;
    for (int w = 0; w < n_windows; w++) {
        int64_t n = off[w + 1] - off[w];
        float h = window_hash(ids + off[w], n);
        for (int64_t k = 0; k < n; k++) {
            float *row = out + (off[w] + k) * FAKE_DIM;
            row[0] = (float)ids[off[w] + k];
            row[1] = (float)k;
            row[2] = (float)n;
            row[3] = h;
        }
    }
    return BEND_OK;
}

static void fake_destroy(bend_lm *lm) { free(lm); }

static const bend_lm_ops fake_ops = {.forward = fake_forward, .destroy = fake_destroy};

static fake_lm *fake_new(void)
{
    fake_lm *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base.ops = &fake_ops;
    f->base.dim = FAKE_DIM;
    f->base.n_layers = 2;
    return f;
}

/* Runs one windows-fixture case through the embedder with the given token budget. */
static void check_fake_case(json_t *c, int64_t budget, int layer)
{
    const char *family = json_string_value(json_object_get(c, "family"));
    const char *tokdir = json_string_value(json_object_get(c, "tokenizer"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    json_t *rules = json_object_get(c, "rules");
    bend_window_rules r;
    bend_error err;
    assert_int_equal(bend_window_rules_for_family(family, &r, &err), BEND_OK);
    if (json_object_get(rules, "kmer")) r.kmer = (int)json_integer_value(json_object_get(rules, "kmer"));
    if (json_object_get(rules, "piece_nucleotides"))
        r.piece_nucleotides = json_integer_value(json_object_get(rules, "piece_nucleotides"));
    if (json_object_get(rules, "max_tokens")) r.max_tokens = json_integer_value(json_object_get(rules, "max_tokens"));
    if (json_object_get(rules, "upsample")) r.upsample = json_is_true(json_object_get(rules, "upsample"));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tokenizers/%s", fixtures(), tokdir);
    bend_tokenizer_options opts = {.kind = kind, .kmer = r.kmer};
    bend_tokenizer *tok;
    assert_int_equal(bend_tokenizer_open(dir, &opts, &tok, &err), BEND_OK);
    fake_lm *f = fake_new();
    f->budget = budget;
    bend_embedder *e;
    assert_int_equal(bend_lm_embedder_wrap(family, &f->base, tok, &r, layer, budget, true, &e, &err), BEND_OK);
    assert_string_equal(bend_embedder_family(e), family);
    assert_int_equal(bend_embedder_dim(e), FAKE_DIM);

    /* every sequence BEND embedded, all in one embed() call */
    json_t *seqs = json_object_get(c, "sequences");
    size_t n = 0, i;
    json_t *s;
    const char **ptr = calloc(json_array_size(seqs) + 1, sizeof *ptr);
    int64_t *lens = calloc(json_array_size(seqs) + 1, sizeof *lens), *rows = calloc(json_array_size(seqs) + 1, sizeof *rows);
    json_t **entries = calloc(json_array_size(seqs) + 1, sizeof *entries);
    int64_t total = 0, total_windows = 0;
    json_array_foreach(seqs, i, s) {
        if (json_object_get(s, "bend_error")) continue;
        entries[n] = s;
        ptr[n] = json_string_value(json_object_get(s, "sequence"));
        lens[n] = (int64_t)strlen(ptr[n]);
        char skip[256];
        assert_int_equal(bend_embedder_count_rows(e, ptr[n], lens[n], &rows[n], skip, sizeof skip, &err), BEND_OK);
        json_t *row_src = json_object_get(s, "row_src");
        if (rows[n] != (int64_t)json_array_size(row_src))
            fprintf(stderr, "%s %s seq %zu: %lld rows, BEND %zu\n", family, tokdir, i, (long long)rows[n],
                    json_array_size(row_src));
        assert_int_equal(rows[n], json_array_size(row_src));
        /* BEND's pipeline stores it only when the rows match the nucleotides */
        bool stores = json_is_true(json_object_get(s, "bend_stores_it"));
        assert_int_equal(skip[0] == '\0', stores);
        total += rows[n];
        total_windows += (int64_t)json_array_size(json_object_get(s, "windows"));
        n++;
    }
    float *out = malloc((size_t)(total + 1) * FAKE_DIM * sizeof *out);
    assert_int_equal(bend_embedder_embed(e, n, ptr, lens, out, &err), BEND_OK);
    if (n) assert_int_equal(f->last_layer, layer);
    if (total_windows > 1 && budget < 16) assert_true(f->calls > 1);
    assert_int_equal(f->over_budget, 0);
    if (budget > 1000000 && n) assert_int_equal(f->calls, 1); /* one forward for all sequences */
    const float *row = out;
    for (size_t q = 0; q < n; q++) {
        json_t *windows = json_object_get(entries[q], "windows"), *row_src = json_object_get(entries[q], "row_src");
        for (int64_t r2 = 0; r2 < rows[q]; r2++, row += FAKE_DIM) {
            int64_t src = json_integer_value(json_array_get(row_src, (size_t)r2)), w = 0;
            /* which window of BEND's calls output index src fell in */
            while (src >= (int64_t)json_array_size(json_array_get(windows, (size_t)w))) {
                src -= (int64_t)json_array_size(json_array_get(windows, (size_t)w));
                w++;
            }
            json_t *win = json_array_get(windows, (size_t)w);
            int64_t wn = (int64_t)json_array_size(win);
            int32_t *wid = malloc((size_t)wn * sizeof *wid);
            for (int64_t k = 0; k < wn; k++) wid[k] = (int32_t)json_integer_value(json_array_get(win, (size_t)k));
            float want[FAKE_DIM] = {(float)wid[src], (float)src, (float)wn, window_hash(wid, wn)};
            free(wid);
            if (memcmp(want, row, sizeof want))
                fprintf(stderr, "%s %s seq %zu row %lld: got (%g,%g,%g,%g) want (%g,%g,%g,%g)\n", family, tokdir,
                        q, (long long)r2, row[0], row[1], row[2], row[3], want[0], want[1], want[2], want[3]);
            assert_memory_equal(want, row, sizeof want);
        }
    }
    free(out);
    free(ptr);
    free(lens);
    free(rows);
    free(entries);
    bend_embedder_close(e);
}

static void test_fake_lm_matches_bend_windows(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/windows/expected.json", fixtures());
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) fprintf(stderr, "%s: %s\n", path, jerr.text);
    assert_non_null(root);
    json_t *cases = json_is_array(root) ? root : json_object_get(root, "cases");
    assert_true(json_array_size(cases) > 0);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        check_fake_case(c, 1 << 30, BEND_LM_LAYER_BEND); /* all windows in one call */
        check_fake_case(c, 5, 1);                        /* one window (or few) per call */
        check_fake_case(c, 40, BEND_LM_LAYER_BEND);
    }
    json_decref(root);
}

/* ---- 2. real forward passes against BEND's embed() ------------------------------------- */

static char *attr_str(hid_t f, const char *name)
{
    char *v = NULL;
    bend_error err;
    assert_int_equal(bend_h5_read_attr_str(f, name, &v, &err), BEND_OK);
    return v;
}

static int64_t attr_i64(hid_t f, const char *name)
{
    int64_t v = 0;
    bend_error err;
    assert_int_equal(bend_h5_read_attr_i64(f, name, &v, &err), BEND_OK);
    return v;
}

static void check_real(const char *fixture)
{
    char path[4096], dir[4096];
    snprintf(path, sizeof path, "%s/embedders/%s.h5", fixtures(), fixture);
    bend_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char *family = attr_str(f, "family"), *model = attr_str(f, "model");
    bend_lm_embedder_options o;
    bend_lm_embedder_options_init(&o);
    o.family = family;
    o.max_tokens = attr_i64(f, "max_tokens");
    o.piece_nucleotides = attr_i64(f, "piece_nucleotides");
    o.upsample = (int)attr_i64(f, "upsample");
    o.keep_skipped = true; /* GENA's [UNK] rows: BEND returns them, its pipeline drops them */
    o.batch_tokens = 50;   /* several forward calls, windows of different sequences mixed */
    snprintf(dir, sizeof dir, "%s/%s", fixtures(), model); /* relative to tests/fixtures */
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_embedder *e = NULL;
    bend_error err;
    bend_status st = bend_lm_embedder_open_dir(dir, &o, &cpu, &e, &err);
    if (st == BEND_ERR_UNSUPPORTED) {
        fprintf(stderr, "SKIPPED %s: %s\n", fixture, err.msg);
        free(family);
        free(model);
        H5Fclose(f);
        skip();
    }
    if (st) fprintf(stderr, "%s: %s\n", fixture, err.msg);
    assert_int_equal(st, BEND_OK);
    int64_t dim = bend_embedder_dim(e);
    enum { MAXS = 8 };
    const char *seqs[MAXS];
    char *owned[MAXS];
    int64_t lens[MAXS], rows[MAXS], total = 0;
    float *want[MAXS];
    size_t n = 0;
    for (; n < MAXS; n++) {
        char name[32];
        snprintf(name, sizeof name, "emb_%zu", n);
        if (H5Lexists(f, name, H5P_DEFAULT) <= 0) break;
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = H5Dget_space(d);
        hsize_t shape[2];
        assert_int_equal(H5Sget_simple_extent_ndims(sp), 2);
        H5Sget_simple_extent_dims(sp, shape, NULL);
        assert_int_equal(shape[1], dim);
        want[n] = malloc(shape[0] * shape[1] * sizeof(float));
        assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want[n]) >= 0);
        owned[n] = attr_str(d, "sequence");
        seqs[n] = owned[n];
        lens[n] = (int64_t)strlen(seqs[n]);
        char skip_why[256];
        assert_int_equal(bend_embedder_count_rows(e, seqs[n], lens[n], &rows[n], skip_why, sizeof skip_why, &err), BEND_OK);
        assert_int_equal(rows[n], shape[0]);
        total += rows[n];
        H5Sclose(sp);
        H5Dclose(d);
    }
    assert_true(n > 0);
    float *out = malloc((size_t)total * (size_t)dim * sizeof *out);
    st = bend_embedder_embed(e, n, seqs, lens, out, &err);
    if (st) fprintf(stderr, "%s: %s\n", fixture, err.msg);
    assert_int_equal(st, BEND_OK);
    const float *got = out;
    double worst = 0;
    for (size_t q = 0; q < n; q++) {
        /* relative to the value, or to the matrix's RMS for values near zero (float32 sums of
         * O(1) terms that cancel keep an absolute error of the terms' size) */
        double ss = 0;
        for (int64_t k = 0; k < rows[q] * dim; k++) ss += (double)want[q][k] * want[q][k];
        double rms = sqrt(ss / (double)(rows[q] * dim > 0 ? rows[q] * dim : 1));
        for (int64_t k = 0; k < rows[q] * dim; k++) {
            double a = got[k], b = want[q][k], tol = 1e-4 * fmax(fabs(b), rms);
            double rel = fabs(a - b) / fmax(fabs(b), rms);
            if (rel > worst) worst = rel;
            if (fabs(a - b) > tol) {
                fprintf(stderr, "%s seq %zu row %lld col %lld: %.7g, BEND %.7g\n", fixture, q,
                        (long long)(k / dim), (long long)(k % dim), a, b);
                fail();
            }
        }
        got += rows[q] * dim;
        free(want[q]);
        free(owned[q]);
    }
    fprintf(stderr, "%s: %zu sequences, %lld rows x %lld, worst relative difference %.2g\n", fixture, n,
            (long long)total, (long long)dim, worst);
    free(out);
    bend_embedder_close(e);
    free(family);
    free(model);
    H5Fclose(f);
}

static void test_dnabert6(void **s) { (void)s; check_real("dnabert6"); }
static void test_nt_v1(void **s) { (void)s; check_real("nt_v1"); }
static void test_dnabert2(void **s) { (void)s; check_real("dnabert2"); }
static void test_gena_lm_bert(void **s) { (void)s; check_real("gena_lm_bert"); }
static void test_gena_lm_bigbird(void **s) { (void)s; check_real("gena_lm_bigbird"); }
static void test_grover(void **s) { (void)s; check_real("grover"); }
static void test_hyenadna(void **s) { (void)s; check_real("hyenadna"); }
static void test_dnabert6_long(void **s) { (void)s; check_real("dnabert6_long"); } /* 3 windows */
static void test_awdlstm(void **s) { (void)s; check_real("awdlstm"); }
static void test_resnetlm(void **s) { (void)s; check_real("resnetlm"); }

/* BEND's per-variant window sizes (embedders.py: NT 'v2' in the name, GENA 'bigbird' in the name,
 * HyenaDNA's max_lengths table, DNABERT's kmer) and the option overrides. */
static void test_rules_variants(void **state)
{
    (void)state;
    bend_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bend_lm_embedder_options o;
    bend_lm_embedder_options_init(&o);
    bend_window_rules r;
    bend_error err;
    cfg.family = BEND_FAMILY_NT;
    cfg.version = 1;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "nt", &o, &r, &err), BEND_OK);
    assert_int_equal(r.piece_nucleotides, 5994);
    assert_int_equal(r.max_tokens, 1000);
    assert_true(r.upsample && r.remove_special_tokens);
    cfg.version = 2;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "nt", &o, &r, &err), BEND_OK);
    assert_int_equal(r.piece_nucleotides, 12282);
    assert_int_equal(r.max_tokens, 2048);
    cfg.family = BEND_FAMILY_GENA_LM;
    cfg.arch = BEND_ARCH_BERT;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "g", &o, &r, &err), BEND_OK);
    assert_int_equal(r.max_tokens, 510);
    cfg.arch = BEND_ARCH_BIGBIRD;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "g", &o, &r, &err), BEND_OK);
    assert_int_equal(r.max_tokens, 4094);
    cfg.family = BEND_FAMILY_HYENADNA;
    cfg.arch = BEND_ARCH_HYENA;
    cfg.hyena.l_max = 32770;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "/m/hyenadna/hyenadna-medium-160k-seqlen/", &o, &r, &err), BEND_OK);
    assert_int_equal(r.piece_nucleotides, 160000); /* the name decides, as in BEND */
    assert_int_equal(bend_lm_embedder_rules(&cfg, "/m/my-hyena", &o, &r, &err), BEND_OK);
    assert_int_equal(r.piece_nucleotides, 32768);  /* else l_max less CLS and SEP */
    assert_false(r.upsample);
    cfg.family = BEND_FAMILY_DNABERT;
    cfg.arch = BEND_ARCH_BERT;
    cfg.version = 3;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "d", &o, &r, &err), BEND_OK);
    assert_int_equal(r.kmer, 3);
    assert_int_equal(r.max_tokens, 512);
    o.kmer = 5;
    o.upsample = 0;
    o.remove_special_tokens = 0;
    o.max_tokens = 100;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "d", &o, &r, &err), BEND_OK);
    assert_int_equal(r.kmer, 5);
    assert_int_equal(r.max_tokens, 100);
    assert_false(r.upsample);
    assert_false(r.remove_special_tokens);
    o.kmer = 7;
    assert_int_equal(bend_lm_embedder_rules(&cfg, "d", &o, &r, &err), BEND_ERR_INVALID);
}

/* ---- 3. registry opener ----------------------------------------------------------------- */

static void test_registry_dim_mismatch(void **state)
{
    (void)state;
    char yaml[8192];
    snprintf(yaml, sizeof yaml, "dnabert6:\n  family: dnabert\n  model_path: %s/models/dnabert6\n"
             "  kmer: 6\n  embedding_dim: 999\n", fixtures());
    bend_config *cfg;
    bend_error err;
    assert_int_equal(bend_config_from_yaml(yaml, "test", &cfg, &err), BEND_OK);
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_embedder *e = NULL;
    bend_status st = bend_embedder_open(cfg, "dnabert6", &cpu, &e, &err);
    if (st == BEND_ERR_UNSUPPORTED) {
        fprintf(stderr, "SKIPPED registry check: %s\n", err.msg);
        bend_config_free(cfg);
        skip();
    }
    assert_int_equal(st, BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "999"));
    assert_non_null(strstr(err.msg, "16"));
    assert_non_null(strstr(err.msg, "dnabert6/config.json"));
    assert_non_null(strstr(err.msg, "embedding_dim"));
    assert_null(e);
    bend_config_free(cfg);
}

static void test_unsupported_families(void **state)
{
    (void)state;
    /* onehot is not an LM; the embedder says which families it embeds */
    bend_lm_embedder_options o;
    bend_lm_embedder_options_init(&o);
    o.family = "onehot";
    bend_device cpu = {.kind = BEND_DEVICE_CPU, .index = -1, .name = "cpu"};
    bend_embedder *e = NULL;
    bend_error err;
    bend_status st = bend_lm_embedder_open_dir("/nonexistent-model-dir", &o, &cpu, &e, &err);
    assert_int_not_equal(st, BEND_OK);
    assert_null(e);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models/nowhere", fixtures());
    bend_lm_embedder_options_init(&o);
    st = bend_lm_embedder_open_dir(dir, &o, &cpu, &e, &err);
    assert_int_not_equal(st, BEND_OK);
    assert_non_null(strstr(err.msg, "nowhere"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_lm_matches_bend_windows),
        cmocka_unit_test(test_unsupported_families),
        cmocka_unit_test(test_rules_variants),
        cmocka_unit_test(test_dnabert6),
        cmocka_unit_test(test_nt_v1),
        cmocka_unit_test(test_dnabert2),
        cmocka_unit_test(test_gena_lm_bert),
        cmocka_unit_test(test_gena_lm_bigbird),
        cmocka_unit_test(test_grover),
        cmocka_unit_test(test_hyenadna),
        cmocka_unit_test(test_dnabert6_long),
        cmocka_unit_test(test_awdlstm),
        cmocka_unit_test(test_resnetlm),
        cmocka_unit_test(test_registry_dim_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
