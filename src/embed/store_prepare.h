/* Rank 0 before any embedding: the store exists and was made for this run's task, model and
 * inputs. A new store is created whole (labels included); an existing one is checked against
 * this run's identity and refused on any difference unless overwrite=true. */
#ifndef BEND_EMBED_STORE_PREPARE_H
#define BEND_EMBED_STORE_PREPARE_H

#include "core/error.h"
#include "embed/plan.h"
#include "embed/settings.h"
#include "io/bed.h"
#include "io/config.h"
#include "io/fasta.h"
#include "models/embedder.h"

/* *created tells whether this call made a new store. */
bend_status bend_embed_store_prepare(const bend_embed_settings *s, const bend_config *cfg,
                                     const bend_embed_plan *plan, const bend_bed *bed,
                                     const bend_fasta *fasta, bend_embedder *emb, bool *created,
                                     bend_error *err);

/* The identity text: what decides the store's contents (task, model block, dtype, a digest of
 * the BED, the reference's sequence names and lengths, the label source). Paths are left out on
 * purpose so that moving the data does not invalidate a store. Caller frees. */
bend_status bend_embed_identity(const bend_embed_settings *s, const bend_config *cfg,
                                const bend_fasta *fasta, bend_embedder *emb, char **out,
                                bend_error *err);

#endif
