/* BED parsing against hand-written expectations, including every kind of bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "io/bed.h"
#include "test_helpers.h"

static const char *dir;

static bend_bed *read_ok(const char *text, bool strand, int depth)
{
    const char *path = test_write_file(dir, "ok.bed", text);
    bend_bed_options o = {strand, depth};
    bend_bed *bed = NULL;
    bend_error err;
    bend_status st = bend_bed_read(path, &o, &bed, &err);
    if (st) fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, BEND_OK);
    return bed;
}

/* Reads text expecting failure; checks the status and that the message holds each needle. */
static void read_bad(const char *text, bool strand, int depth, bend_status want, ...)
{
    const char *path = test_write_file(dir, "bad.bed", text);
    bend_bed_options o = {strand, depth};
    bend_bed *bed = NULL;
    bend_error err;
    bend_status st = bend_bed_read(path, &o, &bed, &err);
    assert_int_equal(st, want);
    assert_null(bed);
    assert_non_null(strstr(err.msg, path)); /* every message names the file */
    va_list ap;
    va_start(ap, want);
    for (const char *needle; (needle = va_arg(ap, const char *));) {
        if (!strstr(err.msg, needle)) fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, needle);
        assert_non_null(strstr(err.msg, needle));
    }
    va_end(ap);
}

static void test_columns_by_position_and_name(void **state)
{
    (void)state;
    bend_bed *bed = read_ok("chromosome\tstart\tend\tstrand\tlabel\tsplit\n"
                            "chr1\t10\t20\t+\t1,4\ttrain\n"
                            "chr2\t0\t5\t-\t\tvalid\n"
                            "\n"                                  /* blank: skipped, as pandas */
                            "chr1\t3\t3\t-\t17\ttrain\r\n"        /* CRLF, empty region */
                            "chrX\t7\t9\t+\tnan\ttest\n",
                            true, 18);
    assert_int_equal(bed->n_rows, 4);
    assert_int_equal(bed->n_cols, 6);
    assert_int_equal(bed->strand_col, 3);
    assert_int_equal(bed->label_col, 4);
    assert_int_equal(bed->n_chroms, 3);
    assert_string_equal(bed->chrom_names[0], "chr1");
    assert_string_equal(bed->chrom_names[1], "chr2");
    assert_string_equal(bed->chrom_names[2], "chrX");
    int32_t chrom[4] = {0, 1, 0, 2};
    int64_t start[4] = {10, 0, 3, 7}, end[4] = {20, 5, 3, 9}, line[4] = {2, 3, 5, 6};
    char strand[4] = {'+', '-', '-', '+'};
    int32_t split[4] = {0, 1, 0, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bed->chrom[i], chrom[i]);
        assert_int_equal(bed->start[i], start[i]);
        assert_int_equal(bed->end[i], end[i]);
        assert_int_equal(bed->strand[i], strand[i]);
        assert_int_equal(bed->split[i], split[i]);
        assert_int_equal(bed->line[i], line[i]);
    }
    assert_int_equal(bed->n_splits, 3); /* first appearance order, as BEND's unique() */
    assert_string_equal(bed->split_names[0], "train");
    assert_string_equal(bed->split_names[1], "valid");
    assert_string_equal(bed->split_names[2], "test");
    assert_int_equal(bend_bed_split_index(bed, "test"), 2);
    assert_int_equal(bend_bed_split_index(bed, "nope"), -1);

    int64_t mh[18];
    bend_bed_multi_hot(bed, 0, 18, mh);
    for (int k = 0; k < 18; k++) assert_int_equal(mh[k], (k == 1 || k == 4) ? 1 : 0);
    bend_bed_multi_hot(bed, 1, 18, mh); /* empty label -> all zeros */
    for (int k = 0; k < 18; k++) assert_int_equal(mh[k], 0);
    bend_bed_multi_hot(bed, 2, 18, mh);
    for (int k = 0; k < 18; k++) assert_int_equal(mh[k], k == 17);
    bend_bed_multi_hot(bed, 3, 18, mh); /* pandas reads 'nan' as missing -> zeros */
    for (int k = 0; k < 18; k++) assert_int_equal(mh[k], 0);
    bend_bed_free(bed);
}

