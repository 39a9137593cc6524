/* The store: creation, the creation race, out-of-order filling, float16, label reading, and the
 * property the design rests on: filling changes no byte outside the data regions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>

#include "core/half.h"
#include "io/labels.h"
#include "store/store.h"
#include "test_helpers.h"

static const char *dir;

/* Two splits: "train" with 3 samples of 2, 0 and 3 rows; "valid" with 1 sample of 4 rows. */
static const int64_t train_rows[3] = {2, 0, 3}, train_bed[3] = {0, 2, 3};
static const int64_t valid_rows[1] = {4}, valid_bed[1] = {1};
static const int64_t valid_lab_len[1] = {4};

static bend_store_spec make_spec(bend_store_split_spec *sp, bend_store_dtype dtype)
{
    sp[0] = (bend_store_split_spec){.name = "train", .n_samples = 3, .rows = train_rows,
                                    .bed_row = train_bed, .label_kind = BEND_LABELS_PER_SAMPLE,
                                    .label_width = 2};
    sp[1] = (bend_store_split_spec){.name = "valid", .n_samples = 1, .rows = valid_rows,
                                    .bed_row = valid_bed, .label_kind = BEND_LABELS_PER_NUCLEOTIDE,
                                    .label_lengths = valid_lab_len};
    return (bend_store_spec){.task = "t", .model = "m", .dim = 3, .dtype = dtype, .upsampled = true,
                             .identity_yaml = "id: 1\n", .config_yaml = "c: 2\n", .n_splits = 2,
                             .splits = sp};
}

static void create(const char *path, bend_store_dtype dtype, bool *lost)
{
    bend_store_split_spec sp[2];
    bend_store_spec spec = make_spec(sp, dtype);
    bend_store_builder *b;
    bend_error err;
    bend_status st = bend_store_build_begin(path, &spec, &b, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, BEND_OK);
    const int64_t train_labels[6] = {1, 0, 0, 1, 1, 1};
    const int64_t valid_labels[4] = {8, 0, 2, 8};
    assert_int_equal(bend_store_build_write_labels(b, 0, 0, 3, train_labels, &err), BEND_OK);
    assert_int_equal(bend_store_build_write_labels(b, 1, 0, 1, valid_labels, &err), BEND_OK);
    assert_int_equal(bend_store_build_commit(b, false, lost, &err), BEND_OK);
}

static void read_all(const char *path, const char *dset, hid_t type, void *out)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

static haddr_t dataset_offset(const char *path, const char *dset, hsize_t *bytes)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    haddr_t off = H5Dget_offset(d);
    *bytes = H5Dget_storage_size(d);
    H5Dclose(d);
    H5Fclose(f);
    return off;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *p = malloc(*n);
    assert_int_equal(fread(p, 1, *n, fp), *n);
    fclose(fp);
    return p;
}

