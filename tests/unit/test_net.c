/* The downstream networks against upstream BEND's modules run by PyTorch
 * (tools/reference/make_train_fixtures.py): with the fixture's weights loaded, the train-mode
 * forward, BEND's loss and its gradient, every parameter gradient, and the parameters after three
 * AdamW steps on the same batch (forward, loss, backward, step each time) agree within 1e-5
 * relative (max|a - b| / max|b|). Cases: CNN per-position with cross entropy (-100 padding,
 * class weights) and the softmax / sigmoid / softplus outputs; CNN with a downsample window and
 * output_size 1 (flattened [B, L/4]) under BEND's BCE; CNN multi-label [B, 6]; Basset at full
 * size in eval mode and train mode (dropout off, BatchNorm batch statistics and running stats);
 * the supervised ResNet (7 dilated layers). Then the errors: short inputs, Basset's fixed length,
 * backward without a train forward. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cblas.h>

#include "train/adamw.h"
#include "train/layers.h"
#include "train/loss.h"
#include "train/net.h"
#include "train_fixture.h"

static const double tol = 1e-5;

static bend_net *make_net(const bend_net_spec *spec)
{
    bend_net *net;
    bend_error err;
    if (bend_net_create(spec, 7, &net, &err)) fail_msg("create: %s", err.msg);
    return net;
}

/* Copies <case>/w/<name> into every parameter and buffer; the fixture must hold exactly the
 * net's floating-point tensors (BEND's state_dict names and shapes). */
static void load_weights(bend_net *net, const char *c)
{
    int n;
    bend_param *p = bend_net_params(net, &n);
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].is_integer) continue;
        char key[512];
        snprintf(key, sizeof key, "%s/w/%s", c, p[i].name);
        const bend_tensor_ref *r = fx_ref(key);
        if (r->ndim != p[i].ndim) fail_msg("%s: rank %d, BEND's %d", p[i].name, p[i].ndim, r->ndim);
        for (int d = 0; d < r->ndim; d++)
            if (r->shape[d] != p[i].shape[d]) fail_msg("%s: dim %d differs", p[i].name, d);
        float *v = fx_f32(key, NULL);
        memcpy(p[i].value, v, (size_t)p[i].numel * sizeof(float));
        free(v);
        found++;
    }
    char prefix[128];
    int in_fixture = 0;
    snprintf(prefix, sizeof prefix, "%s/w/", c);
    for (size_t i = 0; i < bend_weights_count(fx); i++)
        if (strncmp(bend_weights_at(fx, i)->name, prefix, strlen(prefix)) == 0) in_fixture++;
    assert_int_equal(found, in_fixture);
}

/* Loss of y against the case's target as the trainer computes it; dy = d(mean)/d(y). */
static double case_loss(const char *c, const bend_loss_spec *ls, const float *y, int64_t rows,
                        int64_t cols, float *dy)
{
    char key[256];
    snprintf(key, sizeof key, "%s/target", c);
    double *t = fx_f64(key, NULL);
    double sum, norm;
    bend_error err;
    if (bend_loss_sum(ls, y, t, rows, cols, &sum, &norm, dy, &err)) fail_msg("%s", err.msg);
    for (int64_t i = 0; i < rows * cols; i++) dy[i] = (float)(dy[i] / norm);
    free(t);
    return sum / norm;
}

/* Parameters after AdamW steps: within tol relative, except elements whose gradient is at the
 * float32 noise level (|g| < 1e-2 max|g| at step 1, where a 1e-5 error relative to the
 * largest is 1e-3 of the element): Adam divides the gradient by its own
 * magnitude, so there any two float32 implementations step by up to lr in unrelated directions;
 * those are held to 2 lr per step. AdamW itself is checked exactly in test_loss_adamw.c on
 * torch's gradients. */
static void check_adam_params(const char *what, const float *got, const float *ref,
                              const float *g1, int64_t n, int step, double ptol)
{
    double mb = 0, mg = 0;
    for (int64_t k = 0; k < n; k++) {
        mb = fmax(mb, fabs(ref[k]));
        mg = fmax(mg, fabs(g1[k]));
    }
    for (int64_t k = 0; k < n; k++) {
        double d = fabs((double)got[k] - ref[k]);
        bool noise = fabs(g1[k]) < 1e-2 * mg;
        if (d > ptol * mb && !(noise && d <= 2e-2 * step))
            fail_msg("%s[%lld]: %.9g, torch %.9g (grad %.3g of max %.3g)", what, (long long)k,
                     got[k], ref[k], g1[k], mg);
    }
}

