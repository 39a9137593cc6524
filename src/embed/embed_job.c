#include "embed/embed_job.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/progress.h"
#include "core/strbuf.h"
#include "dist/scheduler.h"
#include "embed/plan.h"
#include "embed/settings.h"
#include "embed/store_prepare.h"
#include "gpu/device.h"
#include "io/fasta.h"
#include "store/store.h"

/* The output of one work item stays under this many bytes (unless one sample alone is larger). */
#define ITEM_MAX_BYTES ((int64_t)256 << 20)

/* Every rank learns whether all succeeded; the first failing rank's message travels to the
 * others only if it is rank 0's (rank 0's errors are about shared inputs). */
static bend_status agree(const bend_world *w, bend_status mine, bend_error *err)
{
    int bad = mine != BEND_OK, any_bad = 0;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, w->comm);
    if (!any_bad) return BEND_OK;
    if (mine) return mine;
    err->status = BEND_ERR_MPI;
    err->msg[0] = '\0'; /* quiet: another rank reports */
    return BEND_ERR_MPI;
}

/* Rank 0's status and message to everybody. */
static bend_status share_from_root(const bend_world *w, bend_status st, bend_error *err)
{
    int code = (int)st;
    MPI_Bcast(&code, 1, MPI_INT, 0, w->comm);
    if (!code) return BEND_OK;
    if (w->rank != 0) {
        err->status = (bend_status)code;
        err->msg[0] = '\0';
    }
    return (bend_status)code;
}

typedef struct {
    bend_work_item *items;
    size_t n, cap;
    int64_t samples, nucleotides;
} work_list;

static bend_status push_item(work_list *wl, bend_work_item it, bend_error *err)
{
    if (wl->n == wl->cap) {
        size_t cap = wl->cap ? wl->cap * 2 : 256;
        bend_work_item *p = realloc(wl->items, cap * sizeof *p);
        if (!p) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        wl->items = p;
        wl->cap = cap;
    }
    wl->items[wl->n++] = it;
    wl->samples += it.count;
    wl->nucleotides += it.nucleotides;
    return BEND_OK;
}

/* Rank 0: the samples still to do in the selected splits and chunks, cut into items. */
static bend_status select_work(const bend_embed_settings *s, const bend_embed_plan *plan,
                               bend_store *store, work_list *wl, bend_error *err)
{
    int64_t budget = ITEM_MAX_BYTES / (4 * bend_store_dim(store));
    if (budget > s->work_nucleotides) budget = s->work_nucleotides;
    if (budget < 1) budget = 1;
    size_t n_sel = s->splits ? s->n_splits : plan->n_splits;
    for (size_t k = 0; k < n_sel; k++) {
        int sp = s->splits ? bend_embed_plan_split(plan, s->splits[k]) : (int)k;
        if (sp < 0) {
            bend_strbuf list = BEND_STRBUF_INIT;
            bend_strbuf_join(&list, (const char *const *)plan->split_names, plan->n_splits, ", ");
            bend_status st = bend_fail(err, BEND_ERR_INVALID, "config key 'splits': '%s' is not a split "
                                       "of %s (its splits: %s)", s->splits[k], s->bed,
                                       bend_strbuf_cstr(&list));
            bend_strbuf_free(&list);
            return st;
        }
        int64_t n = plan->split_n[sp], last_chunk = n / s->chunk_size; /* BEND's range(int(n/cs)+1) */
        uint8_t *done = malloc((size_t)(n ? n : 1));
        if (!done) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        bend_status st = bend_store_read_done(store, (size_t)sp, done, err);
        const int64_t *off = bend_store_offsets(store, (size_t)sp);
        size_t n_chunks = s->chunks ? s->n_chunks : (size_t)last_chunk + 1;
        for (size_t c = 0; c < n_chunks && !st; c++) {
            int64_t chunk = s->chunks ? s->chunks[c] : (int64_t)c;
            if (chunk > last_chunk) {
                bend_warn("chunk %lld is not a valid chunk id for split '%s': its %lld samples make "
                          "chunks 0..%lld of %lld samples; skipped", (long long)chunk,
                          plan->split_names[sp], (long long)n, (long long)last_chunk, (long long)s->chunk_size);
                continue;
            }
            int64_t a = chunk * s->chunk_size, b = a + s->chunk_size < n ? a + s->chunk_size : n;
            for (int64_t i = a; i < b && !st;) {
                if (done[i]) { i++; continue; }
                bend_work_item it = {sp, i, 0, 0};
                while (i < b && !done[i] && (it.count == 0 || off[i + 1] - off[it.first] <= budget)) {
                    it.count++;
                    i++;
                }
                for (int64_t j = it.first; j < it.first + it.count; j++) {
                    int64_t r = plan->split_rows[sp][j];
                    it.nucleotides += plan->end[r] - plan->start[r];
                }
                st = push_item(wl, it, err);
            }
        }
        free(done);
        if (st) return st;
    }
    return BEND_OK;
}

/* Seconds this rank spent per stage, reported (summed over ranks) at the end of a run. */
typedef struct {
    double fetch, embed, write, wait;
} stage_times;

