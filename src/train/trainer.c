/* The training loop of bend train (see trainer.h): epochs of shuffled data-parallel steps, a
 * validation pass, a checkpoint and a losses.csv row per epoch, then a test of the best epoch. */
#include "train/trainer.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/array.h"
#include "core/strbuf.h"
#include "store/store.h"
#include "train/adamw.h"
#include "train/dataset.h"
#include "train/loss.h"
#include "train/metrics.h"
#include "train/net.h"
#include "train/rng.h"
#include "train/train_files.h"
#include "train/train_settings.h"

typedef struct trainer {
    const bend_train_settings *s;
    const bend_world *w;
    uint64_t seed;
    bend_store_reader *store;
    bend_dataset train, valid, test;
    bend_net *net;
    bend_adamw *opt;
    bend_param *params;
    int n_params;
    float *flat;          /* all gradients, packed for one all-reduce */
    size_t n_flat;
    bend_pad_rule pad;
    float *dpred;         /* d(loss sum)/d(output) of a batch */
    double *target;       /* the batch's loss targets */
    size_t cap_dpred, cap_target;
} trainer;

/* What one evaluation pass produced (predictions only on rank 0, in dataset order). */
typedef struct evaluation {
    double loss;          /* mean of the per-batch losses, as BEND's validate() */
    int64_t *y_true;
    double *y_pred;       /* scores (sigmoid) or class ids (argmax) */
    size_t n_values;
    size_t width;         /* per-label metrics: labels per sample; 0: flattened */
    double *metric;       /* BEND's metric list: [main, details...] */
    char **columns;       /* test column names, one per metric value */
    size_t n_metric;
} evaluation;

static void evaluation_free(evaluation *e)
{
    free(e->y_true);
    free(e->y_pred);
    free(e->metric);
    for (size_t i = 0; i < e->n_metric; i++) free(e->columns ? e->columns[i] : NULL);
    free(e->columns);
    memset(e, 0, sizeof *e);
}

/* ---- collective helpers: a failure on any rank stops every rank at the same point ---------- */

/* Sums vals[0..n) over ranks, plus a failure flag; returns BEND_ERR_MPI-style status when any
 * rank failed (its own error is already in err on that rank). */
static bend_status allreduce_status(const bend_world *w, bend_status mine, double *vals, int n,
                                    bend_error *err)
{
    double buf[8];
    for (int i = 0; i < n; i++) buf[i] = vals[i];
    buf[n] = mine ? 1 : 0;
    if (w->size > 1 && MPI_Allreduce(MPI_IN_PLACE, buf, n + 1, MPI_DOUBLE, MPI_SUM, w->comm) != MPI_SUCCESS)
        return bend_fail(err, BEND_ERR_MPI, "MPI_Allreduce failed");
    for (int i = 0; i < n; i++) vals[i] = buf[i];
    if (mine) return mine;
    if (buf[n] > 0)
        return bend_fail(err, BEND_ERR_INTERNAL, "another rank failed (see its message)");
    return BEND_OK;
}

/* ---- batches --------------------------------------------------------------------------------- */

/* Embedding rows of sample k of d. */
static int64_t rows_of(const bend_dataset *d, int64_t k)
{
    bend_store_split_info info = bend_store_reader_split_info(d->store, d->part[k]);
    return info.offsets[d->index[k] + 1] - info.offsets[d->index[k]];
}

/* This rank's share of every global batch of `order` (n ids of d): the global batch b is
 * order[b*B .. (b+1)*B), rank r takes its r-th contiguous part, padded to the longest sample
 * of the whole batch (pad_to[b]) so that every rank sees the padding one process would. */
static bend_status shard(const trainer *t, const bend_dataset *d, const int64_t *order, int64_t n,
                         int64_t **ids, int64_t **starts, int64_t **pad_to, int64_t *n_batches,
                         bend_error *err)
{
    int64_t B = t->s->batch_size, nb = (n + B - 1) / B, R = t->w->size, r = t->w->rank;
    *ids = malloc((size_t)(n ? n : 1) * sizeof **ids);
    *starts = malloc((size_t)(nb + 1) * sizeof **starts);
    *pad_to = malloc((size_t)(nb ? nb : 1) * sizeof **pad_to);
    if (!*ids || !*starts || !*pad_to) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    int64_t k = 0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t g0 = b * B, cnt = (b + 1) * B < n ? B : n - g0;
        (*starts)[b] = k;
        (*pad_to)[b] = 0;
        for (int64_t i = g0; i < g0 + cnt; i++) {
            int64_t len = rows_of(d, order[i]);
            if (len > (*pad_to)[b]) (*pad_to)[b] = len;
        }
        for (int64_t i = g0 + cnt * r / R; i < g0 + cnt * (r + 1) / R; i++) (*ids)[k++] = order[i];
    }
    (*starts)[nb] = k;
    *n_batches = nb;
    return BEND_OK;
}

