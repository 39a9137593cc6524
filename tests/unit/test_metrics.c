/* BEND's metrics against scikit-learn (tests/fixtures/metrics/expected.json, written by
 * tools/reference/make_metric_fixtures.py, which also checks that upstream BEND's own
 * _calculate_metric gives the same numbers): every value to 1e-9, NaN where sklearn raises.
 * Also: AUROC against a brute-force pair count on scores that stress the radix sort (mixed
 * signs, magnitudes, ties, -0.0), the padding helper, and the error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "train/metrics.h"
#include "test_helpers.h"

static json_t *expected;

static const char *fixtures(void)
{
    const char *f = getenv("BEND_TEST_FIXTURES");
    return f && *f ? f : "tests/fixtures";
}

static int load(void **state)
{
    (void)state;
    char path[4096];
    json_error_t je;
    snprintf(path, sizeof path, "%s/metrics/expected.json", fixtures());
    expected = json_load_file(path, 0, &je);
    if (!expected) fprintf(stderr, "%s: %s (line %d)\n", path, je.text, je.line);
    return expected ? 0 : -1;
}

static int unload(void **state)
{
    (void)state;
    json_decref(expected);
    return 0;
}

static int64_t *ints(json_t *a)
{
    size_t n = json_array_size(a), i;
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    json_t *e;
    json_array_foreach(a, i, e) v[i] = json_integer_value(e);
    return v;
}

static double *reals(json_t *a)
{
    size_t n = json_array_size(a), i;
    double *v = malloc((n ? n : 1) * sizeof *v);
    json_t *e;
    json_array_foreach(a, i, e) v[i] = json_number_value(e);
    return v;
}

/* want: a JSON number, or null for "sklearn raises / undefined" (NaN here). */
static void check_value(const char *cname, const char *what, double got, json_t *want)
{
    if (json_is_null(want)) {
        if (!isnan(got)) fprintf(stderr, "%s: %s = %.17g, expected NaN\n", cname, what, got);
        assert_true(isnan(got));
        return;
    }
    double w = json_number_value(want);
    if (!(fabs(got - w) <= 1e-9)) fprintf(stderr, "%s: %s = %.17g, sklearn %.17g\n", cname, what, got, w);
    assert_true(fabs(got - w) <= 1e-9);
}

static json_t *cases(const char *key)
{
    json_t *a = json_object_get(expected, key);
    assert_non_null(a);
    assert_true(json_array_size(a) > 0);
    return a;
}

static void check_mcc(const char *name, const bend_metric_mcc_result *r, json_t *c)
{
    char what[64];
    check_value(name, "mcc", r->mcc, json_object_get(c, "mcc"));
    json_t *labels = json_object_get(c, "labels");
    if (r->n_labels != json_array_size(labels))
        fprintf(stderr, "%s: %zu labels, sklearn %zu\n", name, r->n_labels, json_array_size(labels));
    assert_int_equal(r->n_labels, json_array_size(labels));
    for (size_t j = 0; j < r->n_labels; j++) {
        assert_int_equal(r->labels[j], json_integer_value(json_array_get(labels, j)));
        snprintf(what, sizeof what, "recall[%zu]", j);
        check_value(name, what, r->recall[j], json_array_get(json_object_get(c, "recall"), j));
        snprintf(what, sizeof what, "precision[%zu]", j);
        check_value(name, what, r->precision[j], json_array_get(json_object_get(c, "precision"), j));
    }
}

