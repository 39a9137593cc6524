/* Per-family config.json parsers. Defaults are those of the Python class that reads each family's
 * config (transformers' BertConfig / BigBirdConfig / EsmConfig, BEND's AWDLSTMConfig and
 * ConvNetConfig, HyenaDNA's constructor arguments, CaduceusConfig and Mamba's ssm_cfg). The
 * dimensions every real checkpoint's config spells out are required. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/model_config_internal.h"

#define TRY(expr)                      \
    do {                               \
        bend_status try_st_ = (expr);  \
        if (try_st_) return try_st_;   \
    } while (0)

static bend_status activation_from(const mc_ctx *c, const char *act, bend_activation *out)
{
    static const struct {
        const char *name;
        bend_activation act;
    } map[] = {
        {"gelu", BEND_ACT_GELU},          {"gelu_python", BEND_ACT_GELU},
        {"gelu_new", BEND_ACT_GELU_TANH}, {"gelu_pytorch_tanh", BEND_ACT_GELU_TANH},
        {"gelu_fast", BEND_ACT_GELU_TANH}, {"relu", BEND_ACT_RELU},
        {"silu", BEND_ACT_SILU},          {"swish", BEND_ACT_SILU},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        if (!strcmp(map[i].name, act)) {
            *out = map[i].act;
            return BEND_OK;
        }
    }
    return mc_invalid(c, "hidden_act",
                      "= '%s' is not supported (gelu, gelu_python, gelu_new, gelu_pytorch_tanh, "
                      "gelu_fast, relu, silu, swish)", act);
}

/* hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size: required. */
static bend_status transformer_dims(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root;
    TRY(mc_int(c, r, NULL, "hidden_size", true, 0, &o->hidden_size));
    TRY(mc_int(c, r, NULL, "num_hidden_layers", true, 0, &o->num_layers));
    TRY(mc_int(c, r, NULL, "num_attention_heads", true, 0, &o->num_heads));
    TRY(mc_int(c, r, NULL, "intermediate_size", true, 0, &o->intermediate_size));
    TRY(mc_int(c, r, NULL, "vocab_size", true, 0, &o->vocab_size));
    TRY(mc_positive(c, NULL, "hidden_size", o->hidden_size));
    TRY(mc_positive(c, NULL, "num_hidden_layers", o->num_layers));
    TRY(mc_positive(c, NULL, "num_attention_heads", o->num_heads));
    TRY(mc_positive(c, NULL, "intermediate_size", o->intermediate_size));
    TRY(mc_positive(c, NULL, "vocab_size", o->vocab_size));
    if (o->hidden_size % o->num_heads)
        return mc_invalid(c, "num_attention_heads", "= %lld does not divide hidden_size %lld",
                          (long long)o->num_heads, (long long)o->hidden_size);
    o->head_dim = o->hidden_size / o->num_heads;
    o->embedding_rows = o->vocab_size;
    return BEND_OK;
}

static bend_status positive_eps(const mc_ctx *c, const char *key, double eps)
{
    if (eps > 0) return BEND_OK;
    return mc_invalid(c, key, "must be positive, not %g", eps);
}

static bool is_bigbird(const bend_model_config *o)
{
    return !strcasecmp(o->model_type, "big_bird") || !strcasecmp(o->model_type, "bigbird") ||
           !strncmp(o->architecture, "BigBird", 7);
}

/* DNABERT, GROVER (HF BertModel), DNABERT-2 (MosaicBERT), GENA-LM (GENA's pre-LN BERT, or HF
 * BigBird). */