typedef struct {
    char *seq;
    size_t seq_cap;
    const char **seqs;
    size_t seqs_cap;
    int64_t *lens;
    size_t lens_cap;
    float *out;
    size_t out_cap;
} item_buffers;

static bend_status grow(void **p, size_t *cap, size_t need, size_t elem, bend_error *err)
{
    if (need <= *cap) return BEND_OK;
    void *q = realloc(*p, need * elem);
    if (!q) return bend_fail(err, BEND_ERR_NOMEM, "out of memory (%zu bytes for one work item)", need * elem);
    *p = q;
    *cap = need;
    return BEND_OK;
}

static bend_status run_item(const bend_embed_settings *s, const bend_embed_plan *plan,
                            bend_fasta *fasta, bend_embedder *emb, bend_store *store,
                            bend_sched *sched, const bend_work_item *it, item_buffers *buf,
                            stage_times *times, bend_error *err)
{
    double t0 = bend_now();
    const int64_t *off = bend_store_offsets(store, (size_t)it->split);
    size_t n = (size_t)it->count, nt = (size_t)it->nucleotides;
    size_t rows = (size_t)(off[it->first + it->count] - off[it->first]);
    bend_status st = grow((void **)&buf->seq, &buf->seq_cap, nt ? nt : 1, 1, err);
    if (!st) st = grow((void **)&buf->seqs, &buf->seqs_cap, n, sizeof *buf->seqs, err);
    if (!st) st = grow((void **)&buf->lens, &buf->lens_cap, n, sizeof *buf->lens, err);
    if (!st) st = grow((void **)&buf->out, &buf->out_cap, rows * (size_t)bend_store_dim(store) + 1,
                       sizeof *buf->out, err);
    char *p = buf->seq;
    for (size_t i = 0; i < n && !st; i++) {
        int64_t r = plan->split_rows[it->split][it->first + (int64_t)i];
        buf->seqs[i] = p;
        buf->lens[i] = plan->end[r] - plan->start[r];
        st = bend_fasta_fetch(fasta, plan->chrom_names[plan->chrom[r]], plan->start[r], plan->end[r],
                              s->read_strand && plan->strand[r] == '-', p, err);
        if (st) bend_error_context(err, "%s data row %lld", s->bed, (long long)r);
        p += buf->lens[i];
    }
    bend_sched_poll(sched);
    double t1 = bend_now();
    if (!st) st = bend_embedder_embed(emb, n, buf->seqs, buf->lens, buf->out, err);
    bend_sched_poll(sched);
    double t2 = bend_now();
    if (!st) st = bend_store_write_samples(store, (size_t)it->split, it->first, it->count, buf->out, err);
    double t3 = bend_now();
    times->fetch += t1 - t0;
    times->embed += t2 - t1;
    times->write += t3 - t2;
    return st;
}

typedef struct {
    bend_sched *sched;
    bend_progress *progress;
} tick_ctx;

static void progress_tick(void *p)
{
    tick_ctx *t = p;
    int64_t samples, nt;
    bend_sched_done(t->sched, &samples, &nt);
    bend_progress_update(t->progress, samples, nt);
}

/* This rank's share of the work: items until the scheduler says stop. */
static bend_status work(const bend_embed_settings *s, const bend_embed_plan *plan,
                        bend_fasta *fasta, bend_embedder *emb, bend_store *store,
                        bend_sched *sched, bend_progress *progress, stage_times *times,
                        bend_error *err)
{
    /* Test hook: die by SIGKILL after this many items, to prove that a killed run resumes. */
    const char *kill_env = getenv("BEND_TEST_KILL_AFTER_ITEMS");
    long kill_after = kill_env ? atol(kill_env) : -1, items_done = 0;
    item_buffers buf = {0};
    bend_work_item it;
    int64_t d_samples = 0, d_nt = 0;
    bend_status st = BEND_OK;
    tick_ctx tick = {sched, progress};
    double t_wait = bend_now();
    while (bend_sched_next(sched, &it, d_samples, d_nt)) {
        times->wait += bend_now() - t_wait;
        st = run_item(s, plan, fasta, emb, store, sched, &it, &buf, times, err);
        if (st) {
            bend_sched_fail(sched);
            break;
        }
        d_samples = it.count;
        d_nt = it.nucleotides;
        if (kill_after >= 0 && ++items_done >= kill_after) raise(SIGKILL);
        progress_tick(&tick);
        t_wait = bend_now();
    }
    free(buf.seq);
    free(buf.seqs);
    free(buf.lens);
    free(buf.out);
    /* After the loop, the last item was already reported by the final next() (or, after a
     * failure, no longer matters), so nothing more is reported here. */
    double t_finish = bend_now();
    bool all_ok = bend_sched_finish(sched, 0, 0, progress_tick, &tick);
    times->wait += bend_now() - t_finish;
    if (!st && !all_ok) {
        err->status = BEND_ERR_MPI;
        err->msg[0] = '\0';
        st = BEND_ERR_MPI;
    }
    return st;
}

