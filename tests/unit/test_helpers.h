/* Shared by the cmocka tests: scratch files under $BEND_TEST_TMP. */
#ifndef BEND_TEST_HELPERS_H
#define BEND_TEST_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh directory for one test program (mkdtemp under $BEND_TEST_TMP or /tmp). */
static inline const char *test_scratch_dir(const char *name)
{
    static char dir[4096];
    const char *base = getenv("BEND_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

/* Writes text to dir/name and returns the path (a static buffer per call slot). */
static inline const char *test_write_file(const char *dir, const char *name, const char *text)
{
    static char paths[8][8192];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 8192, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        exit(1);
    }
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* $BEND_TEST_FIXTURES/sub into out (sub may be "" for the directory itself); -1 with a message
 * when the variable is not set (ctest sets it), for use as a cmocka group setup's result. */
static inline int test_fixture_path(const char *sub, char *out, size_t len)
{
    const char *f = getenv("BEND_TEST_FIXTURES");
    if (!f || !*f) {
        fprintf(stderr, "BEND_TEST_FIXTURES is not set\n");
        return -1;
    }
    snprintf(out, len, "%s%s%s", f, *sub ? "/" : "", sub);
    return 0;
}

/* max|a - b| / max|b| over n floats, b the reference (max|a - b| when b is all zero); a NaN on
 * either side gives infinity, so that no comparison can pass by NaN. */
static inline double test_rel_err(const float *a, const float *b, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d)) return INFINITY;
        if (d > num) num = d;
        if (fabs((double)b[i]) > den) den = fabs((double)b[i]);
    }
    return den > 0 ? num / den : num;
}

#endif
