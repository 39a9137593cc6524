/* BEND's losses as sums with their normalisers (see loss.h). Sums are accumulated in double;
 * dpred is d(sum)/d(pred) in float, so d(mean)/d(pred) is dpred / norm. */
#include "train/loss.h"

#include <math.h>
#include <string.h>

bend_status bend_loss_kind_from_name(const char *name, bend_loss_kind *out, bend_error *err)
{
    static const struct {
        const char *name;
        bend_loss_kind kind;
    } names[] = {{"cross_entropy", BEND_LOSS_CROSS_ENTROPY},
                 {"bce", BEND_LOSS_BCE},
                 {"mse", BEND_LOSS_MSE},
                 {"poisson", BEND_LOSS_POISSON}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && strcmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return BEND_OK;
        }
    return bend_fail(err, BEND_ERR_INVALID,
                     "unknown loss \"%s\" (expected cross_entropy, bce, mse or poisson)",
                     name ? name : "(null)");
}

static bend_status cross_entropy(const bend_loss_spec *spec, const float *pred,
                                 const double *target, int64_t n, int64_t C, double *sum,
                                 double *norm, float *dpred, bend_error *err)
{
    if (spec->class_weights && spec->n_class_weights != C)
        return bend_fail(err, BEND_ERR_INVALID,
                         "cross_entropy: %lld class weights for %lld classes",
                         (long long)spec->n_class_weights, (long long)C);
    double s = 0, w_all = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = pred + i * C;
        float *d = dpred ? dpred + i * C : NULL;
        double t = target[i];
        if (t == -100) { /* ignore_index: no loss, no gradient, no weight */
            if (d) memset(d, 0, (size_t)C * sizeof *d);
            continue;
        }
        if (!(t >= 0 && t < (double)C) || t != floor(t))
            return bend_fail(err, BEND_ERR_INVALID,
                             "cross_entropy: target %g at index %lld is not a class id in "
                             "[0, %lld) nor the padding value -100",
                             t, (long long)i, (long long)C);
        int64_t k = (int64_t)t;
        double w = spec->class_weights ? spec->class_weights[k] : 1.0;
        double m = z[0];
        for (int64_t c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
        double se = 0;
        for (int64_t c = 0; c < C; c++) se += exp(z[c] - m);
        double lse = m + log(se);
        s += w * (lse - z[k]);
        w_all += w;
        if (d) {
            for (int64_t c = 0; c < C; c++) d[c] = (float)(w * exp(z[c] - lse));
            d[k] -= (float)w;
        }
    }
    *sum = s;
    *norm = w_all;
    return BEND_OK;
}

bend_status bend_loss_sum(const bend_loss_spec *spec, const float *pred, const double *target,
                          int64_t n_rows, int64_t n_cols, double *sum, double *norm, float *dpred,
                          bend_error *err)
{
    *sum = 0;
    *norm = 0;
    if (spec->kind == BEND_LOSS_CROSS_ENTROPY)
        return cross_entropy(spec, pred, target, n_rows, n_cols, sum, norm, dpred, err);
    int64_t n = n_rows * n_cols;
    double s = 0, cnt = 0;
    switch (spec->kind) {
    case BEND_LOSS_BCE: {
        /* BEND: torch.where(target == 1, w, 1) * BCEWithLogits; n_class_weights 1 means one
         * weight for every column, otherwise one per column */
        const double *cw = spec->class_weights;
        int64_t ncw = spec->n_class_weights;
        if (cw && ncw != 1 && ncw != n_cols)
            return bend_fail(err, BEND_ERR_INVALID, "bce: %lld class weights for %lld labels",
                             (long long)ncw, (long long)n_cols);
        for (int64_t i = 0; i < n; i++) {
            double t = target[i], x = pred[i];
            if (spec->bce_mask_padding && t == -100) {
                if (dpred) dpred[i] = 0;
                continue;
            }
            double w = cw && t == 1 ? cw[ncw == 1 ? 0 : i % n_cols] : 1.0;
            /* torch's (1 - t) x + log(1 + exp(-x)), in the stable form
             * (1 - t) x + max(-x, 0) + log1p(exp(-|x|)) */
            double l = (1 - t) * x + (x < 0 ? -x : 0) + log1p(exp(-fabs(x)));
            s += w * l;
            cnt += 1;
            if (dpred) dpred[i] = (float)(w * (1.0 / (1.0 + exp(-x)) - t));
        }
        break;
    }
    case BEND_LOSS_MSE:
        for (int64_t i = 0; i < n; i++) {
            double d = (double)pred[i] - target[i];
            s += d * d;
            if (dpred) dpred[i] = (float)(2 * d);
        }
        cnt = (double)n;
        break;
    case BEND_LOSS_POISSON:
        for (int64_t i = 0; i < n; i++) {
            double x = pred[i], t = target[i];
            double xc = x > 1e-20 ? x : 1e-20;
            s += x - t * log(xc);
            /* clamp's gradient passes only where pred > eps */
            if (dpred) dpred[i] = (float)(1.0 - (x > 1e-20 ? t / x : 0.0));
        }
        cnt = (double)n;
        break;
    default:
        return bend_fail(err, BEND_ERR_INVALID, "loss: unknown kind %d", (int)spec->kind);
    }
    *sum = s;
    *norm = cnt;
    return BEND_OK;
}
