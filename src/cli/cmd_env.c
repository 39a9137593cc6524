/* bend env [device=auto|cpu|cuda]: what this build can do and, per rank, where it would run. */
#include <hdf5.h>
#include <htslib/hts.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "dist/world.h"
#include "gpu/device.h"

int bend_cmd_env(int argc, char **argv)
{
    const char *request = "auto";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bend env [device=auto|cpu|cuda]\n\nPrints the build's features and, for "
                   "every MPI rank, its host, local rank (and where that came from) and device.\n");
            return 0;
        }
        if (!strncmp(argv[i], "device=", 7)) request = argv[i] + 7;
    }
    bend_world w;
    bend_error err;
    if (bend_world_init(&argc, &argv, &w, &err)) {
        bend_report_error(&err);
        return 1;
    }
    bend_log_set_rank(w.rank, w.size);
    bend_log_set_quiet(1); /* the table below says it all */
    if (w.rank == 0) {
        unsigned maj, min, rel;
        H5get_libversion(&maj, &min, &rel);
        char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
        int len;
        MPI_Get_library_version(mpi, &len);
        char *nl = strchr(mpi, '\n');
        if (nl) *nl = '\0';
        char why[256] = "";
        int n = bend_cuda_device_count(why, sizeof why);
        printf("bend %s\n  CUDA kernels: %s\n  visible GPUs on rank 0: %d%s%s%s\n  HDF5 %u.%u.%u (parallel)\n"
               "  htslib %s\n  MPI: %s\n  ranks: %d\n", BEND_VERSION, bend_cuda_built() ? "built" : "not built",
               n, n ? "" : " (", n ? "" : why, n ? "" : ")", maj, min, rel, hts_version(), mpi, w.size);
    }
    bend_device dev;
    bend_status st = bend_device_choose(request, w.local_rank, &dev, &err);
    char line[8192];
    if (st)
        snprintf(line, sizeof line, "  rank %d on %s: local rank %d (%s), device error: %s", w.rank,
                 w.host, w.local_rank, w.local_rank_source, err.msg);
    else
        snprintf(line, sizeof line, "  rank %d on %s: local rank %d (%s), device %s%s", w.rank, w.host,
                 w.local_rank, w.local_rank_source, dev.name,
                 dev.kind == BEND_DEVICE_CUDA ? "" : " (CPU)");
    /* Rank 0 prints every rank's line in rank order. */
    if (w.rank == 0) {
        fflush(stdout);
        printf("%s\n", line);
        for (int r = 1; r < w.size; r++) {
            MPI_Recv(line, sizeof line, MPI_CHAR, r, 7200, w.comm, MPI_STATUS_IGNORE);
            printf("%s\n", line);
        }
        fflush(stdout);
    } else {
        MPI_Send(line, sizeof line, MPI_CHAR, 0, 7200, w.comm);
    }
    int bad = st != BEND_OK, any_bad = 0;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, w.comm);
    bend_world_finalize(&w);
    return any_bad ? 1 : 0;
}
