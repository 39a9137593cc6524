/* Checkpoint loading: every format (safetensors, torch zip, ZIP64, legacy, protocol 4, sharded,
 * Lightning) gives every tensor of tests/fixtures/weights with the dtype, shape and values
 * PyTorch wrote (expected.h5, made by tools/reference/make_weight_fixtures.py); hostile files give
 * clear errors and never crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint/weights.h"
#include "core/half.h"
#include "test_helpers.h"

typedef struct expected {
    char name[128];
    char dtype[8];
    int ndim;
    int64_t shape[BEND_MAX_DIMS];
    double *values;
    size_t n;
} expected;

static expected exp_t[64];
static size_t nexp;
static char dir_[4096];
static const char *scratch;

static const char *fx(const char *rel)
{
    static char paths[8][4400];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, 4400, "%s/%s", dir_, rel);
    return p;
}

/* ---- expected.h5 --------------------------------------------------------------------------- */

static herr_t add_name(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info, (void)data;
    if (nexp < sizeof exp_t / sizeof exp_t[0]) snprintf(exp_t[nexp++].name, sizeof exp_t[0].name, "%s", name);
    return 0;
}

static void read_expected(void)
{
    hid_t f = H5Fopen(fx("expected.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t idx = 0;
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, &idx, add_name, NULL);
    for (size_t i = 0; i < nexp; i++) {
        expected *e = &exp_t[i];
        hid_t d = H5Dopen2(f, e->name, H5P_DEFAULT), sp = H5Dget_space(d);
        hsize_t dims[BEND_MAX_DIMS];
        e->ndim = H5Sget_simple_extent_ndims(sp);
        H5Sget_simple_extent_dims(sp, dims, NULL);
        e->n = 1;
        for (int k = 0; k < e->ndim; k++) e->n *= (size_t)(e->shape[k] = (int64_t)dims[k]);
        e->values = calloc(e->n + 1, sizeof(double));
        if (e->n) assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, e->values) >= 0);
        hid_t a = H5Aopen(d, "dtype", H5P_DEFAULT), st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, H5T_VARIABLE);
        H5Tset_cset(st, H5T_CSET_UTF8);
        char *s = NULL;
        assert_true(H5Aread(a, st, &s) >= 0);
        snprintf(e->dtype, sizeof e->dtype, "%s", s);
        H5free_memory(s);
        H5Tclose(st);
        H5Aclose(a);
        H5Sclose(sp);
        H5Dclose(d);
    }
    H5Fclose(f);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("BEND_TEST_FIXTURES");
    snprintf(dir_, sizeof dir_, "%s/weights", base && *base ? base : "tests/fixtures");
    read_expected();
    scratch = test_scratch_dir("weights");
    return nexp == 23 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nexp; i++) free(exp_t[i].values);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static bend_weights *open_ok(const char *path)
{
    bend_weights *w = NULL;
    bend_error err = {0};
    bend_status st = bend_weights_open(path, &w, &err);
    if (st) fail_msg("opening %s: %s", path, err.msg);
    return w;
}

/* Opens path, expects failure with status st and a message containing `needle`. */
static void open_fails(const char *path, bend_status st, const char *needle)
{
    bend_weights *w = NULL;
    bend_error err = {0};
    bend_status got = bend_weights_open(path, &w, &err);
    if (w) fail_msg("%s opened (format %s), expected '%s'", path, bend_weights_format(w), needle);
    if (got != st || !strstr(err.msg, needle))
        fail_msg("%s: got status %d '%s', expected %d and '%s'", path, got, err.msg, st, needle);
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static const char *scratch_path(const char *name)
{
    static char paths[4][4400];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 4400, "%s/%s", scratch, name);
    return p;
}

