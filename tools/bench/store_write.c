/* Store write bandwidth against a plain file: every rank writes the same bytes, in the same
 * work-item pieces, once through bend_store_write_samples into a store and once with pwrite()
 * into a plain file at the same offsets. Both timings end with the data on disk (fdatasync), and
 * the order alternates between repetitions so that neither side pays for the other's dirty pages.
 * Run under mpirun for several ranks.
 *   bench_store_write DIR [GiB=2] [dim=256] [rows_per_item=4096] [repetitions=3] */
#include <fcntl.h>
#include <stdbool.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/progress.h"
#include "store/store.h"

static void check(bend_status st, const bend_error *err)
{
    if (st) {
        fprintf(stderr, "bench_store_write: %s\n", err->msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static void sync_file(const char *path, int rank)
{
    if (rank != 0) return; /* one fdatasync flushes every rank's pages of the file */
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        fdatasync(fd);
        close(fd);
    }
}

/* A fresh store (rank 0): one split, one sample per item of per_item rows. */
static void create_store(const char *store_path, int64_t n_items, int64_t per_item, int64_t dim, int rank)
{
    bend_error err;
    if (rank == 0) {
        unlink(store_path);
        int64_t *rows = malloc((size_t)n_items * sizeof *rows), *bed = malloc((size_t)n_items * sizeof *bed);
        for (int64_t i = 0; i < n_items; i++) rows[i] = per_item, bed[i] = i;
        bend_store_split_spec sp = {.name = "train", .n_samples = n_items, .rows = rows, .bed_row = bed};
        bend_store_spec spec = {.task = "bench", .model = "bench", .dim = dim, .upsampled = true,
                                .identity_yaml = "bench\n", .config_yaml = "bench\n", .n_splits = 1,
                                .splits = &sp};
        bend_store_builder *b;
        bool lost;
        check(bend_store_build_begin(store_path, &spec, &b, &err), &err);
        check(bend_store_build_commit(b, true, &lost, &err), &err);
        free(rows);
        free(bed);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Seconds to write every item into the store and have it on disk. */
static double time_store(const char *path, int64_t n_items, const float *buf, int rank, int size)
{
    bend_error err;
    bend_store *store;
    check(bend_store_open(path, MPI_COMM_WORLD, &store, &err), &err);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = bend_now();
    for (int64_t i = rank; i < n_items; i += size)
        check(bend_store_write_samples(store, 0, i, 1, buf, &err), &err);
    check(bend_store_close(store, &err), &err);
    MPI_Barrier(MPI_COMM_WORLD);
    sync_file(path, rank);
    MPI_Barrier(MPI_COMM_WORLD);
    return bend_now() - t0;
}

/* The same bytes at the same offsets with pwrite() into a fresh plain file. */
static double time_plain(const char *path, int64_t n_items, const float *buf, size_t item_bytes,
                         int rank, int size)
{
    if (rank == 0) unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = bend_now();
    for (int64_t i = rank; i < n_items; i += size)
        if (pwrite(fd, buf, item_bytes, (off_t)((size_t)i * item_bytes)) != (ssize_t)item_bytes) {
            perror("pwrite");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    close(fd);
    MPI_Barrier(MPI_COMM_WORLD);
    sync_file(path, rank);
    MPI_Barrier(MPI_COMM_WORLD);
    return bend_now() - t0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        if (!rank) fprintf(stderr, "usage: bench_store_write DIR [GiB] [dim] [rows_per_item]\n");
        MPI_Finalize();
        return 2;
    }
    double gib = argc > 2 ? atof(argv[2]) : 2.0;
    int64_t dim = argc > 3 ? atoll(argv[3]) : 256, per_item = argc > 4 ? atoll(argv[4]) : 4096;
    int64_t rows_total = (int64_t)(gib * (1 << 30) / (4.0 * (double)dim));
    int64_t n_items = rows_total / per_item;
    rows_total = n_items * per_item;
    char store_path[4096], plain_path[4096];
    snprintf(store_path, sizeof store_path, "%s/bench_store.h5", argv[1]);
    snprintf(plain_path, sizeof plain_path, "%s/bench_plain.bin", argv[1]);
    bend_error err;
    MPI_Barrier(MPI_COMM_WORLD);
    size_t item_bytes = (size_t)(per_item * dim) * sizeof(float);
    float *buf = malloc(item_bytes);
    for (size_t i = 0; i < item_bytes / sizeof(float); i++) buf[i] = (float)(i % 977) * 0.5f;

    int reps = argc > 5 ? atoi(argv[5]) : 3;
    double best_store = 1e30, best_plain = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        for (int k = 0; k < 2; k++) {
            bool store_turn = (k == 0) == (rep % 2 == 0);
            if (store_turn) create_store(store_path, n_items, per_item, dim, rank);
            double t = store_turn ? time_store(store_path, n_items, buf, rank, size)
                                  : time_plain(plain_path, n_items, buf, item_bytes, rank, size);
            if (store_turn && t < best_store) best_store = t;
            if (!store_turn && t < best_plain) best_plain = t;
        }
    }
    double t_store = best_store, t_plain = best_plain;

    if (rank == 0) {
        double bytes = (double)rows_total * (double)dim * 4.0;
        printf("ranks %d, %.2f GiB in %lld items of %lld rows x %lld floats\n", size, bytes / (1 << 30),
               (long long)n_items, (long long)per_item, (long long)dim);
        printf("  best of %d, each ending with fdatasync:\n", reps);
        printf("  store (parallel HDF5, independent writes): %8.1f MB/s  (%.2f s)\n", bytes / t_store / 1e6, t_store);
        printf("  plain file (pwrite):                       %8.1f MB/s  (%.2f s)\n", bytes / t_plain / 1e6, t_plain);
        printf("  store bandwidth / plain-file bandwidth: %.2f\n", t_plain / t_store);
    }
    if (rank == 0) {
        unlink(plain_path);
        unlink(store_path);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
