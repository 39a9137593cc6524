/* bend inspect MODEL_DIR [--family F] [--json]
 *
 * Describes a checkpoint directory as bend reads it: the family (detected from config.json or
 * given), the typed config, every tensor of the weights file (name, dtype, shape), the parameter
 * count and the tokenizer files present. MODEL_DIR may also be one weights file (e.g.
 * DIR/pytorch_model.bin when DIR also holds model.safetensors); config.json is then read from the
 * file's directory.
 *
 * --json prints one object: {"family": ..., "config": {...}, "tensors": {"name": {"dtype": "F32",
 * "shape": [...]}, ...}, "parameters": N}. The parameter count is the number of elements of the
 * floating-point tensors, each storage region counted once (tied weights saved twice in a .bin
 * count once; integer buffers such as position_ids do not count).
 *
 * Then the weights are checked against what the family's forward pass needs (models/
 * model_tensors.h): the text form ends with a `check:` line, the JSON gets "check": {"ok",
 * "message"}; a failed check makes inspect exit 2 (architectures the check does not cover, such
 * as GPN's RoFormer, get ok false and "not checked: ..." but do not fail). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "checkpoint/weights.h"
#include "cli/commands.h"
#include "core/log.h"
#include "models/model_config.h"
#include "models/model_tensors.h"

static const char *const usage_text =
    "usage: bend inspect MODEL_DIR [--family F] [--json]\n";

static const char *const tokenizer_files[] = {
    "vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer.model",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
};

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void dir_of(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

static json_t *tensors_json(const bend_weights *w)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < bend_weights_count(w); i++) {
        const bend_tensor_ref *r = bend_weights_at(w, i);
        json_t *t = json_object(), *shape = json_array();
        int bad = !t || !shape;
        for (int d = 0; !bad && d < r->ndim; d++)
            bad |= json_array_append_new(shape, json_integer(r->shape[d]));
        if (!bad) bad |= json_object_set_new(t, "dtype", json_string(bend_dtype_name(r->dtype)));
        if (!bad) {
            bad |= json_object_set_new(t, "shape", shape);
            shape = NULL;
        }
        if (!bad) {
            bad |= json_object_set_new(obj, r->name, t);
            t = NULL;
        }
        json_decref(shape);
        json_decref(t);
        if (bad) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static int print_json(const bend_model_config *cfg, const char *config_json, const bend_weights *w,
                      int64_t params, bool check_ok, const char *check_msg)
{
    json_error_t jerr;
    json_t *root = json_object();
    json_t *config = json_loads(config_json, 0, &jerr);
    json_t *tensors = w ? tensors_json(w) : json_object();
    int bad = !root || !config || !tensors;
    if (!bad) bad |= json_object_set_new(root, "family", json_string(bend_model_family_name(cfg->family)));
    if (!bad) {
        bad |= json_object_set_new(root, "config", config);
        config = NULL;
    }
    if (!bad) {
        bad |= json_object_set_new(root, "tensors", tensors);
        tensors = NULL;
    }
    if (!bad) bad |= json_object_set_new(root, "parameters", json_integer(params));
    if (!bad) bad |= json_object_set_new(root, "check", json_pack("{s:b,s:s}", "ok", check_ok,
                                                                   "message", check_msg));
    char *s = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(config);
    json_decref(tensors);
    json_decref(root);
    if (!s) {
        fprintf(stderr, "bend inspect: out of memory\n");
        return 1;
    }
    puts(s);
    free(s);
    return 0;
}

static void print_shape(const bend_tensor_ref *r)
{
    putchar('[');
    for (int d = 0; d < r->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)r->shape[d]);
    putchar(']');
}

static void print_text(const char *model, const char *dir, const bend_model_config *cfg,
                       const char *config_json, const bend_weights *w, int64_t params)
{
    printf("model       %s\n", model);
    printf("family      %s (%s", bend_model_family_name(cfg->family), bend_model_arch_name(cfg->arch));
    if (cfg->family == BEND_FAMILY_NT && cfg->version) printf(" v%d", cfg->version);
    if (cfg->family == BEND_FAMILY_DNABERT && cfg->version) printf(", k=%d", cfg->version);
    printf(")\n");
    if (cfg->config_path[0]) printf("config      %s\n", cfg->config_path);
    printf("  hidden %lld, layers %lld", (long long)cfg->hidden_size, (long long)cfg->num_layers);
    if (cfg->num_heads) printf(", heads %lld (dim %lld)", (long long)cfg->num_heads, (long long)cfg->head_dim);
    if (cfg->intermediate_size) printf(", intermediate %lld", (long long)cfg->intermediate_size);
    printf(", vocab %lld", (long long)cfg->vocab_size);
    if (cfg->embedding_rows != cfg->vocab_size) printf(" (%lld rows)", (long long)cfg->embedding_rows);
    printf("\n  positions %s", bend_position_scheme_name(cfg->position));
    if (cfg->max_positions) printf(", at most %lld tokens", (long long)cfg->max_positions);
    if (cfg->position == BEND_POS_ABSOLUTE && cfg->position_offset)
        printf(", first at %lld", (long long)cfg->position_offset);
    printf("; norm %s", bend_norm_placement_name(cfg->norm_placement));
    if (cfg->norm_placement != BEND_NORM_NONE)
        printf(" (%s, eps %g)", cfg->norm_kind == BEND_NORM_RMSNORM ? "RMSNorm" : "LayerNorm",
               cfg->layer_norm_eps);
    if (cfg->final_layer_norm) printf(", final norm");
    printf("; activation %s", bend_activation_name(cfg->activation));
    if (cfg->qkv_fused) printf("; fused QKV");
    if (cfg->token_dropout) printf("; token dropout (embeddings x %g)", cfg->token_dropout_scale);
    printf("\n");
    if (cfg->pad_token_id >= 0 || cfg->mask_token_id >= 0) {
        printf("  ");
        if (cfg->pad_token_id >= 0) printf("pad id %lld", (long long)cfg->pad_token_id);
        if (cfg->mask_token_id >= 0)
            printf("%smask id %lld", cfg->pad_token_id >= 0 ? ", " : "", (long long)cfg->mask_token_id);
        printf("\n");
    }
    /* the family-specific block of the typed config, as JSON */
    json_t *obj = config_json ? json_loads(config_json, 0, NULL) : NULL;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!json_is_object(val)) continue;
        char *s = json_dumps(val, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (s) printf("  %s %s\n", key, s);
        free(s);
    }
    json_decref(obj);
    if (w) {
        printf("weights     %s (%s): %zu tensors, %lld parameters\n",
               bend_weights_count(w) ? bend_weights_at(w, 0)->file : "-", bend_weights_format(w),
               bend_weights_count(w), (long long)params);
        for (size_t i = 0; i < bend_weights_count(w); i++) {
            const bend_tensor_ref *r = bend_weights_at(w, i);
            printf("  %-60s %-5s ", r->name, bend_dtype_name(r->dtype));
            print_shape(r);
            putchar('\n');
        }
    } else {
        printf("weights     none (%s has no network)\n", bend_model_family_name(cfg->family));
    }
    printf("tokenizer  ");
    int found = 0;
    for (size_t i = 0; dir && i < sizeof tokenizer_files / sizeof *tokenizer_files; i++) {
        if (is_file(dir, tokenizer_files[i])) {
            printf(" %s", tokenizer_files[i]);
            found++;
        }
    }
    printf("%s\n", found ? "" : " (no tokenizer files)");
}

