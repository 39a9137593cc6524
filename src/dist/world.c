#include "dist/world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool parse_nonneg(const char *s, int *out)
{
    if (!s || !*s) return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 30) return false;
    *out = (int)v;
    return true;
}

int bend_local_rank_from_env(const char *(*getenv_fn)(const char *), int world_size,
                             const char **source)
{
    int v;
    if (parse_nonneg(getenv_fn("OMPI_COMM_WORLD_LOCAL_RANK"), &v)) {
        *source = "OMPI_COMM_WORLD_LOCAL_RANK";
        return v;
    }
    if (parse_nonneg(getenv_fn("MPI_LOCALRANKID"), &v)) {
        *source = "MPI_LOCALRANKID";
        return v;
    }
    int step_tasks;
    if (parse_nonneg(getenv_fn("SLURM_LOCALID"), &v) &&
        parse_nonneg(getenv_fn("SLURM_STEP_NUM_TASKS"), &step_tasks) && step_tasks == world_size) {
        *source = "SLURM_LOCALID";
        return v;
    }
    *source = NULL;
    return -1;
}

static const char *plain_getenv(const char *name) { return getenv(name); }

bend_status bend_world_init(int *argc, char ***argv, bend_world *w, bend_error *err)
{
    memset(w, 0, sizeof *w);
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        int provided;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return bend_fail(err, BEND_ERR_MPI, "MPI_Init failed");
    }
    w->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(w->comm, &w->rank);
    MPI_Comm_size(w->comm, &w->size);
    gethostname(w->host, sizeof w->host - 1);
    /* The shared-memory split is collective, so every rank computes it; the launcher's own
     * variable wins when there is one, as it is what the user's binding scripts also see. */
    MPI_Comm node;
    MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &node);
    int shm_rank, shm_size;
    MPI_Comm_rank(node, &shm_rank);
    MPI_Comm_size(node, &shm_size);
    MPI_Comm_free(&node);
    w->local_size = shm_size;
    const char *source = NULL;
    int env_rank = bend_local_rank_from_env(plain_getenv, w->size, &source);
    if (env_rank >= 0) {
        w->local_rank = env_rank;
        w->local_rank_source = source;
    } else {
        w->local_rank = shm_rank;
        w->local_rank_source = "MPI shared-memory communicator";
    }
    return BEND_OK;
}

void bend_world_finalize(bend_world *w)
{
    (void)w;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}
