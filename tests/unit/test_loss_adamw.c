/* BEND's losses and torch's AdamW against PyTorch (tools/reference/make_train_fixtures.py):
 * sum / norm equals upstream's mean loss and dpred / norm torch's gradient of it, for cross
 * entropy (-100 ignored, class weights), BCE with positive weights in BEND's mode (-100 targets
 * counted) and masked mode, MSE and Poisson; the two BCE modes differ exactly at the -100
 * elements; shards' sums and norms add up to the whole batch's; an out-of-range class id names
 * its index. AdamW fed torch's own gradients reproduces torch's parameters after each of three
 * steps to 1e-6, and its state is where the header says. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "train/adamw.h"
#include "train/loss.h"
#include "train_fixture.h"

static const double tol = 1e-5;

/* Computes the case's loss from its stored pred/target and compares with torch. */
static void check_loss(const char *c, const bend_loss_spec *ls, const char *pred_key,
                       int64_t rows, int64_t cols, const char *loss_key, const char *dpred_key)
{
    char key[256];
    float *pred = fx_f32(pred_key, NULL);
    snprintf(key, sizeof key, "%s/target", c);
    int64_t nt;
    double *t = fx_f64(key, &nt);
    float *d = malloc((size_t)(rows * cols) * sizeof *d);
    assert_non_null(d);
    double sum, norm;
    bend_error err;
    if (bend_loss_sum(ls, pred, t, rows, cols, &sum, &norm, d, &err)) fail_msg("%s", err.msg);
    double ref = fx_scalar(loss_key);
    if (fabs(sum / norm - ref) > tol * fabs(ref))
        fail_msg("%s: loss %.9g, torch %.9g", c, sum / norm, ref);
    for (int64_t i = 0; i < rows * cols; i++) d[i] = (float)(d[i] / norm);
    check_fx(c, d, rows * cols, dpred_key, tol);
    /* dpred may be NULL and changes nothing */
    double s2, n2;
    assert_int_equal(bend_loss_sum(ls, pred, t, rows, cols, &s2, &n2, NULL, &err), BEND_OK);
    assert_true(s2 == sum && n2 == norm);
    free(d);
    free(t);
    free(pred);
}

static void test_cross_entropy(void **state)
{
    (void)state;
    double *cw = fx_f64("cnn_ce/class_weights", NULL);
    bend_loss_spec ls = {.kind = BEND_LOSS_CROSS_ENTROPY, .class_weights = cw,
                         .n_class_weights = 3};
    check_loss("cnn_ce", &ls, "cnn_ce/y", 39, 3, "cnn_ce/loss", "cnn_ce/dpred");
    /* unweighted: the ResNet case */
    bend_loss_spec plain = {.kind = BEND_LOSS_CROSS_ENTROPY};
    check_loss("resnet", &plain, "resnet/y", 80, 3, "resnet/loss", "resnet/dpred");

    /* two shards of the batch add up to the whole: sum and norm are additive */
    float *y = fx_f32("cnn_ce/y", NULL);
    double *t = fx_f64("cnn_ce/target", NULL);
    double s, n, s1, n1, s2, n2;
    bend_error err;
    assert_int_equal(bend_loss_sum(&ls, y, t, 39, 3, &s, &n, NULL, &err), BEND_OK);
    assert_int_equal(bend_loss_sum(&ls, y, t, 20, 3, &s1, &n1, NULL, &err), BEND_OK);
    assert_int_equal(bend_loss_sum(&ls, y + 60, t + 20, 19, 3, &s2, &n2, NULL, &err), BEND_OK);
    assert_true(fabs(s1 + s2 - s) < 1e-12 * fabs(s) && fabs(n1 + n2 - n) < 1e-12);

    /* a class id out of range names its index */
    t[17] = 12;
    assert_int_equal(bend_loss_sum(&ls, y, t, 39, 3, &s, &n, NULL, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "index 17"));
    assert_non_null(strstr(err.msg, "12"));
    t[17] = -1;
    assert_int_equal(bend_loss_sum(&ls, y, t, 39, 3, &s, &n, NULL, &err), BEND_ERR_INVALID);
    t[17] = 0;
    bend_loss_spec bad = {.kind = BEND_LOSS_CROSS_ENTROPY, .class_weights = cw,
                          .n_class_weights = 2};
    assert_int_equal(bend_loss_sum(&bad, y, t, 39, 3, &s, &n, NULL, &err), BEND_ERR_INVALID);
    free(t);
    free(y);
    free(cw);
}