/* Element i (row-major over the shape) read through the public ref: data + strides. */
static double raw_at(const bend_tensor_ref *r, size_t i)
{
    int64_t off = 0;
    for (int d = r->ndim - 1; d >= 0; d--) {
        off += (int64_t)(i % (size_t)r->shape[d]) * r->stride[d];
        i /= (size_t)r->shape[d];
    }
    const uint8_t *p = (const uint8_t *)r->data + off * (int64_t)bend_dtype_size(r->dtype);
    switch (r->dtype) {
    case BEND_DT_F32: return *(const float *)p;
    case BEND_DT_F16: return bend_f16_to_f32(*(const uint16_t *)p);
    case BEND_DT_BF16: {
        uint32_t u = (uint32_t)*(const uint16_t *)p << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case BEND_DT_F64: return *(const double *)p;
    case BEND_DT_I64: return (double)*(const int64_t *)p;
    case BEND_DT_I32: return *(const int32_t *)p;
    case BEND_DT_I16: return *(const int16_t *)p;
    case BEND_DT_I8: return *(const int8_t *)p;
    case BEND_DT_U8: return *p;
    case BEND_DT_BOOL: return *p != 0;
    }
    return NAN;
}

/* Every expected tensor, under prefix, with the right dtype, shape and values. */
static void check_all(const char *path, const char *format, const char *prefix)
{
    bend_weights *w = open_ok(path);
    assert_string_equal(bend_weights_format(w), format);
    assert_int_equal(bend_weights_count(w), nexp);
    for (size_t i = 0; i + 1 < bend_weights_count(w); i++)
        assert_true(strcmp(bend_weights_at(w, i)->name, bend_weights_at(w, i + 1)->name) < 0);
    for (size_t t = 0; t < nexp; t++) {
        const expected *e = &exp_t[t];
        char name[256];
        snprintf(name, sizeof name, "%.64s%.127s", prefix, e->name);
        const bend_tensor_ref *r = bend_weights_find(w, name);
        if (!r) fail_msg("%s: no tensor %s", path, name);
        if (strcmp(bend_dtype_name(r->dtype), e->dtype) || r->ndim != e->ndim)
            fail_msg("%s: %s is %s with %d dims, expected %s with %d", path, name,
                     bend_dtype_name(r->dtype), r->ndim, e->dtype, e->ndim);
        for (int d = 0; d < e->ndim; d++) assert_int_equal(r->shape[d], e->shape[d]);
        assert_true((uintptr_t)r->data % bend_dtype_size(r->dtype) == 0);
        float *v = NULL;
        bend_error err = {0};
        if (bend_weights_get_f32(w, name, e->ndim, e->shape, &v, &err)) fail_msg("%s", err.msg);
        for (size_t k = 0; k < e->n; k++) {
            float want = (float)e->values[k];
            if (memcmp(&v[k], &want, sizeof want) || raw_at(r, k) != e->values[k])
                fail_msg("%s: %s[%zu] = %.9g (raw %.17g), expected %.17g", path, name, k, v[k],
                         raw_at(r, k), e->values[k]);
        }
        free(v);
    }
    bend_weights_close(w);
}

/* ---- formats ------------------------------------------------------------------------------- */

static void test_safetensors(void **s) { (void)s; check_all(fx("model.safetensors"), "safetensors", ""); }
static void test_directory_prefers_safetensors(void **s) { (void)s; check_all(dir_, "safetensors", ""); }
static void test_torch_zip(void **s) { (void)s; check_all(fx("pytorch_model.bin"), "torch-zip", ""); }
static void test_zip64(void **s) { (void)s; check_all(fx("zip64"), "torch-zip", ""); }
static void test_legacy(void **s) { (void)s; check_all(fx("legacy"), "torch-legacy", ""); }
static void test_protocol4(void **s) { (void)s; check_all(fx("proto4/pytorch_model.bin"), "torch-zip", ""); }
static void test_sharded(void **s) { (void)s; check_all(fx("sharded"), "torch-zip-sharded", ""); }
static void test_sharded_safetensors(void **s)
{
    (void)s;
    check_all(fx("sharded_safetensors"), "safetensors-sharded", "");
}
static void test_lightning(void **s) { (void)s; check_all(fx("lightning"), "lightning", "model."); }

/* The same float32 values whatever the format; ties and views share bytes where torch shared. */
static void test_formats_agree_and_share(void **state)
{
    (void)state;
    const char *paths[] = {"pytorch_model.bin", "zip64", "legacy", "proto4", "sharded",
                           "sharded_safetensors", "lightning"};
    bend_weights *st = open_ok(fx("model.safetensors"));
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        bend_weights *w = open_ok(fx(paths[p]));
        const char *prefix = !strcmp(paths[p], "lightning") ? "model." : "";
        for (size_t i = 0; i < bend_weights_count(st); i++) {
            const bend_tensor_ref *a = bend_weights_at(st, i);
            char name[256];
            snprintf(name, sizeof name, "%.64s%.127s", prefix, a->name);
            float *x = NULL, *y = NULL;
            bend_error err;
            assert_int_equal(bend_weights_get_f32(st, a->name, a->ndim, a->shape, &x, &err), BEND_OK);
            assert_int_equal(bend_weights_get_f32(w, name, a->ndim, a->shape, &y, &err), BEND_OK);
            int64_t n = 1;
            for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
            assert_memory_equal(x, y, (size_t)n * sizeof(float));
            free(x);
            free(y);
        }
        bend_weights_close(w);
    }
    /* safetensors has no aliasing; torch files keep the tie and the views. */
    const char *pickled[] = {"pytorch_model.bin", "legacy", "zip64"};
    for (size_t p = 0; p < 3; p++) {
        bend_weights *w = open_ok(fx(pickled[p]));
        const bend_tensor_ref *word = bend_weights_find(w, "embeddings.word_embeddings.weight"),
                              *dec = bend_weights_find(w, "lm_head.decoder.weight"),
                              *base = bend_weights_find(w, "view.base"),
                              *tr = bend_weights_find(w, "view.transposed"),
                              *rows = bend_weights_find(w, "view.rows_2_5");
        assert_ptr_equal(word->data, dec->data);
        assert_ptr_equal(base->data, tr->data);
        assert_int_equal(tr->stride[0], 1);
        assert_int_equal(tr->stride[1], 5);
        assert_ptr_equal((const float *)base->data + 10, rows->data);
        assert_int_equal(bend_weights_parameter_count(st) - bend_weights_parameter_count(w), 16 * 8);
        bend_weights_close(w);
    }
    int64_t floats = 0; /* parameters: floating-point elements only */
    for (size_t t = 0; t < nexp; t++)
        if (exp_t[t].dtype[0] == 'F' || !strcmp(exp_t[t].dtype, "BF16")) floats += (int64_t)exp_t[t].n;
    assert_int_equal(bend_weights_parameter_count(st), floats);
    const bend_tensor_ref *tr = bend_weights_find(st, "view.transposed");
    assert_int_equal(tr->stride[0], 6);
    assert_null(bend_weights_find(st, "no.such.tensor"));
    bend_weights_close(st);
}

