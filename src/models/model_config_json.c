/* bend_model_config -> JSON (for `bend inspect`): the common fields, then one object for the
 * family-specific block that applies. Ids that are absent (-1) are written as null. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "models/model_config.h"

static int set_int(json_t *o, const char *k, int64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v));
}

static int set_id(json_t *o, const char *k, int64_t v)
{
    return json_object_set_new(o, k, v < 0 ? json_null() : json_integer((json_int_t)v));
}

static int set_num(json_t *o, const char *k, double v)
{
    return json_object_set_new(o, k, json_real(v));
}

static int set_bool(json_t *o, const char *k, bool v)
{
    return json_object_set_new(o, k, json_boolean(v));
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, json_string(v));
}

static json_t *family_block(const bend_model_config *c, const char **name)
{
    json_t *b = json_object();
    if (!b) return NULL;
    int bad = 0;
    *name = NULL;
    if (c->arch == BEND_ARCH_BIGBIRD) {
        *name = "bigbird";
        bad |= set_str(b, "attention_type", c->bigbird.attention_type);
        bad |= set_int(b, "block_size", c->bigbird.block_size);
        bad |= set_int(b, "num_random_blocks", c->bigbird.num_random_blocks);
        bad |= set_bool(b, "rescale_embeddings", c->bigbird.rescale_embeddings);
        bad |= set_bool(b, "use_bias", c->bigbird.use_bias);
    } else if (c->family == BEND_FAMILY_HYENADNA) {
        const bend_hyena_config *h = &c->hyena;
        *name = "hyenadna";
        bad |= set_int(b, "d_inner", h->d_inner);
        bad |= set_int(b, "l_max", h->l_max);
        bad |= set_int(b, "order", h->order);
        bad |= set_int(b, "filter_order", h->filter_order);
        bad |= set_int(b, "emb_dim", h->emb_dim);
        bad |= set_int(b, "short_filter_order", h->short_filter_order);
        bad |= set_id(b, "local_order", h->local_order);
        bad |= set_int(b, "pad_vocab_size_multiple", h->pad_vocab_size_multiple);
        bad |= set_num(b, "w", h->w);
        bad |= set_num(b, "modulation_shift", h->modulation_shift);
        bad |= set_bool(b, "modulate", h->modulate);
        bad |= set_bool(b, "checkpoint_mixer", h->checkpoint_mixer);
        bad |= set_bool(b, "checkpoint_mlp", h->checkpoint_mlp);
        bad |= set_bool(b, "residual_in_fp32", h->residual_in_fp32);
    } else if (c->family == BEND_FAMILY_AWDLSTM) {
        const bend_awdlstm_config *a = &c->awdlstm;
        *name = "awdlstm";
        bad |= set_int(b, "input_size", a->input_size);
        bad |= set_int(b, "hidden_size", a->hidden_size);
        bad |= set_int(b, "num_layers", a->num_layers);
        bad |= set_bool(b, "bidirectional", a->bidirectional);
        bad |= set_id(b, "reset_token_id", a->reset_token_id);
        bad |= set_bool(b, "weight_drop", a->weight_drop);
    } else if (c->arch == BEND_ARCH_CONVNET) {
        const bend_convnet_config *v = &c->convnet;
        *name = "convnet";
        bad |= set_int(b, "kernel_size", v->kernel_size);
        bad |= set_int(b, "dilation_double_every", v->dilation_double_every);
        bad |= set_int(b, "dilation_max", v->dilation_max);
        bad |= set_int(b, "dilation_cycle", v->dilation_cycle);
        bad |= set_int(b, "dilation_base", v->dilation_base);
        json_t *sched = json_array();
        for (int64_t i = 0; sched && i < c->num_layers; i++)
            bad |= json_array_append_new(sched, json_integer(bend_convnet_dilation(c, i)));
        bad |= json_object_set_new(b, "dilations", sched ? sched : json_null());
    } else if (c->family == BEND_FAMILY_CADUCEUS) {
        const bend_caduceus_config *d = &c->caduceus;
        *name = "caduceus";
        bad |= set_int(b, "d_model", d->d_model);
        bad |= set_int(b, "d_state", d->d_state);
        bad |= set_int(b, "d_conv", d->d_conv);
        bad |= set_int(b, "expand", d->expand);
        bad |= set_int(b, "dt_rank", d->dt_rank);
        bad |= set_bool(b, "rcps", d->rcps);
        bad |= set_bool(b, "bidirectional", d->bidirectional);
        bad |= set_str(b, "bidirectional_strategy", d->bidirectional_strategy);
        bad |= set_bool(b, "bidirectional_weight_tie", d->bidirectional_weight_tie);
        bad |= set_bool(b, "fused_add_norm", d->fused_add_norm);
        bad |= set_bool(b, "residual_in_fp32", d->residual_in_fp32);
        bad |= set_bool(b, "conv_bias", d->conv_bias);
        bad |= set_bool(b, "bias", d->bias);
        bad |= set_int(b, "pad_vocab_size_multiple", d->pad_vocab_size_multiple);
        json_t *map = json_array();
        for (int i = 0; map && i < d->n_complement; i++)
            bad |= json_array_append_new(map, json_integer(d->complement_map[i]));
        bad |= json_object_set_new(b, "complement_map", map ? map : json_null());
    }
    if (bad || !*name) {
        json_decref(b);
        return NULL;
    }
    return b;
}

bend_status bend_model_config_to_json(const bend_model_config *c, char **out)
{
    *out = NULL;
    json_t *o = json_object();
    if (!o) return BEND_ERR_NOMEM;
    int bad = 0;
    bad |= set_str(o, "family", bend_model_family_name(c->family));
    bad |= set_str(o, "arch", bend_model_arch_name(c->arch));
    if (c->version) bad |= set_int(o, "version", c->version);
    bad |= set_str(o, "model_type", c->model_type);
    bad |= set_str(o, "architecture", c->architecture);
    bad |= set_int(o, "hidden_size", c->hidden_size);
    bad |= set_int(o, "num_layers", c->num_layers);
    bad |= set_int(o, "num_heads", c->num_heads);
    bad |= set_int(o, "head_dim", c->head_dim);
    bad |= set_int(o, "intermediate_size", c->intermediate_size);
    bad |= set_int(o, "vocab_size", c->vocab_size);
    bad |= set_int(o, "embedding_rows", c->embedding_rows);
    bad |= set_int(o, "max_positions", c->max_positions);
    bad |= set_int(o, "type_vocab_size", c->type_vocab_size);
    bad |= set_str(o, "position", bend_position_scheme_name(c->position));
    bad |= set_int(o, "position_offset", c->position_offset);
    if (c->position == BEND_POS_ROTARY) bad |= set_num(o, "rotary_base", c->rotary_base);
    if (c->position == BEND_POS_ALIBI) bad |= set_int(o, "alibi_starting_size", c->alibi_starting_size);
    bad |= set_str(o, "norm", bend_norm_placement_name(c->norm_placement));
    bad |= set_str(o, "norm_type", c->norm_kind == BEND_NORM_RMSNORM ? "rmsnorm" : "layernorm");
    bad |= set_num(o, "layer_norm_eps", c->layer_norm_eps);
    bad |= set_bool(o, "embedding_layer_norm", c->embedding_layer_norm);
    bad |= set_bool(o, "final_layer_norm", c->final_layer_norm);
    bad |= set_str(o, "activation", bend_activation_name(c->activation));
    bad |= set_bool(o, "qkv_fused", c->qkv_fused);
    bad |= set_bool(o, "attention_bias", c->attention_bias);
    bad |= set_bool(o, "ffn_bias", c->ffn_bias);
    bad |= set_bool(o, "token_dropout", c->token_dropout);
    bad |= set_num(o, "token_dropout_mask_ratio", c->token_dropout_mask_ratio);
    bad |= set_num(o, "token_dropout_scale", c->token_dropout_scale);
    bad |= set_id(o, "pad_token_id", c->pad_token_id);
    bad |= set_id(o, "mask_token_id", c->mask_token_id);
    const char *name = NULL;
    json_t *block = family_block(c, &name);
    if (block) bad |= json_object_set_new(o, name, block);
    /* 15 significant digits: 1e-12 stays "1e-12", 0.88 stays "0.88" */
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!s) return BEND_ERR_NOMEM;
    *out = s;
    return BEND_OK;
}
