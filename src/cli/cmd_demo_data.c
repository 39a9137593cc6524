#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_demo_data(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: demo-data: not built yet\n"); return 1; }
