/* BEND's evaluation metrics, equal to scikit-learn's (see metrics.h for the contract).
 *
 * Where sklearn's float arithmetic is only an approximation of the exact value, this file
 * computes the exact value (integer counts, compensated sums) instead of copying sklearn's order
 * of operations: the two then agree to a few ulp, far inside the 1e-9 the tests ask for. */
#include "train/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"mcc", "auroc", "auprc", "pearsonr"};

bend_status bend_metric_kind_from_name(const char *name, bend_metric_kind *kind, bend_error *err)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
        if (name && strcmp(name, kind_names[i]) == 0) {
            *kind = (bend_metric_kind)i;
            return BEND_OK;
        }
    return bend_fail(err, BEND_ERR_INVALID, "unknown metric '%s' (expected mcc, auroc, auprc or pearsonr)",
                     name ? name : "(null)");
}

const char *bend_metric_kind_name(bend_metric_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof *kind_names ? kind_names[kind] : "?";
}

bend_status bend_metric_drop_padding(int64_t *y_true, void *y_pred, size_t pred_elem_size, size_t n_rows,
                                     size_t width, size_t *n_rows_kept, bend_error *err)
{
    unsigned char *pred = y_pred;
    size_t kept = 0;
    if (width == 0)
        return bend_fail(err, BEND_ERR_INVALID, "drop_padding: row width must be at least 1");
    for (size_t r = 0; r < n_rows; r++) {
        const int64_t *row = y_true + r * width;
        size_t pads = 0;
        for (size_t c = 0; c < width; c++) pads += row[c] == BEND_METRIC_PADDING;
        if (pads == width) continue;
        if (pads) {
            size_t c = 0;
            while (row[c] != BEND_METRIC_PADDING) c++;
            return bend_fail(err, BEND_ERR_INVALID,
                             "y_true row %zu is partly padding (column %zu is %d, others are not): a row is "
                             "either all padding or none",
                             r, c, BEND_METRIC_PADDING);
        }
        if (kept != r) {
            memmove(y_true + kept * width, row, width * sizeof *y_true);
            memmove(pred + kept * width * pred_elem_size, pred + r * width * pred_elem_size,
                    width * pred_elem_size);
        }
        kept++;
    }
    *n_rows_kept = kept;
    return BEND_OK;
}

/* Neumaier's compensated sum: error independent of n, where a plain loop over 10^8 terms could
 * lose ~1e-8 relative. */
typedef struct ksum {
    double s, c;
} ksum;

