#include "core/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* One write per line: with several ranks on one terminal or log, lines must not interleave. */
static void log_line(bool tag_rank, const char *kind, const char *fmt, va_list ap)
{
    char line[8192];
    int n = tag_rank && log_size > 1 ? snprintf(line, sizeof line, "bend[rank %d]: %s", log_rank, kind)
                                     : snprintf(line, sizeof line, "bend: %s", kind);
    if (n < 0 || (size_t)n >= sizeof line) n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len] = '\n';
    fwrite(line, 1, len + 1, stderr);
}

void bend_info(const char *fmt, ...)
{
    if (log_rank != 0 || log_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    log_line(false, "", fmt, ap);
    va_end(ap);
}

void bend_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(true, "warning: ", fmt, ap);
    va_end(ap);
}

static void report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(true, "error: ", fmt, ap);
    va_end(ap);
}

void bend_report_error(const bend_error *err)
{
    report("%s", err && err->msg[0] ? err->msg : "unknown error");
}