/* Forward, loss, backward against the fixture, then `steps` AdamW steps (each with a fresh
 * forward and backward on the same batch). rows/cols: the loss's view of the output. skip: conv
 * biases in front of a BatchNorm (NULL: none). Gradients and parameters of steps 2 and 3 are
 * held to 1e-4: the noise-level elements' divergence of step 1 (see check_adam_params) feeds
 * into every later gradient (the CNNs stay within 1e-5 anyway; the ResNet needs 1e-4). */
static void check_training(bend_net *net, const char *c, const bend_loss_spec *ls, int64_t B,
                           int64_t L, int64_t rows, int64_t cols, const int64_t *shape, int ndim,
                           bool sampled, const char *const *skip, int steps)
{
    const double later_tol = 1e-4; /* see check_adam_params */
    char key[512];
    snprintf(key, sizeof key, "%s/x", c);
    float *x = fx_f32(key, NULL);
    bend_error err;
    int n;
    bend_param *p = bend_net_params(net, &n);
    bend_adamw_config cfg = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                             .weight_decay = 0.01};
    bend_adamw *opt;
    assert_int_equal(bend_adamw_create(&cfg, p, n, &opt, &err), BEND_OK);
    float *dy = malloc((size_t)(rows * cols) * sizeof *dy);
    assert_non_null(dy);
    for (int step = 1; step <= steps; step++) {
        const float *y;
        int64_t os[3];
        int ond;
        bend_net_zero_grad(net);
        if (bend_net_forward(net, x, B, L, true, &y, os, &ond, &err)) fail_msg("%s", err.msg);
        double loss = case_loss(c, ls, y, rows, cols, dy);
        if (step == 1) {
            assert_int_equal(ond, ndim);
            for (int d = 0; d < ndim; d++) assert_int_equal(os[d], shape[d]);
            snprintf(key, sizeof key, "%s/y", c);
            check_fx("forward", y, rows * cols, key, tol);
            snprintf(key, sizeof key, "%s/loss", c);
            double ref = fx_scalar(key);
            if (fabs(loss - ref) > tol * fabs(ref))
                fail_msg("%s loss %.9g, torch %.9g", c, loss, ref);
            snprintf(key, sizeof key, "%s/dpred", c);
            check_fx("d loss / d output", dy, rows * cols, key, tol);
        }
        if (bend_net_backward(net, dy, &err)) fail_msg("%s", err.msg);
        for (int i = 0; i < n; i++) {
            if (p[i].is_buffer) continue;
            char what[512], idx[512];
            snprintf(what, sizeof what, "%s step %d grad %s", c, step, p[i].name);
            snprintf(key, sizeof key, "%s/step%d/grad/%s", c, step, p[i].name);
            snprintf(idx, sizeof idx, "%s/idx/%s", c, p[i].name);
            float *got = p[i].grad;
            int64_t m = p[i].numel;
            float *pick = NULL;
            if (sampled) {
                double *ix = fx_f64(idx, &m);
                pick = malloc((size_t)m * sizeof *pick);
                for (int64_t k = 0; k < m; k++) pick[k] = got[(int64_t)ix[k]];
                free(ix);
                got = pick;
            }
            bool skipped = false;
            for (const char *const *s = skip; s && *s; s++) skipped |= strcmp(*s, p[i].name) == 0;
            if (skipped) {
                /* a conv bias in front of BatchNorm: its gradient is zero up to rounding noise,
                 * so it is compared with the scale of its weight's gradient instead */
                float *ref = fx_f32(key, NULL);
                for (int64_t k = 0; k < m; k++)
                    if (fabsf(got[k]) > 1e-4f || fabsf(ref[k]) > 1e-4f)
                        fail_msg("%s: %g / torch %g, expected ~0", what, got[k], ref[k]);
                free(ref);
            } else {
                /* Where a float64 run is recorded, the tolerance widens to torch's own float32
                 * error e (Basset's last BatchNorm weight: 5e-5, a cancelling sum): ours within
                 * max(tol, 3e) of the exact gradient, hence max(tol, 3e) + e of torch's */
                char k64[512];
                snprintf(k64, sizeof k64, "%s/ref64/grad/%s", c, p[i].name);
                double t32 = tol;
                if (bend_weights_find(fx, k64)) {
                    char k1[512];
                    snprintf(k1, sizeof k1, "%s/step1/grad/%s", c, p[i].name);
                    float *r32 = fx_f32(k1, NULL), *r64 = fx_f32(k64, NULL);
                    double e = test_rel_err(r32, r64, m);
                    if (getenv("BEND_TEST_VERBOSE") && step == 1)
                        fprintf(stderr,
                                "%s: torch32-exact %.3g ours-exact %.3g ours-torch32 %.3g\n",
                                what, e, test_rel_err(got, r64, m), test_rel_err(got, r32, m));
                    t32 = fmax(tol, 3 * e) + e;
                    if (step == 1) check_close(what, got, r64, m, fmax(tol, 3 * e));
                    free(r32);
                    free(r64);
                }
                check_fx(what, got, m, key, step == 1 ? t32 : fmax(t32, later_tol));
            }
            free(pick);
        }
        bend_adamw_step(opt, p, n);
        assert_int_equal(*bend_adamw_step_count(opt), step);
        for (int i = 0; i < n; i++) {
            if (p[i].is_buffer) continue;
            bool skipped = false;
            for (const char *const *s = skip; s && *s; s++) skipped |= strcmp(*s, p[i].name) == 0;
            if (skipped) continue;
            char what[512], idx[512];
            snprintf(what, sizeof what, "%s step %d param %s", c, step, p[i].name);
            snprintf(key, sizeof key, "%s/step%d/param/%s", c, step, p[i].name);
            snprintf(idx, sizeof idx, "%s/idx/%s", c, p[i].name);
            int64_t m = p[i].numel;
            float *got = p[i].value, *pick = NULL;
            if (sampled) {
                double *ix = fx_f64(idx, &m);
                pick = malloc((size_t)m * sizeof *pick);
                for (int64_t k = 0; k < m; k++) pick[k] = p[i].value[(int64_t)ix[k]];
                got = pick;
                free(ix);
            }
            snprintf(idx, sizeof idx, "%s/step1/grad/%s", c, p[i].name);
            float *ref = fx_f32(key, NULL), *g1 = fx_f32(idx, NULL);
            check_adam_params(what, got, ref, g1, m, step, step > 1 ? later_tol : tol);
            free(ref);
            free(g1);
            free(pick);
        }
    }
    free(dy);
    free(x);
    bend_adamw_free(opt);
}