/* How the net's output lines up with the labels: rows x cols for the loss. */
typedef struct batch_view {
    int64_t rows, cols;       /* CE: rows = predictions, cols = classes; else elements = rows*cols */
    bool per_position;        /* output [n, L, C] against per-nucleotide labels */
} batch_view;

static bend_status view_batch(const trainer *t, const bend_batch *b, const int64_t *shape, int ndim,
                              batch_view *v, bend_error *err)
{
    bool ce = t->s->loss.kind == BEND_LOSS_CROSS_ENTROPY;
    int64_t out_per_sample = ndim == 3 ? shape[1] * shape[2] : shape[1];
    if (ndim == 3 && t->train.label_kind == BEND_LABELS_PER_NUCLEOTIDE && shape[1] == b->L &&
        (ce || shape[2] == 1)) {
        *v = (batch_view){ce ? b->n * b->L : b->n, ce ? shape[2] : b->L, true};
        return BEND_OK;
    }
    if (ce && b->label_len == 1 && ndim == 2) {
        *v = (batch_view){b->n, shape[1], false};
        return BEND_OK;
    }
    if (!ce && out_per_sample == b->label_len) {
        *v = (batch_view){b->n, out_per_sample, false};
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_INVALID,
                     "the model's output (%lld values per sample%s) does not match the labels of "
                     "%s (%lld per sample); check model.output_size and "
                     "model.output_downsample_window for task '%s'",
                     (long long)out_per_sample, ndim == 3 ? ", per position" : "",
                     bend_store_reader_path(t->store), (long long)b->label_len, t->s->task);
}

/* Loss sum/normaliser of one batch and, when dpred is wanted, d(sum)/d(output). */
static bend_status batch_loss(trainer *t, const bend_batch *b, const float *y, const batch_view *v,
                              double *sum, double *norm, bool want_grad, bend_error *err)
{
    size_t n_out = (size_t)v->rows * (size_t)v->cols;
    size_t n_tgt = t->s->loss.kind == BEND_LOSS_CROSS_ENTROPY ? (size_t)v->rows : n_out;
    if (!bend_reserve((void **)&t->target, &t->cap_target, n_tgt, sizeof *t->target) ||
        (want_grad && !bend_reserve((void **)&t->dpred, &t->cap_dpred, n_out, sizeof *t->dpred)))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    memcpy(t->target, b->y, n_tgt * sizeof *t->target);
    return bend_loss_sum(&t->s->loss, y, t->target, v->rows, v->cols, sum, norm,
                         want_grad ? t->dpred : NULL, err);
}

/* ---- training ---------------------------------------------------------------------------- */

static bend_status allreduce_gradients(trainer *t, bend_error *err)
{
    if (t->w->size == 1) return BEND_OK;
    size_t k = 0;
    for (int i = 0; i < t->n_params; i++)
        if (!t->params[i].is_buffer) {
            memcpy(t->flat + k, t->params[i].grad, (size_t)t->params[i].numel * sizeof *t->flat);
            k += (size_t)t->params[i].numel;
        }
    for (size_t off = 0; off < k; off += INT_MAX / 2) {
        int cnt = (int)(k - off < (size_t)INT_MAX / 2 ? k - off : (size_t)INT_MAX / 2);
        if (MPI_Allreduce(MPI_IN_PLACE, t->flat + off, cnt, MPI_FLOAT, MPI_SUM, t->w->comm) != MPI_SUCCESS)
            return bend_fail(err, BEND_ERR_MPI, "MPI_Allreduce of the gradients failed");
    }
    k = 0;
    for (int i = 0; i < t->n_params; i++)
        if (!t->params[i].is_buffer) {
            memcpy(t->params[i].grad, t->flat + k, (size_t)t->params[i].numel * sizeof *t->flat);
            k += (size_t)t->params[i].numel;
        }
    return BEND_OK;
}

static void shuffle(int64_t *order, int64_t n, uint64_t seed, int64_t epoch)
{
    bend_rng r;
    bend_rng_seed(&r, seed ^ ((uint64_t)epoch * UINT64_C(0x9E3779B97F4A7C15)));
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(bend_rng_uniform(&r) * (double)(i + 1));
        int64_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* One pass over a dataset: this rank's shares of the global batches (in dataset order, or a
 * seeded permutation of it), read ahead by the loader thread. */
typedef struct pass {
    int64_t *order, *ids, *starts, *pad_to, n_batches;
    bend_loader *loader;
} pass;