bend_status mc_parse_bert_family(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root;
    bool bigbird = c->family == BEND_FAMILY_GENA_LM && is_bigbird(o);
    TRY(transformer_dims(c, o));

    char act[64], pos[64];
    TRY(mc_str(c, r, NULL, "hidden_act", false, bigbird ? "gelu_new" : "gelu", act, sizeof act));
    TRY(mc_int(c, r, NULL, "max_position_embeddings", false, bigbird ? 4096 : 512,
               &o->max_positions));
    TRY(mc_int(c, r, NULL, "type_vocab_size", false, 2, &o->type_vocab_size));
    TRY(mc_num(c, r, NULL, "layer_norm_eps", false, 1e-12, &o->layer_norm_eps));
    TRY(mc_int(c, r, NULL, "pad_token_id", false, 0, &o->pad_token_id));
    TRY(mc_str(c, r, NULL, "position_embedding_type", false, "absolute", pos, sizeof pos));
    TRY(positive_eps(c, "layer_norm_eps", o->layer_norm_eps));
    TRY(mc_positive(c, NULL, "type_vocab_size", o->type_vocab_size));

    o->arch = BEND_ARCH_BERT;
    o->position = BEND_POS_ABSOLUTE;
    o->norm_placement = BEND_NORM_POST;
    o->norm_kind = BEND_NORM_LAYERNORM;
    o->embedding_layer_norm = true;
    o->final_layer_norm = false;
    o->attention_bias = true;
    o->ffn_bias = true;

    if (c->family == BEND_FAMILY_DNABERT2) {
        /* BEND's bert_layers copy: no position table (max_position_embeddings and
         * position_embedding_type are unused), symmetric ALiBi grown on demand, fused Wqkv,
         * GLU with exact GELU whatever hidden_act says, post-LN. */
        o->arch = BEND_ARCH_MOSAIC_BERT;
        o->position = BEND_POS_ALIBI;
        o->max_positions = 0;
        TRY(mc_int(c, r, NULL, "alibi_starting_size", false, 512, &o->alibi_starting_size));
        TRY(mc_positive(c, NULL, "alibi_starting_size", o->alibi_starting_size));
        o->activation = BEND_ACT_GEGLU;
        o->qkv_fused = true;
        o->ffn_bias = false;
        return BEND_OK;
    }

    TRY(activation_from(c, act, &o->activation));
    if (strcmp(pos, "absolute")) {
        if (c->family == BEND_FAMILY_GENA_LM && !bigbird && !strcmp(pos, "rotary"))
            o->position = BEND_POS_ROTARY;
        else
            return mc_unsupported(c, "position_embedding_type '%s' is not supported for %s "
                                  "(absolute only)", pos, bend_model_family_name(c->family));
    }
    TRY(mc_positive(c, NULL, "max_position_embeddings", o->max_positions));

    if (c->family == BEND_FAMILY_DNABERT) o->version = mc_dnabert_k(o->vocab_size);
    if (c->family != BEND_FAMILY_GENA_LM) return BEND_OK;

    if (bigbird) {
        bend_bigbird_config *b = &o->bigbird;
        o->arch = BEND_ARCH_BIGBIRD;
        TRY(mc_str(c, r, NULL, "attention_type", false, "block_sparse", b->attention_type,
                   sizeof b->attention_type));
        if (strcmp(b->attention_type, "block_sparse") && strcmp(b->attention_type, "original_full"))
            return mc_invalid(c, "attention_type",
                              "= '%s': expected block_sparse or original_full", b->attention_type);
        TRY(mc_int(c, r, NULL, "block_size", false, 64, &b->block_size));
        TRY(mc_int(c, r, NULL, "num_random_blocks", false, 3, &b->num_random_blocks));
        TRY(mc_bool(c, r, NULL, "rescale_embeddings", false, false, &b->rescale_embeddings));
        TRY(mc_bool(c, r, NULL, "use_bias", false, true, &b->use_bias));
        TRY(mc_positive(c, NULL, "block_size", b->block_size));
        if (b->num_random_blocks < 0)
            return mc_invalid(c, "num_random_blocks", "must not be negative");
        o->attention_bias = b->use_bias;
        return BEND_OK;
    }
    /* GENA's BERT (BEND's bend/models/gena_lm.py): pre-LN when pre_layer_norm, and never a final
     * LayerNorm (BEND's copy has none; `last_layer_norm` is ignored there). */
    bool pre = false;
    TRY(mc_bool(c, r, NULL, "pre_layer_norm", false, false, &pre));
    o->norm_placement = pre ? BEND_NORM_PRE : BEND_NORM_POST;
    json_t *sparse = json_object_get(r, "sparse_config_cls");
    if (sparse && !json_is_null(sparse))
        return mc_unsupported(c, "sparse_config_cls: GENA-LM's DeepSpeed sparse attention is not "
                              "supported");
    return BEND_OK;
}

