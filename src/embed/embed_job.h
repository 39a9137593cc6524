/* `bend embed` as a library call: the whole run for one resolved configuration, on every rank of
 * world (collective). */
#ifndef BEND_EMBED_EMBED_JOB_H
#define BEND_EMBED_EMBED_JOB_H

#include <stdint.h>

#include "core/error.h"
#include "dist/world.h"
#include "io/config.h"
#include "models/embedder.h"

typedef struct bend_embed_result {
    char store_path[4096];
    int64_t samples, nucleotides; /* embedded by this run, all ranks */
    double seconds;
    bool created;                 /* the store was made by this run */
} bend_embed_result;

/* Runs the job. `model` may be NULL (the configured model is opened on each rank) or an embedder
 * to use instead (tests, library users); the caller keeps ownership. On failure every rank
 * returns the error; err->msg is empty on ranks that only stopped because another one failed. */
bend_status bend_embed_run(const bend_config *cfg, const bend_world *world, bend_embedder *model,
                           bend_embed_result *result, bend_error *err);

#endif