/* ---- get_f32 errors ------------------------------------------------------------------------ */

static void expect_get_error(bend_weights *w, const char *name, int ndim, const int64_t *shape,
                             const char *n1, const char *n2)
{
    float *v = (float *)1;
    bend_error err = {0};
    assert_int_equal(bend_weights_get_f32(w, name, ndim, shape, &v, &err), BEND_ERR_INVALID);
    assert_null(v);
    if (!strstr(err.msg, n1) || (n2 && !strstr(err.msg, n2))) fail_msg("'%s' lacks '%s' / '%s'", err.msg, n1, n2);
}

static void test_get_f32_checks(void **state)
{
    (void)state;
    bend_weights *w = open_ok(fx("pytorch_model.bin"));
    const char *q = "encoder.layer.0.attention.self.query.weight";
    int64_t wrong[] = {8, 16}, any[] = {-1, 8}, one[] = {8};
    char msg[512];
    snprintf(msg, sizeof msg, "tensor '%s' in %s has shape [8, 8], expected [8, 16]", q, fx("pytorch_model.bin"));
    expect_get_error(w, q, 2, wrong, msg, NULL);
    expect_get_error(w, q, 1, one, "has shape [8, 8], expected [8]", NULL);
    float *v;
    bend_error err;
    assert_int_equal(bend_weights_get_f32(w, q, 2, any, &v, &err), BEND_OK);
    free(v);
    expect_get_error(w, "encoder.layer.0.attention.self.query.weights", 2, any,
                     "tensor 'encoder.layer.0.attention.self.query.weights' is missing from", "similar names: " "encoder.layer.0.attention.self.query.weight");
    expect_get_error(w, "bert.embeddings.word_embeddings.weight", 2, any, "it has 23 tensors",
                     "similar names: embeddings.word_embeddings.weight");
    expect_get_error(w, "zzzzzzzzzzzzzzzzzzzzzzz", 2, any, "no similar names", NULL);
    /* A scalar and an empty tensor. */
    assert_int_equal(bend_weights_get_f32(w, "scalar.temperature", 0, NULL, &v, &err), BEND_OK);
    assert_true(v[0] == 0.125f);
    free(v);
    int64_t e[] = {0, 4};
    assert_int_equal(bend_weights_get_f32(w, "empty.buffer", 2, e, &v, &err), BEND_OK);
    assert_non_null(v);
    free(v);
    bend_weights_close(w);
}

