/* Reference access and one-hot encoding against sequences written out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "io/fasta.h"
#include "models/onehot.h"
#include "test_helpers.h"

static const char *dir, *fa_path;

/* chr1 = ACGTTGCAACggttRYac (18), chr2 = ACGTACGTACGTACGTACGTAC (22); lines of 10 */
static const char *fasta_text = ">chr1 description\nACGTTGCAAC\nggttRYac\n>chr2\nACGTACGTAC\nGTACGTACGT\nAC\n";

static void fetch_expect(bend_fasta *fa, const char *chrom, int64_t s, int64_t e, bool rev, const char *want)
{
    char buf[64] = {0};
    bend_error err;
    bend_status st = bend_fasta_fetch(fa, chrom, s, e, rev, buf, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, BEND_OK);
    assert_int_equal(strlen(want), (size_t)(e - s));
    assert_memory_equal(buf, want, (size_t)(e - s));
}

static void test_fetch_builds_index_and_reads(void **state)
{
    (void)state;
    bend_fasta *fa;
    bend_error err;
    char fai[4096];
    snprintf(fai, sizeof fai, "%s.fai", fa_path);
    unlink(fai);
    assert_int_equal(bend_fasta_open(fa_path, &fa, &err), BEND_OK);
    struct stat st;
    assert_int_equal(stat(fai, &st), 0); /* the index was built */
    assert_int_equal(bend_fasta_n_chroms(fa), 2);
    assert_string_equal(bend_fasta_chrom_name(fa, 0), "chr1");
    assert_int_equal(bend_fasta_chrom_length(fa, "chr1"), 18);
    assert_int_equal(bend_fasta_chrom_length(fa, "chr2"), 22);
    assert_int_equal(bend_fasta_chrom_length(fa, "chr3"), -1);
    fetch_expect(fa, "chr1", 0, 4, false, "ACGT");
    fetch_expect(fa, "chr1", 8, 18, false, "ACGGTTRYAC");  /* across a line break, upper-cased */
    /* reverse complement of ACGGTTRYAC: CAYRAACCGT -> complement of R,Y is N */
    fetch_expect(fa, "chr1", 8, 18, true, "GTNNAACCGT");
    fetch_expect(fa, "chr2", 19, 22, false, "TAC");
    fetch_expect(fa, "chr2", 19, 22, true, "GTA");
    char untouched[4] = "xyz";
    assert_int_equal(bend_fasta_fetch(fa, "chr2", 5, 5, false, untouched, &err), BEND_OK);
    assert_string_equal(untouched, "xyz"); /* an empty region writes nothing */
    bend_fasta_close(fa);
}

static void test_fetch_errors(void **state)
{
    (void)state;
    bend_fasta *fa;
    bend_error err;
    char buf[64];
    assert_int_equal(bend_fasta_open(fa_path, &fa, &err), BEND_OK);
    assert_int_equal(bend_fasta_fetch(fa, "chr9", 0, 2, false, buf, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "chr9"));
    assert_int_equal(bend_fasta_fetch(fa, "chr1", 10, 19, false, buf, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "length 18"));
    char hint[512];
    bend_fasta_suggest_chrom(fa, "1", hint, sizeof hint);
    assert_non_null(strstr(hint, "'chr1'"));
    bend_fasta_suggest_chrom(fa, "7", hint, sizeof hint);
    assert_string_equal(hint, "");
    bend_fasta_close(fa);
    assert_int_equal(bend_fasta_open("/nonexistent/ref.fa", &fa, &err), BEND_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/ref.fa"));
    /* Lines of unequal length inside a sequence cannot be indexed. */
    const char *bad = test_write_file(dir, "bad.fa", ">c\nACGT\nAC\nACGT\n");
    assert_int_not_equal(bend_fasta_open(bad, &fa, &err), BEND_OK);
    assert_non_null(strstr(err.msg, "bad.fa"));
}

static void test_dna_rules(void **state)
{
    (void)state;
    char s[] = "acgtNnRyk";
    bend_dna_upper(s, strlen(s));
    assert_string_equal(s, "ACGTNNRYK");
    char r[] = "AACGTRX";
    bend_dna_reverse_complement(r, strlen(r));
    assert_string_equal(r, "NNACGTT");
}

static void test_onehot_channels(void **state)
{
    (void)state;
    /* BEND's LabelEncoder over A C G N T */
    assert_int_equal(bend_onehot_channel('A'), 0);
    assert_int_equal(bend_onehot_channel('C'), 1);
    assert_int_equal(bend_onehot_channel('G'), 2);
    assert_int_equal(bend_onehot_channel('N'), 3);
    assert_int_equal(bend_onehot_channel('T'), 4);
    assert_int_equal(bend_onehot_channel('t'), 4);
    assert_int_equal(bend_onehot_channel('R'), 3);
    assert_int_equal(bend_onehot_channel('-'), 3);
}

static void test_onehot_embedder(void **state)
{
    (void)state;
    bend_config *cfg;
    bend_error err;
    assert_int_equal(bend_config_load_defaults(NULL, &cfg, &err), BEND_OK);
    bend_device cpu = {BEND_DEVICE_CPU, -1, "cpu"};
    bend_embedder *e;
    assert_int_equal(bend_embedder_open(cfg, "onehot", &cpu, &e, &err), BEND_OK);
    assert_int_equal(bend_embedder_dim(e), 5);
    assert_true(bend_embedder_one_row_per_nucleotide(e));
    const char *seqs[2] = {"GATN", "cY"};
    int64_t lens[2] = {4, 2};
    float out[6 * 5];
    memset(out, 0x7f, sizeof out);
    assert_int_equal(bend_embedder_embed(e, 2, seqs, lens, out, &err), BEND_OK);
    const float want[6][5] = {{0, 0, 1, 0, 0}, {1, 0, 0, 0, 0}, {0, 0, 0, 0, 1},
                              {0, 0, 0, 1, 0}, {0, 1, 0, 0, 0}, {0, 0, 0, 1, 0}};
    assert_memory_equal(out, want, sizeof want);
    char note[256];
    bend_embedder_summary(e, note, sizeof note);
    assert_non_null(strstr(note, "1 letter other than"));
    bend_embedder_close(e);
    /* A model configured with the wrong width is refused. */
    assert_int_equal(bend_config_apply_override(cfg, "onehot.embedding_dim=4", &err), BEND_OK);
    assert_int_equal(bend_embedder_open(cfg, "onehot", &cpu, &e, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "onehot.embedding_dim"));
    /* A family that is not built yet is a clear error. */
    assert_int_equal(bend_embedder_open(cfg, "gpn", &cpu, &e, &err), BEND_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "family gpn"));
    bend_config_free(cfg);
}

int main(void)
{
    dir = test_scratch_dir("test_fasta");
    fa_path = test_write_file(dir, "ref.fa", fasta_text);
    static char keep[4096];
    snprintf(keep, sizeof keep, "%s", fa_path);
    fa_path = keep;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_builds_index_and_reads),
        cmocka_unit_test(test_fetch_errors),
        cmocka_unit_test(test_dna_rules),
        cmocka_unit_test(test_onehot_channels),
        cmocka_unit_test(test_onehot_embedder),
    };
    return cmocka_run_group_tests_name("fasta_onehot", tests, NULL, NULL);
}