static void test_bce(void **state)
{
    (void)state;
    double *cw = fx_f64("cnn_down/class_weights", NULL);
    bend_loss_spec ls = {.kind = BEND_LOSS_BCE, .class_weights = cw, .n_class_weights = 1};
    check_loss("cnn_down", &ls, "cnn_down/y", 3, 3, "cnn_down/loss", "cnn_down/dpred");
    free(cw);
    cw = fx_f64("cnn_multi/class_weights", NULL);
    ls.class_weights = cw;
    ls.n_class_weights = 6;
    check_loss("cnn_multi", &ls, "cnn_multi/y", 3, 6, "cnn_multi/loss", "cnn_multi/dpred");
    free(cw);

    /* -100 targets: BEND's mode counts them, the masked mode leaves them out */
    cw = fx_f64("bce_mask/class_weights", NULL);
    bend_loss_spec bend = {.kind = BEND_LOSS_BCE, .class_weights = cw, .n_class_weights = 5};
    bend_loss_spec masked = bend;
    masked.bce_mask_padding = true;
    check_loss("bce_mask", &bend, "bce_mask/pred", 4, 5, "bce_mask/loss", "bce_mask/dpred");
    check_loss("bce_mask", &masked, "bce_mask/pred", 4, 5, "bce_mask/loss_masked",
               "bce_mask/dpred_masked");
    float *pred = fx_f32("bce_mask/pred", NULL);
    double *t = fx_f64("bce_mask/target", NULL);
    float da[20], db[20];
    double sa, na, sb, nb;
    bend_error err;
    assert_int_equal(bend_loss_sum(&bend, pred, t, 4, 5, &sa, &na, da, &err), BEND_OK);
    assert_int_equal(bend_loss_sum(&masked, pred, t, 4, 5, &sb, &nb, db, &err), BEND_OK);
    assert_true(na == 20 && nb == 17);
    for (int i = 0; i < 20; i++) {
        if (t[i] == -100) {
            assert_true(db[i] == 0 && da[i] != 0);
        } else {
            assert_true(da[i] == db[i]);
        }
    }
    free(t);
    free(pred);
    free(cw);
    bend_loss_spec wrong = {.kind = BEND_LOSS_BCE, .class_weights = (const double[2]){1, 2},
                            .n_class_weights = 2};
    float p[3] = {0};
    double tt[3] = {0};
    double s, n;
    assert_int_equal(bend_loss_sum(&wrong, p, tt, 1, 3, &s, &n, NULL, &err), BEND_ERR_INVALID);
}

static void test_mse_poisson(void **state)
{
    (void)state;
    bend_loss_spec mse = {.kind = BEND_LOSS_MSE};
    check_loss("mse", &mse, "mse/pred", 2, 12, "mse/loss", "mse/dpred");
    bend_loss_spec poisson = {.kind = BEND_LOSS_POISSON};
    check_loss("poisson", &poisson, "poisson/pred", 3, 5, "poisson/loss", "poisson/dpred");
}

