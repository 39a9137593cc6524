/* What `bend embed` and `bend train` share on the command line: --config-dir, key=value
 * overrides expanded into Hydra-style sweeps, MPI start-up, and one run per sweep point. */
#ifndef BEND_CLI_SWEEP_RUNNER_H
#define BEND_CLI_SWEEP_RUNNER_H

#include "dist/world.h"

/* One run with its overrides (NULL-terminated); returns the exit code. */
typedef int (*bend_cli_run_fn)(char **overrides, const char *config_dir, const bend_world *w);

/* Parses argv (argv[0] = the command's name), prints usage_text for --help, and runs run_one
 * for every sweep point, stopping at the first failure. Returns the exit code. */
int bend_cli_run_sweeps(int argc, char **argv, const char *usage_text, bend_cli_run_fn run_one);

#endif
