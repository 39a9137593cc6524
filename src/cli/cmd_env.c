#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_env(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: env: not built yet\n"); return 1; }
