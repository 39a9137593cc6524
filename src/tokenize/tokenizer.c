/* The public tokenizer API: reads a checkpoint directory, decides which tokenizer it holds and
 * dispatches to the implementation (see tokenize_internal.h for the files).
 *
 * Detection when no kind is given, first rule that applies:
 *   1. tokenizer_config.json "tokenizer_class": EsmTokenizer -> nt6; CaduceusTokenizer -> char
 *      (Caduceus); BertTokenizer / BertTokenizerFast / DNATokenizer with a vocab.txt -> the
 *      vocab.txt rule (4); any other class with a tokenizer.json -> tokenizer.json (3).
 *   2. config.json: model_type "caduceus" -> char (Caduceus); "esm" with vocab.txt -> nt6; a
 *      HyenaDNA config (layer._name_ "hyena", or "hyena" in model_type / _name_or_path / the
 *      directory name) without tokenizer files -> char (BEND builds HyenaDNA's tokenizer in code).
 *   3. tokenizer.json with a BPE model -> bpe; with another model: vocab.txt rule when there is a
 *      vocab.txt (GROVER's Zenodo record ships a WordPiece tokenizer.json beside the vocab.txt BEND
 *      reads), else the tokenizer.json pipeline (reported as "char": ResNet-LM / AWD-LSTM).
 *   4. vocab.txt: <cls> and <unk> in it -> nt6 (Nucleotide Transformer); otherwise a BERT
 *      vocabulary: "grover" in config.json's _name_or_path / architectures -> maxmatch; every
 *      token but the bracketed specials of one length k -> kmer (DNABERT, k from the file unless
 *      given); tokens of several lengths -> maxmatch (GROVER).
 * A kind given in the options skips detection; a k given alone selects kmer for a BERT vocab. */
#include "tokenize/tokenize_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool contains_ci(const char *hay, const char *needle)
{
    if (!hay) return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t k = 0;
        while (k < n && p[k] && (p[k] | 0x20) == (needle[k] | 0x20)) k++;
        if (k == n) return true;
    }
    return false;
}