/* Nucleotide Transformer: HF ESM (v1), or InstaDeep's remote-code ESM (v2: rotary, GLU). */
bend_status mc_parse_esm(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root;
    TRY(transformer_dims(c, o));
    char pos[64];
    TRY(mc_str(c, r, NULL, "position_embedding_type", false, "absolute", pos, sizeof pos));
    bool rotary = !strcmp(pos, "rotary");
    if (!rotary && strcmp(pos, "absolute"))
        return mc_unsupported(c, "position_embedding_type '%s' is not supported for "
                              "nucleotide_transformer (absolute or rotary)", pos);
    /* v2 is InstaDeep's remote-code ESM: rotary positions, and its config has add_bias_fnn */
    o->version = rotary || json_object_get(r, "add_bias_fnn") ? 2 : 1;
    TRY(mc_bool(c, r, NULL, "add_bias_fnn", false, true, &o->ffn_bias));
    TRY(mc_int(c, r, NULL, "max_position_embeddings", false, 1026, &o->max_positions));
    TRY(mc_num(c, r, NULL, "layer_norm_eps", false, 1e-12, &o->layer_norm_eps));
    TRY(positive_eps(c, "layer_norm_eps", o->layer_norm_eps));
    TRY(mc_bool(c, r, NULL, "token_dropout", false, false, &o->token_dropout));
    TRY(mc_bool(c, r, NULL, "emb_layer_norm_before", false, false, &o->embedding_layer_norm));
    /* learned positions are pad-aware (first token at pad_token_id + 1): the pad id is needed */
    TRY(mc_int(c, r, NULL, "pad_token_id", !rotary, -1, &o->pad_token_id));
    TRY(mc_int(c, r, NULL, "mask_token_id", false, -1, &o->mask_token_id));

    o->arch = BEND_ARCH_ESM;
    o->norm_placement = BEND_NORM_PRE;
    o->norm_kind = BEND_NORM_LAYERNORM;
    o->final_layer_norm = true; /* emb_layer_norm_after */
    o->attention_bias = true;
    o->type_vocab_size = 0;
    /* HF ESM hard-codes the erf GELU (hidden_act is not read); v2's FFN is SiLU-gated */
    o->activation = o->version == 2 ? BEND_ACT_SWIGLU : BEND_ACT_GELU;
    if (rotary) {
        o->position = BEND_POS_ROTARY;
        o->rotary_base = 10000.0;
        o->max_positions = 0;
    } else {
        if (o->pad_token_id < 0)
            return mc_invalid(c, "pad_token_id", "must not be negative with learned positions");
        o->position = BEND_POS_ABSOLUTE;
        o->position_offset = o->pad_token_id + 1;
        if (o->max_positions <= o->position_offset)
            return mc_invalid(c, "max_position_embeddings",
                              "= %lld leaves no position after the first (pad_token_id + 1 = %lld)",
                              (long long)o->max_positions, (long long)o->position_offset);
        o->max_positions -= o->position_offset;
    }
    if (o->token_dropout) {
        /* HF ESM: embeddings * (1 - 0.15 * 0.8) / (1 - observed mask ratio); BEND never masks */
        o->token_dropout_mask_ratio = 0.15 * 0.8;
        o->token_dropout_scale = 1.0 - o->token_dropout_mask_ratio;
    }
    return BEND_OK;
}

