#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_embed(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: embed: not built yet\n"); return 1; }
