/* What `bend embed` reads from the configuration, resolved and checked once. Key names are
 * BEND's (conf/embedding/embed.yaml); see configs/embed.yaml for bend's additions. */
#ifndef BEND_EMBED_SETTINGS_H
#define BEND_EMBED_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "io/config.h"
#include "store/store.h"

typedef struct bend_embed_settings {
    char *task, *model;
    char *data_dir, *bed, *reference_fasta, *hdf5_file; /* hdf5_file NULL when null */
    bool read_strand;
    int64_t label_depth; /* 0 when the task has none */
    int64_t chunk_size;
    int64_t *chunks;     /* NULL = every chunk */
    size_t n_chunks;
    char **splits;       /* NULL = every split of the BED */
    size_t n_splits;
    bend_store_dtype dtype;
    char *device;
    bool overwrite;
    double progress_interval;
    int64_t work_nucleotides;
    char *store_dir, *store_path; /* {data_dir}/{task}/{model}/embeddings.h5 */
} bend_embed_settings;

bend_status bend_embed_settings_load(const bend_config *cfg, bend_embed_settings *s,
                                     bend_error *err);
void bend_embed_settings_free(bend_embed_settings *s);

#endif