/* HyenaDNA standalone config (LongSafari/hyenadna-*-seqlen config.json): HyenaDNAModel(**config). */
bend_status mc_parse_hyena(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root, *layer = NULL;
    bend_hyena_config *h = &o->hyena;
    TRY(mc_int(c, r, NULL, "d_model", true, 0, &o->hidden_size));
    TRY(mc_int(c, r, NULL, "n_layer", true, 0, &o->num_layers));
    TRY(mc_int(c, r, NULL, "d_inner", true, 0, &h->d_inner));
    TRY(mc_int(c, r, NULL, "vocab_size", true, 0, &o->vocab_size));
    TRY(mc_object(c, r, NULL, "layer", true, &layer));
    TRY(mc_positive(c, NULL, "d_model", o->hidden_size));
    TRY(mc_positive(c, NULL, "n_layer", o->num_layers));
    TRY(mc_positive(c, NULL, "d_inner", h->d_inner));
    TRY(mc_positive(c, NULL, "vocab_size", o->vocab_size));

    char name[64];
    TRY(mc_str(c, layer, "layer", "_name_", false, "hyena", name, sizeof name));
    if (strcmp(name, "hyena"))
        return mc_unsupported(c, "layer._name_ '%s': only Hyena mixers are supported", name);
    json_t *attn = json_object_get(r, "attn_layer_idx");
    if (json_is_array(attn) && json_array_size(attn) > 0)
        return mc_unsupported(c, "attn_layer_idx: HyenaDNA with attention layers is not supported");
    TRY(mc_int(c, layer, "layer", "l_max", true, 0, &h->l_max));
    TRY(mc_positive(c, "layer", "l_max", h->l_max));
    TRY(mc_int(c, layer, "layer", "order", false, 2, &h->order));
    TRY(mc_int(c, layer, "layer", "filter_order", false, 64, &h->filter_order));
    TRY(mc_int(c, layer, "layer", "emb_dim", false, 3, &h->emb_dim));
    TRY(mc_int(c, layer, "layer", "local_order", false, -1, &h->local_order));
    TRY(mc_bool(c, layer, "layer", "modulate", false, true, &h->modulate));
    TRY(mc_num(c, layer, "layer", "w", false, 1.0, &h->w));
    TRY(mc_num(c, layer, "layer", "shift", false, 0.05, &h->modulation_shift));
    if (h->order < 2) return mc_invalid(c, "layer.order", "must be at least 2, not %lld", (long long)h->order);
    TRY(mc_positive(c, "layer", "filter_order", h->filter_order));
    if (h->emb_dim < 3 || h->emb_dim % 2 == 0)
        return mc_invalid(c, "layer.emb_dim", "must be odd and at least 3 (time, cosines, sines), "
                          "not %lld", (long long)h->emb_dim);
    h->short_filter_order = 3; /* BEND's HyenaOperator: Conv1d(kernel 3), whatever local_order says */

    TRY(mc_int(c, r, NULL, "pad_vocab_size_multiple", false, 1, &h->pad_vocab_size_multiple));
    TRY(mc_positive(c, NULL, "pad_vocab_size_multiple", h->pad_vocab_size_multiple));
    TRY(mc_num(c, r, NULL, "layer_norm_epsilon", false, 1e-5, &o->layer_norm_eps));
    TRY(positive_eps(c, "layer_norm_epsilon", o->layer_norm_eps));
    TRY(mc_bool(c, r, NULL, "residual_in_fp32", false, false, &h->residual_in_fp32));
    TRY(mc_bool(c, r, NULL, "checkpoint_mixer", false, false, &h->checkpoint_mixer));
    TRY(mc_bool(c, r, NULL, "checkpoint_mlp", false, false, &h->checkpoint_mlp));
    int64_t max_pos = 0;
    TRY(mc_int(c, r, NULL, "max_position_embeddings", false, 0, &max_pos));

    int64_t m = h->pad_vocab_size_multiple;
    o->embedding_rows = (o->vocab_size + m - 1) / m * m;
    o->arch = BEND_ARCH_HYENA;
    o->intermediate_size = h->d_inner;
    o->max_positions = h->l_max;
    o->position = max_pos > 0 ? BEND_POS_ABSOLUTE : BEND_POS_NONE;
    if (max_pos > 0 && max_pos < o->max_positions) o->max_positions = max_pos;
    o->norm_placement = BEND_NORM_PRE;
    o->norm_kind = BEND_NORM_LAYERNORM;
    o->final_layer_norm = true; /* ln_f */
    o->activation = BEND_ACT_GELU_TANH;
    o->attention_bias = false;
    o->ffn_bias = true;
    return BEND_OK;
}

