#include "cli/sweep_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "io/config.h"

int bend_cli_run_sweeps(int argc, char **argv, const char *usage_text, bend_cli_run_fn run_one)
{
    const char *config_dir = NULL;
    int n_args = 0;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            free(args);
            return 0;
        } else if (!strcmp(argv[i], "--config-dir") && i + 1 < argc) {
            config_dir = argv[++i];
        } else if (!strncmp(argv[i], "--config-dir=", 13)) {
            config_dir = argv[i] + 13;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "bend %s: unknown option '%s'\n\n%s", argv[0], argv[i], usage_text);
            free(args);
            return 2;
        } else {
            args[n_args++] = argv[i];
        }
    }
    if (!config_dir) config_dir = getenv("BEND_CONFIG_DIR");
    bend_world w;
    bend_error err;
    if (bend_world_init(&argc, &argv, &w, &err)) {
        bend_report_error(&err);
        free(args);
        return 1;
    }
    bend_log_set_rank(w.rank, w.size);
    char ***runs = NULL;
    size_t n_runs = 0;
    int rc = 0;
    if (bend_config_expand_sweeps(n_args, args, &runs, &n_runs, &err)) {
        if (w.rank == 0) bend_report_error(&err);
        rc = bend_status_exit_code(err.status);
    }
    for (size_t r = 0; !rc && r < n_runs; r++) {
        if (n_runs > 1) bend_info("sweep run %zu of %zu", r + 1, n_runs);
        rc = run_one(runs[r], config_dir, &w);
    }
    bend_config_free_sweeps(runs, n_runs);
    free(args);
    bend_world_finalize(&w);
    return rc;
}
