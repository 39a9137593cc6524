#include "models/lm_embedder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint/weights.h"
#include "models/model_config.h"
#include "models/model_tensors.h"

typedef struct {
    bend_embedder_ops ops; /* per instance: ops.family is the family this handle embeds */
    char family[32];
    bend_model_config *cfg; /* NULL when wrapped */
    bend_weights *w;
    bend_lm *lm;
    bend_tokenizer *tok;
    bend_window_rules rules;
    int layer;
    int64_t batch_tokens;
    bool keep_skipped;
} lm_embedder;

void bend_lm_embedder_options_init(bend_lm_embedder_options *o)
{
    memset(o, 0, sizeof *o);
    o->upsample = -1;
    o->remove_special_tokens = -1;
    o->layer = BEND_LM_LAYER_BEND;
}

/* ---- count_rows / embed ---------------------------------------------------------------- */

static bend_status lm_count_rows(void *self, const char *seq, int64_t len, int64_t *rows, char *skip,
                                 size_t skip_len, bend_error *err)
{
    lm_embedder *s = self;
    bend_window_plan p;
    bend_status st = bend_window_plan_make(&s->rules, s->tok, seq, (size_t)len, &p, err);
    if (st) return st;
    *rows = p.n_rows;
    if (p.skip[0]) {
        if (skip_len) snprintf(skip, skip_len, "%s", p.skip);
        if (!s->keep_skipped) *rows = -1;
    }
    bend_window_plan_free(&p);
    return BEND_OK;
}

/* Runs windows [w0, w1) of the concatenation (global offsets `start`) in one forward call. */
static bend_status forward_group(lm_embedder *s, const int64_t *start, const int32_t *ids, size_t w0,
                                 size_t w1, int64_t *local, float *outputs, bend_error *err)
{
    for (size_t w = w0; w <= w1; w++) local[w - w0] = start[w] - start[w0];
    return bend_lm_forward(s->lm, (int)(w1 - w0), local, ids + start[w0], s->layer,
                           outputs + start[w0] * bend_lm_output_width(s->lm, s->layer), err);
}

static bend_status lm_embed(void *self, size_t n, const char *const *seqs, const int64_t *lens,
                            float *out, bend_error *err)
{
    lm_embedder *s = self;
    const int64_t dim = bend_lm_output_width(s->lm, s->layer);
    bend_window_plan *plans = calloc(n ? n : 1, sizeof *plans);
    if (!plans) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = BEND_OK;
    size_t n_windows = 0;
    int64_t n_outputs = 0;
    for (size_t i = 0; i < n && !st; i++) {
        st = bend_window_plan_make(&s->rules, s->tok, seqs[i], (size_t)lens[i], &plans[i], err);
        if (st) {
            bend_error_context(err, "sequence %zu of %zu (%lld nt)", i + 1, n, (long long)lens[i]);
            break;
        }
        n_windows += plans[i].n_windows;
        n_outputs += plans[i].n_outputs;
    }
    /* All windows of all sequences, one id array: the forward calls take consecutive runs. */
    int64_t *start = NULL, *local = NULL;
    int32_t *ids = NULL;
    float *outputs = NULL;
    if (!st) {
        start = malloc((n_windows + 1) * sizeof *start);
        local = malloc((n_windows + 1) * sizeof *local);
        ids = malloc((size_t)(n_outputs ? n_outputs : 1) * sizeof *ids);
        outputs = malloc((size_t)(n_outputs ? n_outputs : 1) * (size_t)dim * sizeof *outputs);
        if (!start || !local || !ids || !outputs)
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory (%lld tokens x %lld dims of model "
                           "outputs for %zu sequences)", (long long)n_outputs, (long long)dim, n);
    }
    if (!st) {
        size_t w = 0;
        start[0] = 0;
        for (size_t i = 0; i < n; i++) {
            const bend_window_plan *p = &plans[i];
            if (p->n_windows) memcpy(ids + start[w], p->ids, p->window_start[p->n_windows] * sizeof *ids);
            for (size_t k = 0; k < p->n_windows; k++, w++)
                start[w + 1] = start[w] + (int64_t)(p->window_start[k + 1] - p->window_start[k]);
        }
        /* Forward calls of at most batch_tokens tokens (one window alone may exceed it). */
        for (size_t w0 = 0; w0 < n_windows && !st;) {
            size_t w1 = w0 + 1;
            while (w1 < n_windows && start[w1 + 1] - start[w0] <= s->batch_tokens) w1++;
            st = forward_group(s, start, ids, w0, w1, local, outputs, err);
            w0 = w1;
        }
    }
    if (!st) {
        int64_t base = 0;
        for (size_t i = 0; i < n; i++) {
            bend_window_gather(&plans[i], outputs + base * dim, dim, out);
            out += plans[i].n_rows * dim;
            base += plans[i].n_outputs;
        }
    }
    for (size_t i = 0; i < n; i++) bend_window_plan_free(&plans[i]);
    free(plans);
    free(start);
    free(local);
    free(ids);
    free(outputs);
    return st;
}

