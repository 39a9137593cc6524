/* The embed job through the library API with a custom embedder: the path every language model
 * takes (rows counted from the fetched sequence, samples BEND would drop reported and left out),
 * checked against values written out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hdf5.h>
#include <mpi.h>
#include <sys/stat.h>

#include "dist/world.h"
#include "embed/embed_job.h"
#include "test_helpers.h"

/* A toy model: 2 channels; rows = half the length (rounded up), like a 2-mer tokenizer with
 * upsampling off; a sequence holding N is one BEND would drop. Row j of a sample holds
 * (its first letter, j). */
static bend_status toy_count(void *self, const char *seq, int64_t len, int64_t *rows, char *skip,
                             size_t skip_len, bend_error *err)
{
    (void)self;
    (void)err;
    if (memchr(seq, 'N', (size_t)len)) {
        *rows = -1;
        snprintf(skip, skip_len, "toy model: N in the sequence");
        return BEND_OK;
    }
    *rows = (len + 1) / 2;
    return BEND_OK;
}

static bend_status toy_embed(void *self, size_t n, const char *const *seqs, const int64_t *lens,
                             float *out, bend_error *err)
{
    (void)self;
    (void)err;
    for (size_t i = 0; i < n; i++)
        for (int64_t j = 0; j < (lens[i] + 1) / 2; j++) {
            *out++ = (float)seqs[i][0];
            *out++ = (float)j;
        }
    return BEND_OK;
}

static const bend_embedder_ops toy_ops = {.family = "toy", .count_rows = toy_count, .embed = toy_embed};

static void test_custom_model_with_skips(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("test_embed_job");
    char sub[8192];
    snprintf(sub, sizeof sub, "%s/genomes", dir);
    mkdir(sub, 0777);
    snprintf(sub, sizeof sub, "%s/histone_modification", dir);
    mkdir(sub, 0777);
    /* chr1 = ACGTACGTNNACGGCC (16) */
    test_write_file(dir, "genomes/GRCh38.primary_assembly.genome.fa", ">chr1\nACGTACGTNNACGGCC\n");
    test_write_file(dir, "histone_modification/histone_modification.bed",
                    "chromosome\tstart\tend\tstrand\tlabel\tsplit\n"
                    "chr1\t0\t5\t+\t1\ttrain\n"   /* ACGTA -> 3 rows */
                    "chr1\t6\t10\t+\t2\ttrain\n"  /* GTNN: skipped */
                    "chr1\t10\t16\t-\t3\ttrain\n" /* ACGGCC reverse-complemented: GGCCGT -> 3 rows */
                    "chr1\t2\t4\t+\t\tvalid\n");  /* GT -> 1 row */
    bend_config *cfg;
    bend_error err;
    assert_int_equal(bend_config_load_defaults(NULL, &cfg, &err), BEND_OK);
    char ov[4200];
    snprintf(ov, sizeof ov, "data_dir=%s", dir);
    assert_int_equal(bend_config_apply_override(cfg, ov, &err), BEND_OK);
    assert_int_equal(bend_config_apply_override(cfg, "task=histone_modification", &err), BEND_OK);
    assert_int_equal(bend_config_apply_override(cfg, "model=onehot", &err), BEND_OK);
    assert_int_equal(bend_config_apply_override(cfg, "work_nucleotides=4", &err), BEND_OK);
    bend_embedder *toy;
    assert_int_equal(bend_embedder_wrap(&toy_ops, NULL, 2, &toy, &err), BEND_OK);
    bend_world w;
    assert_int_equal(bend_world_init(NULL, NULL, &w, &err), BEND_OK);
    bend_embed_result res;
    bend_status st = bend_embed_run(cfg, &w, toy, &res, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, BEND_OK);
    assert_int_equal(res.samples, 3);

    hid_t f = H5Fopen(res.store_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    int64_t bed_row[2], skipped[1], offsets[3];
    float emb[6][2];
    hid_t d = H5Dopen2(f, "/train/bed_row", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, bed_row);
    H5Dclose(d);
    assert_int_equal(bed_row[0], 0);
    assert_int_equal(bed_row[1], 2); /* row 1 is the gap */
    d = H5Dopen2(f, "/train/skipped_bed_row", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, skipped);
    H5Dclose(d);
    assert_int_equal(skipped[0], 1);
    d = H5Dopen2(f, "/train/offsets", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, offsets);
    H5Dclose(d);
    assert_int_equal(offsets[1], 3);
    assert_int_equal(offsets[2], 6);
    d = H5Dopen2(f, "/train/embeddings", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, emb);
    H5Dclose(d);
    const float want[6][2] = {{'A', 0}, {'A', 1}, {'A', 2}, {'G', 0}, {'G', 1}, {'G', 2}};
    assert_memory_equal(emb, want, sizeof want);
    int64_t upsampled;
    hid_t a = H5Aopen(f, "upsampled", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT64, &upsampled);
    H5Aclose(a);
    assert_int_equal(upsampled, 0);
    H5Fclose(f);
    bend_embedder_close(toy);
    bend_config_free(cfg);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_custom_model_with_skips)};
    int rc = cmocka_run_group_tests_name("embed_job", tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