static const char *jget_str(json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool is_hyena_config(const bend_tok_dir *d)
{
    json_t *c = d->config;
    json_t *layer = json_is_object(c) ? json_object_get(c, "layer") : NULL;
    if (contains_ci(jget_str(layer, "_name_"), "hyena")) return true;
    if (contains_ci(jget_str(c, "model_type"), "hyena")) return true;
    if (contains_ci(jget_str(c, "_name_or_path"), "hyena")) return true;
    const char *base = strrchr(d->dir, '/');
    base = base ? base + 1 : d->dir;
    return contains_ci(base, "hyena");
}

static bool is_grover_config(const bend_tok_dir *d)
{
    json_t *c = d->config;
    if (contains_ci(jget_str(c, "_name_or_path"), "grover")) return true;
    json_t *arch = json_is_object(c) ? json_object_get(c, "architectures") : NULL;
    size_t i;
    json_t *v;
    if (json_is_array(arch))
        json_array_foreach(arch, i, v) if (contains_ci(json_string_value(v), "grover")) return true;
    return false;
}

typedef enum vkind { V_NT6, V_KMER, V_MAXMATCH } vkind;

/* What vocab.txt holds (rule 4). */
static bend_status classify_vocab(const bend_tok_dir *d, vkind *out, bend_error *err)
{
    char *path = bend_tok_path(d->dir, "vocab.txt");
    if (!path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_vocab v = {0};
    bend_status st = bend_vocab_load_txt(&v, path, BEND_VOCAB_LINES_BERT, err);
    free(path);
    if (st) {
        bend_vocab_free(&v);
        return st;
    }
    if (bend_vocab_find(&v, "<cls>", 5) >= 0 && bend_vocab_find(&v, "<unk>", 5) >= 0) {
        *out = V_NT6;
    } else if (is_grover_config(d)) {
        *out = V_MAXMATCH;
    } else {
        size_t k = 0;
        bool uniform = true;
        for (size_t id = 0; id < v.n && uniform; id++) {
            const char *t = v.tok[id];
            if (!t) continue;
            size_t n = strlen(t);
            if (n >= 2 && ((t[0] == '[' && t[n - 1] == ']') || (t[0] == '<' && t[n - 1] == '>')))
                continue;
            if (!k) k = n;
            else if (n != k) uniform = false;
        }
        *out = uniform && k ? V_KMER : V_MAXMATCH;
    }
    bend_vocab_free(&v);
    return BEND_OK;
}

static bend_status open_vocab_txt(const bend_tok_dir *d, const bend_tokenizer_options *opts,
                                  bend_tokenizer *t, bend_error *err)
{
    vkind vk = V_MAXMATCH;
    bend_status st = classify_vocab(d, &vk, err);
    if (st) return st;
    if (vk == V_NT6) return bend_tok_nt6_open(d, t, err);
    if (vk == V_KMER || (opts && opts->kmer)) return bend_tok_kmer_open(d, opts ? opts->kmer : 0, t, err);
    return bend_tok_maxmatch_open(d, t, err);
}

static bend_status open_tokenizer_json(const bend_tok_dir *d, const bend_tokenizer_options *opts,
                                       bend_tokenizer *t, bend_error *err)
{
    json_t *model = json_object_get(d->tokenizer_json, "model");
    const char *type = jget_str(model, "type");
    bool bpe = (type && !strcmp(type, "BPE")) ||
               (!type && json_is_object(model) && json_object_get(model, "merges"));
    if (!bpe && d->has_vocab_txt) return open_vocab_txt(d, opts, t, err);
    return bend_tok_hf_open(d, t, err);
}

static bend_status detect_and_open(const bend_tok_dir *d, const bend_tokenizer_options *opts,
                                   bend_tokenizer *t, bend_error *err)
{
    const char *tc = jget_str(d->tokenizer_config, "tokenizer_class");
    const char *mt = jget_str(d->config, "model_type");
    if (tc) {
        if (!strcmp(tc, "EsmTokenizer") && d->has_vocab_txt) return bend_tok_nt6_open(d, t, err);
        if (contains_ci(tc, "Caduceus")) return bend_tok_char_open(d, BEND_CHAR_CADUCEUS, t, err);
        if ((!strcmp(tc, "BertTokenizer") || !strcmp(tc, "BertTokenizerFast") ||
             !strcmp(tc, "DNATokenizer")) && d->has_vocab_txt)
            return open_vocab_txt(d, opts, t, err);
        if (d->tokenizer_json) return open_tokenizer_json(d, opts, t, err);
    }
    if (mt && !strcmp(mt, "caduceus")) return bend_tok_char_open(d, BEND_CHAR_CADUCEUS, t, err);
    if (mt && !strcmp(mt, "esm") && d->has_vocab_txt) return bend_tok_nt6_open(d, t, err);
    if (d->tokenizer_json) return open_tokenizer_json(d, opts, t, err);
    if (d->has_vocab_txt) return open_vocab_txt(d, opts, t, err);
    if (is_hyena_config(d)) return bend_tok_char_open(d, BEND_CHAR_HYENA, t, err);
    return bend_fail(err, BEND_ERR_IO, "%s: no tokenizer files: expected vocab.txt or "
                     "tokenizer.json (a HyenaDNA checkpoint is recognised by its config.json or "
                     "name; or give the kind)", d->dir);
}

static bend_status open_kind(const bend_tok_dir *d, const bend_tokenizer_options *opts,
                             bend_tokenizer *t, bend_error *err)
{
    const char *k = opts->kind;
    if (!strcmp(k, "kmer")) return bend_tok_kmer_open(d, opts->kmer, t, err);
    if (!strcmp(k, "nt6")) return bend_tok_nt6_open(d, t, err);
    if (!strcmp(k, "maxmatch")) return bend_tok_maxmatch_open(d, t, err);
    if (!strcmp(k, "bpe")) {
        if (!d->tokenizer_json)
            return bend_fail(err, BEND_ERR_IO, "%s/tokenizer.json not found: the bpe tokenizer "
                             "reads tokenizer.json", d->dir);
        return bend_tok_hf_open(d, t, err);
    }
    if (!strcmp(k, "char")) {
        const char *tc = jget_str(d->tokenizer_config, "tokenizer_class");
        const char *mt = jget_str(d->config, "model_type");
        if (contains_ci(tc, "Caduceus") || (mt && !strcmp(mt, "caduceus")))
            return bend_tok_char_open(d, BEND_CHAR_CADUCEUS, t, err);
        if (d->tokenizer_json) return bend_tok_hf_open(d, t, err);
        if (d->has_vocab_txt && !is_hyena_config(d))
            return bend_tok_char_open(d, BEND_CHAR_VOCAB, t, err);
        return bend_tok_char_open(d, BEND_CHAR_HYENA, t, err);
    }
    return bend_fail(err, BEND_ERR_INVALID, "unknown tokenizer kind '%.40s': expected char, kmer, "
                     "nt6, bpe or maxmatch", k);
}

static bend_status read_optional_json(const char *dir, const char *name, json_t **out,
                                      bend_error *err)
{
    *out = NULL;
    char *path = bend_tok_path(dir, name);
    if (!path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = BEND_OK;
    if (bend_tok_is_file(path)) st = bend_tok_read_json(path, out, err);
    free(path);
    return st;
}

static void dir_free(bend_tok_dir *d)
{
    json_decref(d->tokenizer_config);
    json_decref(d->special_tokens_map);
    json_decref(d->config);
    json_decref(d->tokenizer_json);
}

bend_status bend_tokenizer_open(const char *model_dir, const bend_tokenizer_options *opts,
                                bend_tokenizer **out, bend_error *err)
{
    if (out) *out = NULL;
    if (!model_dir || !*model_dir || !out)
        return bend_fail(err, BEND_ERR_INVALID, "bend_tokenizer_open: no model directory given");
    struct stat sb;
    if (stat(model_dir, &sb) != 0)
        return bend_fail(err, BEND_ERR_IO, "model directory %s: %s", model_dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return bend_fail(err, BEND_ERR_IO, "%s is not a directory: expected a model checkpoint "
                         "directory holding its tokenizer files", model_dir);
    bend_tok_dir d = {0};
    d.dir = model_dir;
    bend_status st = read_optional_json(model_dir, "tokenizer_config.json", &d.tokenizer_config, err);
    if (!st) st = read_optional_json(model_dir, "special_tokens_map.json", &d.special_tokens_map, err);
    if (!st) st = read_optional_json(model_dir, "config.json", &d.config, err);
    if (!st) st = read_optional_json(model_dir, "tokenizer.json", &d.tokenizer_json, err);
    if (st) {
        dir_free(&d);
        return st;
    }
    char *vpath = bend_tok_path(model_dir, "vocab.txt");
    if (!vpath) {
        dir_free(&d);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    d.has_vocab_txt = bend_tok_is_file(vpath);
    free(vpath);
    bend_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        dir_free(&d);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    for (int r = 0; r < BEND_ROLE_COUNT; r++) t->special[r] = -1;
    if (opts && opts->kind)
        st = open_kind(&d, opts, t, err);
    else
        st = detect_and_open(&d, opts, t, err);
    dir_free(&d);
    if (st) {
        free(t);
        return st;
    }
    *out = t;
    return BEND_OK;
}

void bend_tokenizer_close(bend_tokenizer *t)
{
    if (!t) return;
    if (t->ops) t->ops->destroy(t->impl);
    free(t);
}

const char *bend_tokenizer_kind(const bend_tokenizer *t) { return t ? t->kind : NULL; }

size_t bend_tokenizer_vocab_size(const bend_tokenizer *t) { return t ? t->ops->vocab_size(t->impl) : 0; }

const char *bend_tokenizer_token(const bend_tokenizer *t, int32_t id)
{
    if (!t || id < 0) return NULL;
    return t->ops->token(t->impl, id);
}

int32_t bend_tokenizer_special(const bend_tokenizer *t, const char *role)
{
    if (!t || !role) return -1;
    for (int r = 0; r < BEND_ROLE_COUNT; r++)
        if (!strcmp(role, bend_role_names[r])) return t->special[r];
    return -1;
}

bend_status bend_tokenizer_encode(bend_tokenizer *t, const char *seq, size_t len,
                                  bool add_special_tokens, bend_token_seq *out, bend_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!t || !out || (!seq && len))
        return bend_fail(err, BEND_ERR_INVALID, "bend_tokenizer_encode: missing argument");
    bend_tokbuf b = {0};
    bend_status st = t->ops->encode(t->impl, seq ? seq : "", len, add_special_tokens, &b, err);
    if (st) {
        bend_tokbuf_free(&b);
        return st;
    }
    out->n = b.n;
    out->ids = b.ids;
    out->span_start = b.start;
    out->span_end = b.end;
    return BEND_OK;
}

void bend_token_seq_free(bend_token_seq *s)
{
    if (!s) return;
    free(s->ids);
    free(s->span_start);
    free(s->span_end);
    memset(s, 0, sizeof *s);
}
