/* config.json -> bend_model_config: the JSON access helpers, family detection, loading, and the
 * per-family parsers. Serialisation back to JSON is in model_config_json.c. */
#include "models/model_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "models/model_config_internal.h"

/* ---- names ------------------------------------------------------------------------------------ */

static const struct {
    bend_model_family family;
    const char *name;
} family_names[] = {
    {BEND_FAMILY_ONEHOT, "onehot"},
    {BEND_FAMILY_DNABERT, "dnabert"},
    {BEND_FAMILY_DNABERT2, "dnabert2"},
    {BEND_FAMILY_NT, "nucleotide_transformer"},
    {BEND_FAMILY_GENA_LM, "gena_lm"},
    {BEND_FAMILY_GROVER, "grover"},
    {BEND_FAMILY_HYENADNA, "hyenadna"},
    {BEND_FAMILY_AWDLSTM, "awdlstm"},
    {BEND_FAMILY_RESNETLM, "resnetlm"},
    {BEND_FAMILY_GPN, "gpn"},
    {BEND_FAMILY_CADUCEUS, "caduceus"},
};

const char *bend_model_family_name(bend_model_family f)
{
    for (size_t i = 0; i < sizeof family_names / sizeof *family_names; i++)
        if (family_names[i].family == f) return family_names[i].name;
    return "unknown";
}

bend_status bend_model_family_from_name(const char *name, bend_model_family *out, bend_error *err)
{
    for (size_t i = 0; name && i < sizeof family_names / sizeof *family_names; i++) {
        if (!strcmp(family_names[i].name, name)) {
            *out = family_names[i].family;
            return BEND_OK;
        }
    }
    return bend_fail(err, BEND_ERR_INVALID,
                     "unknown model family '%s' (known: onehot, dnabert, dnabert2, "
                     "nucleotide_transformer, gena_lm, grover, hyenadna, awdlstm, resnetlm, gpn, "
                     "caduceus)", name ? name : "(null)");
}

const char *bend_model_arch_name(bend_model_arch a)
{
    switch (a) {
    case BEND_ARCH_NONE: return "none";
    case BEND_ARCH_BERT: return "bert";
    case BEND_ARCH_MOSAIC_BERT: return "mosaic_bert";
    case BEND_ARCH_BIGBIRD: return "big_bird";
    case BEND_ARCH_ESM: return "esm";
    case BEND_ARCH_HYENA: return "hyena";
    case BEND_ARCH_AWD_LSTM: return "awd_lstm";
    case BEND_ARCH_CONVNET: return "convnet";
    case BEND_ARCH_GPN_ROFORMER: return "gpn_roformer";
    case BEND_ARCH_MAMBA: return "mamba";
    }
    return "unknown";
}

const char *bend_position_scheme_name(bend_position_scheme p)
{
    switch (p) {
    case BEND_POS_NONE: return "none";
    case BEND_POS_ABSOLUTE: return "absolute";
    case BEND_POS_ROTARY: return "rotary";
    case BEND_POS_ALIBI: return "alibi";
    }
    return "unknown";
}

const char *bend_norm_placement_name(bend_norm_placement n)
{
    switch (n) {
    case BEND_NORM_NONE: return "none";
    case BEND_NORM_PRE: return "pre";
    case BEND_NORM_POST: return "post";
    case BEND_NORM_BRANCH: return "branch";
    }
    return "unknown";
}

const char *bend_activation_name(bend_activation a)
{
    switch (a) {
    case BEND_ACT_NONE: return "none";
    case BEND_ACT_GELU: return "gelu";
    case BEND_ACT_GELU_TANH: return "gelu_tanh";
    case BEND_ACT_GEGLU: return "geglu";
    case BEND_ACT_SWIGLU: return "swiglu";
    case BEND_ACT_RELU: return "relu";
    case BEND_ACT_SILU: return "silu";
    }
    return "unknown";
}

/* ---- typed access ----------------------------------------------------------------------------- */