static bend_status pass_begin(trainer *t, const bend_dataset *d, bool shuffled, int64_t epoch,
                              pass *p, bend_error *err)
{
    memset(p, 0, sizeof *p);
    int64_t n = d->n;
    if (!(p->order = malloc((size_t)(n ? n : 1) * sizeof *p->order)))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) p->order[i] = i;
    if (shuffled) shuffle(p->order, n, t->seed, epoch);
    bend_status st = shard(t, d, p->order, n, &p->ids, &p->starts, &p->pad_to, &p->n_batches, err);
    if (!st) st = bend_loader_start(d, p->ids, p->starts, p->pad_to, p->n_batches, &t->pad, &p->loader, err);
    return st;
}

static void pass_end(pass *p)
{
    bend_loader_stop(p->loader);
    free(p->order);
    free(p->ids);
    free(p->starts);
    free(p->pad_to);
    memset(p, 0, sizeof *p);
}

/* The next batch of a pass through the net and the loss: this rank's part, then the global
 * (sum, normaliser) on every rank in red. A rank with no samples in this batch contributes 0. */
static bend_status pass_step(trainer *t, pass *p, bool train, const bend_batch **b, const float **y,
                             batch_view *v, double red[2], bend_error *err)
{
    int64_t shape[3];
    int ndim = 0;
    red[0] = red[1] = 0;
    bend_status mine = bend_loader_next(p->loader, b, err);
    bool some = !mine && (*b)->n > 0;
    if (some) mine = bend_net_forward(t->net, (*b)->x, (*b)->n, (*b)->L, train, y, shape, &ndim, err);
    if (some && !mine) mine = view_batch(t, *b, shape, ndim, v, err);
    if (some && !mine) mine = batch_loss(t, *b, *y, v, &red[0], &red[1], train, err);
    return allreduce_status(t->w, mine, red, 2, err);
}

static bend_status train_epoch(trainer *t, int64_t epoch, double *train_loss, bend_error *err)
{
    const bend_train_settings *s = t->s;
    pass p;
    bend_status st = pass_begin(t, &t->train, s->shuffle, epoch, &p, err);
    double total = 0;
    for (int64_t k = 0; !st && k < p.n_batches; k++) {
        const bend_batch *b = NULL;
        const float *y = NULL;
        batch_view v = {0};
        double red[2];
        st = pass_step(t, &p, true, &b, &y, &v, red, err);
        if (st) break;
        /* BEND: loss = mean over the global batch / accumulation steps, then backward. */
        double scale = red[1] > 0 ? 1.0 / (red[1] * (double)s->grad_accum) : 0;
        bend_status mine = BEND_OK;
        if (b->n > 0) {
            size_t m = (size_t)v.rows * (size_t)v.cols;
            for (size_t i = 0; i < m; i++) t->dpred[i] = (float)(t->dpred[i] * scale);
            mine = bend_net_backward(t->net, t->dpred, err);
        }
        st = allreduce_status(t->w, mine, NULL, 0, err);
        total += red[1] > 0 ? red[0] / red[1] / (double)s->grad_accum : 0;
        if (!st && (k + 1) % s->grad_accum == 0) {
            st = allreduce_gradients(t, err);
            if (!st) bend_adamw_step(t->opt, t->params, t->n_params);
            bend_net_zero_grad(t->net);
        }
    }
    *train_loss = p.n_batches ? total / (double)p.n_batches : NAN;
    pass_end(&p);
    return st;
}

/* ---- evaluation -------------------------------------------------------------------------- */

static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* Appends this batch's (y_true, y_pred) for every unpadded label position, BEND's way:
 * probabilities for BCE, class ids (argmax) otherwise. */
static bend_status collect(const trainer *t, const bend_batch *b, const float *y,
                           const batch_view *v, int64_t **yt, double **yp, size_t *n,
                           size_t cap[2], bend_error *err)
{
    bool ce = t->s->loss.kind == BEND_LOSS_CROSS_ENTROPY;
    size_t need = *n + (size_t)b->n * (size_t)b->label_len;
    if (!bend_reserve((void **)yt, &cap[0], need, sizeof **yt) || !bend_reserve((void **)yp, &cap[1], need, sizeof **yp))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < b->n; i++) {
        int64_t len = v->per_position ? b->lengths[i] : b->label_len;
        for (int64_t j = 0; j < len; j++) {
            double target = b->y[i * b->label_len + j];
            double pred;
            if (ce) {
                const float *row = y + (size_t)(v->per_position ? i * b->L + j : i) * (size_t)v->cols;
                int64_t best = 0;
                for (int64_t c = 1; c < v->cols; c++)
                    if (row[c] > row[best]) best = c;
                pred = (double)best;
            } else {
                double out = y[i * (v->per_position ? b->L : b->label_len) + j];
                pred = t->s->loss.kind == BEND_LOSS_BCE ? sigmoid(out) : out;
            }
            (*yt)[*n] = (int64_t)llround(target);
            (*yp)[*n] = pred;
            (*n)++;
        }
    }
    return BEND_OK;
}