static void ksum_add(ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double ksum_value(const ksum *k) { return k->s + k->c; }

/* ---- mcc ---------------------------------------------------------------------------------- */

/* Per label: how often it is the truth, the prediction, and both. These determine the
 * confusion matrix's marginals and diagonal, which is all that MCC, recall and precision read. */
typedef struct label_counts {
    int64_t truth, pred, hit;
} label_counts;

static bend_status grow_counts(label_counts **counts, size_t *cap, int64_t label, bend_error *err)
{
    size_t want = (size_t)label + 1, ncap = *cap ? *cap : 16;
    while (ncap < want) ncap *= 2;
    if (ncap > (size_t)BEND_METRIC_MAX_LABEL + 1) ncap = (size_t)BEND_METRIC_MAX_LABEL + 1;
    label_counts *p = realloc(*counts, ncap * sizeof *p);
    if (!p) return bend_fail(err, BEND_ERR_NOMEM, "mcc: out of memory for %zu label counts", ncap);
    memset(p + *cap, 0, (ncap - *cap) * sizeof *p);
    *counts = p;
    *cap = ncap;
    return BEND_OK;
}

static bend_status bad_label(const char *what, size_t i, int64_t v, bool padding_ok, bend_error *err)
{
    return bend_fail(err, BEND_ERR_INVALID,
                     "mcc: %s[%zu] = %" PRId64 " is not a class id (expected 0..%" PRId64 "%s)", what, i, v,
                     BEND_METRIC_MAX_LABEL, padding_ok ? ", or -100 for padding" : "");
}

bend_status bend_metric_mcc(const int64_t *y_true, const int64_t *y_pred, size_t n, bend_metric_mcc_result *out,
                            bend_error *err)
{
    memset(out, 0, sizeof *out);
    label_counts *counts = NULL;
    size_t cap = 0, used = 0;
    int64_t total = 0, correct = 0;
    bend_status st = BEND_OK;
    for (size_t i = 0; i < n; i++) {
        int64_t t = y_true[i], p = y_pred[i];
        if (t == BEND_METRIC_PADDING) continue;
        if (t < 0 || t > BEND_METRIC_MAX_LABEL) {
            st = bad_label("y_true", i, t, true, err);
            goto fail;
        }
        if (p < 0 || p > BEND_METRIC_MAX_LABEL) {
            st = bad_label("y_pred", i, p, false, err);
            goto fail;
        }
        int64_t hi = t > p ? t : p;
        if ((size_t)hi >= cap && (st = grow_counts(&counts, &cap, hi, err))) goto fail;
        if ((size_t)hi >= used) used = (size_t)hi + 1;
        counts[t].truth++;
        counts[p].pred++;
        if (t == p) {
            counts[t].hit++;
            correct++;
        }
        total++;
    }
    /* sklearn's covariances (n_correct*n - t.p, n^2 - p.p, n^2 - t.t) are integers bounded by
     * n^2: exact in int64 while n^2 fits. */
    if (total > INT64_C(3037000499)) {
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "mcc: %" PRId64 " positions is more than this code counts exactly",
                       total);
        goto fail;
    }
    size_t k = 0;
    int64_t tp = 0, pp = 0, tt = 0;
    for (size_t l = 0; l < used; l++) {
        const label_counts *c = &counts[l];
        if (!c->truth && !c->pred) continue;
        k++;
        tp += c->truth * c->pred;
        pp += c->pred * c->pred;
        tt += c->truth * c->truth;
    }
    double cov_ytyp = (double)(correct * total - tp);
    double cov_ypyp = (double)(total * total - pp);
    double cov_ytyt = (double)(total * total - tt);
    double denom = cov_ypyp * cov_ytyt;
    out->mcc = denom == 0 ? 0.0 : cov_ytyp / sqrt(denom);
    out->n = (size_t)total;
    out->n_labels = k;
    if (k) {
        out->labels = malloc(k * sizeof *out->labels);
        out->recall = malloc(k * sizeof *out->recall);
        out->precision = malloc(k * sizeof *out->precision);
        if (!out->labels || !out->recall || !out->precision) {
            st = bend_fail(err, BEND_ERR_NOMEM, "mcc: out of memory for %zu labels", k);
            goto fail;
        }
        size_t j = 0;
        for (size_t l = 0; l < used; l++) {
            const label_counts *c = &counts[l];
            if (!c->truth && !c->pred) continue;
            out->labels[j] = (int64_t)l;
            out->recall[j] = c->truth ? (double)c->hit / (double)c->truth : 0.0;
            out->precision[j] = c->pred ? (double)c->hit / (double)c->pred : 0.0;
            j++;
        }
    }
    free(counts);
    return BEND_OK;
fail:
    free(counts);
    bend_metric_mcc_result_free(out);
    return st;
}

void bend_metric_mcc_result_free(bend_metric_mcc_result *r)
{
    if (!r) return;
    free(r->labels);
    free(r->recall);
    free(r->precision);
    r->labels = NULL;
    r->recall = r->precision = NULL;
    r->n_labels = 0;
}

/* ---- ranking metrics: auroc, auprc ---------------------------------------------------------- */

/* A double's bits mapped so that unsigned order is numeric order; -0.0 is folded onto +0.0 since
 * numpy sees them as one threshold. Equal keys <=> equal scores, so the sweep never converts
 * back. */
static uint64_t score_key(double d)
{
    if (d == 0) d = 0.0;
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : (u | UINT64_C(1) << 63);
}

/* LSD radix sort, 8 passes of 8 bits (a pass whose digit is the same for every key is skipped):
 * O(n) time and exactly one n-element buffer, where a comparison sort of 10^8 scores through
 * qsort's callback would take many times longer. */
