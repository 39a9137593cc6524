/* Samples of store splits, padded batches, and the background reader. */
#include "train/dataset.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/strbuf.h"

bend_status bend_dataset_open(bend_store_reader *store, const char *const *splits, size_t n_splits,
                              bend_dataset *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    out->store = store;
    out->dim = bend_store_reader_dim(store);
    bend_strbuf name = BEND_STRBUF_INIT;
    bend_status st = BEND_OK;
    size_t *index = calloc(n_splits ? n_splits : 1, sizeof *index);
    if (!index) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n_splits; i++) {
        st = bend_store_reader_split(store, splits[i], &index[i], err);
        if (st) break;
        bend_store_split_info info = bend_store_reader_split_info(store, index[i]);
        bend_strbuf_printf(&name, "%s%s", i ? "+" : "", splits[i]);
        if (info.n_done != info.n_samples)
            st = bend_fail(err, BEND_ERR_INVALID,
                           "%s: split '%s' has %lld of %lld samples embedded; run the same bend "
                           "embed command again to finish it before training",
                           bend_store_reader_path(store), splits[i], (long long)info.n_done,
                           (long long)info.n_samples);
        else if (info.label_kind == BEND_LABELS_NONE)
            st = bend_fail(err, BEND_ERR_INVALID, "%s: split '%s' has no labels to train on",
                           bend_store_reader_path(store), splits[i]);
        else if (i > 0 && (info.label_kind != out->label_kind ||
                           (info.label_kind == BEND_LABELS_PER_SAMPLE &&
                            info.label_width != out->label_width)))
            st = bend_fail(err, BEND_ERR_INVALID, "%s: split '%s' has labels of another shape "
                           "than split '%s'", bend_store_reader_path(store), splits[i], splits[0]);
        out->label_kind = info.label_kind;
        out->label_width = info.label_width;
        out->n += info.n_samples;
    }
    if (!st && name.failed) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (!st) {
        out->name = bend_strbuf_take(&name);
        out->part = malloc((size_t)(out->n ? out->n : 1) * sizeof *out->part);
        out->index = malloc((size_t)(out->n ? out->n : 1) * sizeof *out->index);
        if (!out->name || !out->part || !out->index) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0, k = 0; !st && i < n_splits; i++) {
        int64_t n = bend_store_reader_split_info(store, index[i]).n_samples;
        for (int64_t j = 0; j < n; j++, k++) {
            out->part[k] = (uint32_t)index[i];
            out->index[k] = j;
        }
    }
    free(index);
    bend_strbuf_free(&name);
    if (st) bend_dataset_free(out);
    return st;
}

void bend_dataset_free(bend_dataset *d)
{
    free(d->name);
    free(d->part);
    free(d->index);
    memset(d, 0, sizeof *d);
}

void bend_batch_free(bend_batch *b)
{
    free(b->x);
    free(b->y);
    free(b->lengths);
    free(b->sample);
    memset(b, 0, sizeof *b);
}

bend_status bend_dataset_read_batch(const bend_dataset *d, const int64_t *ids, int64_t n,
                                    int64_t pad_to, const bend_pad_rule *pad, bend_batch *b,
                                    bend_error *err)
{
    bend_store_reader *r = d->store;
    int64_t L = pad_to > 0 ? pad_to : 0;
    size_t cap_n = b->cap_n;
    if (!bend_reserve((void **)&b->lengths, &cap_n, (size_t)n, sizeof *b->lengths) ||
        !bend_reserve((void **)&b->sample, &b->cap_n, (size_t)n, sizeof *b->sample))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory for a batch of %lld samples", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        bend_store_split_info info = bend_store_reader_split_info(r, d->part[ids[i]]);
        int64_t j = d->index[ids[i]];
        b->lengths[i] = info.offsets[j + 1] - info.offsets[j];
        b->sample[i] = ids[i];
        if (b->lengths[i] > L) L = b->lengths[i];
        if (d->label_kind == BEND_LABELS_PER_NUCLEOTIDE &&
            info.label_offsets[j + 1] - info.label_offsets[j] != b->lengths[i])
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s: sample %lld of split '%s' has %lld labels for %lld embedding "
                             "rows; per-nucleotide labels need one row per nucleotide",
                             bend_store_reader_path(r), (long long)j, info.name,
                             (long long)(info.label_offsets[j + 1] - info.label_offsets[j]),
                             (long long)b->lengths[i]);
    }
    b->n = n;
    b->L = L;
    b->D = d->dim;
    b->label_len = d->label_kind == BEND_LABELS_PER_NUCLEOTIDE ? L : d->label_width;
    size_t nx = (size_t)n * (size_t)L * (size_t)b->D, ny = (size_t)n * (size_t)b->label_len;
    if (!bend_reserve((void **)&b->x, &b->cap_x, nx, sizeof *b->x) ||
        !bend_reserve((void **)&b->y, &b->cap_y, ny, sizeof *b->y))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory for a batch of %lld x %lld x %lld",
                         (long long)n, (long long)L, (long long)b->D);
    for (int64_t i = 0; i < n; i++) {
        size_t part = d->part[ids[i]];
        int64_t j = d->index[ids[i]], len = b->lengths[i];
        float *x = b->x + (size_t)i * (size_t)L * (size_t)b->D;
        double *y = b->y + (size_t)i * (size_t)b->label_len;
        bend_status st = bend_store_reader_rows(r, part, j, 1, x, err);
        if (!st) st = bend_store_reader_labels(r, part, j, 1, y, err);
        if (st) return st;
        /* BEND's collate pads with -100 and then sets inputs equal to -100 to 0: float inputs get
         * zeros, integer one-hot ids get 0, which the CNN one-hot-encodes as 'A'. */
        float *xp = x + (size_t)len * (size_t)b->D;
        memset(xp, 0, (size_t)(L - len) * (size_t)b->D * sizeof *xp);
        if (pad->onehot_as_a)
            for (int64_t t = len; t < L; t++) x[(size_t)t * (size_t)b->D] = 1.0f;
        if (d->label_kind == BEND_LABELS_PER_NUCLEOTIDE)
            for (int64_t t = len; t < L; t++) y[t] = pad->label_padding;
    }
    return BEND_OK;
}

