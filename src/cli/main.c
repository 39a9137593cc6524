/* `bend`: the one command, with subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"embed", bend_cmd_embed, "embed a task's sequences into the shared HDF5 store (MPI-aware)"},
    {"embed-seq", bend_cmd_embed_seq, "embed FASTA / stdin sequences with a language model into an HDF5 file"},
    {"train", bend_cmd_train, "train and test BEND's downstream models on a store (data parallel)"},
    {"results", bend_cmd_results, "table of test metrics of bend train runs (BEND's list_metrics.py)"},
    {"demo-data", bend_cmd_demo_data, "write a synthetic genome and all six BEND tasks' files"},
    {"info", bend_cmd_info, "describe an embedding store: splits, samples, dims, completion"},
    {"env", bend_cmd_env, "show build features, MPI ranks and the GPU each rank would use"},
    {"inspect", bend_cmd_inspect, "describe a model checkpoint directory: family, config, tensors"},
    {"tokenize", bend_cmd_tokenize, "tokenize a sequence with a model's tokenizer: ids, tokens, spans"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: bend <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n`bend <command> --help` describes each one. Version %s.\n", BEND_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bend %s\n", BEND_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bend: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