static void test_cnn_cross_entropy(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_CNN, .input_size = 5, .output_size = 3,
                       .hidden_size = 4, .kernel_size = 3};
    bend_net *net = make_net(&s);
    int n;
    bend_param *p = bend_net_params(net, &n);
    assert_int_equal(n, 6);
    assert_string_equal(p[0].name, "conv1.1.weight");
    assert_string_equal(p[5].name, "linear.0.bias");
    load_weights(net, "cnn_ce");
    double *cw = fx_f64("cnn_ce/class_weights", NULL);
    bend_loss_spec ls = {.kind = BEND_LOSS_CROSS_ENTROPY, .class_weights = cw,
                         .n_class_weights = 3};
    int64_t shape[3] = {3, 13, 3};
    check_training(net, "cnn_ce", &ls, 3, 13, 39, 3, shape, 3, false, NULL, 3);
    free(cw);
    bend_net_free(net);
}

/* The output activations on the case's model: forward, and backward of sum(y * r) */
static void check_activations(const char *c, const bend_net_spec *base, int64_t B, int64_t L,
                              int64_t ny)
{
    static const struct {
        const char *name;
        bend_output_activation act;
    } acts[] = {{"softmax", BEND_ACT_SOFTMAX}, {"sigmoid", BEND_ACT_SIGMOID},
                {"softplus", BEND_ACT_SOFTPLUS}};
    char key[256], what[256];
    snprintf(key, sizeof key, "%s/x", c);
    float *x = fx_f32(key, NULL);
    for (int a = 0; a < 3; a++) {
        bend_net_spec s = *base;
        s.activation = acts[a].act;
        bend_net *net = make_net(&s);
        load_weights(net, c);
        const float *y;
        int64_t os[3];
        int ond;
        bend_error err;
        assert_int_equal(bend_net_forward(net, x, B, L, true, &y, os, &ond, &err), BEND_OK);
        snprintf(key, sizeof key, "%s/act/%s/y", c, acts[a].name);
        snprintf(what, sizeof what, "%s %s", c, acts[a].name);
        check_fx(what, y, ny, key, tol);
        snprintf(key, sizeof key, "%s/act/%s/r", c, acts[a].name);
        float *r = fx_f32(key, NULL);
        assert_int_equal(bend_net_backward(net, r, &err), BEND_OK);
        int n;
        bend_param *p = bend_net_params(net, &n);
        for (int i = 0; i < n; i++) {
            snprintf(key, sizeof key, "%s/act/%s/grad/%s", c, acts[a].name, p[i].name);
            snprintf(what, sizeof what, "%s %s grad %s", c, acts[a].name, p[i].name);
            float *ref = fx_f32(key, NULL);
            double mr = 0, mo = 0;
            for (int64_t k = 0; k < p[i].numel; k++) {
                mr = fmax(mr, fabs(ref[k]));
                mo = fmax(mo, fabs(p[i].grad[k]));
            }
            /* a gradient that is zero up to rounding (the linear bias under a softmax over all
             * of a sample's outputs, which is shift-invariant) is held to that, absolutely */
            if (mr < 1e-5)
                assert_true(mo < 1e-5);
            else
                check_close(what, p[i].grad, ref, p[i].numel, tol);
            free(ref);
        }
        free(r);
        bend_net_free(net);
    }
    free(x);
}

