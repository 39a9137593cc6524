/* Shared by test_net.c and test_loss_adamw.c: reading tests/fixtures/train/train.safetensors
 * (written by tools/reference/make_train_fixtures.py from upstream BEND and PyTorch) and
 * comparing arrays with a relative tolerance. Include after cmocka.h. */
#ifndef BEND_TEST_TRAIN_FIXTURE_H
#define BEND_TEST_TRAIN_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/weights.h"
#include "test_helpers.h"
#include "train/net.h"

static bend_weights *fx;

static int fixture_open(void **state)
{
    (void)state;
    char path[4096];
    if (test_fixture_path("train/train.safetensors", path, sizeof path)) return -1;
    bend_error err;
    if (bend_weights_open(path, &fx, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int fixture_close(void **state)
{
    (void)state;
    bend_weights_close(fx);
    return 0;
}

static const bend_tensor_ref *fx_ref(const char *name)
{
    const bend_tensor_ref *r = bend_weights_find(fx, name);
    if (!r) fail_msg("fixture tensor %s is missing", name);
    return r;
}

static int64_t fx_numel(const char *name)
{
    const bend_tensor_ref *r = fx_ref(name);
    int64_t n = 1;
    for (int i = 0; i < r->ndim; i++) n *= r->shape[i];
    return n;
}

/* float32 copy; *n gets the element count; caller frees */
static float *fx_f32(const char *name, int64_t *n)
{
    const bend_tensor_ref *r = fx_ref(name);
    int64_t shape[BEND_MAX_DIMS];
    for (int i = 0; i < r->ndim; i++) shape[i] = -1;
    float *v;
    bend_error err;
    if (bend_weights_get_f32(fx, name, r->ndim, shape, &v, &err)) fail_msg("%s", err.msg);
    if (n) *n = fx_numel(name);
    return v;
}

/* float64 copy (targets, losses, class weights are stored as F64); caller frees */
static double *fx_f64(const char *name, int64_t *n)
{
    const bend_tensor_ref *r = fx_ref(name);
    if (r->dtype != BEND_DT_F64) fail_msg("%s is not float64", name);
    int64_t k = fx_numel(name);
    double *v = malloc((size_t)k * sizeof *v);
    assert_non_null(v);
    memcpy(v, r->data, (size_t)k * sizeof *v);
    if (n) *n = k;
    return v;
}

static double fx_scalar(const char *name)
{
    double *v = fx_f64(name, NULL), s = v[0];
    free(v);
    return s;
}

static void check_close(const char *what, const float *a, const float *b, int64_t n, double tol)
{
    double e = test_rel_err(a, b, n);
    if (!(e <= tol)) fail_msg("%s: relative error %.3g > %.3g", what, e, tol);
}

/* Compares a against the fixture tensor `name` (same element count). */
static void check_fx(const char *what, const float *a, int64_t n, const char *name, double tol)
{
    int64_t m;
    float *b = fx_f32(name, &m);
    if (m != n) fail_msg("%s: %lld values, the fixture %s has %lld", what, (long long)n, name,
                         (long long)m);
    check_close(what, a, b, n, tol);
    free(b);
}

#endif
