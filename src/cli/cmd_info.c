/* bend info STORE.h5 [--chunk-size N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "store/store.h"

int bend_cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    long long chunk_size = 50000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bend info STORE.h5 [--chunk-size N]\n\nDescribes an embedding store: "
                   "task, model, dimensions, and per split the samples, how many are embedded, rows,\n"
                   "complete chunks (of N samples, BEND's default 50000) and labels.\n");
            return 0;
        } else if (!strcmp(argv[i], "--chunk-size") && i + 1 < argc) {
            chunk_size = atoll(argv[++i]);
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "bend info: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || chunk_size < 1) {
        fprintf(stderr, "usage: bend info STORE.h5 [--chunk-size N]\n");
        return 2;
    }
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_error err;
    bend_status st = bend_store_describe(path, chunk_size, &sb, &err);
    if (st) {
        bend_report_error(&err);
    } else {
        fputs(bend_strbuf_cstr(&sb), stdout);
    }
    bend_strbuf_free(&sb);
    return bend_status_exit_code(st);
}