/* BEND's AWDLSTMConfig (bend/models/awd_lstm.py); every key has a class default. */
bend_status mc_parse_awdlstm(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root;
    bend_awdlstm_config *a = &o->awdlstm;
    double wdrop = 0;
    TRY(mc_int(c, r, NULL, "vocab_size", false, 7, &o->vocab_size));
    TRY(mc_int(c, r, NULL, "hidden_size", false, 512, &a->hidden_size));
    TRY(mc_int(c, r, NULL, "input_size", false, 64, &a->input_size));
    TRY(mc_int(c, r, NULL, "num_hidden_layers", false, 1, &a->num_layers));
    TRY(mc_bool(c, r, NULL, "bidirectional", false, false, &a->bidirectional));
    TRY(mc_int(c, r, NULL, "reset_token_id", false, -1, &a->reset_token_id));
    TRY(mc_num(c, r, NULL, "weight_dropout_prob", false, 0.5, &wdrop));
    TRY(mc_positive(c, NULL, "vocab_size", o->vocab_size));
    TRY(mc_positive(c, NULL, "hidden_size", a->hidden_size));
    TRY(mc_positive(c, NULL, "input_size", a->input_size));
    TRY(mc_positive(c, NULL, "num_hidden_layers", a->num_layers));
    if (a->reset_token_id < -1 || a->reset_token_id >= o->vocab_size)
        return mc_invalid(c, "reset_token_id", "= %lld is not a token id (vocab_size %lld)",
                          (long long)a->reset_token_id, (long long)o->vocab_size);
    a->weight_drop = wdrop != 0;
    o->arch = BEND_ARCH_AWD_LSTM;
    o->num_layers = a->num_layers;
    o->hidden_size = a->input_size * (a->bidirectional ? 2 : 1); /* the last layer outputs input_size */
    o->embedding_rows = o->vocab_size;
    o->norm_placement = BEND_NORM_NONE;
    o->activation = BEND_ACT_NONE;
    o->position = BEND_POS_NONE;
    return BEND_OK;
}

/* BEND's ConvNetConfig (dilated_cnn.py, ResNet-LM) and GPN's ConvNetConfig (adds dilation_base and
 * auxiliary features; 25 layers by default). The embedding is one-hot into hidden_size channels. */
