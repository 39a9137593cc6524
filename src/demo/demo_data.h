/* `bend demo-data`: a small synthetic genome and the six BEND tasks' files in BEND's exact
 * layout, with planted signals (motifs that decide labels) so models can learn them. The output
 * directory works as BEND's data_dir: `bend embed task=T model=onehot data_dir=DIR`. */
#ifndef BEND_DEMO_DEMO_DATA_H
#define BEND_DEMO_DEMO_DATA_H

#include <stdint.h>

#include "core/error.h"

typedef struct bend_demo_options {
    const char *out_dir;  /* created if missing */
    double scale;         /* 1.0 = the small default; larger multiplies samples and genome size */
    uint64_t seed;        /* same seed, same bytes */
} bend_demo_options;

bend_status bend_demo_write(const bend_demo_options *opts, bend_error *err);

#endif