/* ---- hostile safetensors ------------------------------------------------------------------- */

static const char *safetensors_file(const char *name, uint64_t hlen_override, const char *header,
                                    size_t data_len)
{
    size_t hl = strlen(header), n = 8 + hl + data_len;
    uint8_t *b = calloc(1, n);
    uint64_t h = hlen_override ? hlen_override : hl;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(h >> (8 * i));
    memcpy(b + 8, header, hl);
    const char *p = scratch_path(name);
    write_bytes(p, b, n);
    free(b);
    return p;
}

static void test_hostile_safetensors(void **state)
{
    (void)state;
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    open_fails(safetensors_file("len.safetensors", 1000, ok, 8), BEND_ERR_PARSE,
               "safetensors header length 1000 runs past the end of the file");
    open_fails(safetensors_file("len2.safetensors", UINT64_MAX, ok, 8), BEND_ERR_PARSE, "runs past the end");
    open_fails(safetensors_file("past.safetensors", 0, ok, 4), BEND_ERR_PARSE,
               "tensor 'a' has data_offsets [0, 8] past the end of the data (4 bytes)");
    open_fails(safetensors_file("shape.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16),
               BEND_ERR_PARSE, "(8 bytes) but F32 [3] needs 12 bytes");
    open_fails(safetensors_file("json.safetensors", 0, "{not json", 0), BEND_ERR_PARSE,
               "safetensors header is not valid JSON");
    open_fails(safetensors_file("dup.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
               BEND_ERR_PARSE, "not valid JSON");
    open_fails(safetensors_file("array.safetensors", 0, "[1, 2]", 0), BEND_ERR_PARSE, "not a JSON object");
    open_fails(safetensors_file("overlap.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                                "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20),
               BEND_ERR_PARSE, "overlap");
    open_fails(safetensors_file("neg.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8),
               BEND_ERR_PARSE, "not integers 0 <= begin <= end");
    open_fails(safetensors_file("rev.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8),
               BEND_ERR_PARSE, "not integers 0 <= begin <= end");
    open_fails(safetensors_file("huge.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9223372036854775807]}}", 8),
               BEND_ERR_PARSE, "past the end of the data");
    open_fails(safetensors_file("bigshape.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8),
               BEND_ERR_PARSE, "too large");
    open_fails(safetensors_file("negshape.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
               BEND_ERR_PARSE, "not a non-negative integer");
    open_fails(safetensors_file("dtype.safetensors", 0,
                                "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2),
               BEND_ERR_UNSUPPORTED, "dtype F8_E4M3");
    open_fails(safetensors_file("fields.safetensors", 0, "{\"a\":{\"dtype\":\"F32\"}}", 0), BEND_ERR_PARSE,
               "needs \"dtype\"");
    write_bytes(scratch_path("short.safetensors"), "\x02\x00", 2);
    open_fails(scratch_path("short.safetensors"), BEND_ERR_PARSE, "too short");
    /* Misaligned data (a 1-byte tensor first) still loads, aligned. */
    const char *mis = safetensors_file("misaligned.safetensors", 0,
                                       "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                                       "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5]},"
                                       "\"__metadata__\":{\"format\":\"pt\"}}", 5);
    bend_weights *w = open_ok(mis);
    assert_int_equal(bend_weights_count(w), 2);
    assert_true((uintptr_t)bend_weights_find(w, "f")->data % 4 == 0);
    bend_weights_close(w);
}

/* ---- hostile pickles (bare, so read as legacy files) --------------------------------------- */

static void pickle_fails(const char *name, const void *b, size_t n, bend_status st, const char *needle)
{
    write_bytes(scratch_path(name), b, n);
    open_fails(scratch_path(name), st, needle);
}

static void test_hostile_pickles(void **state)
{
    (void)state;
#define PK(name, lit, st, needle) pickle_fails(name, lit, sizeof lit - 1, st, needle)
    PK("opcode.pt", "\x80\x02}\xfe.", BEND_ERR_PARSE, "byte 3 (opcode 0xfe): unknown or unsupported pickle opcode");
    PK("text.pt", "\x80\x02I1\n.", BEND_ERR_PARSE, "(opcode 0x49 'I'): unknown or unsupported");
    PK("os.pt", "\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00hi\x85R.", BEND_ERR_PARSE,
       "byte 2 (opcode 0x63 'c'): GLOBAL 'os.system' is refused");
    PK("eval.pt", "\x80\x02\x63__builtin__\neval\n.", BEND_ERR_PARSE, "GLOBAL '__builtin__.eval' is refused");
    PK("stackglobal.pt", "\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93.", BEND_ERR_PARSE,
       "GLOBAL 'subprocess.Popen' is refused");
    PK("memo.pt", "\x80\x02h\x05.", BEND_ERR_PARSE, "memo index 5 was never stored");
    PK("memo2.pt", "\x80\x02}r\xff\xff\xff\x7f.", BEND_ERR_PARSE, "memo index 2147483647 is out of range");
    PK("underflow.pt", "\x80\x02R.", BEND_ERR_PARSE, "stack underflow");
    PK("nostop.pt", "\x80\x02}", BEND_ERR_PARSE, "without STOP");
    PK("string.pt", "\x80\x02X\xff\x00\x00\x00ab", BEND_ERR_PARSE, "runs past the end of the pickle");
    PK("nomagic.pt", "\x80\x02}.", BEND_ERR_INVALID, "no legacy magic number");
    PK("proto.pt", "\x80\x09}.", BEND_ERR_INVALID, "not a checkpoint format");
    PK("persid.pt", "\x80\x02X\x01\x00\x00\x00xQ.", BEND_ERR_PARSE, "persistent id is not");
    PK("call.pt", "\x80\x02K\x01)R.", BEND_ERR_PARSE, "REDUCE of a int");
    PK("dict.pt", "\x80\x02]K\x01K\x02s.", BEND_ERR_PARSE, "SETITEM on a list");
    PK("storagecall.pt", "\x80\x02\x63torch\nFloatStorage\n)R.", BEND_ERR_PARSE, "'torch.FloatStorage' cannot be called");
    PK("rebuild.pt", "\x80\x02\x63torch._utils\n_rebuild_tensor_v2\nK\x01\x85R.", BEND_ERR_PARSE,
       "_rebuild_tensor needs (storage, offset, size, stride, ...), got 1 arguments");
    PK("pop.pt", "\x80\x02(0}0.", BEND_ERR_PARSE, "stack underflow"); /* POP of the mark, POP of {}, STOP */
#undef PK
    /* MARKs nested past the bound. */
    size_t n = 70000;
    uint8_t *deep = malloc(n + 3);
    deep[0] = 0x80, deep[1] = 2;
    memset(deep + 2, '(', n);
    deep[n + 2] = '.';
    pickle_fails("deep.pt", deep, n + 3, BEND_ERR_PARSE, "nested MARKs");
    free(deep);
    /* Legacy files cut anywhere. */
    size_t len;
    uint8_t *b = read_all(fx("legacy/pytorch_model.bin"), &len);
    for (size_t cut = 0; cut < len; cut += 7) {
        write_bytes(scratch_path("cut.pt"), b, cut);
        bend_weights *w = NULL;
        bend_error err;
        assert_int_not_equal(bend_weights_open(scratch_path("cut.pt"), &w, &err), BEND_OK);
        assert_null(w);
    }
    free(b);
}

/* ---- hostile zips -------------------------------------------------------------------------- */

static void test_hostile_zips(void **state)
{
    (void)state;
    open_fails(fx("bad/compressed.bin"), BEND_ERR_UNSUPPORTED,
               "entry 'archive/data.pkl' is compressed (zip method 8, deflate)");
    open_fails(fx("bad/overrun.bin"), BEND_ERR_INVALID,
               "tensor 'w' (shape [4], storage offset 0) reaches past the end of storage '0', which holds 4 F32 elements");
    open_fails(fx("bad/short_storage.bin"), BEND_ERR_PARSE,
               "storage '0' should hold 8 F32 elements but archive/data/0 has 16 bytes");
    open_fails(fx("bad/os_system.bin"), BEND_ERR_PARSE, "GLOBAL 'posix.system' is refused");
    open_fails(fx("bad/foreign.bin"), BEND_ERR_INVALID,
               "GLOBAL 'argparse.Namespace' is not allowed in a state dict");
    open_fails(fx("bad/unknown_opcode.bin"), BEND_ERR_PARSE,
               "archive/data.pkl, byte 5 (opcode 0xfe): unknown or unsupported pickle opcode");

    const char *srcs[] = {"pytorch_model.bin", "zip64/pytorch_model.bin"};
    for (int s = 0; s < 2; s++) {
        size_t len;
        uint8_t *b = read_all(fx(srcs[s]), &len);
        /* The end record cut off, then every other cut. */
        write_bytes(scratch_path("cut.bin"), b, len - 10);
        open_fails(scratch_path("cut.bin"), BEND_ERR_PARSE, "no zip end-of-central-directory record");
        for (size_t cut = 4; cut < len; cut += 5) {
            write_bytes(scratch_path("cut.bin"), b, cut);
            bend_weights *w = NULL;
            bend_error err;
            assert_int_not_equal(bend_weights_open(scratch_path("cut.bin"), &w, &err), BEND_OK);
        }
        /* torch writes ZIP64 end records; point the ZIP64 record's directory past the end. */
        size_t loc = len - 22 - 20, rec = 0;
        assert_true(!memcmp(b + loc, "PK\x06\x07", 4) && !memcmp(b + len - 22, "PK\x05\x06", 4));
        for (int k = 7; k >= 0; k--) rec = rec << 8 | b[loc + 8 + (size_t)k];
        assert_true(rec < len - 56 && !memcmp(b + rec, "PK\x06\x06", 4));
        b[rec + 48 + 5] = 0x7f;
        write_bytes(scratch_path("cd.bin"), b, len);
        open_fails(scratch_path("cd.bin"), BEND_ERR_PARSE, "lies past the end of the file");
        b[loc + 8 + 6] = 0x01; /* and the locator at nothing */
        write_bytes(scratch_path("cd.bin"), b, len);
        open_fails(scratch_path("cd.bin"), BEND_ERR_PARSE, "where there is no ZIP64 end-of-central-directory record");
        free(b);
    }
}

/* Deterministic byte corruptions of every fixture: any status, no crash (valgrind/ASan watch). */
static void test_corruptions_never_crash(void **state)
{
    (void)state;
    const char *files[] = {"model.safetensors", "pytorch_model.bin", "zip64/pytorch_model.bin",
                           "legacy/pytorch_model.bin", "proto4/pytorch_model.bin", "lightning/weights.ckpt"};
    uint64_t rng = 42;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        uint8_t *orig = read_all(fx(files[f]), &len), *b = malloc(len);
        const char *ext = strstr(files[f], ".safetensors") ? "x.safetensors" : "x.bin";
        for (int round = 0; round < 60; round++) {
            memcpy(b, orig, len);
            for (int k = 0; k < 1 + round % 4; k++) {
                rng = rng * 6364136223846793005u + 1442695040888963407u;
                size_t at = (size_t)(rng >> 33) % len;
                b[at] = (uint8_t)(rng >> 20);
            }
            write_bytes(scratch_path(ext), b, len);
            bend_weights *w = NULL;
            bend_error err;
            if (bend_weights_open(scratch_path(ext), &w, &err) == BEND_OK) {
                for (size_t i = 0; i < bend_weights_count(w); i++) {
                    const bend_tensor_ref *r = bend_weights_at(w, i);
                    float *v = NULL;
                    if (bend_weights_get_f32(w, r->name, r->ndim, r->shape, &v, &err) == BEND_OK) free(v);
                }
                bend_weights_close(w);
            }
        }
        free(b);
        free(orig);
    }
}

/* ---- indexes and dispatch ------------------------------------------------------------------ */

static void test_index_and_dispatch_errors(void **state)
{
    (void)state;
    char *shard1 = realpath(fx("sharded/pytorch_model-00001-of-00002.bin"), NULL);
    assert_non_null(shard1);
    char link[4400];
    snprintf(link, sizeof link, "%s/pytorch_model-00001-of-00002.bin", scratch);
    unlink(link);
    assert_int_equal(symlink(shard1, link), 0);
    free(shard1);
    test_write_file(scratch, "a.index.json",
                    "{\"weight_map\":{\"view.base\":\"pytorch_model-00001-of-00002.bin\"}}");
    open_fails(scratch_path("a.index.json"), BEND_ERR_INVALID,
               "maps tensor 'view.base' to pytorch_model-00001-of-00002.bin, but that shard has no such tensor");
    test_write_file(scratch, "b.index.json", "{\"weight_map\":{\"x\":\"../etc/passwd\"}}");
    open_fails(scratch_path("b.index.json"), BEND_ERR_INVALID, "is not a file name in the same directory");
    test_write_file(scratch, "c.index.json", "{\"weight_map\":{\"x\":\"absent.bin\"}}");
    open_fails(scratch_path("c.index.json"), BEND_ERR_IO, "cannot open");
    test_write_file(scratch, "d.index.json", "{\"metadata\":{}}");
    open_fails(scratch_path("d.index.json"), BEND_ERR_INVALID, "\"weight_map\"");
    test_write_file(scratch, "e.index.json", "{\"weight_map\":");
    open_fails(scratch_path("e.index.json"), BEND_ERR_PARSE, "not a readable JSON index");
    test_write_file(scratch, "text.bin", "hello, this is not a checkpoint\n");
    open_fails(scratch_path("text.bin"), BEND_ERR_INVALID, "is not a checkpoint format bend reads");
    open_fails(scratch_path("absent.bin"), BEND_ERR_IO, "cannot open model weights");
    char empty[4400];
    snprintf(empty, sizeof empty, "%s/emptydir", scratch);
    mkdir(empty, 0755);
    open_fails(empty, BEND_ERR_IO, "has no model weights");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors),
        cmocka_unit_test(test_directory_prefers_safetensors),
        cmocka_unit_test(test_torch_zip),
        cmocka_unit_test(test_zip64),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_protocol4),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_sharded_safetensors),
        cmocka_unit_test(test_lightning),
        cmocka_unit_test(test_formats_agree_and_share),
        cmocka_unit_test(test_get_f32_checks),
        cmocka_unit_test(test_hostile_safetensors),
        cmocka_unit_test(test_hostile_pickles),
        cmocka_unit_test(test_hostile_zips),
        cmocka_unit_test(test_corruptions_never_crash),
        cmocka_unit_test(test_index_and_dispatch_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