static const char *json_type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* The value under key, NULL when absent; JSON null counts as absent unless keep_null. */
static json_t *lookup(json_t *obj, const char *key, bool keep_null)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v && json_is_null(v) && !keep_null) return NULL;
    return v;
}

/* "layer.l_max" for a key inside the `layer` block */
static void key_name(char *buf, size_t n, const char *prefix, const char *key)
{
    if (prefix && *prefix)
        snprintf(buf, n, "%s.%s", prefix, key);
    else
        snprintf(buf, n, "%s", key);
}

static bend_status missing(const mc_ctx *c, const char *prefix, const char *key)
{
    char name[256];
    key_name(name, sizeof name, prefix, key);
    return bend_fail(c->err, BEND_ERR_INVALID, "%s: key '%s' is missing (required for %s)",
                     c->path, name, bend_model_family_name(c->family));
}

static bend_status wrong_type(const mc_ctx *c, const char *prefix, const char *key,
                              const char *want, const json_t *got)
{
    char name[256];
    key_name(name, sizeof name, prefix, key);
    return bend_fail(c->err, BEND_ERR_INVALID, "%s: key '%s' must be %s, not %s", c->path, name,
                     want, json_type_word(got));
}

bend_status mc_int(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, int64_t def, int64_t *out)
{
    json_t *v = lookup(obj, key, required);
    if (!v) {
        if (required) return missing(c, prefix, key);
        *out = def;
        return BEND_OK;
    }
    if (!json_is_integer(v)) return wrong_type(c, prefix, key, "an integer", v);
    *out = (int64_t)json_integer_value(v);
    return BEND_OK;
}

bend_status mc_num(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, double def, double *out)
{
    json_t *v = lookup(obj, key, required);
    if (!v) {
        if (required) return missing(c, prefix, key);
        *out = def;
        return BEND_OK;
    }
    if (!json_is_number(v)) return wrong_type(c, prefix, key, "a number", v);
    *out = json_number_value(v);
    return BEND_OK;
}

bend_status mc_bool(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                    bool required, bool def, bool *out)
{
    json_t *v = lookup(obj, key, required);
    if (!v) {
        if (required) return missing(c, prefix, key);
        *out = def;
        return BEND_OK;
    }
    if (!json_is_boolean(v)) return wrong_type(c, prefix, key, "true or false", v);
    *out = json_is_true(v);
    return BEND_OK;
}

bend_status mc_str(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                   bool required, const char *def, char *out, size_t n)
{
    json_t *v = lookup(obj, key, required);
    if (!v) {
        if (required) return missing(c, prefix, key);
        snprintf(out, n, "%s", def ? def : "");
        return BEND_OK;
    }
    if (!json_is_string(v)) return wrong_type(c, prefix, key, "a string", v);
    if (strlen(json_string_value(v)) >= n) {
        char name[256];
        key_name(name, sizeof name, prefix, key);
        return bend_fail(c->err, BEND_ERR_INVALID, "%s: key '%s' is too long (%zu characters)",
                         c->path, name, strlen(json_string_value(v)));
    }
    snprintf(out, n, "%s", json_string_value(v));
    return BEND_OK;
}

bend_status mc_object(const mc_ctx *c, json_t *obj, const char *prefix, const char *key,
                      bool required, json_t **out)
{
    json_t *v = lookup(obj, key, required);
    *out = NULL;
    if (!v) return required ? missing(c, prefix, key) : BEND_OK;
    if (!json_is_object(v)) return wrong_type(c, prefix, key, "an object", v);
    *out = v;
    return BEND_OK;
}

bend_status mc_positive(const mc_ctx *c, const char *prefix, const char *key, int64_t v)
{
    if (v > 0) return BEND_OK;
    char name[256];
    key_name(name, sizeof name, prefix, key);
    return bend_fail(c->err, BEND_ERR_INVALID, "%s: key '%s' must be positive, not %lld", c->path,
                     name, (long long)v);
}

bend_status mc_invalid(const mc_ctx *c, const char *key, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return bend_fail(c->err, BEND_ERR_INVALID, "%s: key '%s' %s", c->path, key, detail);
}