static void radix_sort_u64(uint64_t *a, uint64_t *tmp, size_t n)
{
    if (n < 2) return;
    static const int passes = 8;
    size_t hist[8][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < passes; p++) hist[p][(a[i] >> (8 * p)) & 255]++;
    uint64_t *src = a, *dst = tmp;
    for (int p = 0; p < passes; p++) {
        size_t *h = hist[p];
        if (h[(src[0] >> (8 * p)) & 255] == n) continue;
        size_t sum = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[h[(src[i] >> (8 * p)) & 255]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

/* Walks the distinct thresholds from the highest score down, as sklearn's _binary_clf_curve
 * does: at each one, dtp positives and dfp negatives have that score.
 * AUROC: trapezoid between consecutive (fp, tp) points, accumulated as the integer
 * sum of dfp * (tp_before + tp_after) = 2 * area * P * N (at most n^2 / 2, < 2^63 for n < 2^32).
 * AP: sum of (dtp / P) * tp / (tp + fp) at each threshold. */
static void sweep(const uint64_t *pos, size_t np, const uint64_t *neg, size_t nn, double *auroc, double *ap)
{
    size_t i = np, j = nn;
    uint64_t tp = 0, fp = 0, twice_area = 0;
    ksum prec = {0, 0};
    while (i > 0 || j > 0) {
        uint64_t t;
        if (i == 0)
            t = neg[j - 1];
        else if (j == 0)
            t = pos[i - 1];
        else
            t = pos[i - 1] > neg[j - 1] ? pos[i - 1] : neg[j - 1];
        uint64_t dtp = 0, dfp = 0;
        while (i > 0 && pos[i - 1] == t) i--, dtp++;
        while (j > 0 && neg[j - 1] == t) j--, dfp++;
        twice_area += dfp * (2 * tp + dtp);
        tp += dtp;
        fp += dfp;
        if (dtp) ksum_add(&prec, (double)dtp * ((double)tp / (double)(tp + fp)));
    }
    if (auroc) *auroc = (np && nn) ? (double)twice_area / (2.0 * (double)np * (double)nn) : NAN;
    if (ap) *ap = np ? ksum_value(&prec) / (double)np : (nn ? 0.0 : NAN);
}

/* Keys of the counted positions of one column (stride apart): positives from keys[0] up,
 * negatives from keys[n - 1] down. */
static bend_status gather(const char *metric, const int64_t *y_true, const double *y_score, size_t n_rows,
                          size_t stride, size_t col, uint64_t *keys, size_t *np, size_t *nn, bend_error *err)
{
    size_t p = 0, q = 0;
    for (size_t r = 0; r < n_rows; r++) {
        size_t i = r * stride + col;
        int64_t t = y_true[i];
        if (t == BEND_METRIC_PADDING) continue;
        if ((t != 0 && t != 1) || !isfinite(y_score[i])) {
            char where[64];
            if (stride == 1)
                snprintf(where, sizeof where, "[%zu]", r);
            else
                snprintf(where, sizeof where, "[row %zu, label %zu]", r, col);
            if (t != 0 && t != 1)
                return bend_fail(err, BEND_ERR_INVALID,
                                 "%s: y_true%s = %" PRId64 " (expected 0 or 1, or -100 for padding)", metric, where, t);
            return bend_fail(err, BEND_ERR_INVALID, "%s: y_score%s = %g is not a finite number", metric, where,
                             y_score[i]);
        }
        if (t)
            keys[p++] = score_key(y_score[i]);
        else
            keys[n_rows - 1 - q++] = score_key(y_score[i]);
    }
    *np = p;
    *nn = q;
    return BEND_OK;
}

static bend_status binary_metric(const char *metric, const int64_t *y_true, const double *y_score, size_t n,
                                 bend_metric_binary_result *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    if (n >= (size_t)UINT32_MAX)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: %zu positions is more than this code counts exactly", metric, n);
    uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory sorting %zu scores", metric, n);
    size_t np = 0, nn = 0;
    bend_status st = gather(metric, y_true, y_score, n, 1, 0, keys, &np, &nn, err);
    if (st) {
        free(keys);
        return st;
    }
    size_t most = np > nn ? np : nn;
    uint64_t *tmp = malloc((most ? most : 1) * sizeof *tmp);
    if (!tmp) {
        free(keys);
        return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory sorting %zu scores", metric, n);
    }
    uint64_t *neg = keys + n - nn;
    radix_sort_u64(keys, tmp, np);
    radix_sort_u64(neg, tmp, nn);
    free(tmp);
    double auroc, ap;
    sweep(keys, np, neg, nn, &auroc, &ap);
    free(keys);
    out->n = np + nn;
    out->n_pos = np;
    out->single_class = np == 0 || nn == 0;
    out->value = strcmp(metric, "auroc") == 0 ? auroc : ap;
    return BEND_OK;
}

bend_status bend_metric_auroc(const int64_t *y_true, const double *y_score, size_t n,
                              bend_metric_binary_result *out, bend_error *err)
{
    return binary_metric("auroc", y_true, y_score, n, out, err);
}

bend_status bend_metric_auprc(const int64_t *y_true, const double *y_score, size_t n,
                              bend_metric_binary_result *out, bend_error *err)
{
    return binary_metric("auprc", y_true, y_score, n, out, err);
}

bend_status bend_metric_auroc_multilabel(const int64_t *y_true, const double *y_score, size_t n_rows,
                                         size_t n_labels, bend_metric_auroc_multilabel_result *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_rows >= (size_t)UINT32_MAX)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "auroc: %zu rows is more than this code counts exactly", n_rows);
    bend_status st = BEND_OK;
    uint64_t *keys = malloc((n_rows ? n_rows : 1) * sizeof *keys);
    uint64_t *tmp = malloc((n_rows ? n_rows : 1) * sizeof *tmp);
    out->n_labels = n_labels;
    out->per_label = malloc((n_labels ? n_labels : 1) * sizeof *out->per_label);
    out->undefined = calloc(n_labels ? n_labels : 1, 1);
    if (!keys || !tmp || !out->per_label || !out->undefined) {
        st = bend_fail(err, BEND_ERR_NOMEM, "auroc: out of memory for %zu rows x %zu labels", n_rows, n_labels);
        goto done;
    }
    ksum sum = {0, 0};
    size_t defined = 0;
    for (size_t c = 0; c < n_labels; c++) {
        size_t np = 0, nn = 0;
        if ((st = gather("auroc", y_true, y_score, n_rows, n_labels, c, keys, &np, &nn, err))) goto done;
        if (np == 0 || nn == 0) {
            out->per_label[c] = NAN;
            out->undefined[c] = 1;
            out->n_undefined++;
            continue;
        }
        uint64_t *neg = keys + n_rows - nn;
        radix_sort_u64(keys, tmp, np);
        radix_sort_u64(neg, tmp, nn);
        sweep(keys, np, neg, nn, &out->per_label[c], NULL);
        ksum_add(&sum, out->per_label[c]);
        defined++;
    }
    out->mean = defined ? ksum_value(&sum) / (double)defined : NAN;
done:
    free(keys);
    free(tmp);
    if (st) bend_metric_auroc_multilabel_result_free(out);
    return st;
}

void bend_metric_auroc_multilabel_result_free(bend_metric_auroc_multilabel_result *r)
{
    if (!r) return;
    free(r->per_label);
    free(r->undefined);
    r->per_label = NULL;
    r->undefined = NULL;
    r->n_labels = r->n_undefined = 0;
}

/* ---- pearsonr ----------------------------------------------------------------------------- */

bend_status bend_metric_pearsonr(const int64_t *y_true, const double *y_pred, size_t n,
                                 bend_metric_pearson_result *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    ksum sx = {0, 0}, sy = {0, 0};
    size_t m = 0;
    bool x_const = true, y_const = true;
    int64_t x0 = 0;
    double y0 = 0;
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] == BEND_METRIC_PADDING) continue;
        if (!isfinite(y_pred[i]))
            return bend_fail(err, BEND_ERR_INVALID, "pearsonr: y_pred[%zu] = %g is not a finite number", i, y_pred[i]);
        if (m == 0) {
            x0 = y_true[i];
            y0 = y_pred[i];
        }
        x_const = x_const && y_true[i] == x0;
        y_const = y_const && y_pred[i] == y0;
        ksum_add(&sx, (double)y_true[i]);
        ksum_add(&sy, y_pred[i]);
        m++;
    }
    out->n = m;
    if (m == 0) {
        out->r = NAN;
        out->constant = true;
        return BEND_OK;
    }
    if (x_const || y_const) {
        out->r = 0.0;
        out->constant = true;
        return BEND_OK;
    }
    double mx = ksum_value(&sx) / (double)m, my = ksum_value(&sy) / (double)m;
    ksum sxy = {0, 0}, sxx = {0, 0}, syy = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] == BEND_METRIC_PADDING) continue;
        double dx = (double)y_true[i] - mx, dy = y_pred[i] - my;
        ksum_add(&sxy, dx * dy);
        ksum_add(&sxx, dx * dx);
        ksum_add(&syy, dy * dy);
    }
    out->r = ksum_value(&sxy) / sqrt(ksum_value(&sxx)) / sqrt(ksum_value(&syy));
    return BEND_OK;
}