/* ---- background reader ------------------------------------------------------------------- */

struct bend_loader {
    const bend_dataset *d;
    const int64_t *ids, *starts, *pad_to;
    int64_t n_batches;
    bend_pad_rule pad;
    bend_batch slot[2];
    int64_t produced;    /* batches filled so far */
    int64_t consumed;    /* batches handed to the consumer */
    bool stop, failed;
    bend_error err;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *loader_main(void *arg)
{
    bend_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop && !l->failed && l->produced < l->n_batches) {
        /* Batch k goes to slot k % 2, which batch k - 2 used: it is free once the consumer has
         * asked for batch k - 1 (consumed >= k). */
        int64_t k = l->produced;
        while (!l->stop && k >= 2 && l->consumed < k) pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) break;
        pthread_mutex_unlock(&l->mu);
        bend_error e;
        bend_error_clear(&e);
        bend_status st = bend_dataset_read_batch(l->d, l->ids + l->starts[k],
                                                 l->starts[k + 1] - l->starts[k],
                                                 l->pad_to ? l->pad_to[k] : 0, &l->pad,
                                                 &l->slot[k % 2], &e);
        pthread_mutex_lock(&l->mu);
        if (st) {
            l->failed = true;
            l->err = e;
        } else {
            l->produced++;
        }
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

bend_status bend_loader_start(const bend_dataset *d, const int64_t *ids, const int64_t *starts,
                              const int64_t *pad_to, int64_t n_batches, const bend_pad_rule *pad,
                              bend_loader **out, bend_error *err)
{
    *out = NULL;
    bend_loader *l = calloc(1, sizeof *l);
    if (!l) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    l->d = d;
    l->ids = ids;
    l->starts = starts;
    l->pad_to = pad_to;
    l->n_batches = n_batches;
    l->pad = *pad;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->thread, NULL, loader_main, l) != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        free(l);
        return bend_fail(err, BEND_ERR_INTERNAL, "cannot start the batch reader thread");
    }
    *out = l;
    return BEND_OK;
}

bend_status bend_loader_next(bend_loader *l, const bend_batch **b, bend_error *err)
{
    *b = NULL;
    pthread_mutex_lock(&l->mu);
    int64_t k = l->consumed;
    if (k >= l->n_batches) {
        pthread_mutex_unlock(&l->mu);
        return BEND_OK;
    }
    l->consumed = k + 1;
    pthread_cond_broadcast(&l->cv);
    while (!l->failed && l->produced <= k) pthread_cond_wait(&l->cv, &l->mu);
    bend_status st = BEND_OK;
    if (l->produced <= k) {
        if (err) *err = l->err;
        st = l->err.status ? l->err.status : BEND_ERR_INTERNAL;
    } else {
        *b = &l->slot[k % 2];
    }
    pthread_mutex_unlock(&l->mu);
    return st;
}

void bend_loader_stop(bend_loader *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    bend_batch_free(&l->slot[0]);
    bend_batch_free(&l->slot[1]);
    free(l);
}
