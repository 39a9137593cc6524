#include "core/progress.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bend_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bend_format_rate(double per_second, char *buf, size_t len)
{
    static const char *const units[] = {"nt/s", "knt/s", "Mnt/s", "Gnt/s"};
    int u = 0;
    while (per_second >= 1000.0 && u < 3) {
        per_second /= 1000.0;
        u++;
    }
    snprintf(buf, len, "%.*f %s", per_second < 10 ? 2 : 1, per_second, units[u]);
}

void bend_format_duration(double seconds, char *buf, size_t len)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, len, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

void bend_progress_start(bend_progress *p, const char *label, int64_t total_samples,
                         int64_t total_nt, double interval_seconds, bool enabled)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total_samples = total_samples;
    p->total_nt = total_nt;
    p->out = stderr;
    p->tty = isatty(fileno(stderr));
    p->interval = p->tty ? 0.25 : (interval_seconds > 0 ? interval_seconds : 10);
    p->enabled = enabled;
    p->start = p->last_print = bend_now();
}

static void print_line(bend_progress *p, double now, bool final)
{
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->done_nt / elapsed : 0;
    char r[32], eta[32], took[32];
    bend_format_rate(rate, r, sizeof r);
    double left = rate > 0 ? (double)(p->total_nt - p->done_nt) / rate : NAN;
    bend_format_duration(left, eta, sizeof eta);
    bend_format_duration(elapsed, took, sizeof took);
    double pct = p->total_samples ? 100.0 * (double)p->done_samples / (double)p->total_samples : 100.0;
    fprintf(p->out, "%sbend: %s: %lld/%lld samples (%.1f%%), %s, %s %s%s",
            p->tty ? "\r" : "", p->label, (long long)p->done_samples,
            (long long)p->total_samples, pct, r, final ? "took" : "ETA", final ? took : eta,
            p->tty && !final ? "\033[K" : "\n");
    fflush(p->out);
    p->printed = true;
}

void bend_progress_update(bend_progress *p, int64_t done_samples, int64_t done_nt)
{
    p->done_samples = done_samples;
    p->done_nt = done_nt;
    if (!p->enabled) return;
    double now = bend_now();
    if (now - p->last_print < p->interval) return;
    p->last_print = now;
    print_line(p, now, false);
}

void bend_progress_end(bend_progress *p)
{
    if (!p->enabled) return;
    if (p->tty && p->printed) fputs("\r\033[K", p->out);
    print_line(p, bend_now(), true);
}
