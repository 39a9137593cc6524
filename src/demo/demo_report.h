/* `bend demo-data` with a human-readable account of what it wrote, for the command line. */
#ifndef BEND_DEMO_DEMO_REPORT_H
#define BEND_DEMO_DEMO_REPORT_H

#include "core/error.h"
#include "core/strbuf.h"
#include "demo/demo_data.h"

/* Like bend_demo_write, and also appends to `summary` (may be NULL) the text that
 * `bend demo-data` prints: files written, samples per task and split, genome size. */
bend_status bend_demo_write_report(const bend_demo_options *opts, bend_strbuf *summary,
                                   bend_error *err);

#endif
