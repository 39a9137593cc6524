/* The one transformer encoder behind every BERT-like and ESM family: its weights in one
 * layer struct (whatever the checkpoint calls them) and the switches the typed config sets. */
#ifndef BEND_MODELS_TRANSFORMER_ENCODER_INTERNAL_H
#define BEND_MODELS_TRANSFORMER_ENCODER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "models/lm.h"
#include "ops/ops.h"

typedef struct enc_layer {
    /* pre-LN: the norm before attention (ESM attention.LayerNorm, GENA pre_attention_ln);
     * post-LN: the norm after the attention residual (attention.output.LayerNorm) */
    float *ln1_w, *ln1_b;
    float *wqkv, *bqkv; /* [3A, H]: query, key, value rows stacked (MosaicBERT's Wqkv as is) */
    float *wo, *bo;     /* [H, A], [H] */
    /* pre-LN: the norm before the FFN; post-LN: after the FFN residual */
    float *ln2_w, *ln2_b;
    float *w1, *b1;     /* [I or 2I (GLU), H]; b1 NULL without FFN bias */
    float *w2, *b2;     /* [H, I] */
} enc_layer;

typedef struct enc_model {
    bend_lm base;
    const bend_ops *ops;
    bend_ops *own_ops;                  /* the CUDA backend this model created, or NULL (CPU) */
    bend_model_config cfg;
    int64_t H, A, nh, hd, inter, ffn_w; /* ffn_w: width of the first FFN projection */
    bool pre_ln, glu;
    bend_op_act act;
    float *word, *pos, *type0;          /* type0: row 0 of the token-type table, or NULL */
    float *emb_ln_w, *emb_ln_b;         /* NULL without an embedding LayerNorm */
    float *final_ln_w, *final_ln_b;     /* NULL without a final LayerNorm */
    float *alibi;                       /* [nh] slopes, or NULL */
    enc_layer *layers;
    /* MLM head (absent: head_vocab 0): dense, activation, LayerNorm, decoder [V, H] + bias [V];
     * a decoder tied to the word embeddings points at `word` */
    int64_t head_vocab;
    float *head_dense_w, *head_dense_b, *head_ln_w, *head_ln_b, *decoder_w, *decoder_b;
    bend_op_act head_act;
    float head_eps;
    int64_t bigbird_sparse_min;         /* windows longer than this use block-sparse; 0: never */

    /* forward scratch, grown on demand and kept between calls */
    int64_t cap_tokens, cap_windows;
    size_t cap_attn;
    float *x, *qkv, *ctx, *tmp, *ffn, *ffn2;
    void *attn_ws;
    int32_t *idx, *pos_idx;
    int32_t *pos_host;                  /* host staging of pos_idx (uploaded; a GPU cannot be
                                           written from the host) */
    float *logits;                      /* CUDA only: a group's logits before their download */
    int64_t *offs;
    uint8_t *sparse;
} enc_model;

/* encoder_forward.c */
bend_status enc_forward(bend_lm *lm, int n_windows, const int64_t *offsets, const int32_t *ids,
                        int layer, float *out, bend_error *err);
bend_status enc_logits(enc_model *m, int n_windows, const int64_t *offsets, const int32_t *ids,
                       float *out, bend_error *err);
void enc_free_scratch(enc_model *m);

#endif
