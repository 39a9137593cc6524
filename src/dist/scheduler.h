/* Dynamic work distribution: rank 0 holds the queue of work items and hands them out one at a
 * time, so a slow rank simply takes fewer. Rank 0 works too: it serves requests between pieces
 * of its own work (bend_sched_poll), and every other rank keeps one request in flight while it
 * works, so a reply is usually waiting when it finishes an item. Failures are messages, not
 * aborts: a rank that fails tells rank 0, rank 0 stops handing out work, everyone reaches
 * bend_sched_finish, and every rank learns that the run failed. */
#ifndef BEND_DIST_SCHEDULER_H
#define BEND_DIST_SCHEDULER_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_work_item {
    int64_t split;
    int64_t first;       /* first sample */
    int64_t count;       /* samples */
    int64_t nucleotides; /* for progress */
} bend_work_item;

typedef struct bend_sched bend_sched;

/* Collective. Rank 0 passes the queue (copied); other ranks pass NULL, 0. */
bend_status bend_sched_create(MPI_Comm comm, const bend_work_item *items, size_t n_items,
                              bend_sched **out, bend_error *err);
void bend_sched_free(bend_sched *s);

/* This rank's next item; false when there is none left or the run is stopping. done_samples and
 * done_nt report what this rank finished since its previous call (for progress). */
bool bend_sched_next(bend_sched *s, bend_work_item *item, int64_t done_samples, int64_t done_nt);

/* Rank 0: answers pending requests without blocking. A no-op elsewhere. */
void bend_sched_poll(bend_sched *s);

/* This rank failed: no new work is handed out to anyone. */
void bend_sched_fail(bend_sched *s);

/* Collective end. Rank 0 serves until every rank has finished, calling tick (may be NULL)
 * while it waits. Returns true when every rank succeeded. */
bool bend_sched_finish(bend_sched *s, int64_t done_samples, int64_t done_nt,
                       void (*tick)(void *ctx), void *ctx);

/* Rank 0: work reported done so far by all ranks. */
void bend_sched_done(const bend_sched *s, int64_t *samples, int64_t *nucleotides);

#endif