static void lm_destroy(void *self)
{
    lm_embedder *s = self;
    bend_lm_close(s->lm);
    bend_tokenizer_close(s->tok);
    bend_weights_close(s->w);
    free(s->cfg);
    free(s);
}

static lm_embedder *new_state(const char *family, const bend_window_rules *rules, int layer,
                              int64_t batch_tokens, bool keep_skipped)
{
    lm_embedder *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    snprintf(s->family, sizeof s->family, "%s", family);
    s->ops = (bend_embedder_ops){
        .family = s->family,
        .count_rows = lm_count_rows,
        .embed = lm_embed,
        .destroy = lm_destroy,
    };
    s->rules = *rules;
    s->layer = layer;
    s->batch_tokens = batch_tokens > 0 ? batch_tokens : BEND_LM_BATCH_TOKENS;
    s->keep_skipped = keep_skipped;
    return s;
}

bend_status bend_lm_embedder_wrap(const char *family, bend_lm *lm, bend_tokenizer *tok,
                                  const bend_window_rules *rules, int layer, int64_t batch_tokens,
                                  bool keep_skipped, bend_embedder **out, bend_error *err)
{
    *out = NULL;
    lm_embedder *s = new_state(family, rules, layer, batch_tokens, keep_skipped);
    if (!s) {
        bend_lm_close(lm);
        bend_tokenizer_close(tok);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    s->lm = lm;
    s->tok = tok;
    return bend_embedder_wrap(&s->ops, s, bend_lm_output_width(lm, layer), out, err);
}

/* ---- opening a checkpoint directory ---------------------------------------------------- */

/* BEND's HyenaDNAEmbedder picks max_length from the checkpoint directory's name; other names
 * (BEND raises KeyError) get the config's l_max less the two special tokens. */
static int64_t hyena_max_length(const bend_model_config *cfg, const char *model_dir)
{
    static const struct {
        const char *name;
        int64_t max_length;
    } known[] = {
        {"hyenadna-tiny-1k-seqlen", 1024},      {"hyenadna-small-32k-seqlen", 32768},
        {"hyenadna-medium-160k-seqlen", 160000}, {"hyenadna-medium-450k-seqlen", 450000},
        {"hyenadna-large-1m-seqlen", 1000000},
    };
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", model_dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(base, known[i].name)) return known[i].max_length;
    return cfg->hyena.l_max > 2 ? cfg->hyena.l_max - 2 : 0;
}

bend_status bend_lm_embedder_rules(const bend_model_config *cfg, const char *model_dir,
                                   const bend_lm_embedder_options *o, bend_window_rules *r,
                                   bend_error *err)
{
    const char *family = bend_model_family_name(cfg->family);
    bend_status st = bend_window_rules_for_family(family, r, err);
    if (st) return st;
    switch (cfg->family) {
    case BEND_FAMILY_DNABERT:
        r->kmer = o->kmer ? o->kmer : cfg->version ? cfg->version : 6;
        if (r->kmer < 3 || r->kmer > 6)
            return bend_fail(err, BEND_ERR_INVALID, "%s: DNABERT k-mer size %d is not one of 3..6",
                             cfg->config_path, r->kmer);
        break;
    case BEND_FAMILY_NT:
        if (cfg->version == 2) { /* NucleotideTransformerEmbedder: 'v2' in the model name */
            r->piece_nucleotides = 12282;
            r->max_tokens = 2048;
        }
        break;
    case BEND_FAMILY_GENA_LM:
        if (cfg->arch == BEND_ARCH_BIGBIRD) r->max_tokens = 4096 - 2; /* 'bigbird' in the name */
        break;
    case BEND_FAMILY_HYENADNA:
        r->piece_nucleotides = hyena_max_length(cfg, model_dir);
        if (r->piece_nucleotides <= 0)
            return bend_fail(err, BEND_ERR_INVALID, "%s: no HyenaDNA max length (layer.l_max) to "
                             "cut sequences by", cfg->config_path);
        break;
    default:
        break;
    }
    if (o->max_tokens > 0) r->max_tokens = o->max_tokens;
    if (o->piece_nucleotides > 0) r->piece_nucleotides = o->piece_nucleotides;
    if (o->upsample >= 0) r->upsample = o->upsample;
    if (o->remove_special_tokens >= 0) r->remove_special_tokens = o->remove_special_tokens;
    return BEND_OK;
}

static bool lm_family(bend_model_family f)
{
    switch (f) {
    case BEND_FAMILY_DNABERT: case BEND_FAMILY_DNABERT2: case BEND_FAMILY_NT:
    case BEND_FAMILY_GENA_LM: case BEND_FAMILY_GROVER: case BEND_FAMILY_HYENADNA:
    case BEND_FAMILY_AWDLSTM: case BEND_FAMILY_RESNETLM: case BEND_FAMILY_CADUCEUS:
        return true;
    default:
        return false;
    }
}

bend_status bend_lm_embedder_open_dir(const char *model_dir, const bend_lm_embedder_options *o,
                                      const bend_device *dev, bend_embedder **out, bend_error *err)
{
    *out = NULL;
    bend_model_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = bend_model_config_load(model_dir, o->family, cfg, err);
    if (!st && !lm_family(cfg->family))
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: family %s is not embedded by the language-model "
                       "embedder (supported: dnabert, dnabert2, nucleotide_transformer, gena_lm, "
                       "grover, hyenadna, awdlstm, resnetlm, caduceus)", model_dir, bend_model_family_name(cfg->family));
    bend_window_rules rules;
    if (!st) st = bend_lm_embedder_rules(cfg, model_dir, o, &rules, err);
    bend_weights *w = NULL;
    bend_tokenizer *tok = NULL;
    bend_lm *lm = NULL;
    if (!st) st = bend_weights_open(model_dir, &w, err);
    if (!st) st = bend_model_check_weights(cfg, w, NULL, err);
    if (!st) {
        bend_tokenizer_options topts = {.kind = NULL, .kmer = cfg->family == BEND_FAMILY_DNABERT ? rules.kmer : 0};
        st = bend_tokenizer_open(model_dir, &topts, &tok, err);
    }
    if (!st) st = bend_lm_open(cfg, w, dev, &lm, err);
    if (!st && o->layer == BEND_LM_LAYER_LOGITS && bend_lm_output_width(lm, o->layer) == 0)
        st = bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: this checkpoint has no masked-language-model "
                       "head, so there are no logits to output", cfg->config_path);
    if (!st && o->layer != BEND_LM_LAYER_LOGITS && bend_lm_output_width(lm, o->layer) == 0)
        st = bend_fail(err, BEND_ERR_INVALID, "layer %d: %s has hidden states 0..%d (0 = embeddings)",
                       o->layer, cfg->config_path, lm->n_layers);
    if (!st && o->expect_dim > 0 && o->expect_dim != bend_lm_output_width(lm, o->layer))
        st = bend_fail(err, BEND_ERR_INVALID, "%s is %lld, but the model's hidden states have %lld "
                       "dimensions (%s)", o->dim_source ? o->dim_source : "embedding_dim",
                       (long long)o->expect_dim, (long long)bend_lm_output_width(lm, o->layer),
                       cfg->config_path);
    lm_embedder *s = NULL;
    if (!st && !(s = new_state(bend_model_family_name(cfg->family), &rules, o->layer, o->batch_tokens,
                               o->keep_skipped)))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (st) {
        bend_lm_close(lm);
        bend_tokenizer_close(tok);
        bend_weights_close(w);
        free(cfg);
        return st;
    }
    s->cfg = cfg;
    s->w = w;
    s->lm = lm;
    s->tok = tok;
    return bend_embedder_wrap(&s->ops, s, bend_lm_output_width(lm, o->layer), out, err);
}

