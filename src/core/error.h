/* Errors are values: every fallible function returns a bend_status and, when it fails, fills a
 * bend_error with a message that names the file, the line or record, and what was expected.
 * Nothing in the library prints or exits on its own; the command-line layer reports. */
#ifndef BEND_CORE_ERROR_H
#define BEND_CORE_ERROR_H

#include <stddef.h>

typedef enum bend_status {
    BEND_OK = 0,
    BEND_ERR_IO = 1,          /* a file is missing, unreadable or unwritable */
    BEND_ERR_PARSE = 2,       /* malformed input text: BED, YAML, FASTA, a command-line value */
    BEND_ERR_INVALID = 3,     /* a well-formed value that is out of range or unknown */
    BEND_ERR_NOMEM = 4,
    BEND_ERR_HDF5 = 5,
    BEND_ERR_MPI = 6,
    BEND_ERR_DEVICE = 7,      /* GPU / CUDA */
    BEND_ERR_MISMATCH = 8,    /* an existing store was written by another model or config */
    BEND_ERR_UNSUPPORTED = 9, /* valid request that this build cannot do */
    BEND_ERR_INTERNAL = 10,
} bend_status;

enum { BEND_ERROR_MSG_MAX = 4096 };

typedef struct bend_error {
    bend_status status;
    char msg[BEND_ERROR_MSG_MAX];
} bend_error;

void bend_error_clear(bend_error *err);

/* Sets err (which may be NULL) to status and the formatted message; returns status so callers
 * can write `return bend_fail(err, BEND_ERR_IO, "...")`. */
bend_status bend_fail(bend_error *err, bend_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes "<context>: " to the message already in err; returns err->status. */
bend_status bend_error_context(bend_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *bend_status_name(bend_status status);

/* Process exit code for a status: 0 for OK, 2 for bad input or configuration, 1 otherwise. */
int bend_status_exit_code(bend_status status);

#endif