static void test_kind_from_name(void **state)
{
    (void)state;
    bend_loss_kind k;
    bend_error err;
    assert_int_equal(bend_loss_kind_from_name("cross_entropy", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_LOSS_CROSS_ENTROPY);
    assert_int_equal(bend_loss_kind_from_name("bce", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_LOSS_BCE);
    assert_int_equal(bend_loss_kind_from_name("poisson", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_LOSS_POISSON);
    assert_int_equal(bend_loss_kind_from_name("mse", &k, &err), BEND_OK);
    assert_int_equal(k, BEND_LOSS_MSE);
    assert_int_equal(bend_loss_kind_from_name("hinge", &k, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "hinge"));
}

/* AdamW on torch's gradients of each step (the ResNet case: 62 tensors, plus a buffer that must
 * be left alone) reproduces torch's parameters after every step. */
static void test_adamw(void **state)
{
    (void)state;
    static const char *const names[] = {
        "encoder.encoder.0.conv.1.weight", "encoder.encoder.0.conv.4.weight",
        "encoder.encoder.3.ffn.0.weight",  "encoder.encoder.6.ffn.2.bias",
        "downstream_cnn.conv1.1.weight",   "downstream_cnn.linear.0.bias",
    };
    enum { N = 6 };
    bend_param p[N + 1];
    memset(p, 0, sizeof p);
    char key[256];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "resnet/w/%s", names[i]);
        p[i].name = names[i];
        p[i].value = fx_f32(key, &p[i].numel);
        p[i].grad = malloc((size_t)p[i].numel * sizeof(float));
    }
    float buffer_value[3] = {1, 2, 3};
    p[N] = (bend_param){.name = "some.running_mean", .numel = 3, .value = buffer_value,
                        .is_buffer = true};
    bend_adamw_config cfg = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                             .weight_decay = 0.01};
    bend_adamw *opt;
    bend_error err;
    assert_int_equal(bend_adamw_create(&cfg, p, N + 1, &opt, &err), BEND_OK);
    assert_null(bend_adamw_exp_avg(opt, N));
    assert_null(bend_adamw_exp_avg_sq(opt, N));
    for (int step = 1; step <= 3; step++) {
        for (int i = 0; i < N; i++) {
            snprintf(key, sizeof key, "resnet/step%d/grad/%s", step, names[i]);
            float *g = fx_f32(key, NULL);
            memcpy(p[i].grad, g, (size_t)p[i].numel * sizeof(float));
            free(g);
        }
        bend_adamw_step(opt, p, N + 1);
        assert_int_equal(*bend_adamw_step_count(opt), step);
        for (int i = 0; i < N; i++) {
            snprintf(key, sizeof key, "resnet/step%d/param/%s", step, names[i]);
            char what[256];
            snprintf(what, sizeof what, "adamw step %d %s", step, names[i]);
            check_fx(what, p[i].value, p[i].numel, key, 1e-6);
        }
    }
    assert_true(buffer_value[0] == 1 && buffer_value[2] == 3);
    /* state after 3 steps: exp_avg = 0.1 (0.81 g1 + 0.9 g2 + g3) for the linear bias */
    {
        int i = 5;
        float *g[3];
        for (int s = 0; s < 3; s++) {
            snprintf(key, sizeof key, "resnet/step%d/grad/%s", s + 1, names[i]);
            g[s] = fx_f32(key, NULL);
        }
        const float *m = bend_adamw_exp_avg(opt, i), *v = bend_adamw_exp_avg_sq(opt, i);
        for (int64_t k = 0; k < p[i].numel; k++) {
            double em = 0.1 * (0.81 * g[0][k] + 0.9 * g[1][k] + g[2][k]);
            double ev = 0.001 * (0.999 * 0.999 * g[0][k] * g[0][k] + 0.999 * g[1][k] * g[1][k] +
                                 g[2][k] * g[2][k]);
            /* float rounding is relative to the terms, which may cancel in m */
            double scale = 0.081 * fabs(g[0][k]) + 0.09 * fabs(g[1][k]) + 0.1 * fabs(g[2][k]);
            assert_true(fabs(m[k] - em) <= 1e-6 * scale + 1e-12);
            assert_true(fabs(v[k] - ev) <= 1e-5 * fabs(ev) + 1e-15);
        }
        for (int s = 0; s < 3; s++) free(g[s]);
    }
    bend_adamw_free(opt);
    for (int i = 0; i < N; i++) {
        free(p[i].value);
        free(p[i].grad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy), cmocka_unit_test(test_bce),
        cmocka_unit_test(test_mse_poisson),   cmocka_unit_test(test_kind_from_name),
        cmocka_unit_test(test_adamw),
    };
    return cmocka_run_group_tests(tests, fixture_open, fixture_close);
}