static void test_cnn_activations(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_CNN, .input_size = 5, .output_size = 3,
                       .hidden_size = 4, .kernel_size = 3};
    check_activations("cnn_ce", &s, 3, 13, 3 * 13 * 3);
    /* flattened output: BEND's softmax spans a sample's L / 4 values */
    bend_net_spec d = {.kind = BEND_NET_CNN, .input_size = 7, .output_size = 1,
                       .hidden_size = 4, .kernel_size = 3, .downsample_window = 4};
    check_activations("cnn_down", &d, 3, 13, 3 * 3);
}

static void test_cnn_downsample_bce(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_CNN, .input_size = 7, .output_size = 1,
                       .hidden_size = 4, .kernel_size = 3, .downsample_window = 4};
    bend_net *net = make_net(&s);
    load_weights(net, "cnn_down");
    double *cw = fx_f64("cnn_down/class_weights", NULL);
    bend_loss_spec ls = {.kind = BEND_LOSS_BCE, .class_weights = cw, .n_class_weights = 1};
    int64_t shape[2] = {3, 3}; /* [B, floor(13 / 4)] flattened */
    check_training(net, "cnn_down", &ls, 3, 13, 3, 3, shape, 2, false, NULL, 3);
    free(cw);
    bend_net_free(net);
}

static void test_cnn_multilabel(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_CNN, .input_size = 5, .output_size = 6,
                       .hidden_size = 4, .kernel_size = 3, .downsample_window = 13};
    bend_net *net = make_net(&s);
    load_weights(net, "cnn_multi");
    double *cw = fx_f64("cnn_multi/class_weights", NULL);
    bend_loss_spec ls = {.kind = BEND_LOSS_BCE, .class_weights = cw, .n_class_weights = 6};
    int64_t shape[2] = {3, 6};
    check_training(net, "cnn_multi", &ls, 3, 13, 3, 6, shape, 2, false, NULL, 3);
    free(cw);
    bend_net_free(net);
}