/* Values per sample that collect() appends: per-nucleotide length or the label width. */
static int64_t values_of(const bend_dataset *d, int64_t k)
{
    return d->label_kind == BEND_LABELS_PER_NUCLEOTIDE ? rows_of(d, k) : d->label_width;
}

/* Gathers every rank's (sample ids, values) on rank 0 and puts them in dataset order. */
static bend_status gather(const trainer *t, const bend_dataset *d, const int64_t *ids, int64_t n_ids,
                          const int64_t *yt, const double *yp, size_t n, evaluation *e,
                          bend_error *err)
{
    const bend_world *w = t->w;
    int R = w->size;
    if (n > INT_MAX || n_ids > INT_MAX)
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "more than 2^31 predictions on one rank");
    int counts[2] = {(int)n_ids, (int)n};
    int *all = w->rank == 0 ? calloc((size_t)(2 * R), sizeof *all) : NULL;
    if (w->rank == 0 && !all) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    MPI_Gather(counts, 2, MPI_INT, all, 2, MPI_INT, 0, w->comm);
    int *cid = NULL, *did = NULL, *cv = NULL, *dv = NULL;
    int64_t *rid = NULL, *rt = NULL;
    double *rp = NULL;
    size_t tid = 0, tv = 0;
    bend_status st = BEND_OK;
    if (w->rank == 0) {
        cid = calloc((size_t)R, sizeof *cid), did = calloc((size_t)R, sizeof *did);
        cv = calloc((size_t)R, sizeof *cv), dv = calloc((size_t)R, sizeof *dv);
        for (int r = 0; cid && did && cv && dv && r < R; r++) {
            cid[r] = all[2 * r], did[r] = (int)tid, tid += (size_t)cid[r];
            cv[r] = all[2 * r + 1], dv[r] = (int)tv, tv += (size_t)cv[r];
        }
        rid = malloc((tid ? tid : 1) * sizeof *rid);
        rt = malloc((tv ? tv : 1) * sizeof *rt);
        rp = malloc((tv ? tv : 1) * sizeof *rp);
        if (!cid || !did || !cv || !dv || !rid || !rt || !rp || tv > INT_MAX)
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory gathering predictions");
    }
    /* Every rank takes part in the gathers whatever rank 0's state (it reports afterwards). */
    MPI_Gatherv(ids, (int)n_ids, MPI_INT64_T, rid, cid, did, MPI_INT64_T, 0, w->comm);
    MPI_Gatherv(yt, (int)n, MPI_INT64_T, rt, cv, dv, MPI_INT64_T, 0, w->comm);
    MPI_Gatherv(yp, (int)n, MPI_DOUBLE, rp, cv, dv, MPI_DOUBLE, 0, w->comm);
    if (w->rank == 0 && !st) {
        int64_t *pos = malloc((size_t)(d->n + 1) * sizeof *pos);
        e->y_true = malloc((tv ? tv : 1) * sizeof *e->y_true);
        e->y_pred = malloc((tv ? tv : 1) * sizeof *e->y_pred);
        if (!pos || !e->y_true || !e->y_pred) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; !st && k < d->n; k++) pos[k + 1] = (k ? pos[k] : 0) + values_of(d, k);
        if (!st) pos[0] = 0;
        if (!st && (size_t)pos[d->n] != tv)
            st = bend_fail(err, BEND_ERR_INTERNAL, "gathered %zu predictions, expected %lld", tv,
                           (long long)pos[d->n]);
        size_t src = 0;
        for (size_t i = 0; !st && i < tid; i++) {
            int64_t k = rid[i], c = pos[k + 1] - pos[k];
            memcpy(e->y_true + pos[k], rt + src, (size_t)c * sizeof *rt);
            memcpy(e->y_pred + pos[k], rp + src, (size_t)c * sizeof *rp);
            src += (size_t)c;
        }
        e->n_values = tv;
        free(pos);
    }
    free(all), free(cid), free(did), free(cv), free(dv), free(rid), free(rt), free(rp);
    return st;
}

static char *column(const char *fmt, const char *metric, size_t i)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb, fmt, metric, i);
    return bend_strbuf_take(&sb);
}

