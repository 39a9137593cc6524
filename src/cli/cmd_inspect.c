/* placeholder: replaced by the model-loading work */
#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: inspect: not built yet\n"); return 1; }