static void test_basset(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_BASSET, .input_size = 5, .output_size = 4,
                       .basset_input_len = 512, .disable_dropout = true};
    bend_net *net = make_net(&s);
    int n;
    bend_param *p = bend_net_params(net, &n);
    /* BEND's state_dict: 3 x (conv w, b, bn w, b, running_mean, running_var,
     * num_batches_tracked) + 3 linears */
    assert_int_equal(n, 27);
    assert_string_equal(p[4].name, "conv_net.1.running_mean");
    assert_true(p[6].is_integer && p[6].is_buffer);
    assert_string_equal(p[21].name, "clf.1.weight");
    assert_int_equal(p[21].shape[1], 2000);
    for (int i = 0; i < n; i++) {
        if (p[i].is_buffer) continue;
        char key[256];
        snprintf(key, sizeof key, "basset/formula/%s", p[i].name);
        double *f = fx_f64(key, NULL);
        for (int64_t k = 0; k < p[i].numel; k++)
            p[i].value[k] = (float)(f[0] + f[1] * sin(0.61803 * (double)k + f[2]));
        free(f);
    }
    float *x = fx_f32("basset/x", NULL);
    const float *y;
    int64_t os[3];
    int ond;
    bend_error err;
    assert_int_equal(bend_net_forward(net, x, 3, 512, false, &y, os, &ond, &err), BEND_OK);
    assert_int_equal(ond, 2);
    assert_int_equal(os[1], 4);
    check_fx("basset eval forward", y, 12, "basset/y_eval", tol);
    assert_int_equal(p[6].value[0], 0); /* eval leaves the counters alone */

    /* train: after the first forward, running stats as torch's */
    bend_loss_spec ls = {.kind = BEND_LOSS_BCE};
    int64_t shape[2] = {3, 4};
    static const char *const pre_bn_bias[] = {"conv_net.0.bias", "conv_net.4.bias",
                                              "conv_net.8.bias", NULL};
    assert_int_equal(bend_net_forward(net, x, 3, 512, true, &y, os, &ond, &err), BEND_OK);
    for (int i = 0; i < n; i++)
        if (strstr(p[i].name, "running")) {
            char key[256];
            snprintf(key, sizeof key, "basset/rs/%s", p[i].name);
            check_fx(p[i].name, p[i].value, p[i].numel, key, tol);
            /* the batch's share alone, (stat - 0.9 prior) / 0.1, so that the unbiased variance
             * (n / (n - 1) = 1.008 at the last stage's 126 rows) is visible under the prior */
            float *ref = fx_f32(key, NULL);
            float prior = strstr(p[i].name, "running_var") ? 1.0f : 0.0f;
            double worst = 0, big = 0;
            for (int64_t k = 0; k < p[i].numel; k++) {
                double a = ((double)p[i].value[k] - 0.9 * prior) / 0.1;
                double b = ((double)ref[k] - 0.9 * prior) / 0.1;
                worst = fmax(worst, fabs(a - b));
                big = fmax(big, fabs(b));
            }
            if (worst > 2e-3 * big)
                fail_msg("%s: batch statistic off by %.3g of %.3g", p[i].name, worst, big);
            free(ref);
        }
    /* start over from the initial running stats: check_training repeats the first forward */
    for (int i = 0; i < n; i++)
        if (strstr(p[i].name, "running_mean") || strstr(p[i].name, "num_batches"))
            memset(p[i].value, 0, (size_t)p[i].numel * sizeof(float));
        else if (strstr(p[i].name, "running_var"))
            for (int64_t k = 0; k < p[i].numel; k++) p[i].value[k] = 1.0f;
    /* One step only: step 1 moves every weight whose gradient is at the noise level (most of
     * the last BatchNorm's: torch's own float32 error there is 5e-5) by +-lr in directions
     * float32 rounding picks, and those 1% changes of a scale feed every later gradient: torch
     * in float64 and torch in float32 already differ by 2.2e-2 after step 3. */
    check_training(net, "basset", &ls, 3, 512, 3, 4, shape, 2, true, pre_bn_bias, 1);
    assert_int_equal(p[6].value[0], 1);
    free(x);
    bend_net_free(net);
}

