/* What the benchmark programs share: wall and CPU clocks, a median, reading a file of known
 * size (inputs the Python side wrote), random inputs, timing one op, failing on an error. Fatal
 * errors name the program (bench_name). */
#ifndef BEND_BENCH_COMMON_H
#define BEND_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"

static const char *bench_name = "bench";

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double cpu_s(void) /* this process, all threads */
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void *read_all(const char *path, size_t want)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", bench_name, path);
        exit(1);
    }
    void *p = malloc(want ? want : 1);
    size_t got = p ? fread(p, 1, want, f) : 0;
    int extra = fgetc(f);
    fclose(f);
    if (got != want || extra != EOF) {
        fprintf(stderr, "%s: %s does not hold exactly %zu bytes\n", bench_name, path, want);
        exit(1);
    }
    return p;
}

static inline void check(bend_status st, const bend_error *err)
{
    if (st) {
        fprintf(stderr, "%s: %s\n", bench_name, err->msg);
        exit(1);
    }
}

/* n uniform values in [-scale/2, scale/2) from a 64-bit LCG: the same on every run. */
static inline void rand_fill(float *f, int64_t n, float scale, uint64_t *state)
{
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        f[i] = scale * ((float)(*state >> 40) / (float)(1 << 24) - 0.5f);
    }
}

/* Times one op REPS times (after one untimed call) and prints its median; the caller declares
 * `int reps`, `double times[>= reps]` and `double total`. */
#define TIME_OP(label, flops, stmt)                                                                \
    do {                                                                                           \
        stmt;                                                                                      \
        for (int r_ = 0; r_ < reps; r_++) {                                                        \
            double s_ = now_s();                                                                   \
            stmt;                                                                                  \
            times[r_] = now_s() - s_;                                                              \
        }                                                                                          \
        double m_ = median(times, reps);                                                           \
        total += m_;                                                                               \
        printf("op %-26s %9.4f s", label, m_);                                                     \
        if ((flops) > 0) printf("  %7.1f GFLOP/s", (flops) / m_ / 1e9);                            \
        printf("\n");                                                                              \
    } while (0)

#endif