/* ---- the registry's opener ------------------------------------------------------------- */

static bend_status opt_bool(const bend_config *cfg, const char *model, const char *name, int *out,
                            bend_error *err)
{
    char key[512];
    snprintf(key, sizeof key, "%s.%s", model, name);
    if (!bend_config_has(cfg, key) || bend_config_is_null(cfg, key)) return BEND_OK;
    bool v;
    bend_status st = bend_config_get_bool(cfg, key, &v, err);
    if (!st) *out = v;
    return st;
}

static bend_status opt_int(const bend_config *cfg, const char *model, const char *name, int64_t *out,
                           bool *given, bend_error *err)
{
    char key[512];
    snprintf(key, sizeof key, "%s.%s", model, name);
    *given = false;
    if (!bend_config_has(cfg, key) || bend_config_is_null(cfg, key)) return BEND_OK;
    *given = true;
    return bend_config_get_int(cfg, key, out, err);
}

bend_status bend_lm_embedder_open(const bend_config *cfg, const char *model, const bend_device *dev,
                                  bend_embedder **out, bend_error *err)
{
    *out = NULL;
    bend_lm_embedder_options o;
    bend_lm_embedder_options_init(&o);
    char key[512], dim_key[512], *family = NULL, *path = NULL;
    snprintf(key, sizeof key, "%s.family", model);
    bend_status st = bend_config_get_str(cfg, key, &family, err);
    /* BEND's YAMLs name the directory model_path or model_name depending on the family. */
    const char *path_key = "model_path";
    snprintf(key, sizeof key, "%s.model_path", model);
    if (!bend_config_has(cfg, key) || bend_config_is_null(cfg, key)) {
        path_key = "model_name";
        snprintf(key, sizeof key, "%s.model_name", model);
    }
    if (!st) st = bend_config_get_str(cfg, key, &path, err);
    if (!st && !path)
        st = bend_fail(err, BEND_ERR_INVALID, "config: model '%s' has no model_path (or model_name): "
                       "set %s.model_path to its checkpoint directory", model, model);
    int64_t v = 0;
    bool given = false;
    if (!st) st = opt_int(cfg, model, "kmer", &v, &given, err);
    if (!st && given) o.kmer = (int)v;
    if (!st) st = opt_int(cfg, model, "layer", &v, &given, err);
    if (!st && given) o.layer = (int)v;
    if (!st) st = opt_int(cfg, model, "embedding_dim", &v, &given, err);
    if (!st && given) o.expect_dim = v;
    if (!st) st = opt_int(cfg, model, "batch_tokens", &v, &given, err);
    if (!st && given) o.batch_tokens = v;
    if (!st) st = opt_bool(cfg, model, "upsample_embeddings", &o.upsample, err);
    if (!st) st = opt_bool(cfg, model, "remove_special_tokens", &o.remove_special_tokens, err);
    snprintf(dim_key, sizeof dim_key, "config key '%s.embedding_dim'", model);
    o.dim_source = dim_key;
    o.family = family;
    struct stat sb;
    if (!st && stat(path, &sb) != 0)
        st = bend_fail(err, BEND_ERR_IO, "model '%s': checkpoint directory %s (config key '%s.%s') does "
                       "not exist; download the model there or point %s.%s (or embedders_dir) at it",
                       model, path, model, path_key, model, path_key);
    else if (!st) {
        st = bend_lm_embedder_open_dir(path, &o, dev, out, err);
        if (st) bend_error_context(err, "model '%s' (%s.%s = %s)", model, model, path_key, path);
    }
    free(family);
    free(path);
    return st;
}
