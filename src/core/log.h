/* Messages to stderr, aware of the MPI rank: information comes from rank 0 only, warnings and
 * errors from whichever rank has them (tagged with the rank when there are several). */
#ifndef BEND_CORE_LOG_H
#define BEND_CORE_LOG_H

#include "core/error.h"

void bend_log_set_rank(int rank, int size);
int bend_log_rank(void);
void bend_log_set_quiet(int quiet);

void bend_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bend_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bend_report_error(const bend_error *err);

#endif