/* BEND's _calculate_metric on rank 0's gathered arrays, with its test column names. */
static bend_status compute_metric(const trainer *t, const bend_dataset *d, evaluation *e,
                                  bend_error *err)
{
    const char *m = t->s->metric_name;
    bend_status st = BEND_OK;
    size_t k = 0;
    switch (t->s->metric) {
    case BEND_METRIC_MCC: {
        int64_t *pred = malloc((e->n_values ? e->n_values : 1) * sizeof *pred);
        if (!pred) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < e->n_values; i++) pred[i] = (int64_t)e->y_pred[i];
        bend_metric_mcc_result r;
        st = bend_metric_mcc(e->y_true, pred, e->n_values, &r, err);
        free(pred);
        if (st) return st;
        k = 1 + 2 * r.n_labels;
        e->metric = calloc(k, sizeof *e->metric);
        e->columns = calloc(k, sizeof *e->columns);
        if (e->metric && e->columns) {
            e->metric[0] = r.mcc;
            e->columns[0] = column("test_%s", m, 0);
            for (size_t i = 0; i < r.n_labels; i++) {
                e->metric[1 + i] = r.recall[i];
                e->metric[1 + r.n_labels + i] = r.precision[i];
                e->columns[1 + i] = column("test_recall_%.0s%zu", m, i);
                e->columns[1 + r.n_labels + i] = column("test_precision_%.0s%zu", m, i);
            }
        }
        bend_metric_mcc_result_free(&r);
        break;
    }
    case BEND_METRIC_AUROC:
        if (d->label_kind == BEND_LABELS_PER_SAMPLE && d->label_width > 1) {
            bend_metric_auroc_multilabel_result r;
            size_t C = (size_t)d->label_width;
            st = bend_metric_auroc_multilabel(e->y_true, e->y_pred, e->n_values / C, C, &r, err);
            if (st) return st;
            if (r.n_undefined)
                bend_warn("%zu of %zu labels have a single class in split %s: their AUROC is "
                          "undefined (scikit-learn would stop BEND here) and left out of the mean",
                          r.n_undefined, C, d->name);
            e->width = C;
            k = 1 + C;
            e->metric = calloc(k, sizeof *e->metric);
            e->columns = calloc(k, sizeof *e->columns);
            if (e->metric && e->columns) {
                e->metric[0] = r.mean;
                e->columns[0] = column("test_%s_avg", m, 0);
                for (size_t i = 0; i < C; i++) {
                    e->metric[1 + i] = r.per_label[i];
                    e->columns[1 + i] = column("test_%s_%zu", m, i);
                }
            }
            bend_metric_auroc_multilabel_result_free(&r);
            break;
        }
        /* otherwise a flattened binary metric, as below */
        __attribute__((fallthrough));
    case BEND_METRIC_AUPRC:
    case BEND_METRIC_PEARSONR: {
        double v = NAN;
        if (t->s->metric == BEND_METRIC_PEARSONR) {
            bend_metric_pearson_result r;
            st = bend_metric_pearsonr(e->y_true, e->y_pred, e->n_values, &r, err);
            v = r.r;
        } else {
            bend_metric_binary_result r;
            st = t->s->metric == BEND_METRIC_AUPRC
                     ? bend_metric_auprc(e->y_true, e->y_pred, e->n_values, &r, err)
                     : bend_metric_auroc(e->y_true, e->y_pred, e->n_values, &r, err);
            if (!st && r.single_class)
                bend_warn("split %s has a single class: its %s is %s", d->name, m,
                          isnan(r.value) ? "undefined" : "degenerate");
            v = r.value;
        }
        if (st) return st;
        k = 1;
        e->metric = calloc(1, sizeof *e->metric);
        e->columns = calloc(1, sizeof *e->columns);
        if (e->metric && e->columns) {
            e->metric[0] = v;
            e->columns[0] = column("test_%s", m, 0);
        }
        break;
    }
    }
    e->n_metric = k;
    for (size_t i = 0; i < k; i++)
        if (!e->metric || !e->columns || !e->columns[i]) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    return BEND_OK;
}

/* BEND's validate(): eval mode, batches in order, loss = mean of batch losses; the metric on
 * rank 0 and broadcast, so every rank agrees on the best epoch and on early stopping. */
static bend_status evaluate(trainer *t, const bend_dataset *d, evaluation *e, bend_error *err)
{
    memset(e, 0, sizeof *e);
    pass p;
    bend_status st = pass_begin(t, d, false, 0, &p, err);
    int64_t *yt = NULL;
    double *yp = NULL;
    size_t nv = 0, cap[2] = {0, 0};
    double total = 0;
    for (int64_t k = 0; !st && k < p.n_batches; k++) {
        const bend_batch *b = NULL;
        const float *y = NULL;
        batch_view v = {0};
        double red[2];
        st = pass_step(t, &p, false, &b, &y, &v, red, err);
        bend_status mine = !st && b->n > 0 ? collect(t, b, y, &v, &yt, &yp, &nv, cap, err) : BEND_OK;
        if (!st) st = allreduce_status(t->w, mine, NULL, 0, err);
        total += red[1] > 0 ? red[0] / red[1] : 0;
    }
    int64_t nb = p.n_batches;
    if (!st) st = gather(t, d, p.ids, p.starts[nb], yt, yp, nv, e, err);
    if (!st && t->w->rank == 0) st = compute_metric(t, d, e, err);
    e->loss = nb ? total / (double)nb : NAN;
    double main_metric[1] = {t->w->rank == 0 && e->metric ? e->metric[0] : 0};
    bend_status all = allreduce_status(t->w, st, main_metric, 1, err);
    if (!st && t->w->rank != 0) {
        e->metric = malloc(sizeof *e->metric);
        if (e->metric) e->metric[0] = main_metric[0], e->n_metric = 1;
    }
    free(yt);
    free(yp);
    pass_end(&p);
    if (all) evaluation_free(e);
    return all;
}