bend_status mc_parse_convnet(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root;
    bend_convnet_config *v = &o->convnet;
    bool gpn = c->family == BEND_FAMILY_GPN;
    if (!strcasecmp(o->model_type, "GPNRoFormer") || !strcasecmp(o->model_type, "GPN"))
        return mc_unsupported(c, "model_type '%s': only GPN's ConvNet checkpoints are supported",
                              o->model_type);
    int64_t aux = 0;
    TRY(mc_int(c, r, NULL, "vocab_size", false, 7, &o->vocab_size));
    TRY(mc_int(c, r, NULL, "hidden_size", false, 512, &o->hidden_size));
    TRY(mc_int(c, r, NULL, "n_layers", false, gpn ? 25 : 30, &o->num_layers));
    TRY(mc_int(c, r, NULL, "kernel_size", false, 9, &v->kernel_size));
    TRY(mc_int(c, r, NULL, "dilation_double_every", false, 1, &v->dilation_double_every));
    TRY(mc_int(c, r, NULL, "dilation_max", false, 32, &v->dilation_max));
    TRY(mc_int(c, r, NULL, "dilation_cycle", false, 6, &v->dilation_cycle));
    TRY(mc_int(c, r, NULL, "dilation_base", false, 2, &v->dilation_base));
    TRY(mc_int(c, r, NULL, "n_aux_features", false, 0, &aux));
    TRY(mc_positive(c, NULL, "vocab_size", o->vocab_size));
    TRY(mc_positive(c, NULL, "hidden_size", o->hidden_size));
    TRY(mc_positive(c, NULL, "n_layers", o->num_layers));
    TRY(mc_positive(c, NULL, "kernel_size", v->kernel_size));
    TRY(mc_positive(c, NULL, "dilation_double_every", v->dilation_double_every));
    TRY(mc_positive(c, NULL, "dilation_max", v->dilation_max));
    TRY(mc_positive(c, NULL, "dilation_cycle", v->dilation_cycle));
    TRY(mc_positive(c, NULL, "dilation_base", v->dilation_base));
    if (o->vocab_size + aux > o->hidden_size)
        return mc_invalid(c, "hidden_size", "= %lld is smaller than vocab_size%s (%lld): the "
                          "one-hot embedding needs a channel per token", (long long)o->hidden_size,
                          aux ? " + n_aux_features" : "", (long long)(o->vocab_size + aux));
    o->arch = BEND_ARCH_CONVNET;
    o->embedding_rows = o->vocab_size;
    o->intermediate_size = o->hidden_size;
    o->norm_placement = BEND_NORM_BRANCH;
    o->norm_kind = BEND_NORM_LAYERNORM;
    o->layer_norm_eps = 1e-5; /* nn.LayerNorm default */
    o->activation = BEND_ACT_GELU;
    o->position = BEND_POS_NONE;
    o->attention_bias = false;
    o->ffn_bias = true;
    return BEND_OK;
}

static bend_status complement_map(const mc_ctx *c, json_t *map, bend_caduceus_config *d)
{
    const char *k;
    json_t *v;
    int n = 0;
    for (int i = 0; i < BEND_MAX_COMPLEMENT; i++) d->complement_map[i] = i;
    json_object_foreach(map, k, v) {
        char *end;
        long id = strtol(k, &end, 10);
        if (*k == '\0' || *end || id < 0 || id >= BEND_MAX_COMPLEMENT)
            return mc_invalid(c, "complement_map", "has key '%s': expected a token id 0..%d", k,
                              BEND_MAX_COMPLEMENT - 1);
        if (!json_is_integer(v))
            return mc_invalid(c, "complement_map", "['%s'] must be an integer, not %s", k,
                              json_is_string(v) ? "a string" : "another type");
        d->complement_map[id] = json_integer_value(v);
        if (id + 1 > n) n = (int)id + 1;
    }
    d->n_complement = n;
    return BEND_OK;
}