/* The model's end-of-run notes (e.g. letters one-hot mapped to N), gathered so that rank 0
 * prints them once, in rank order. Collective. */
static void report_notes(const bend_world *w, bend_embedder *emb)
{
    enum { NOTE = 1024 };
    char note[NOTE];
    bend_embedder_summary(emb, note, sizeof note);
    char *all = w->rank == 0 ? calloc((size_t)w->size, NOTE) : NULL;
    MPI_Gather(note, NOTE, MPI_CHAR, all, NOTE, MPI_CHAR, 0, w->comm);
    for (int r = 0; all && r < w->size; r++) {
        const char *n = all + (size_t)r * NOTE;
        if (!n[0]) continue;
        if (w->size > 1)
            bend_warn("rank %d: %s", r, n);
        else
            bend_warn("%s", n);
    }
    free(all);
}

bend_status bend_embed_run(const bend_config *cfg, const bend_world *w, bend_embedder *model,
                           bend_embed_result *res, bend_error *err)
{
    memset(res, 0, sizeof *res);
    double t0 = bend_now();
    bend_embed_settings s;
    bend_status st = bend_embed_settings_load(cfg, &s, err);
    if (st) return st; /* every rank parsed the same configuration and failed the same way */
    snprintf(res->store_path, sizeof res->store_path, "%s", s.store_path);

    bend_embedder *emb = model;
    bend_fasta *fasta = NULL;
    bend_bed *bed = NULL;
    bend_store *store = NULL;
    bend_sched *sched = NULL;
    bend_embed_plan plan = {0};
    work_list wl = {0};
    bend_device dev;

    st = bend_device_choose(s.device, w->local_rank, &dev, err);
    if (!st && !emb) st = bend_embedder_open(cfg, s.model, &dev, &emb, err);
    if ((st = agree(w, st, err))) goto done;

    if (w->rank == 0) {
        st = bend_fasta_open(s.reference_fasta, &fasta, err);
        if (!st) st = bend_embed_plan_make(&s, fasta, emb, &plan, &bed, err);
        if (!st) st = bend_embed_store_prepare(&s, cfg, &plan, bed, fasta, emb, &res->created, err);
    }
    if ((st = share_from_root(w, st, err))) goto done;
    if ((st = bend_embed_plan_bcast(&plan, w->comm, err))) goto done;
    /* The other ranks open the reference only now: rank 0 has built its index if it was missing. */
    if (w->rank != 0) st = bend_fasta_open(s.reference_fasta, &fasta, err);
    if ((st = agree(w, st, err))) goto done;
    if ((st = agree(w, bend_store_open(s.store_path, w->comm, &store, err), err))) goto done;

    if (w->rank == 0) st = select_work(&s, &plan, store, &wl, err);
    if ((st = share_from_root(w, st, err))) goto close;
    int64_t totals[2] = {wl.samples, wl.nucleotides};
    MPI_Bcast(totals, 2, MPI_INT64_T, 0, w->comm);
    if (w->rank == 0) {
        if (totals[0] == 0)
            bend_info("%s: nothing to do, the selected samples are already embedded", s.store_path);
        else
            bend_info("embedding %lld samples (%lld nt) of %s with %s on %d rank%s into %s",
                      (long long)totals[0], (long long)totals[1], s.task, s.model, w->size,
                      w->size == 1 ? "" : "s", s.store_path);
    }
    if ((st = agree(w, bend_sched_create(w->comm, wl.items, wl.n, &sched, err), err))) goto close;
    bend_progress progress;
    char label[512];
    snprintf(label, sizeof label, "%s/%s", s.task, s.model);
    bend_progress_start(&progress, label, totals[0], totals[1], s.progress_interval,
                        w->rank == 0 && totals[0] > 0);
    stage_times times = {0, 0, 0, 0}, total;
    st = work(&s, &plan, fasta, emb, store, sched, &progress, &times, err);
    MPI_Reduce(&times, &total, 4, MPI_DOUBLE, MPI_SUM, 0, w->comm);
    if (!st && totals[0] > 0)
        bend_info("time by stage, summed over %d rank%s: fetch %.2f s, embed %.2f s, write %.2f s, "
                  "waiting for work %.2f s", w->size, w->size == 1 ? "" : "s", total.fetch,
                  total.embed, total.write, total.wait);
    if (!st) {
        int64_t ds, dn;
        bend_sched_done(sched, &ds, &dn);
        progress.done_samples = ds;
        progress.done_nt = dn;
        bend_progress_end(&progress);
        res->samples = totals[0];
        res->nucleotides = totals[1];
    }
    report_notes(w, emb);
close:;
    bend_error close_err;
    bend_status cst = bend_store_close(store, &close_err);
    if (!st && cst) {
        *err = close_err;
        st = cst;
    }
done:
    bend_sched_free(sched);
    free(wl.items);
    bend_embed_plan_free(&plan);
    bend_bed_free(bed);
    bend_fasta_close(fasta);
    if (emb != model) bend_embedder_close(emb);
    bend_embed_settings_free(&s);
    res->seconds = bend_now() - t0;
    return st;
}