static void test_resnet(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_RESNET, .input_size = 5, .output_size = 3,
                       .hidden_size = 4, .kernel_size = 3, .resnet_layers = 7,
                       .resnet_hidden = 8, .resnet_kernel = 3};
    bend_net *net = make_net(&s);
    int n;
    bend_param *p = bend_net_params(net, &n);
    assert_int_equal(n, 7 * 8 + 6);
    assert_string_equal(p[0].name, "encoder.encoder.0.conv.1.weight");
    assert_string_equal(p[n - 1].name, "downstream_cnn.linear.0.bias");
    load_weights(net, "resnet");
    bend_loss_spec ls = {.kind = BEND_LOSS_CROSS_ENTROPY};
    int64_t shape[3] = {2, 40, 3};
    check_training(net, "resnet", &ls, 2, 40, 80, 3, shape, 3, false, NULL, 3);
    bend_net_free(net);
}

/* Default initialisation: PyTorch's bounds, reproducible from the seed. */
static void test_init(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_RESNET, .input_size = 5, .output_size = 3,
                       .hidden_size = 64, .kernel_size = 3, .resnet_layers = 2,
                       .resnet_hidden = 32, .resnet_kernel = 9};
    bend_net *a = make_net(&s), *b = make_net(&s);
    int n;
    bend_param *p = bend_net_params(a, &n), *q = bend_net_params(b, &n);
    for (int i = 0; i < n; i++) {
        assert_memory_equal(p[i].value, q[i].value, (size_t)p[i].numel * sizeof(float));
        double m = 0, s2 = 0;
        for (int64_t k = 0; k < p[i].numel; k++) {
            m = fmax(m, fabs(p[i].value[k]));
            s2 += (double)p[i].value[k] * p[i].value[k];
        }
        const char *nm = p[i].name;
        if (strstr(nm, "conv.1.")) /* conv: U(+-1/sqrt(32 * 9)) */
            assert_true(m <= 1 / sqrt(288.0) && m > 0.8 / sqrt(288.0));
        else if (strstr(nm, "ffn.0.weight")) /* N(0, 0.02) */
            assert_true(fabs(sqrt(s2 / (double)p[i].numel) - 0.02) < 0.002);
        else if (strstr(nm, "ffn.0.bias") || strstr(nm, "conv.4.bias") || strstr(nm, "ffn.2.bias"))
            assert_true(m == 0);
        else if (strstr(nm, "conv.4.weight"))
            assert_true(p[i].value[0] == 1 && p[i].value[p[i].numel - 1] == 1);
        else if (strcmp(nm, "downstream_cnn.conv1.1.weight") == 0)
            assert_true(m <= 1 / sqrt(96.0) && m > 0.8 / sqrt(96.0));
    }
    bend_net_free(a);
    bend_net_free(b);
}

/* Basset's dropout: drawn from the net's seeded generator (two nets made with one seed drop the
 * same units), fresh on every train forward, absent with disable_dropout; one sample is a
 * valid train batch (BatchNorm has 512 rows per channel). */
static void test_basset_dropout(void **state)
{
    (void)state;
    bend_net_spec s = {.kind = BEND_NET_BASSET, .input_size = 5, .output_size = 3,
                       .basset_input_len = 512};
    bend_net *a = make_net(&s), *b = make_net(&s);
    s.disable_dropout = true;
    bend_net *c = make_net(&s), *d = make_net(&s);
    float *x = fx_f32("basset/x", NULL);
    const float *y;
    int64_t os[3];
    int ond;
    bend_error err;
    float ya[2][6], yb[6], yc[6], yd[6];
    for (int r = 0; r < 2; r++) {
        assert_int_equal(bend_net_forward(a, x, 2, 512, true, &y, os, &ond, &err), BEND_OK);
        memcpy(ya[r], y, sizeof ya[r]);
    }
    assert_int_equal(bend_net_forward(b, x, 2, 512, true, &y, os, &ond, &err), BEND_OK);
    memcpy(yb, y, sizeof yb);
    assert_int_equal(bend_net_forward(c, x, 2, 512, true, &y, os, &ond, &err), BEND_OK);
    memcpy(yc, y, sizeof yc);
    assert_int_equal(bend_net_forward(d, x, 1, 512, true, &y, os, &ond, &err), BEND_OK);
    assert_int_equal(bend_net_forward(d, x, 2, 512, true, &y, os, &ond, &err), BEND_OK);
    memcpy(yd, y, sizeof yd);
    assert_memory_equal(ya[0], yb, sizeof yb);
    assert_memory_equal(yc, yd, sizeof yd);
    assert_memory_not_equal(ya[0], ya[1], sizeof yb);
    assert_memory_not_equal(ya[0], yc, sizeof yc);
    free(x);
    bend_net_free(a);
    bend_net_free(b);
    bend_net_free(c);
    bend_net_free(d);
}