/* CaduceusConfig (kuleshov-group/caduceus) with Mamba's ssm_cfg defaults. */
bend_status mc_parse_caduceus(const mc_ctx *c, bend_model_config *o)
{
    json_t *r = c->root, *ssm = NULL, *map = NULL;
    bend_caduceus_config *d = &o->caduceus;
    bool rms = true;
    TRY(mc_int(c, r, NULL, "d_model", true, 0, &d->d_model));
    TRY(mc_int(c, r, NULL, "n_layer", true, 0, &o->num_layers));
    TRY(mc_int(c, r, NULL, "vocab_size", true, 0, &o->vocab_size));
    TRY(mc_positive(c, NULL, "d_model", d->d_model));
    TRY(mc_positive(c, NULL, "n_layer", o->num_layers));
    TRY(mc_positive(c, NULL, "vocab_size", o->vocab_size));
    TRY(mc_bool(c, r, NULL, "rms_norm", false, true, &rms));
    TRY(mc_bool(c, r, NULL, "residual_in_fp32", false, true, &d->residual_in_fp32));
    TRY(mc_bool(c, r, NULL, "fused_add_norm", false, true, &d->fused_add_norm));
    TRY(mc_int(c, r, NULL, "pad_vocab_size_multiple", false, 8, &d->pad_vocab_size_multiple));
    TRY(mc_positive(c, NULL, "pad_vocab_size_multiple", d->pad_vocab_size_multiple));
    TRY(mc_num(c, r, NULL, "norm_epsilon", false, 1e-5, &o->layer_norm_eps));
    TRY(positive_eps(c, "norm_epsilon", o->layer_norm_eps));
    TRY(mc_bool(c, r, NULL, "bidirectional", false, true, &d->bidirectional));
    TRY(mc_str(c, r, NULL, "bidirectional_strategy", false, "add", d->bidirectional_strategy,
               sizeof d->bidirectional_strategy));
    if (strcmp(d->bidirectional_strategy, "add") && strcmp(d->bidirectional_strategy, "ew_multiply"))
        return mc_invalid(c, "bidirectional_strategy", "= '%s': expected add or ew_multiply",
                          d->bidirectional_strategy);
    TRY(mc_bool(c, r, NULL, "bidirectional_weight_tie", false, true, &d->bidirectional_weight_tie));
    TRY(mc_bool(c, r, NULL, "rcps", false, false, &d->rcps));
    TRY(mc_object(c, r, NULL, "complement_map", d->rcps, &map));
    if (map) TRY(complement_map(c, map, d));

    TRY(mc_object(c, r, NULL, "ssm_cfg", false, &ssm));
    TRY(mc_int(c, ssm, "ssm_cfg", "d_state", false, 16, &d->d_state));
    TRY(mc_int(c, ssm, "ssm_cfg", "d_conv", false, 4, &d->d_conv));
    TRY(mc_int(c, ssm, "ssm_cfg", "expand", false, 2, &d->expand));
    TRY(mc_bool(c, ssm, "ssm_cfg", "conv_bias", false, true, &d->conv_bias));
    TRY(mc_bool(c, ssm, "ssm_cfg", "bias", false, false, &d->bias));
    TRY(mc_positive(c, "ssm_cfg", "d_state", d->d_state));
    TRY(mc_positive(c, "ssm_cfg", "d_conv", d->d_conv));
    TRY(mc_positive(c, "ssm_cfg", "expand", d->expand));
    json_t *rank = ssm ? json_object_get(ssm, "dt_rank") : NULL;
    if (!rank || json_is_null(rank) ||
        (json_is_string(rank) && !strcmp(json_string_value(rank), "auto"))) {
        d->dt_rank = (d->d_model + 15) / 16; /* math.ceil(d_model / 16) */
    } else if (json_is_integer(rank)) {
        d->dt_rank = json_integer_value(rank);
        TRY(mc_positive(c, "ssm_cfg", "dt_rank", d->dt_rank));
    } else {
        return mc_invalid(c, "ssm_cfg.dt_rank", "must be \"auto\" or an integer");
    }

    int64_t m = d->pad_vocab_size_multiple;
    o->embedding_rows = (o->vocab_size + m - 1) / m * m;
    o->arch = BEND_ARCH_MAMBA;
    o->hidden_size = d->rcps ? 2 * d->d_model : d->d_model;
    o->intermediate_size = d->expand * d->d_model;
    o->norm_placement = BEND_NORM_PRE;
    o->norm_kind = rms ? BEND_NORM_RMSNORM : BEND_NORM_LAYERNORM;
    o->final_layer_norm = true; /* norm_f */
    o->activation = BEND_ACT_SILU;
    o->position = BEND_POS_NONE;
    o->attention_bias = false;
    o->ffn_bias = d->bias;
    return BEND_OK;
}
