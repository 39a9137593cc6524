#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_info(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: info: not built yet\n"); return 1; }