/* nn.GELU's exact definition x Phi(x) and its derivative, to a few float ulps (the tests
 * above compare against PyTorch, whose own CPU GELU is ~1e-6 off), and the threaded path over
 * large arrays gives the same bits as one thread. */
static void test_gelu(void **state)
{
    (void)state;
    enum { N = 3 * (1 << 18) + 77 };
    float *x = malloc(N * sizeof *x), *y1 = malloc(N * sizeof *x), *y3 = malloc(N * sizeof *x);
    float *d1 = malloc(N * sizeof *x), *d3 = malloc(N * sizeof *x), *one = malloc(N * sizeof *x);
    assert_true(x && y1 && y3 && d1 && d3 && one);
    for (int i = 0; i < N; i++) {
        x[i] = -9.0f + 18.0f * (float)i / N;
        one[i] = 1.0f;
    }
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    bend_gelu_forward(x, N, y1);
    bend_gelu_backward(x, one, N, d1);
    openblas_set_num_threads(3);
    bend_gelu_forward(x, N, y3);
    bend_gelu_backward(x, one, N, d3);
    openblas_set_num_threads(saved);
    assert_memory_equal(y1, y3, N * sizeof *x);
    assert_memory_equal(d1, d3, N * sizeof *x);
    for (int i = 0; i < N; i++) {
        double v = x[i], cdf = 0.5 * erfc(-v / sqrt(2.0));
        double g = v * cdf, dg = cdf + v * exp(-0.5 * v * v) / sqrt(2 * M_PI);
        /* 8 ulps of the value (the negative tail keeps its relative accuracy), and 2e-7
         * absolute on the derivative, which crosses zero near -0.75 */
        if (fabs(y1[i] - g) > 8 * 6e-8 * fabs(g) + 1e-37 || fabs(d1[i] - dg) > 2e-7)
            fail_msg("gelu(%.9g) = %.9g / %.9g, exact %.9g / %.9g", v, y1[i], d1[i], g, dg);
    }
    free(x);
    free(y1);
    free(y3);
    free(d1);
    free(d3);
    free(one);
}

/* Both conv paths (K shifted GEMMs; im2col) against a direct double-precision loop, with
 * dilation, asymmetric padding and taps that fall outside the input: forward, weight, bias and
 * input gradients. The fixtures reach the shifted path only undilated (Basset). */