bend_status mc_unsupported(const mc_ctx *c, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return bend_fail(c->err, BEND_ERR_UNSUPPORTED, "%s: %s", c->path, detail);
}

/* ---- detection -------------------------------------------------------------------------------- */

static bool file_in_dir(const char *dir, const char *name)
{
    if (!dir || !*dir) return false;
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *jstring_or(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static bool has_key(json_t *obj, const char *key)
{
    return json_object_get(obj, key) != NULL;
}

/* True when any string value in auto_map contains needle. */
static bool auto_map_mentions(json_t *root, const char *needle)
{
    json_t *am = json_object_get(root, "auto_map");
    if (!json_is_object(am)) return false;
    const char *k;
    json_t *v;
    json_object_foreach(am, k, v) {
        if (json_is_string(v) && strstr(json_string_value(v), needle)) return true;
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (json_is_string(e) && strstr(json_string_value(e), needle)) return true;
            }
        }
    }
    return false;
}

/* vocab_size 4^k + 5 (k = 3..6): a DNABERT k-mer vocabulary; 0 otherwise. */
int mc_dnabert_k(int64_t vocab)
{
    for (int k = 3; k <= 6; k++)
        if (vocab == (1LL << (2 * k)) + 5) return k;
    return 0;
}

/* Family from a BERT-type config (model_type "bert" or a Bert* architecture). */
static bend_model_family detect_bert(json_t *root)
{
    if (has_key(root, "alibi_starting_size") || auto_map_mentions(root, "bert_layers"))
        return BEND_FAMILY_DNABERT2;
    if (has_key(root, "pre_layer_norm")) return BEND_FAMILY_GENA_LM;
    json_t *v = json_object_get(root, "vocab_size");
    if (json_is_integer(v) && mc_dnabert_k(json_integer_value(v))) return BEND_FAMILY_DNABERT;
    return BEND_FAMILY_GROVER;
}

static bool has_gpn_keys(json_t *root)
{
    return has_key(root, "dilation_base") || has_key(root, "n_aux_features") ||
           has_key(root, "aux_features_vocab_size");
}

/* Maps a model_type (or an architecture name's stem) to a family; UNKNOWN if not ours. */
static bend_model_family family_of_type(json_t *root, const char *type)
{
    if (!strcasecmp(type, "esm")) return BEND_FAMILY_NT;
    if (!strcasecmp(type, "big_bird") || !strcasecmp(type, "bigbird")) return BEND_FAMILY_GENA_LM;
    if (!strcasecmp(type, "bert")) return detect_bert(root);
    if (!strcasecmp(type, "convnet"))
        return has_gpn_keys(root) ? BEND_FAMILY_GPN : BEND_FAMILY_RESNETLM;
    if (!strcasecmp(type, "gpn") || !strcasecmp(type, "gpnroformer")) return BEND_FAMILY_GPN;
    if (!strcasecmp(type, "awdlstm") || !strcasecmp(type, "awd_lstm")) return BEND_FAMILY_AWDLSTM;
    if (!strcasecmp(type, "caduceus")) return BEND_FAMILY_CADUCEUS;
    if (!strcasecmp(type, "hyenadna") || !strcasecmp(type, "hyena")) return BEND_FAMILY_HYENADNA;
    return BEND_FAMILY_UNKNOWN;
}

