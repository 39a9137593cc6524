/* The generic language-model embedder: what BEND's DNABertEmbedder, NucleotideTransformerEmbedder,
 * DNABert2Embedder, GENALMEmbedder, GROVEREmbedder, HyenaDNAEmbedder, AWDLSTMEmbedder and
 * ConvNetEmbedder do, as one pipeline over a checkpoint directory:
 *   tokenize -> BEND's windows (models/windows.h) -> bend_lm forward (models/lm.h) -> the plan's
 *   row map (special tokens dropped, tokens repeated per nucleotide) -> one block per sequence.
 * embed() plans every sequence of a call first and runs all their windows through as few forward
 * calls as the token budget allows (windows are independent, so a long sequence's windows may be
 * split over several calls too). Sequences are tokenized as given: callers upper-case them as
 * BEND's Fasta.fetch does (bend_fasta_fetch, bend embed-seq). */
#ifndef BEND_MODELS_LM_EMBEDDER_H
#define BEND_MODELS_LM_EMBEDDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "gpu/device.h"
#include "io/config.h"
#include "models/embedder.h"
#include "models/lm.h"
#include "models/windows.h"
#include "tokenize/tokenizer.h"

typedef struct bend_lm_embedder_options {
    const char *family;        /* a configs/models family name; NULL: detect from config.json */
    int kmer;                  /* DNABERT's k; 0: from config.json's vocabulary size (else 6) */
    int upsample;              /* -1: BEND's default for the family; 0 / 1 */
    int remove_special_tokens; /* -1: BEND's default (true); 0 / 1 */
    int layer;                 /* BEND_LM_LAYER_BEND or a hidden-state index (0 = embeddings) */
    int64_t expect_dim;        /* 0: no check; else the hidden size must be this (embedding_dim) */
    const char *dim_source;    /* what names expect_dim in messages, e.g. "config key 'x.embedding_dim'" */
    int64_t max_tokens;        /* 0: BEND's window size for the family (tests use small ones) */
    int64_t piece_nucleotides; /* 0: BEND's piece length for the family */
    int64_t batch_tokens;      /* most tokens one forward call gets; 0: BEND_LM_BATCH_TOKENS */
    bool keep_skipped;         /* count_rows reports the rows BEND's embed() returns even for a
                                  sample BEND's pipeline would not store (the reason is still
                                  written to skip); for bend embed-seq, which stores them */
} bend_lm_embedder_options;

enum { BEND_LM_BATCH_TOKENS = 65536 };

void bend_lm_embedder_options_init(bend_lm_embedder_options *o);

/* Opens a checkpoint directory: config.json (typed config), weights (checked against what the
 * family's forward reads), tokenizer files, BEND's window rules for the family and its variant
 * (DNABERT k, NT v2, GENA BigBird, HyenaDNA max length). gpn / caduceus / onehot: unsupported. */
bend_status bend_lm_embedder_open_dir(const char *model_dir, const bend_lm_embedder_options *o,
                                      const bend_device *dev, bend_embedder **out, bend_error *err);

/* The registry's opener (models/embedder.c): the model block `model` of cfg, with its keys
 * model_path (or model_name), kmer, upsample_embeddings, remove_special_tokens, layer,
 * embedding_dim and batch_tokens. */
bend_status bend_lm_embedder_open(const bend_config *cfg, const char *model, const bend_device *dev,
                                  bend_embedder **out, bend_error *err);

/* An embedder around parts the caller opened (tests use a fake lm). Takes ownership of lm and
 * tok (closed with the embedder, also on failure); rules are copied. */
bend_status bend_lm_embedder_wrap(const char *family, bend_lm *lm, bend_tokenizer *tok,
                                  const bend_window_rules *rules, int layer, int64_t batch_tokens,
                                  bool keep_skipped, bend_embedder **out, bend_error *err);

/* BEND's window rules for a family and its checkpoint's variant, with the option overrides. */
bend_status bend_lm_embedder_rules(const bend_model_config *cfg, const char *model_dir,
                                   const bend_lm_embedder_options *o, bend_window_rules *out,
                                   bend_error *err);

#endif
