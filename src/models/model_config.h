/* Typed model configurations: a checkpoint directory's config.json (Hugging Face style, or
 * HyenaDNA's plain dict with its `layer` block) read into one struct that every family's forward
 * pass and `bend inspect` share. Field names follow the families' own config keys; where a key is
 * absent the value the family's Python class would use applies (HF class defaults, BEND's model
 * classes' defaults), except for the dimensions listed per family below, which must be present.
 *
 * Family detection (family == NULL), from config.json and the directory's files:
 *   `layer._name_` present (HyenaDNA's standalone config) or a weights.ckpt next to a d_model ->
 *       hyenadna;
 *   model_type "esm" -> nucleotide_transformer (version 2 when the positions are rotary or the
 *       config has InstaDeep's add_bias_fnn key);
 *   model_type "big_bird" -> gena_lm (BigBird);
 *   model_type "bert": `alibi_starting_size` or an auto_map into bert_layers -> dnabert2;
 *       `pre_layer_norm` present -> gena_lm (GENA's BERT); vocab_size 4^k+5 (k = 3..6) -> dnabert;
 *       otherwise grover;
 *   model_type "ConvNet" -> resnetlm, or gpn when GPN's keys (dilation_base, n_aux_features,
 *       aux_features_vocab_size) are present; "GPN"/"GPNRoFormer" -> gpn;
 *   model_type "AWDLSTM" -> awdlstm; "caduceus" -> caduceus;
 *   without model_type, architectures[0] decides the same way (BertForMaskedLM, EsmForMaskedLM, ...).
 * An explicit family overrides detection (BEND's model YAML always names one); "onehot" needs no
 * config.json at all. Unknown extra keys are ignored. Errors name the file and the key. */
#ifndef BEND_MODELS_MODEL_CONFIG_H
#define BEND_MODELS_MODEL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef enum bend_model_family {
    BEND_FAMILY_UNKNOWN = 0,
    BEND_FAMILY_ONEHOT,
    BEND_FAMILY_DNABERT,
    BEND_FAMILY_DNABERT2,
    BEND_FAMILY_NT,       /* "nucleotide_transformer" */
    BEND_FAMILY_GENA_LM,
    BEND_FAMILY_GROVER,
    BEND_FAMILY_HYENADNA,
    BEND_FAMILY_AWDLSTM,
    BEND_FAMILY_RESNETLM,
    BEND_FAMILY_GPN,
    BEND_FAMILY_CADUCEUS,
} bend_model_family;

/* The network a family's checkpoint holds (GENA-LM has two; the others one). */
typedef enum bend_model_arch {
    BEND_ARCH_NONE = 0,   /* one-hot: no network */
    BEND_ARCH_BERT,       /* HF BERT; pre-LN in GENA's variant */
    BEND_ARCH_MOSAIC_BERT,/* DNABERT-2: ALiBi, fused Wqkv, GEGLU */
    BEND_ARCH_BIGBIRD,    /* HF BigBird (GENA-LM bigbird) */
    BEND_ARCH_ESM,        /* Nucleotide Transformer v1 / v2 */
    BEND_ARCH_HYENA,
    BEND_ARCH_AWD_LSTM,
    BEND_ARCH_CONVNET,    /* BEND's dilated ResNet-LM, GPN's ConvNet */
    BEND_ARCH_GPN_ROFORMER,
    BEND_ARCH_MAMBA,      /* Caduceus */
} bend_model_arch;

typedef enum bend_position_scheme {
    BEND_POS_NONE = 0,
    BEND_POS_ABSOLUTE, /* learned table; first token at position_offset */
    BEND_POS_ROTARY,
    BEND_POS_ALIBI,
} bend_position_scheme;

typedef enum bend_norm_placement {
    BEND_NORM_NONE = 0, /* AWD-LSTM */
    BEND_NORM_PRE,      /* x + f(LN(x)) */
    BEND_NORM_POST,     /* LN(x + f(x)) */
    BEND_NORM_BRANCH,   /* x + LN(act(f(x))): the ConvNet's norm inside the residual branch */
} bend_norm_placement;