int bend_cmd_inspect(int argc, char **argv)
{
    const char *model = NULL, *family = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\nDescribes a model checkpoint directory (or one weights file in it): the "
                   "model family (detected\nfrom config.json unless --family names it), the typed "
                   "config, every tensor (name, dtype,\nshape), the parameter count and the "
                   "tokenizer files present,\nthen checks that every tensor the family's forward pass "
                   "needs is there with the\nexpected shape (exit 2 if not). --json prints\n"
                   "{\"family\", \"config\", \"tensors\", \"parameters\", \"check\"} as one JSON "
                   "object.\n\nFamilies: onehot, dnabert, dnabert2, "
                   "nucleotide_transformer, gena_lm, grover, hyenadna, awdlstm,\nresnetlm, gpn, "
                   "caduceus.\n", usage_text);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!strcmp(argv[i], "--family")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bend inspect: --family needs a value\n%s", usage_text);
                return 2;
            }
            family = argv[++i];
        } else if (!strncmp(argv[i], "--family=", 9)) {
            family = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "bend inspect: unknown option '%s'\n%s", argv[i], usage_text);
            return 2;
        } else if (!model) {
            model = argv[i];
        } else {
            fprintf(stderr, "bend inspect: unexpected argument '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "%s", usage_text);
        return 2;
    }

    bend_error err;
    bend_error_clear(&err);
    bend_model_config cfg;
    bend_weights *w = NULL;
    char *config_json = NULL;
    char dir[4096];
    if (is_dir(model))
        snprintf(dir, sizeof dir, "%s", model);
    else
        dir_of(model, dir, sizeof dir);

    bend_status st = bend_model_config_load(model, family, &cfg, &err);
    if (!st && cfg.family != BEND_FAMILY_ONEHOT) st = bend_weights_open(model, &w, &err);
    if (!st && bend_model_config_to_json(&cfg, &config_json))
        st = bend_fail(&err, BEND_ERR_NOMEM, "out of memory");
    int64_t params = 0;
    if (!st && w && (params = bend_weights_parameter_count(w)) < 0)
        st = bend_fail(&err, BEND_ERR_NOMEM, "out of memory");
    /* what the family's forward pass needs, against the weights */
    bend_error cerr;
    bend_error_clear(&cerr);
    char check_msg[BEND_ERROR_MSG_MAX + 128];
    bend_status cst = BEND_OK;
    if (!st && w) {
        bend_tensor_expect *ex = NULL;
        size_t nex = 0;
        cst = bend_model_check_weights(&cfg, w, NULL, &cerr);
        if (!cst && !(cst = bend_model_expected_tensors(&cfg, &ex, &nex, &cerr)))
            snprintf(check_msg, sizeof check_msg, "all %zu tensors the %s forward pass needs are "
                     "present with the expected shapes", nex, bend_model_family_name(cfg.family));
        free(ex);
        if (cst) snprintf(check_msg, sizeof check_msg, "%s%s",
                          cst == BEND_ERR_UNSUPPORTED ? "not checked: " : "", cerr.msg);
    } else {
        snprintf(check_msg, sizeof check_msg, "%s has no network: no tensors to check",
                 bend_model_family_name(cfg.family));
    }
    int rc;
    if (st) {
        bend_report_error(&err);
        rc = bend_status_exit_code(st);
    } else if (as_json) {
        rc = print_json(&cfg, config_json, w, params, !cst, check_msg);
    } else {
        print_text(model, dir, &cfg, config_json, w, params);
        printf("check: %s\n", check_msg);
        rc = 0;
    }
    if (!rc && cst && cst != BEND_ERR_UNSUPPORTED) { /* not covered (GPN RoFormer): not fatal */
        bend_report_error(&cerr);
        rc = bend_status_exit_code(cst);
    }
    free(config_json);
    bend_weights_close(w);
    return rc;
}
