/* The YAML files of configs/, compiled into the binary by cmake/embed_configs.cmake. */
#ifndef BEND_IO_BUILTIN_CONFIGS_H
#define BEND_IO_BUILTIN_CONFIGS_H

typedef struct bend_builtin_file {
    const char *path;  /* relative to configs/, e.g. "tasks/gene_finding.yaml"; NULL ends the list */
    const char *text;
} bend_builtin_file;

extern const bend_builtin_file bend_builtin_configs[];

#endif
