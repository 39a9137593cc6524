/* bend results [DIR]: the table of test metrics of every bend train run under DIR
 * (default ./downstream_tasks), as BEND's scripts/list_metrics.py prints it per task: for each
 * {task}/{embedder}, the second test column of every best_model_metrics.csv below it (one per
 * cross-validation fold), as mean ± population standard deviation. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/path.h"

static const char usage_text[] =
    "usage: bend results [DIR]\n"
    "\n"
    "Prints the test metric of every bend train run under DIR (default ./downstream_tasks, laid\n"
    "out as {task}/{embedder}/...): one line per task and embedder with the number of runs\n"
    "(cross-validation folds) and the mean ± standard deviation, as BEND's list_metrics.py.\n";

typedef struct row {
    char task[256], embedder[256], metric[64];
    double sum, sumsq;
    int n;
} row;

typedef struct table {
    row *rows;
    size_t n, cap;
    int bad;
} table;

/* The second test* column of the file's first data row (BEND's choice: the first is the loss),
 * and the metric's name from the val_{metric} column. */
static int read_metric(const char *path, char *name, size_t name_len, double *value)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *header = NULL, *data = NULL;
    size_t hl = 0, dl = 0;
    int rc = -1;
    snprintf(name, name_len, "?");
    if (getline(&header, &hl, f) > 0 && getline(&data, &dl, f) > 0) {
        header[strcspn(header, "\r\n")] = 0;
        data[strcspn(data, "\r\n")] = 0;
        int seen = 0;
        char *hs = NULL;
        char *h = strtok_r(header, ",", &hs);
        const char *d = data;
        while (h) {
            size_t len = strcspn(d, ",");
            if (!strncmp(h, "val_", 4) && strcmp(h, "val_loss")) snprintf(name, name_len, "%s", h + 4);
            if (!strncmp(h, "test", 4) && ++seen == 2) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s", (int)len, d);
                *value = len ? strtod(buf, NULL) : NAN;
                rc = 0;
                break;
            }
            d += len + (d[len] == ',');
            h = strtok_r(NULL, ",", &hs);
        }
    }
    free(header);
    free(data);
    fclose(f);
    return rc;
}

static void add(table *t, const char *task, const char *embedder, const char *metric, double v)
{
    row *r = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].task, task) && !strcmp(t->rows[i].embedder, embedder)) r = &t->rows[i];
    if (!r) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 16;
            row *p = realloc(t->rows, cap * sizeof *p);
            if (!p) {
                t->bad = 1;
                return;
            }
            t->rows = p;
            t->cap = cap;
        }
        r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->task, sizeof r->task, "%s", task);
        snprintf(r->embedder, sizeof r->embedder, "%s", embedder);
        snprintf(r->metric, sizeof r->metric, "%s", metric);
    }
    r->sum += v;
    r->sumsq += v * v;
    r->n++;
}

/* Every best_model_metrics.csv under dir, credited to task/embedder. */
static void walk(table *t, const char *dir, const char *task, const char *embedder, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "checkpoints")) continue;
        char *p = bend_path_join(dir, e->d_name);
        struct stat sb;
        if (p && stat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode) && depth < 8) {
                walk(t, p, depth == 0 ? e->d_name : task, depth == 1 ? e->d_name : embedder, depth + 1);
            } else if (S_ISREG(sb.st_mode) && depth >= 2 && !strcmp(e->d_name, "best_model_metrics.csv")) {
                char metric[64];
                double v;
                if (read_metric(p, metric, sizeof metric, &v) == 0) add(t, task, embedder, metric, v);
                else fprintf(stderr, "bend results: %s has no test metric column; skipped\n", p);
            }
        }
        free(p);
    }
    closedir(d);
}

static int by_name(const void *a, const void *b)
{
    const row *x = a, *y = b;
    int c = strcmp(x->task, y->task);
    return c ? c : strcmp(x->embedder, y->embedder);
}

int bend_cmd_results(int argc, char **argv)
{
    const char *dir = "downstream_tasks";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (argv[i][0] == '-' || i > 1) {
            fprintf(stderr, "bend results: unexpected argument '%s'\n\n%s", argv[i], usage_text);
            return 2;
        }
        dir = argv[i];
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "bend: error: %s is not a directory of bend train results\n", dir);
        return 2;
    }
    table t = {0};
    walk(&t, dir, "", "", 0);
    if (t.bad) {
        fprintf(stderr, "bend: error: out of memory\n");
        free(t.rows);
        return 1;
    }
    if (!t.n) {
        fprintf(stderr, "bend: error: no best_model_metrics.csv under %s/{task}/{embedder}/\n", dir);
        return 2;
    }
    qsort(t.rows, t.n, sizeof *t.rows, by_name);
    printf("%-26s %-26s %6s  %-8s %s\n", "task", "embedder", "runs", "metric", "test (mean ± std)");
    for (size_t i = 0; i < t.n; i++) {
        const row *r = &t.rows[i];
        double mean = r->sum / r->n, var = r->sumsq / r->n - mean * mean;
        char metric[64];
        size_t k = 0;
        for (; r->metric[k] && k + 1 < sizeof metric; k++)
            metric[k] = (char)(r->metric[k] >= 'a' && r->metric[k] <= 'z' ? r->metric[k] - 32 : r->metric[k]);
        metric[k] = 0;
        printf("%-26s %-26s %6d  %-8s %.4f ± %.4f\n", r->task, r->embedder, r->n, metric, mean,
               var > 0 ? sqrt(var) : 0.0);
    }
    free(t.rows);
    return 0;
}