static bend_status detect(json_t *root, const char *path, const char *dir, bend_model_family *out,
                          bend_error *err)
{
    *out = BEND_FAMILY_UNKNOWN;
    json_t *layer = json_object_get(root, "layer");
    if (json_is_object(layer) && has_key(layer, "_name_")) {
        *out = BEND_FAMILY_HYENADNA;
        return BEND_OK;
    }
    if (has_key(root, "d_model") && has_key(root, "n_layer") && file_in_dir(dir, "weights.ckpt") &&
        !has_key(root, "model_type")) {
        *out = BEND_FAMILY_HYENADNA;
        return BEND_OK;
    }
    const char *type = jstring_or(root, "model_type", NULL);
    if (type) {
        *out = family_of_type(root, type);
        if (*out) return BEND_OK;
    }
    json_t *archs = json_object_get(root, "architectures");
    const char *arch = json_is_array(archs) ? json_string_value(json_array_get(archs, 0)) : NULL;
    if (arch) {
        static const char *const stems[][2] = {
            {"Bert", "bert"}, {"Esm", "esm"}, {"BigBird", "big_bird"}, {"ConvNet", "convnet"},
            {"AWDLSTM", "awdlstm"}, {"Caduceus", "caduceus"}, {"GPN", "gpn"},
            {"HyenaDNA", "hyenadna"},
        };
        for (size_t i = 0; i < sizeof stems / sizeof *stems; i++) {
            if (!strncmp(arch, stems[i][0], strlen(stems[i][0]))) {
                *out = family_of_type(root, stems[i][1]);
                if (*out) return BEND_OK;
            }
        }
    }
    return bend_fail(err, BEND_ERR_INVALID,
                     "%s: cannot tell the model family (model_type %s%s%s, architectures[0] %s%s%s); "
                     "name it explicitly (bend inspect --family, or `family:` in the model's YAML)",
                     path, type ? "'" : "", type ? type : "absent", type ? "'" : "",
                     arch ? "'" : "", arch ? arch : "absent", arch ? "'" : "");
}

bend_status bend_model_config_detect(const char *json_text, const char *path, const char *dir,
                                     bend_model_family *out, bend_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(json_text, 0, &jerr);
    if (!root)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
                         jerr.column, jerr.text);
    bend_status st = BEND_OK;
    if (!json_is_object(root))
        st = bend_fail(err, BEND_ERR_PARSE, "%s: the top level must be a JSON object, not %s",
                       path, json_type_word(root));
    else
        st = detect(root, path, dir, out, err);
    json_decref(root);
    return st;
}

/* ---- loading ---------------------------------------------------------------------------------- */

static void common_defaults(bend_model_config *out)
{
    memset(out, 0, sizeof *out);
    out->pad_token_id = -1;
    out->mask_token_id = -1;
    out->token_dropout_scale = 1.0;
    out->awdlstm.reset_token_id = -1;
    out->hyena.local_order = -1;
}

static bend_status onehot_config(bend_model_config *out)
{
    out->family = BEND_FAMILY_ONEHOT;
    out->arch = BEND_ARCH_NONE;
    /* BEND's OneHotEmbedder: A C G N T, one channel each */
    out->hidden_size = 5;
    out->vocab_size = 5;
    out->embedding_rows = 5;
    return BEND_OK;
}

bend_status bend_model_config_parse(const char *json_text, const char *path, const char *dir,
                                    const char *family, bend_model_config *out, bend_error *err)
{
    common_defaults(out);
    bend_model_family fam = BEND_FAMILY_UNKNOWN;
    if (family && bend_model_family_from_name(family, &fam, err)) return err ? err->status : BEND_ERR_INVALID;
    if (fam == BEND_FAMILY_ONEHOT) return onehot_config(out);

    json_error_t jerr;
    json_t *root = json_loads(json_text, 0, &jerr);
    if (!root)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
                         jerr.column, jerr.text);
    bend_status st = BEND_OK;
    if (!json_is_object(root)) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s: the top level must be a JSON object, not %s",
                       path, json_type_word(root));
        goto done;
    }
    if (fam == BEND_FAMILY_UNKNOWN && (st = detect(root, path, dir, &fam, err))) goto done;

    snprintf(out->config_path, sizeof out->config_path, "%s", path);
    out->family = fam;
    mc_ctx c = {root, path, dir, fam, err};
    if ((st = mc_str(&c, root, NULL, "model_type", false, "", out->model_type,
                     sizeof out->model_type)))
        goto done;
    json_t *archs = json_object_get(root, "architectures");
    if (json_is_array(archs) && json_is_string(json_array_get(archs, 0)))
        snprintf(out->architecture, sizeof out->architecture, "%s",
                 json_string_value(json_array_get(archs, 0)));

    switch (fam) {
    case BEND_FAMILY_DNABERT:
    case BEND_FAMILY_GROVER:
    case BEND_FAMILY_DNABERT2:
    case BEND_FAMILY_GENA_LM: st = mc_parse_bert_family(&c, out); break;
    case BEND_FAMILY_NT: st = mc_parse_esm(&c, out); break;
    case BEND_FAMILY_HYENADNA: st = mc_parse_hyena(&c, out); break;
    case BEND_FAMILY_AWDLSTM: st = mc_parse_awdlstm(&c, out); break;
    case BEND_FAMILY_RESNETLM:
    case BEND_FAMILY_GPN: st = mc_parse_convnet(&c, out); break;
    case BEND_FAMILY_CADUCEUS: st = mc_parse_caduceus(&c, out); break;
    case BEND_FAMILY_ONEHOT:
    case BEND_FAMILY_UNKNOWN: st = bend_fail(err, BEND_ERR_INTERNAL, "unhandled family"); break;
    }