static void test_conv_paths(void **state)
{
    (void)state;
    enum { L = 23, CIN = 6, COUT = 5, K = 4, DIL = 3, PL = 5, LOUT = 21 };
    float x[L * CIN], w[COUT * CIN * K], bias[COUT], dy[LOUT * COUT], wk[COUT * K * CIN];
    float col[LOUT * K * CIN];
    uint64_t r = 12345;
    float *all[] = {x, w, bias, dy};
    size_t len[] = {L * CIN, COUT * CIN * K, COUT, LOUT * COUT};
    for (int a = 0; a < 4; a++)
        for (size_t i = 0; i < len[a]; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            all[a][i] = (float)((double)(r >> 40) / (double)(1ULL << 24) - 0.5);
        }
    double ey[LOUT * COUT], edw[COUT * CIN * K] = {0}, edb[COUT] = {0}, edx[L * CIN] = {0};
    for (int t = 0; t < LOUT; t++)
        for (int o = 0; o < COUT; o++) {
            double acc = bias[o];
            for (int k = 0; k < K; k++) {
                int src = t - PL + k * DIL;
                if (src < 0 || src >= L) continue;
                for (int c = 0; c < CIN; c++) {
                    acc += (double)x[src * CIN + c] * w[(o * CIN + c) * K + k];
                    edw[(o * CIN + c) * K + k] += (double)dy[t * COUT + o] * x[src * CIN + c];
                    edx[src * CIN + c] += (double)dy[t * COUT + o] * w[(o * CIN + c) * K + k];
                }
            }
            ey[t * COUT + o] = acc;
            edb[o] += dy[t * COUT + o];
        }
    float fy[LOUT * COUT], fdw[COUT * CIN * K], fdb[COUT], fdx[L * CIN];
    float ry[LOUT * COUT], rdw[COUT * CIN * K], rdb[COUT], rdx[L * CIN];
    for (size_t i = 0; i < sizeof ey / sizeof ey[0]; i++) ry[i] = (float)ey[i];
    for (size_t i = 0; i < sizeof edw / sizeof edw[0]; i++) rdw[i] = (float)edw[i];
    for (size_t i = 0; i < COUT; i++) rdb[i] = (float)edb[i];
    for (size_t i = 0; i < sizeof edx / sizeof edx[0]; i++) rdx[i] = (float)edx[i];
    bend_conv1d_pack(w, COUT, CIN, K, wk);
    for (int path = 0; path < 2; path++) {
        float *ws = path ? col : NULL;
        float dwk[COUT * K * CIN] = {0};
        memset(fdw, 0, sizeof fdw);
        memset(fdb, 0, sizeof fdb);
        memset(fdx, 0, sizeof fdx);
        bend_conv1d_forward(x, L, CIN, wk, bias, COUT, K, DIL, PL, fy, LOUT, ws);
        bend_conv1d_backward(x, L, CIN, wk, dy, COUT, K, DIL, PL, LOUT, dwk, fdb, fdx, ws);
        bend_conv1d_unpack_add(dwk, COUT, CIN, K, fdw);
        check_close(path ? "im2col y" : "shifted y", fy, ry, LOUT * COUT, 1e-6);
        check_close(path ? "im2col dw" : "shifted dw", fdw, rdw, COUT * CIN * K, 1e-6);
        check_close(path ? "im2col db" : "shifted db", fdb, rdb, COUT, 1e-6);
        check_close(path ? "im2col dx" : "shifted dx", fdx, rdx, L * CIN, 1e-6);
    }
    assert_int_equal(bend_conv1d_col_size(LOUT, CIN, K), LOUT * K * CIN);
    assert_int_equal(bend_conv1d_col_size(LOUT, 256, K), 0);
}

static void test_errors(void **state)
{
    (void)state;
    bend_error err;
    const float *y;
    int64_t os[3];
    int ond;
    float x[5 * 600] = {0};
    bend_net_spec s = {.kind = BEND_NET_CNN, .input_size = 5, .output_size = 3,
                       .hidden_size = 4, .kernel_size = 3, .downsample_window = 8};
    bend_net *net = make_net(&s);
    assert_int_equal(bend_net_backward(net, x, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "train"));
    assert_int_equal(bend_net_forward(net, x, 1, 5, true, &y, os, &ond, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "downsample window 8"));
    assert_int_equal(bend_net_forward(net, x, 1, 8, false, &y, os, &ond, &err), BEND_OK);
    assert_int_equal(bend_net_backward(net, x, &err), BEND_ERR_INVALID); /* eval forward */
    bend_net_free(net);

    bend_net_spec b = {.kind = BEND_NET_BASSET, .input_size = 5, .output_size = 2,
                       .basset_input_len = 512};
    net = make_net(&b);
    assert_int_equal(bend_net_forward(net, x, 1, 600, false, &y, os, &ond, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "512"));
    bend_net_free(net);

    bend_net *bad;
    bend_net_spec r = {.kind = BEND_NET_RESNET, .input_size = 5, .output_size = 3,
                       .hidden_size = 4, .kernel_size = 3, .resnet_layers = 2,
                       .resnet_hidden = 4, .resnet_kernel = 3};
    assert_int_equal(bend_net_create(&r, 1, &bad, &err), BEND_ERR_INVALID);
    assert_null(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_cross_entropy), cmocka_unit_test(test_cnn_activations),
        cmocka_unit_test(test_cnn_downsample_bce), cmocka_unit_test(test_cnn_multilabel),
        cmocka_unit_test(test_basset),            cmocka_unit_test(test_resnet),
        cmocka_unit_test(test_init),              cmocka_unit_test(test_conv_paths),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_basset_dropout),    cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, fixture_open, fixture_close);
}