/* ---- set-up and the run ------------------------------------------------------------------ */

/* BEND's split selection: files starting with train/valid/test, or for cross-validation fold k
 * of the part1..partN splits: test part k, valid part k+1 (part 1 after the last), train the
 * rest (bend/utils/data_downstream.py). */
static bend_status open_datasets(trainer *t, bend_error *err)
{
    bend_store_reader *r = t->store;
    size_t ns = bend_store_reader_n_splits(r);
    const char **sel[3];
    size_t nsel[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) sel[i] = calloc(ns ? ns : 1, sizeof *sel[i]);
    bend_status st = sel[0] && sel[1] && sel[2] ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    static const char *const prefix[3] = {"train", "valid", "test"};
    if (!st && !t->s->cross_validation_on) {
        for (size_t i = 0; i < ns; i++) {
            const char *name = bend_store_reader_split_info(r, i).name;
            for (int k = 0; k < 3; k++)
                if (!strncmp(name, prefix[k], strlen(prefix[k]))) sel[k][nsel[k]++] = name;
        }
    } else if (!st) {
        /* parts sorted by their number */
        int64_t max_part = 0;
        const char **parts = calloc(ns + 1, sizeof *parts);
        if (!parts) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < ns; i++) {
            const char *name = bend_store_reader_split_info(r, i).name;
            char *end;
            long long p = strncmp(name, "part", 4) ? 0 : strtoll(name + 4, &end, 10);
            if (p >= 1 && !*end && (size_t)p <= ns) {
                parts[p] = name;
                if (p > max_part) max_part = p;
            }
        }
        for (int64_t p = 1; !st && p <= max_part; p++)
            if (!parts[p])
                st = bend_fail(err, BEND_ERR_INVALID, "%s: cross-validation needs splits part1.."
                               "part%lld; part%lld is missing", bend_store_reader_path(r),
                               (long long)max_part, (long long)p);
        int64_t fold = t->s->cross_validation ? t->s->cross_validation : max_part;
        if (!st && (max_part < 3 || fold > max_part))
            st = bend_fail(err, BEND_ERR_INVALID, "config key 'data.cross_validation': fold %lld, "
                           "but %s has %lld part splits (at least 3 are needed)", (long long)fold,
                           bend_store_reader_path(r), (long long)max_part);
        for (int64_t p = 1; !st && p <= max_part; p++) {
            int k = p == fold ? 2 : p == fold % max_part + 1 ? 1 : 0;
            sel[k][nsel[k]++] = parts[p];
        }
        free(parts);
    }
    bend_dataset *ds[3] = {&t->train, &t->valid, &t->test};
    for (int k = 0; !st && k < 3; k++) {
        if (!nsel[k])
            st = bend_fail(err, BEND_ERR_INVALID, "%s has no %s split (splits whose names start "
                           "with '%s')", bend_store_reader_path(r), prefix[k], prefix[k]);
        else
            st = bend_dataset_open(r, sel[k], nsel[k], ds[k], err);
        if (!st && ds[k]->n == 0)
            st = bend_fail(err, BEND_ERR_INVALID, "%s: the %s split %s has no samples",
                           bend_store_reader_path(r), prefix[k], ds[k]->name);
    }
    for (int i = 0; i < 3; i++) free(sel[i]);
    return st;
}

static uint64_t fresh_seed(const bend_world *w)
{
    uint64_t seed = 0;
    if (w->rank == 0) seed = ((uint64_t)bend_now() * 1000003u) ^ (uint64_t)clock() ^ ((uint64_t)getpid() << 32);
    if (w->size > 1) MPI_Bcast(&seed, 1, MPI_UINT64_T, 0, w->comm);
    return seed & UINT64_C(0x7fffffffffffffff);
}

static void trainer_free(trainer *t)
{
    bend_dataset_free(&t->train);
    bend_dataset_free(&t->valid);
    bend_dataset_free(&t->test);
    bend_adamw_free(t->opt);
    bend_net_free(t->net);
    bend_store_reader_close(t->store);
    free(t->flat);
    free(t->dpred);
    free(t->target);
}

/* Index of the best epoch: the highest validation metric, the first on ties (pandas idxmax,
 * which skips NaN); the first epoch when every value is NaN. */
