/* `bend demo-data --out DIR [--scale X] [--seed N]`: a synthetic genome and all six BEND tasks'
 * files with planted signals; DIR then works as BEND's data_dir. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "demo/demo_report.h"

static void usage(FILE *out)
{
    fputs("usage: bend demo-data --out DIR [--scale X] [--seed N]\n\n"
          "Writes a small synthetic genome and the files of all six BEND tasks, in BEND's data\n"
          "directory layout, with planted motifs that decide the labels (see DIR/README.txt).\n\n"
          "  --out DIR    output directory (created if missing; existing files are replaced)\n"
          "  --scale X    multiplies sample counts and genome size (default 1, at most 100)\n"
          "  --seed N     random seed, a non-negative integer (default 1); same seed and scale\n"
          "               give byte-identical files\n"
          "  --help       this text\n",
          out);
}

/* The value of option `name` given as "--name VALUE" or "--name=VALUE"; NULL if argv[*i] is not it.
 * *missing is set when the option is there without a value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0) return NULL;
    if (arg[n] == '=') return arg + n + 1;
    if (arg[n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static bend_status parse_args(int argc, char **argv, bend_demo_options *opts, int *help,
                              bend_error *err)
{
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            *help = 1;
            return BEND_OK;
        } else if ((v = option_value(argc, argv, &i, "--out", &missing))) {
            opts->out_dir = v;
        } else if ((v = option_value(argc, argv, &i, "--scale", &missing))) {
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(x) || x <= 0)
                return bend_fail(err, BEND_ERR_PARSE,
                                 "demo-data: --scale must be a positive number, got '%s'", v);
            opts->scale = x;
        } else if ((v = option_value(argc, argv, &i, "--seed", &missing))) {
            char *end;
            errno = 0;
            unsigned long long x = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-' || v[0] == '+')
                return bend_fail(err, BEND_ERR_PARSE,
                                 "demo-data: --seed must be a non-negative integer, got '%s'", v);
            opts->seed = (uint64_t)x;
        } else if (missing) {
            return bend_fail(err, BEND_ERR_PARSE, "demo-data: %s needs a value", argv[i]);
        } else {
            return bend_fail(err, BEND_ERR_PARSE,
                             "demo-data: unknown argument '%s' (try bend demo-data --help)", argv[i]);
        }
    }
    if (!opts->out_dir || !opts->out_dir[0])
        return bend_fail(err, BEND_ERR_PARSE, "demo-data: --out DIR is required");
    return BEND_OK;
}

int bend_cmd_demo_data(int argc, char **argv)
{
    bend_demo_options opts = {.out_dir = NULL, .scale = 1.0, .seed = 1};
    bend_error err;
    bend_error_clear(&err);
    int help = 0;
    bend_status st = parse_args(argc, argv, &opts, &help, &err);
    if (st == BEND_OK && help) {
        usage(stdout);
        return 0;
    }
    bend_strbuf summary = BEND_STRBUF_INIT;
    if (st == BEND_OK) st = bend_demo_write_report(&opts, &summary, &err);
    if (st != BEND_OK) {
        bend_report_error(&err);
        bend_strbuf_free(&summary);
        return bend_status_exit_code(st);
    }
    fputs(bend_strbuf_cstr(&summary), stdout);
    bend_strbuf_free(&summary);
    return 0;
}