static void test_mcc_matches_sklearn(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(cases("mcc"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *jt = json_object_get(c, "y_true");
        size_t n = json_array_size(jt);
        int64_t *t = ints(jt), *p = ints(json_object_get(c, "y_pred"));
        bend_metric_mcc_result r;
        bend_error err;
        bend_status st = bend_metric_mcc(t, p, n, &r, &err);
        if (st) fprintf(stderr, "%s: %s\n", name, err.msg);
        assert_int_equal(st, BEND_OK);
        size_t unpadded = 0;
        for (size_t k = 0; k < n; k++) unpadded += t[k] != BEND_METRIC_PADDING;
        assert_int_equal(r.n, unpadded);
        check_mcc(name, &r, c);
        bend_metric_mcc_result_free(&r);
        assert_null(r.labels);

        /* The same after compacting the padding away first. */
        size_t kept;
        assert_int_equal(bend_metric_drop_padding(t, p, sizeof *p, n, 1, &kept, &err), BEND_OK);
        assert_int_equal(kept, unpadded);
        for (size_t k = 0; k < kept; k++) assert_true(t[k] != BEND_METRIC_PADDING);
        assert_int_equal(bend_metric_mcc(t, p, kept, &r, &err), BEND_OK);
        check_mcc(name, &r, c);
        bend_metric_mcc_result_free(&r);
        free(t);
        free(p);
    }
}

static void test_auroc_auprc_match_sklearn(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(cases("binary"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *jt = json_object_get(c, "y_true");
        size_t n = json_array_size(jt);
        int64_t *t = ints(jt);
        double *s = reals(json_object_get(c, "y_score"));
        bend_metric_binary_result r;
        bend_error err;
        bend_status st = bend_metric_auroc(t, s, n, &r, &err);
        if (st) fprintf(stderr, "%s: %s\n", name, err.msg);
        assert_int_equal(st, BEND_OK);
        check_value(name, "auroc", r.value, json_object_get(c, "auroc"));
        assert_int_equal(r.single_class, json_is_null(json_object_get(c, "auroc")));
        size_t n_pos = 0, unpadded = 0;
        for (size_t k = 0; k < n; k++) {
            n_pos += t[k] == 1;
            unpadded += t[k] != BEND_METRIC_PADDING;
        }
        assert_int_equal(r.n_pos, n_pos);
        assert_int_equal(r.n, unpadded);
        st = bend_metric_auprc(t, s, n, &r, &err);
        if (st) fprintf(stderr, "%s: %s\n", name, err.msg);
        assert_int_equal(st, BEND_OK);
        check_value(name, "auprc", r.value, json_object_get(c, "auprc"));
        free(t);
        free(s);
    }
}

static void test_auroc_multilabel_matches_sklearn(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(cases("auroc_multilabel"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t rows = json_integer_value(json_object_get(c, "n_rows"));
        size_t cols = json_integer_value(json_object_get(c, "n_labels"));
        int64_t *t = ints(json_object_get(c, "y_true"));
        double *s = reals(json_object_get(c, "y_score"));
        bend_metric_auroc_multilabel_result r;
        bend_error err;
        bend_status st = bend_metric_auroc_multilabel(t, s, rows, cols, &r, &err);
        if (st) fprintf(stderr, "%s: %s\n", name, err.msg);
        assert_int_equal(st, BEND_OK);
        assert_int_equal(r.n_labels, cols);
        json_t *per = json_object_get(c, "per_label");
        size_t undefined = 0;
        for (size_t j = 0; j < cols; j++) {
            char what[64];
            snprintf(what, sizeof what, "auroc[label %zu]", j);
            check_value(name, what, r.per_label[j], json_array_get(per, j));
            bool u = json_is_null(json_array_get(per, j));
            assert_int_equal(r.undefined[j], u);
            undefined += u;
        }
        assert_int_equal(r.n_undefined, undefined);
        check_value(name, "mean", r.mean, json_object_get(c, "mean"));
        bend_metric_auroc_multilabel_result_free(&r);
        assert_null(r.per_label);
        free(t);
        free(s);
    }
}

static void test_pearsonr_matches_sklearn(void **state)
{
    (void)state;
    size_t i;
    json_t *c;
    json_array_foreach(cases("pearsonr"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *jt = json_object_get(c, "y_true");
        int64_t *t = ints(jt);
        double *p = reals(json_object_get(c, "y_pred"));
        bend_metric_pearson_result r;
        bend_error err;
        bend_status st = bend_metric_pearsonr(t, p, json_array_size(jt), &r, &err);
        if (st) fprintf(stderr, "%s: %s\n", name, err.msg);
        assert_int_equal(st, BEND_OK);
        check_value(name, "r", r.r, json_object_get(c, "r"));
        free(t);
        free(p);
    }
}

/* AUROC is the Mann-Whitney statistic: P(score of a positive > score of a negative) with ties
 * counting one half. Counted over all pairs, that is a reference independent of sorting. */
static void test_auroc_equals_pair_count(void **state)
{
    (void)state;
    enum { N = 3000 };
    int64_t *t = malloc(N * sizeof *t);
    double *s = malloc(N * sizeof *s);
    uint64_t x = 88172645463325252u;
    static const double pool[] = {0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 5e300, -5e300, 0.5, -0.5, 3.25};
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t[i] = (x >> 11) % 3 == 0;
        uint64_t v = x >> 20;
        if (v % 4 == 0)
            s[i] = pool[(v >> 3) % (sizeof pool / sizeof *pool)];
        else
            s[i] = ((double)(v % 2000001) - 1000000.0) * (v % 5 == 0 ? 1e-12 : 1e3) + (t[i] ? 1e8 : 0);
    }
    double gt = 0, ties = 0, np = 0, nn = 0;
    for (size_t i = 0; i < N; i++) {
        if (t[i]) np++;
        else nn++;
    }
    for (size_t i = 0; i < N; i++) {
        if (!t[i]) continue;
        for (size_t j = 0; j < N; j++) {
            if (t[j]) continue;
            gt += s[i] > s[j];
            ties += s[i] == s[j];
        }
    }
    double want = (gt + 0.5 * ties) / (np * nn);
    bend_metric_binary_result r;
    bend_error err;
    assert_int_equal(bend_metric_auroc(t, s, N, &r, &err), BEND_OK);
    if (fabs(r.value - want) > 1e-12) fprintf(stderr, "auroc %.17g, pair count %.17g\n", r.value, want);
    assert_true(fabs(r.value - want) <= 1e-12);
    assert_true(ties > 0 && want > 0.1 && want < 0.9);
    free(t);
    free(s);
}

static void test_drop_padding_rows(void **state)
{
    (void)state;
    int64_t t[4 * 3] = {1, 0, 1, -100, -100, -100, 0, 0, 1, -100, -100, -100};
    double s[4 * 3] = {.1, .2, .3, 9, 9, 9, .4, .5, .6, 9, 9, 9};
    size_t kept;
    bend_error err;
    assert_int_equal(bend_metric_drop_padding(t, s, sizeof *s, 4, 3, &kept, &err), BEND_OK);
    assert_int_equal(kept, 2);
    static const int64_t want_t[6] = {1, 0, 1, 0, 0, 1};
    static const double want_s[6] = {.1, .2, .3, .4, .5, .6};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(t[i], want_t[i]);
        assert_true(s[i] == want_s[i]);
    }
    int64_t partial[2 * 2] = {0, 1, 1, -100};
    double ps[4] = {0};
    assert_int_equal(bend_metric_drop_padding(partial, ps, sizeof *ps, 2, 2, &kept, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "row 1"));
    assert_non_null(strstr(err.msg, "column 1"));
}

static void check_error(bend_status st, const bend_error *err, const char *needle)
{
    assert_int_equal(st, BEND_ERR_INVALID);
    if (!strstr(err->msg, needle)) fprintf(stderr, "message '%s' lacks '%s'\n", err->msg, needle);
    assert_non_null(strstr(err->msg, needle));
}

static void test_errors(void **state)
{
    (void)state;
    bend_error err;
    bend_metric_mcc_result m;
    int64_t t[5] = {0, 1, -100, -3, 2}, p[5] = {0, 1, 2, 1, 2};
    check_error(bend_metric_mcc(t, p, 5, &m, &err), &err, "y_true[3] = -3");
    assert_null(m.labels);
    t[3] = 1;
    p[4] = -100; /* padding is a y_true marker; a padded prediction at a counted position is a bug */
    check_error(bend_metric_mcc(t, p, 5, &m, &err), &err, "y_pred[4] = -100");
    p[4] = BEND_METRIC_MAX_LABEL + 1;
    check_error(bend_metric_mcc(t, p, 5, &m, &err), &err, "y_pred[4] = 1000001");
    p[4] = BEND_METRIC_MAX_LABEL; /* the largest allowed label is fine */
    assert_int_equal(bend_metric_mcc(t, p, 5, &m, &err), BEND_OK);
    assert_int_equal(m.n_labels, 4);
    assert_int_equal(m.labels[3], BEND_METRIC_MAX_LABEL);
    bend_metric_mcc_result_free(&m);

    bend_metric_binary_result b;
    int64_t bt[4] = {0, 1, 2, 1};
    double bs[4] = {.1, .2, .3, .4};
    check_error(bend_metric_auroc(bt, bs, 4, &b, &err), &err, "y_true[2] = 2");
    check_error(bend_metric_auprc(bt, bs, 4, &b, &err), &err, "y_true[2] = 2");
    bt[2] = 0;
    bs[1] = NAN;
    check_error(bend_metric_auroc(bt, bs, 4, &b, &err), &err, "y_score[1]");
    bs[1] = INFINITY;
    check_error(bend_metric_auprc(bt, bs, 4, &b, &err), &err, "y_score[1]");

    bend_metric_auroc_multilabel_result ml;
    int64_t mt[3 * 2] = {0, 1, 1, 0, 1, 7};
    double ms[3 * 2] = {.1, .2, .3, .4, .5, .6};
    check_error(bend_metric_auroc_multilabel(mt, ms, 3, 2, &ml, &err), &err, "[row 2, label 1] = 7");
    assert_null(ml.per_label);

    bend_metric_pearson_result pr;
    int64_t pt[3] = {0, 1, 2};
    double pp[3] = {0, NAN, 1};
    check_error(bend_metric_pearsonr(pt, pp, 3, &pr, &err), &err, "y_pred[1]");

    bend_metric_kind k;
    assert_int_equal(bend_metric_kind_from_name("auprc", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_METRIC_AUPRC);
    assert_string_equal(bend_metric_kind_name(k), "auprc");
    assert_int_equal(bend_metric_kind_from_name("pearsonr", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_METRIC_PEARSONR);
    check_error(bend_metric_kind_from_name("accuracy", &k, &err), &err, "'accuracy'");
    assert_non_null(strstr(err.msg, "mcc, auroc, auprc or pearsonr"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcc_matches_sklearn),
        cmocka_unit_test(test_auroc_auprc_match_sklearn),
        cmocka_unit_test(test_auroc_multilabel_matches_sklearn),
        cmocka_unit_test(test_pearsonr_matches_sklearn),
        cmocka_unit_test(test_auroc_equals_pair_count),
        cmocka_unit_test(test_drop_padding_rows),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("metrics", tests, load, unload);
}
