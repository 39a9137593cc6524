#include "dist/scheduler.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_TO_ROOT = 7101, TAG_FROM_ROOT = 7102 };
enum { MSG_REQUEST = 0, MSG_FINAL = 1, MSG_ERROR = 2 };

struct bend_sched {
    MPI_Comm comm;
    int rank, size;
    /* rank 0 */
    bend_work_item *items;
    size_t n_items, next_item;
    int finished_ranks; /* other ranks that sent FINAL or ERROR */
    bool aborting;
    int64_t done_samples, done_nt;
    /* other ranks */
    MPI_Request pending; /* the reply to this rank's outstanding request */
    int64_t reply[5];
    bool finished;       /* sent FINAL or ERROR */
    bool failed;         /* this rank failed */
};

static void send_to_root(bend_sched *s, int64_t kind, int64_t samples, int64_t nt)
{
    int64_t msg[3] = {kind, samples, nt};
    MPI_Send(msg, 3, MPI_INT64_T, 0, TAG_TO_ROOT, s->comm);
}

static void post_request(bend_sched *s, int64_t samples, int64_t nt)
{
    send_to_root(s, MSG_REQUEST, samples, nt);
    MPI_Irecv(s->reply, 5, MPI_INT64_T, 0, TAG_FROM_ROOT, s->comm, &s->pending);
}

bend_status bend_sched_create(MPI_Comm comm, const bend_work_item *items, size_t n_items,
                              bend_sched **out, bend_error *err)
{
    *out = NULL;
    bend_sched *s = calloc(1, sizeof *s);
    if (!s) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    s->comm = comm;
    MPI_Comm_rank(comm, &s->rank);
    MPI_Comm_size(comm, &s->size);
    s->pending = MPI_REQUEST_NULL;
    if (s->rank == 0 && n_items) {
        s->items = malloc(n_items * sizeof *s->items);
        if (!s->items) {
            free(s);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
        memcpy(s->items, items, n_items * sizeof *s->items);
        s->n_items = n_items;
    }
    if (s->rank != 0) post_request(s, 0, 0); /* the first request, in flight from the start */
    *out = s;
    return BEND_OK;
}

void bend_sched_free(bend_sched *s)
{
    if (!s) return;
    free(s->items);
    free(s);
}

static bool root_pop(bend_sched *s, bend_work_item *item)
{
    if (s->aborting || s->next_item >= s->n_items) return false;
    *item = s->items[s->next_item++];
    return true;
}

/* Rank 0: handles one message from `source`. */
static void root_handle(bend_sched *s, const int64_t *msg, int source)
{
    s->done_samples += msg[1];
    s->done_nt += msg[2];
    if (msg[0] == MSG_REQUEST) {
        bend_work_item item;
        int64_t reply[5] = {0, 0, 0, 0, 0};
        if (root_pop(s, &item)) {
            reply[0] = 1;
            reply[1] = item.split;
            reply[2] = item.first;
            reply[3] = item.count;
            reply[4] = item.nucleotides;
        }
        MPI_Send(reply, 5, MPI_INT64_T, source, TAG_FROM_ROOT, s->comm);
        return;
    }
    if (msg[0] == MSG_ERROR) s->aborting = true;
    s->finished_ranks++;
}

void bend_sched_poll(bend_sched *s)
{
    if (s->rank != 0 || s->size == 1) return;
    for (;;) {
        int flag = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_TO_ROOT, s->comm, &flag, &status);
        if (!flag) return;
        int64_t msg[3];
        MPI_Recv(msg, 3, MPI_INT64_T, status.MPI_SOURCE, TAG_TO_ROOT, s->comm, MPI_STATUS_IGNORE);
        root_handle(s, msg, status.MPI_SOURCE);
    }
}

bool bend_sched_next(bend_sched *s, bend_work_item *item, int64_t done_samples, int64_t done_nt)
{
    if (s->rank == 0) {
        s->done_samples += done_samples;
        s->done_nt += done_nt;
        bend_sched_poll(s); /* serve the others before taking more for ourselves */
        return root_pop(s, item);
    }
    if (s->finished) return false;
    MPI_Wait(&s->pending, MPI_STATUS_IGNORE);
    if (!s->reply[0]) { /* no more work: report what is done and stop asking */
        send_to_root(s, MSG_FINAL, done_samples, done_nt);
        s->finished = true;
        return false;
    }
    *item = (bend_work_item){s->reply[1], s->reply[2], s->reply[3], s->reply[4]};
    post_request(s, done_samples, done_nt); /* the next request travels while we work */
    return true;
}

void bend_sched_fail(bend_sched *s)
{
    s->failed = true;
    if (s->rank == 0) {
        s->aborting = true;
        return;
    }
    if (s->finished) return;
    /* Collect the reply to the outstanding request (an item we will not do, or a stop), then
     * tell rank 0. The item stays undone in the store; a rerun does it. */
    MPI_Wait(&s->pending, MPI_STATUS_IGNORE);
    send_to_root(s, MSG_ERROR, 0, 0);
    s->finished = true;
}

static void sleep_briefly(void)
{
    struct timespec ts = {0, 1000000}; /* 1 ms */
    nanosleep(&ts, NULL);
}

bool bend_sched_finish(bend_sched *s, int64_t done_samples, int64_t done_nt,
                       void (*tick)(void *ctx), void *ctx)
{
    if (s->rank == 0) {
        s->done_samples += done_samples;
        s->done_nt += done_nt;
        while (s->finished_ranks < s->size - 1) {
            bend_sched_poll(s);
            if (tick) tick(ctx);
            if (s->finished_ranks < s->size - 1) sleep_briefly();
        }
    } else if (!s->finished) {
        /* Normally next() has already received the stop; drain it if not. */
        MPI_Wait(&s->pending, MPI_STATUS_IGNORE);
        send_to_root(s, s->failed ? MSG_ERROR : MSG_FINAL, done_samples, done_nt);
        s->finished = true;
    }
    int bad = s->failed || (s->rank == 0 && s->aborting), any_bad = 0;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, s->comm);
    return !any_bad;
}

void bend_sched_done(const bend_sched *s, int64_t *samples, int64_t *nucleotides)
{
    *samples = s->done_samples;
    *nucleotides = s->done_nt;
}
