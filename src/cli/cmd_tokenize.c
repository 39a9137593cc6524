/* placeholder: replaced by the model-loading work */
#include <stdio.h>
#include "cli/commands.h"
int bend_cmd_tokenize(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "bend: tokenize: not built yet\n"); return 1; }
