/* BEND's windowing and upsampling, against what BEND's own embed() code did on the same inputs
 * (tests/fixtures/windows/expected.json from tools/reference/make_window_fixtures.py): the ids of
 * every model window and, for every output row, which window output it is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "models/windows.h"
#include "test_helpers.h"

static const char *fixtures(void)
{
    const char *f = getenv("BEND_TEST_FIXTURES");
    return f && *f ? f : "tests/fixtures";
}

static bend_window_scheme scheme_of(const char *family)
{
    bend_window_rules r;
    bend_error err;
    assert_int_equal(bend_window_rules_for_family(family, &r, &err), BEND_OK);
    return r.scheme;
}

static void check_case(json_t *c)
{
    const char *family = json_string_value(json_object_get(c, "family"));
    const char *tokdir = json_string_value(json_object_get(c, "tokenizer"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    json_t *rules = json_object_get(c, "rules");
    bend_window_rules r;
    bend_error err;
    assert_int_equal(bend_window_rules_for_family(family, &r, &err), BEND_OK);
    assert_int_equal(r.scheme, scheme_of(family));
    if (json_object_get(rules, "kmer")) r.kmer = (int)json_integer_value(json_object_get(rules, "kmer"));
    if (json_object_get(rules, "piece_nucleotides"))
        r.piece_nucleotides = json_integer_value(json_object_get(rules, "piece_nucleotides"));
    if (json_object_get(rules, "max_tokens")) r.max_tokens = json_integer_value(json_object_get(rules, "max_tokens"));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tokenizers/%s", fixtures(), tokdir);
    bend_tokenizer_options opts = {.kind = kind, .kmer = r.kmer};
    bend_tokenizer *tok;
    bend_status st = bend_tokenizer_open(dir, &opts, &tok, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, BEND_OK);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c, "sequences"), i, e) {
        const char *seq = json_string_value(json_object_get(e, "sequence"));
        bend_window_plan p;
        st = bend_window_plan_make(&r, tok, seq, strlen(seq), &p, &err);
        if (st) fprintf(stderr, "%s %s: %s\n", family, tokdir, err.msg);
        assert_int_equal(st, BEND_OK);
        json_t *windows = json_object_get(e, "windows"), *rows = json_object_get(e, "row_src");
        bool bend_failed = json_object_get(e, "bend_error") != NULL;
        if (bend_failed) {
            /* BEND crashed on this input (e.g. DNABERT on a sequence shorter than k): bend must
             * not store it, and must say why. */
            if (!p.skip[0]) fprintf(stderr, "%s %s seq %zu: BEND failed (%s) but no skip reason\n", family, tokdir, i,
                                    json_string_value(json_object_get(e, "bend_error")));
            assert_true(p.skip[0] != '\0');
            bend_window_plan_free(&p);
            continue;
        }
        if (json_array_size(windows) != p.n_windows)
            fprintf(stderr, "%s %s seq %zu: %zu windows, BEND %zu\n", family, tokdir, i, p.n_windows, json_array_size(windows));
        assert_int_equal(p.n_windows, json_array_size(windows));
        for (size_t w = 0; w < p.n_windows; w++) {
            json_t *ids = json_array_get(windows, w);
            size_t n = p.window_start[w + 1] - p.window_start[w];
            if (n != json_array_size(ids)) fprintf(stderr, "%s %s seq %zu window %zu: %zu ids, BEND %zu\n", family, tokdir, i, w, n, json_array_size(ids));
            assert_int_equal(n, json_array_size(ids));
            for (size_t k = 0; k < n; k++) {
                json_int_t want = json_integer_value(json_array_get(ids, k));
                if (p.ids[p.window_start[w] + k] != want)
                    fprintf(stderr, "%s %s seq %zu window %zu id %zu: %d, BEND %lld\n", family, tokdir, i, w, k,
                            p.ids[p.window_start[w] + k], (long long)want);
                assert_int_equal(p.ids[p.window_start[w] + k], want);
            }
        }
        if ((size_t)p.n_rows != json_array_size(rows))
            fprintf(stderr, "%s %s seq %zu ('%s'): %lld rows, BEND %zu\n", family, tokdir, i, seq, (long long)p.n_rows, json_array_size(rows));
        assert_int_equal(p.n_rows, json_array_size(rows));
        for (int64_t k = 0; k < p.n_rows; k++)
            assert_int_equal(p.row_src[k], json_integer_value(json_array_get(rows, (size_t)k)));
        /* BEND stores the sample exactly when its embedding has one row per nucleotide. */
        bool stores = json_is_true(json_object_get(e, "bend_stores_it"));
        assert_int_equal(p.skip[0] == '\0', stores);
        bend_window_plan_free(&p);
    }
    bend_tokenizer_close(tok);
}

static void test_windows_match_bend(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/windows/expected.json", fixtures());
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) fprintf(stderr, "%s: %s\n", path, jerr.text);
    assert_non_null(root);
    size_t i;
    json_t *c;
    size_t n = 0;
    bool caduceus = false, gpn = false;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        check_case(c);
        const char *family = json_string_value(json_object_get(c, "family"));
        caduceus |= !strcmp(family, "caduceus");
        gpn |= !strcmp(family, "gpn");
        n++;
    }
    assert_true(n >= 12);
    assert_true(caduceus && gpn); /* every family's scheme is covered */
    json_decref(root);
}

static void test_gather(void **state)
{
    (void)state;
    int64_t src[4] = {2, 0, 0, 1};
    bend_window_plan p = {.n_rows = 4, .row_src = src};
    const float out[3][2] = {{1, 2}, {3, 4}, {5, 6}};
    float rows[4][2];
    bend_window_gather(&p, &out[0][0], 2, &rows[0][0]);
    const float want[4][2] = {{5, 6}, {1, 2}, {1, 2}, {3, 4}};
    assert_memory_equal(rows, want, sizeof want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_windows_match_bend),
    };
    return cmocka_run_group_tests_name("windows", tests, NULL, NULL);
}
