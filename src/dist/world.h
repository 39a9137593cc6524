/* MPI set-up for every way bend is launched: alone (MPI's singleton mode), `mpirun -np N`, or
 * `srun --mpi=pmix`. The node-local rank picks the GPU. */
#ifndef BEND_DIST_WORLD_H
#define BEND_DIST_WORLD_H

#include <mpi.h>
#include <stdbool.h>

#include "core/error.h"

typedef struct bend_world {
    MPI_Comm comm;
    int rank, size;
    int local_rank, local_size;
    const char *local_rank_source; /* which variable or method gave local_rank */
    char host[256];
} bend_world;

/* Initialises MPI (if nobody has) and fills w. */
bend_status bend_world_init(int *argc, char ***argv, bend_world *w, bend_error *err);
void bend_world_finalize(bend_world *w);

/* The node-local rank from what the launcher exported, in this order: OMPI_COMM_WORLD_LOCAL_RANK
 * (Open MPI's mpirun and direct launch), MPI_LOCALRANKID (MPICH, Intel MPI), SLURM_LOCALID (only
 * when the Slurm step has exactly world_size tasks, so that a batch script's own SLURM_LOCALID
 * does not leak into ranks that mpirun started). -1 when none applies; then the caller uses the
 * rank within a shared-memory communicator. getenv_fn is getenv, or a stub in tests. */
int bend_local_rank_from_env(const char *(*getenv_fn)(const char *), int world_size,
                             const char **source);

#endif