typedef enum bend_norm_kind {
    BEND_NORM_LAYERNORM = 0,
    BEND_NORM_RMSNORM,
} bend_norm_kind;

typedef enum bend_activation {
    BEND_ACT_NONE = 0, /* no feed-forward activation (AWD-LSTM: its gates are fixed) */
    BEND_ACT_GELU,      /* exact, erf */
    BEND_ACT_GELU_TANH, /* HF gelu_new / gelu_pytorch_tanh */
    BEND_ACT_GEGLU,     /* GELU(erf)(first half) * second half */
    BEND_ACT_SWIGLU,    /* SiLU(first half) * second half */
    BEND_ACT_RELU,
    BEND_ACT_SILU,
} bend_activation;

typedef struct bend_bigbird_config {
    char attention_type[32]; /* "block_sparse" or "original_full" */
    int64_t block_size;
    int64_t num_random_blocks;
    bool rescale_embeddings;
    bool use_bias;
} bend_bigbird_config;

typedef struct bend_hyena_config {
    int64_t d_inner;            /* MLP width (required key) */
    int64_t l_max;              /* layer.l_max: filter grid length = most tokens per forward */
    int64_t order;              /* layer.order, Hyena recurrence depth (2) */
    int64_t filter_order;       /* layer.filter_order: implicit-filter MLP width */
    int64_t emb_dim;            /* layer.emb_dim: positional features (1 + 2 bands) */
    int64_t short_filter_order; /* short depthwise conv kernel: 3 in BEND's operator, always */
    int64_t local_order;        /* layer.local_order as written (BEND ignores it); -1 absent */
    int64_t pad_vocab_size_multiple;
    double w;                   /* layer.w: Sin frequency at init (informational) */
    double modulation_shift;    /* 0.05 in BEND's copy (the training repo used 0.0) */
    bool modulate;
    bool checkpoint_mixer;      /* keys carry `.mixer.layer` / `.mlp.layer` */
    bool checkpoint_mlp;
    bool residual_in_fp32;
} bend_hyena_config;

typedef struct bend_awdlstm_config {
    int64_t input_size;      /* embedding width = last layer's output width */
    int64_t hidden_size;     /* width of the inner layers */
    int64_t num_layers;
    bool bidirectional;
    int64_t reset_token_id;  /* -1: none (JSON null) */
    bool weight_drop;        /* weight_dropout_prob > 0: recurrent weights under `weight_raw` */
} bend_awdlstm_config;

typedef struct bend_convnet_config {
    int64_t kernel_size;
    int64_t dilation_double_every;
    int64_t dilation_max;
    int64_t dilation_cycle;
    int64_t dilation_base; /* GPN's key; 2 in BEND's schedule */
} bend_convnet_config;

enum { BEND_MAX_COMPLEMENT = 64 };

typedef struct bend_caduceus_config {
    int64_t d_model;   /* per strand; hidden_size is 2 * d_model with rcps */
    int64_t d_state;
    int64_t d_conv;
    int64_t expand;
    int64_t dt_rank;   /* "auto" resolved: ceil(d_model / 16) */
    bool rcps;
    bool bidirectional;
    char bidirectional_strategy[16]; /* "add" or "ew_multiply" */
    bool bidirectional_weight_tie;
    bool fused_add_norm;
    bool residual_in_fp32;
    bool conv_bias;
    bool bias;         /* in_proj / out_proj bias */
    int64_t pad_vocab_size_multiple;
    int n_complement;  /* entries of complement_map (id -> complement id) */
    int64_t complement_map[BEND_MAX_COMPLEMENT];
} bend_caduceus_config;