done:
    json_decref(root);
    return st;
}

static bend_status read_text(const char *path, char **out, bend_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return bend_fail(err, BEND_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    enum { MAX_CONFIG = 64 << 20 };
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    bend_status st = BEND_OK;
    while (buf) {
        if (len + 1 >= cap) {
            if (cap >= MAX_CONFIG) {
                st = bend_fail(err, BEND_ERR_INVALID, "%s: larger than %d MiB; not a config.json",
                               path, MAX_CONFIG >> 20);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) st = bend_fail(err, BEND_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(fp);
    if (!buf) return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory reading it", path);
    if (st) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        return bend_fail(err, BEND_ERR_PARSE, "%s: not valid JSON: contains a NUL byte", path);
    }
    *out = buf;
    return BEND_OK;
}

bend_status bend_model_config_load(const char *model_dir, const char *family,
                                   bend_model_config *out, bend_error *err)
{
    if (family) {
        bend_model_family fam = BEND_FAMILY_UNKNOWN;
        if (bend_model_family_from_name(family, &fam, err)) return err ? err->status : BEND_ERR_INVALID;
        if (fam == BEND_FAMILY_ONEHOT) {
            common_defaults(out);
            return onehot_config(out);
        }
    }
    if (!model_dir || !*model_dir)
        return bend_fail(err, BEND_ERR_INVALID, "no model directory given");
    /* model_dir: a directory, its config.json, or any file in it (e.g. the weights) */
    char dir[4096], path[4352];
    struct stat st_;
    if (stat(model_dir, &st_) != 0)
        return bend_fail(err, BEND_ERR_IO, "%s: %s", model_dir, strerror(errno));
    if (S_ISDIR(st_.st_mode)) {
        snprintf(dir, sizeof dir, "%s", model_dir);
        snprintf(path, sizeof path, "%s/config.json", dir);
    } else {
        snprintf(dir, sizeof dir, "%s", model_dir);
        char *slash = strrchr(dir, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        size_t n = strlen(model_dir);
        if (n >= 5 && !strcmp(model_dir + n - 5, ".json"))
            snprintf(path, sizeof path, "%s", model_dir);
        else
            snprintf(path, sizeof path, "%s/config.json", dir);
    }
    if (stat(path, &st_) != 0 && errno == ENOENT)
        return bend_fail(err, BEND_ERR_IO,
                         "%s: no config.json in this model directory (every family but onehot "
                         "needs one)", path);
    char *text = NULL;
    bend_status st = read_text(path, &text, err);
    if (st) return st;
    st = bend_model_config_parse(text, path, dir, family, out, err);
    free(text);
    return st;
}

int64_t bend_convnet_dilation(const bend_model_config *c, int64_t layer)
{
    const bend_convnet_config *v = &c->convnet;
    if (v->dilation_cycle < 1 || v->dilation_double_every < 1) return 1;
    int64_t e = (layer % v->dilation_cycle) / v->dilation_double_every;
    int64_t d = 1;
    for (int64_t i = 0; i < e && d <= v->dilation_max; i++) d *= v->dilation_base;
    return d < v->dilation_max ? d : v->dilation_max;
}