static void test_create_fill_and_read(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/a.h5", dir);
    bool lost = true;
    create(path, BEND_STORE_F32, &lost);
    assert_false(lost);
    size_t n0;
    unsigned char *before = slurp(path, &n0);

    bend_store *s;
    bend_error err;
    assert_int_equal(bend_store_open(path, MPI_COMM_WORLD, &s, &err), BEND_OK);
    assert_int_equal(bend_store_n_splits(s), 2);
    assert_string_equal(bend_store_split_name(s, 0), "train");
    assert_int_equal(bend_store_n_samples(s, 0), 3);
    const int64_t *off = bend_store_offsets(s, 0);
    assert_int_equal(off[0], 0);
    assert_int_equal(off[1], 2);
    assert_int_equal(off[2], 2);
    assert_int_equal(off[3], 5);
    uint8_t done[3] = {9, 9, 9};
    assert_int_equal(bend_store_read_done(s, 0, done, &err), BEND_OK);
    assert_int_equal(done[0] + done[1] + done[2], 0);
    /* out of order: the last sample first, then the first two */
    const float last[9] = {7, 8, 9, 10, 11, 12, 13, 14, 15};
    const float first[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(bend_store_write_samples(s, 0, 2, 1, last, &err), BEND_OK);
    assert_int_equal(bend_store_read_done(s, 0, done, &err), BEND_OK);
    assert_int_equal(done[0], 0);
    assert_int_equal(done[2], 1);
    assert_int_equal(bend_store_write_samples(s, 0, 0, 2, first, &err), BEND_OK);
    assert_int_equal(bend_store_write_samples(s, 0, 2, 2, first, &err), BEND_ERR_INTERNAL);
    assert_int_equal(bend_store_close(s, &err), BEND_OK);

    float emb[15];
    read_all(path, "/train/embeddings", H5T_NATIVE_FLOAT, emb);
    const float want[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    assert_memory_equal(emb, want, sizeof want);
    int64_t labels[6], vlab[4], bed_row[3], loff[2];
    read_all(path, "/train/labels", H5T_NATIVE_INT64, labels);
    assert_int_equal(labels[1], 0);
    assert_int_equal(labels[3], 1);
    read_all(path, "/valid/labels", H5T_NATIVE_INT64, vlab);
    assert_int_equal(vlab[0], 8);
    assert_int_equal(vlab[2], 2);
    read_all(path, "/valid/label_offsets", H5T_NATIVE_INT64, loff);
    assert_int_equal(loff[1], 4);
    read_all(path, "/train/bed_row", H5T_NATIVE_INT64, bed_row);
    assert_int_equal(bed_row[1], 2);

    /* Filling wrote only inside `embeddings` and `done` of train. */
    size_t n1;
    unsigned char *after = slurp(path, &n1);
    assert_int_equal(n0, n1);
    hsize_t eb, db;
    haddr_t eo = dataset_offset(path, "/train/embeddings", &eb);
    haddr_t dof = dataset_offset(path, "/train/done", &db);
    size_t changed_outside = 0, changed_inside = 0;
    for (size_t i = 0; i < n0; i++) {
        bool inside = (i >= eo && i < eo + eb) || (i >= dof && i < dof + db);
        if (before[i] != after[i]) inside ? changed_inside++ : changed_outside++;
    }
    assert_int_equal(changed_outside, 0);
    assert_true(changed_inside > 0);
    free(before);
    free(after);

    bend_strbuf sb = BEND_STRBUF_INIT;
    assert_int_equal(bend_store_describe(path, 2, &sb, &err), BEND_OK);
    assert_non_null(strstr(bend_strbuf_cstr(&sb), "3 of 4 samples embedded"));
    bend_strbuf_free(&sb);
    char *identity;
    assert_int_equal(bend_store_read_identity(path, &identity, &err), BEND_OK);
    assert_string_equal(identity, "id: 1\n");
    free(identity);
}

static void test_creation_race_and_replace(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/race.h5", dir);
    bool lost;
    create(path, BEND_STORE_F32, &lost);
    assert_false(lost);
    create(path, BEND_STORE_F32, &lost); /* a second creator finds the name taken */
    assert_true(lost);
    char *id;
    bend_error err;
    assert_int_equal(bend_store_read_identity("/nonexistent.h5", &id, &err), BEND_ERR_IO);
    const char *junk = test_write_file(dir, "junk.h5", "not hdf5");
    assert_int_equal(bend_store_read_identity(junk, &id, &err), BEND_ERR_HDF5);
}

static void test_float16(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/half.h5", dir);
    bool lost;
    create(path, BEND_STORE_F16, &lost);
    bend_store *s;
    bend_error err;
    assert_int_equal(bend_store_open(path, MPI_COMM_WORLD, &s, &err), BEND_OK);
    const float rows[12] = {1.0f, -2.0f, 0.1f, 65504.0f, 0.5f, 0, 0, 0, 0, 0, 0, 3.0f};
    assert_int_equal(bend_store_write_samples(s, 1, 0, 1, rows, &err), BEND_OK);
    assert_int_equal(bend_store_close(s, &err), BEND_OK);
    /* Read back through HDF5's own conversion to float: the file type is a real binary16. */
    float back[12];
    read_all(path, "/valid/embeddings", H5T_NATIVE_FLOAT, back);
    assert_true(back[0] == 1.0f && back[1] == -2.0f && back[3] == 65504.0f && back[11] == 3.0f);
    assert_true(fabsf(back[2] - 0.0999755859375f) < 1e-9f); /* 0x2e66 */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/valid/embeddings", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    assert_int_equal(H5Tget_size(t), 2);
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(f);
}

static void test_hdf5_labels(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {3, 2};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "labels", H5T_STD_I8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const int8_t vals[6] = {1, 2, 3, 4, 5, 6};
    H5Dwrite(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    bend_h5labels *h;
    bend_error err;
    assert_int_equal(bend_h5labels_open(path, 4, "x.bed", &h, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "3 rows"));
    assert_non_null(strstr(err.msg, "4 data rows"));
    assert_int_equal(bend_h5labels_open(path, 3, "x.bed", &h, &err), BEND_OK);
    assert_false(bend_h5labels_variable(h));
    assert_int_equal(bend_h5labels_width(h), 2);
    int64_t rows[2] = {2, 0}, out[4];
    assert_int_equal(bend_h5labels_read(h, rows, 2, out, &err), BEND_OK);
    const int64_t want[4] = {5, 6, 1, 2};
    assert_memory_equal(out, want, sizeof want);
    bend_h5labels_close(h);

    /* variable-length rows */
    snprintf(path, sizeof path, "%s/vlabels.h5", dir);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t n = 2;
    sp = H5Screate_simple(1, &n, NULL);
    hid_t vt = H5Tvlen_create(H5T_STD_I64LE);
    d = H5Dcreate2(f, "labels", vt, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int64_t a[3] = {8, 0, 1}, b[1] = {4};
    hvl_t recs[2] = {{3, a}, {1, b}};
    hid_t mvt = H5Tvlen_create(H5T_NATIVE_INT64);
    H5Dwrite(d, mvt, H5S_ALL, H5S_ALL, H5P_DEFAULT, recs);
    H5Tclose(mvt);
    H5Tclose(vt);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    assert_int_equal(bend_h5labels_open(path, 2, "x.bed", &h, &err), BEND_OK);
    assert_true(bend_h5labels_variable(h));
    int64_t vrows[2] = {1, 0}, lens[2], vout[4];
    assert_int_equal(bend_h5labels_lengths(h, vrows, 2, lens, &err), BEND_OK);
    assert_int_equal(lens[0], 1);
    assert_int_equal(lens[1], 3);
    assert_int_equal(bend_h5labels_read(h, vrows, 2, vout, &err), BEND_OK);
    const int64_t vwant[4] = {4, 8, 0, 1};
    assert_memory_equal(vout, vwant, sizeof vwant);
    bend_h5labels_close(h);

    /* a file without `labels` */
    snprintf(path, sizeof path, "%s/nolabels.h5", dir);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    assert_int_equal(bend_h5labels_open(path, 2, "x.bed", &h, &err), BEND_ERR_PARSE);
    assert_non_null(strstr(err.msg, "no dataset 'labels'"));
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    dir = test_scratch_dir("test_store");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_fill_and_read),
        cmocka_unit_test(test_creation_race_and_replace),
        cmocka_unit_test(test_float16),
        cmocka_unit_test(test_hdf5_labels),
    };
    int rc = cmocka_run_group_tests_name("store", tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