static void test_multi_hot_counts_repeats_and_spaces(void **state)
{
    (void)state;
    bend_bed *bed = read_ok("c\ts\te\tlabel\tsplit\nchr1\t0\t1\t 3, 3 ,0\ttrain\n", false, 5);
    int64_t mh[5];
    bend_bed_multi_hot(bed, 0, 5, mh); /* np.eye(5)[[3,3,0]].sum(0) */
    int64_t want[5] = {1, 0, 0, 2, 0};
    for (int k = 0; k < 5; k++) assert_int_equal(mh[k], want[k]);
    bend_bed_free(bed);
}

static void test_bend_fallback_columns(void **state)
{
    (void)state;
    /* No column named strand or label: BEND reads strand from column 3 and label from column 6. */
    bend_bed *bed = read_ok("a\tb\tc\td\te\tf\tg\th\n"
                            "chr1\t0\t4\t-\tx\ty\t2\ttrain\n", true, 3);
    assert_int_equal(bed->strand_col, 3);
    assert_int_equal(bed->label_col, 6);
    assert_int_equal(bed->strand[0], '-');
    int64_t mh[3];
    bend_bed_multi_hot(bed, 0, 3, mh);
    assert_int_equal(mh[2], 1);
    bend_bed_free(bed);
}

static void test_strand_ignored_when_not_read(void **state)
{
    (void)state;
    /* read_strand=false: the strand column's content does not matter and every row is '+'. */
    bend_bed *bed = read_ok("chromosome\tstart\tend\tstrand\tsplit\nchr1\t0\t4\t.\ttrain\n", false, 0);
    assert_int_equal(bed->strand[0], '+');
    assert_null(bed->label_ids);
    bend_bed_free(bed);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    const char *h = "chromosome\tstart\tend\tstrand\tlabel\tsplit\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t1\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "expected 6", "found 5", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t1\ttrain\textra\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "found 7", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t1\ttrain\nchr1\t30\t20\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_INVALID, ":3:", "start 30 is greater than end 20", NULL);
    snprintf(buf, sizeof buf, "%schr1\t-5\t10\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "negative", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\tabc\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "end coordinate 'abc'", NULL);
    snprintf(buf, sizeof buf, "%schr1\t1.5\t10\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "start coordinate '1.5'", NULL);
    snprintf(buf, sizeof buf, "%schr1\t\t10\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "start coordinate", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\tx\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "strand must be '+' or '-'", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t18\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_INVALID, ":2:", "label id 18 is out of range", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t1,-2\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "bad item '-2'", NULL);
    snprintf(buf, sizeof buf, "%schr1\t0\t10\t+\t1,\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "label", NULL);
    snprintf(buf, sizeof buf, "%s\t0\t10\t+\t1\ttrain\n", h);
    read_bad(buf, true, 18, BEND_ERR_PARSE, ":2:", "chromosome name is empty", NULL);
    read_bad("chromosome\tstart\tend\n", false, 0, BEND_ERR_PARSE, ":1:", "at least", NULL);
    read_bad("", false, 0, BEND_ERR_PARSE, "is empty", NULL);
    read_bad("chromosome\tstart\tend\tsplit\nchr1\t0\t5\ttrain\n", false, 4, BEND_ERR_PARSE, "'label'", NULL);
    read_bad("c\ts\te\tsplit\nchr1\t0\t5\ttrain\n", true, 0, BEND_ERR_PARSE, "strand must be", "column 4", NULL);
}

static void test_missing_file(void **state)
{
    (void)state;
    bend_bed *bed = NULL;
    bend_error err;
    assert_int_equal(bend_bed_read("/nonexistent/x.bed", NULL, &bed, &err), BEND_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.bed"));
}

int main(void)
{
    dir = test_scratch_dir("test_bed");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_by_position_and_name),
        cmocka_unit_test(test_multi_hot_counts_repeats_and_spaces),
        cmocka_unit_test(test_bend_fallback_columns),
        cmocka_unit_test(test_strand_ignored_when_not_read),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests_name("bed", tests, NULL, NULL);
}