typedef struct bend_model_config {
    bend_model_family family;
    bend_model_arch arch;
    int version;               /* NT: 1 or 2; DNABERT: k; 0 otherwise */
    char config_path[4096];    /* the config.json read; "" for one-hot */
    char model_type[64];       /* config.json's model_type, "" if absent */
    char architecture[128];    /* architectures[0], "" if absent */

    int64_t hidden_size;       /* width of the hidden states the model returns */
    int64_t num_layers;
    int64_t num_heads;         /* 0: no attention */
    int64_t head_dim;
    int64_t intermediate_size; /* FFN width (per GLU half); HyenaDNA d_inner */
    int64_t vocab_size;        /* as configured */
    int64_t embedding_rows;    /* rows of the embedding table (HyenaDNA/Caduceus pad the vocab) */
    int64_t max_positions;     /* most tokens per forward; 0: no limit from the model */
    int64_t type_vocab_size;   /* 0: no token-type embedding */

    bend_position_scheme position;
    int64_t position_offset;   /* position id of the first token (ESM: pad_token_id + 1) */
    double rotary_base;        /* rotary only */
    int64_t alibi_starting_size; /* DNABERT-2 only */

    bend_norm_placement norm_placement;
    bend_norm_kind norm_kind;
    double layer_norm_eps;
    bool embedding_layer_norm;
    bool final_layer_norm;

    bend_activation activation;
    bool qkv_fused;
    bool attention_bias;
    bool ffn_bias;             /* the FFN's first (up / gate) projection has a bias: false for
                                  NT v2 (add_bias_fnn, both projections) and DNABERT-2
                                  (gated_layers; its wo has one) */

    bool token_dropout;        /* ESM: scale embeddings by (1 - mask_ratio) / (1 - observed) */
    double token_dropout_mask_ratio; /* 0.15 * 0.8 when token_dropout, else 0 */
    double token_dropout_scale;      /* the factor with no <mask> in the input: 0.88 or 1 */

    int64_t pad_token_id;      /* -1: not in the config */
    int64_t mask_token_id;     /* -1: not in the config */

    bend_bigbird_config bigbird;   /* arch BIGBIRD */
    bend_hyena_config hyena;       /* family hyenadna */
    bend_awdlstm_config awdlstm;   /* family awdlstm */
    bend_convnet_config convnet;   /* arch CONVNET */
    bend_caduceus_config caduceus; /* family caduceus */
} bend_model_config;

/* "dnabert", "nucleotide_transformer", ...; "unknown" for BEND_FAMILY_UNKNOWN. */
const char *bend_model_family_name(bend_model_family f);
/* Accepts the names above; fails with BEND_ERR_INVALID listing them. */
bend_status bend_model_family_from_name(const char *name, bend_model_family *out, bend_error *err);

const char *bend_model_arch_name(bend_model_arch a);
const char *bend_position_scheme_name(bend_position_scheme p);
const char *bend_norm_placement_name(bend_norm_placement n);
const char *bend_activation_name(bend_activation a);

/* Reads model_dir/config.json (model_dir may also be the config.json file itself) into *out.
 * family: a family name or NULL to detect it (see above). */
bend_status bend_model_config_load(const char *model_dir, const char *family,
                                   bend_model_config *out, bend_error *err);

/* The same from JSON text already in memory; `path` and `dir` (may be NULL) are used for messages
 * and for file-layout hints (weights.ckpt). */
bend_status bend_model_config_parse(const char *json_text, const char *path, const char *dir,
                                    const char *family, bend_model_config *out, bend_error *err);

/* Only the family detection, for a config.json's text. */
bend_status bend_model_config_detect(const char *json_text, const char *path, const char *dir,
                                     bend_model_family *out, bend_error *err);

/* Dilation of ConvNet layer `layer` (0-based): min(max, base^((layer % cycle) / double_every)). */
int64_t bend_convnet_dilation(const bend_model_config *c, int64_t layer);

/* The typed config as a JSON object (compact, one line); the caller frees *out. Returns
 * BEND_ERR_NOMEM when allocation fails. */
bend_status bend_model_config_to_json(const bend_model_config *c, char **out);

#endif
