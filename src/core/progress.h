/* Progress of a long job on stderr: samples done, nucleotides per second, time left. On a
 * terminal one line is rewritten a few times a second; otherwise (a Slurm log) one line is
 * printed per interval so logs stay short. Only rank 0 reports. */
#ifndef BEND_CORE_PROGRESS_H
#define BEND_CORE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct bend_progress {
    char label[256];
    int64_t total_samples, total_nt;
    int64_t done_samples, done_nt;
    double start, last_print, interval;
    bool tty, enabled, printed;
    FILE *out;
} bend_progress;

double bend_now(void); /* monotonic seconds */

void bend_progress_start(bend_progress *p, const char *label, int64_t total_samples,
                         int64_t total_nt, double interval_seconds, bool enabled);
/* Sets the totals done so far and prints if a line is due. */
void bend_progress_update(bend_progress *p, int64_t done_samples, int64_t done_nt);
/* The final line. */
void bend_progress_end(bend_progress *p);

/* "1.23 Mnt/s"-style and "1:02:03" formatting, shared with summaries. */
void bend_format_rate(double per_second, char *buf, size_t len);
void bend_format_duration(double seconds, char *buf, size_t len);

#endif
