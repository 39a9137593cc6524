/* Shared by model_config*.c only: typed access to config.json values with messages that name the
 * file and the key, and the per-family parsers. */
#ifndef BEND_MODELS_MODEL_CONFIG_INTERNAL_H
#define BEND_MODELS_MODEL_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "models/model_config.h"

typedef struct mc_ctx {
    json_t *root;
    const char *path;  /* config.json, for messages */
    const char *dir;   /* the model directory (may be NULL) */
    bend_model_family family;
    bend_error *err;
} mc_ctx;

/* Each getter: `prefix` names the enclosing block in messages ("layer" -> 'layer.l_max'), NULL at
 * top level. An absent key (or JSON null) gives `def`, or an error naming the key when required;
 * a value of the wrong JSON type is an error naming the key and both types. */
bend_status mc_int(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, int64_t def, int64_t *out);
bend_status mc_num(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, double def, double *out);
bend_status mc_bool(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                    bool required, bool def, bool *out);
bend_status mc_str(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, const char *def, char *out, size_t n);
bend_status mc_object(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                      bool required, json_t **out);
bend_status mc_positive(const mc_ctx *c, const char *prefix, const char *key, int64_t v);
bend_status mc_invalid(const mc_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bend_status mc_unsupported(const mc_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int mc_dnabert_k(int64_t vocab);

/* model_config_families.c */
bend_status mc_parse_bert_family(const mc_ctx *c, bend_model_config *out); /* dnabert, grover, dnabert2, gena_lm */
bend_status mc_parse_esm(const mc_ctx *c, bend_model_config *out);
bend_status mc_parse_hyena(const mc_ctx *c, bend_model_config *out);
bend_status mc_parse_awdlstm(const mc_ctx *c, bend_model_config *out);
bend_status mc_parse_convnet(const mc_ctx *c, bend_model_config *out);  /* resnetlm, gpn */
bend_status mc_parse_caduceus(const mc_ctx *c, bend_model_config *out);

#endif