static size_t best_epoch(const bend_epoch_record *h, size_t n)
{
    size_t best = 0;
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (!isnan(h[i].val_metric) && (!found || h[i].val_metric > h[best].val_metric)) {
            best = i;
            found = true;
        }
    return best;
}

/* config.yaml in output_dir: the resolved configuration, with the seed actually used (BEND's
 * train_on_task.py saves its config there too). */
static bend_status save_config(bend_config *cfg, uint64_t seed, const char *output_dir,
                               bend_error *err)
{
    char arg[64];
    snprintf(arg, sizeof arg, "seed=%llu", (unsigned long long)seed);
    char *yaml = NULL;
    bend_status st = bend_config_apply_override(cfg, arg, err);
    if (!st) st = bend_config_to_yaml(cfg, NULL, true, &yaml, err);
    if (!st) st = bend_train_write_config(output_dir, yaml, err);
    free(yaml);
    return st;
}

static bend_status run(trainer *t, bend_config *cfg, bend_train_result *res, bend_error *err)
{
    const bend_train_settings *s = t->s;
    const bend_world *w = t->w;
    bend_status st = bend_store_reader_open(s->store_path, &t->store, err);
    if (!st) st = open_datasets(t, err);
    bend_net_spec spec = s->net;
    if (!st) spec.input_size = bend_store_reader_dim(t->store);
    t->pad = (bend_pad_rule){s->padding_value,
                             s->onehot_padding_a && !strcmp(s->store_model, "onehot")};
    t->seed = s->seed_given ? s->seed : fresh_seed(w);
    /* Resuming continues with the checkpoint's seed when none is given, so the epochs after
     * the resume shuffle as the uninterrupted run would have. */
    int64_t resume_epoch = 0;
    bool resume = !s->test_only && s->load_checkpoint != BEND_RESUME_NONE;
    if (!st && resume)
        st = bend_train_find_checkpoint(s->output_dir, s->load_checkpoint == BEND_RESUME_LATEST ? -1
                                                                                               : s->load_checkpoint,
                                        &resume_epoch, err);
    if (!st) st = bend_net_create(&spec, t->seed, &t->net, err);
    if (!st) {
        t->params = bend_net_params(t->net, &t->n_params);
        st = bend_adamw_create(&s->optimizer, t->params, t->n_params, &t->opt, err);
    }
    for (int i = 0; !st && i < t->n_params; i++)
        if (!t->params[i].is_buffer) t->n_flat += (size_t)t->params[i].numel;
    if (!st && !(t->flat = malloc((t->n_flat ? t->n_flat : 1) * sizeof *t->flat)))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_epoch_record *history = NULL;
    size_t n_hist = 0;
    if (!st && resume_epoch > 0) {
        uint64_t seed;
        st = bend_train_load_checkpoint(s->output_dir, resume_epoch, t->net, t->opt, &history,
                                        &n_hist, &seed, err);
        if (!st && !s->seed_given) t->seed = seed;
        if (!st) bend_info("resuming after epoch %lld of %s", (long long)resume_epoch, s->output_dir);
    }
    /* Rank 0 owns the output directory; the others wait so that nobody reads a half-cleaned one. */
    bend_status mine = BEND_OK;
    if (!st && w->rank == 0 && !s->test_only)
        mine = bend_train_prepare_output(s->output_dir, resume_epoch == 0, err);
    if (!st && !mine && w->rank == 0 && !s->test_only) mine = save_config(cfg, t->seed, s->output_dir, err);
    st = allreduce_status(w, st ? st : mine, NULL, 0, err);
    if (!st && !s->test_only && resume_epoch == 0)
        bend_info("training %s on %s (%lld train, %lld valid, %lld test samples; %lld-dim; seed %llu; "
                  "%d rank%s)", s->embedder, s->task, (long long)t->train.n, (long long)t->valid.n,
                  (long long)t->test.n, (long long)spec.input_size, (unsigned long long)t->seed,
                  w->size, w->size > 1 ? "s" : "");
    int64_t since_best = 0;
    double best_metric = -INFINITY;
    for (size_t i = 0; i < n_hist; i++)
        if (!isnan(history[i].val_metric) && history[i].val_metric > best_metric)
            best_metric = history[i].val_metric, since_best = 0;
        else
            since_best++;
    for (int64_t epoch = resume_epoch + 1; !st && !s->test_only && epoch <= s->epochs; epoch++) {
        double t0 = bend_now(), train_loss = NAN;
        evaluation val;
        st = train_epoch(t, epoch, &train_loss, err);
        if (!st) st = evaluate(t, &t->valid, &val, err);
        if (st) break;
        bend_epoch_record *h = realloc(history, (n_hist + 1) * sizeof *h);
        if (!h) {
            evaluation_free(&val);
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            break;
        }
        history = h;
        history[n_hist++] = (bend_epoch_record){epoch, train_loss, val.loss, val.metric[0]};
        evaluation_free(&val);
        mine = BEND_OK;
        if (w->rank == 0) mine = bend_train_save_checkpoint(s->output_dir, t->net, t->opt, s->metric_name,
                                                            t->seed, history, n_hist, err);
        if (!mine && w->rank == 0) mine = bend_train_write_losses(s->output_dir, s->metric_name, history, n_hist, err);
        st = allreduce_status(w, mine, NULL, 0, err);
        res->epochs_run++;
        const bend_epoch_record *r = &history[n_hist - 1];
        bend_info("epoch %lld/%lld: train loss %.4f, val loss %.4f, val %s %.4f (%.1f s)",
                  (long long)epoch, (long long)s->epochs, r->train_loss, r->val_loss,
                  s->metric_name, r->val_metric, bend_now() - t0);
        if (!isnan(r->val_metric) && r->val_metric > best_metric) {
            best_metric = r->val_metric;
            since_best = 0;
        } else if (s->early_stopping && ++since_best >= s->early_stopping) {
            bend_info("early stopping: no better val %s in %lld epochs", s->metric_name,
                      (long long)s->early_stopping);
            break;
        }
    }
    /* Test: the best epoch by validation metric, from its checkpoint (params.mode=test reads the
     * history of an earlier run from its last checkpoint). */
    if (!st && s->test_only) {
        int64_t last = 0;
        uint64_t seed;
        st = bend_train_find_checkpoint(s->output_dir, -1, &last, err);
        if (!st && last == 0)
            st = bend_fail(err, BEND_ERR_IO, "params.mode=test: %s/checkpoints has no epochs; train first",
                           s->output_dir);
        if (!st) st = bend_train_load_checkpoint(s->output_dir, last, t->net, NULL, &history, &n_hist, &seed, err);
    }
    if (!st && n_hist == 0) st = bend_fail(err, BEND_ERR_INTERNAL, "no epoch to test");
    evaluation test = {0};
    if (!st) {
        const bend_epoch_record best = history[best_epoch(history, n_hist)];
        bend_epoch_record *ignored = NULL;
        size_t n_ignored = 0;
        uint64_t seed;
        st = bend_train_load_checkpoint(s->output_dir, best.epoch, t->net, NULL, &ignored, &n_ignored, &seed, err);
        free(ignored);
        if (!st) st = evaluate(t, &t->test, &test, err);
        mine = BEND_OK;
        if (!st && w->rank == 0) {
            double *vals = malloc((test.n_metric + 1) * sizeof *vals);
            char **cols = calloc(test.n_metric + 1, sizeof *cols);
            if (!vals || !cols) mine = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
            for (size_t i = 0; !mine && i < test.n_metric; i++) {
                vals[i + 1] = test.metric[i];
                cols[i + 1] = test.columns[i];
            }
            if (!mine) {
                vals[0] = test.loss;
                cols[0] = "test_loss";
                mine = bend_train_write_best_metrics(s->output_dir, s->metric_name, &best, cols, vals,
                                                     test.n_metric + 1, err);
            }
            free(vals);
            free(cols);
            size_t rows = test.width ? test.n_values / test.width : test.n_values;
            if (!mine)
                mine = bend_train_write_predictions(s->output_dir, test.y_true, test.y_pred,
                                                    s->loss.kind == BEND_LOSS_CROSS_ENTROPY, rows,
                                                    test.width, s->metric_name, best.epoch, err);
        }
        if (!st) st = allreduce_status(w, mine, NULL, 0, err);
        if (!st) {
            res->best_epoch = best.epoch;
            res->test_loss = test.loss;
            res->test_metric = test.metric[0];
            bend_info("test (epoch %lld, best val %s %.4f): loss %.4f, %s %.4f", (long long)best.epoch,
                      s->metric_name, best.val_metric, test.loss, s->metric_name, test.metric[0]);
        }
        evaluation_free(&test);
    }
    free(history);
    snprintf(res->output_dir, sizeof res->output_dir, "%s", s->output_dir);
    return st;
}

bend_status bend_train_run(bend_config *cfg, const bend_world *w, bend_train_result *res,
                           bend_error *err)
{
    memset(res, 0, sizeof *res);
    bend_train_settings s;
    bend_status st = bend_train_settings_load(cfg, &s, err);
    if (st) return st;
    if (strcmp(s.device, "auto") && strcmp(s.device, "cpu")) {
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "config key 'device': bend train runs on the "
                       "CPU in this version; use device=cpu or auto");
        bend_train_settings_free(&s);
        return st;
    }
    trainer t = {.s = &s, .w = w};
    st = run(&t, cfg, res, err);
    trainer_free(&t);
    bend_train_settings_free(&s);
    return st;
}
