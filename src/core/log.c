#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_rank = 0;
static int log_size = 1;
static int log_quiet = 0;

void bend_log_set_rank(int rank, int size)
{
    log_rank = rank;
    log_size = size;
}

int bend_log_rank(void) { return log_rank; }

void bend_log_set_quiet(int quiet) { log_quiet = quiet; }

static void log_prefix(const char *kind)
{
    if (log_size > 1)
        fprintf(stderr, "bend[rank %d]: %s", log_rank, kind);
    else
        fprintf(stderr, "bend: %s", kind);
}

void bend_info(const char *fmt, ...)
{
    if (log_rank != 0 || log_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bend: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void bend_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_prefix("warning: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void bend_report_error(const bend_error *err)
{
    log_prefix("error: ");
    fprintf(stderr, "%s\n", err && err->msg[0] ? err->msg : "unknown error");
}
