/* The Hugging Face `tokenizers` pipeline driven by tokenizer.json (DNABERT-2, GENA-LM, and any
 * fast tokenizer BEND loads with AutoTokenizer), restated from the semantics of tokenizers 0.20:
 *
 * 1. Added tokens (tokenizer.json "added_tokens"): the non-normalized ones are found in the raw
 *    text first (leftmost-longest), with their lstrip / rstrip / single_word rules; every other
 *    piece is normalized, then the normalized added tokens are found in it. The file's ids of
 *    added tokens are not used as such: as tokenizers does on loading, an added token takes the
 *    model's id for its content, else the next id after the model vocabulary / earlier added
 *    tokens (for consistent files that is the id written in the file).
 * 2. Normalizers: Sequence, Strip, Replace (String or Regex pattern), Lowercase, Prepend,
 *    BertNormalizer, and NFC / NFD / NFKC / NFKD / StripAccents as identities (exact for ASCII).
 *    Every normalized byte keeps the span of input it came from, as tokenizers' alignments do
 *    (a replacement takes the span of the last character it replaces).
 * 3. Pre-tokenizers: Sequence, Whitespace (\w+|[^\w\s]+), WhitespaceSplit, BertPreTokenizer,
 *    Punctuation, Digits, Split (String or Regex, the five behaviours, invert), CharDelimiterSplit,
 *    ByteLevel (prefix space, GPT-2 splitting, byte-to-unicode mapping).
 * 4. Models: BPE (vocab, merges as "a b" strings or ["a", "b"] pairs, unk_token, fuse_unk,
 *    byte_fallback, continuing_subword_prefix, end_of_word_suffix, ignore_merges; dropout must be
 *    null or 0), WordLevel, WordPiece. BPE merges the adjacent pair of lowest rank, leftmost
 *    first, with a binary heap and lazily dropped stale entries (tokenizers' Word::merge_all), so a
 *    10,000-character word costs O(n log n).
 * 5. Post-processors: TemplateProcessing (single template), BertProcessing, RobertaProcessing and
 *    ByteLevel (their offset trimming), Sequence. Added special tokens get the span [0, 0).
 *
 * Spans are byte offsets into the input (tokenizers' Python API reports characters; the same for
 * ASCII). Regex patterns are compiled as POSIX extended regular expressions after translating the
 * common Oniguruma escapes; POSIX picks the leftmost-longest match where Oniguruma picks the
 * leftmost-first one, which agrees for the patterns DNA tokenizers use (GENA's N{10,}).
 * Unsupported components are reported as BEND_ERR_UNSUPPORTED naming the component. Unicode
 * character classes beyond ASCII are approximate (vocab.c); case mapping is ASCII-only. */
#include "tokenize/tok_hf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------ */

const char *bend_hf_jstr(json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool bend_hf_jbool(json_t *o, const char *key, bool dflt)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* a JSON string without NUL bytes: its length, or -1 */
long bend_hf_jstrlen(json_t *v)
{
    if (!json_is_string(v)) return -1;
    size_t n = json_string_length(v);
    if (memchr(json_string_value(v), 0, n)) return -1;
    return (long)n;
}

/* ---- the tokenizer ------------------------------------------------------------------------ */

int bend_hf_etoks_push(etoks *a, int32_t id, int64_t s, int64_t e, const char *str, size_t len)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        etok *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (etok){id, s, e, str, len};
    return 0;
}

static bend_status hf_encode(void *vimpl, const char *seq, size_t len, bool add_special,
                             bend_tokbuf *out, bend_error *err)
{
    hf_impl *h = vimpl;
    splits sp = {0};
    etoks toks = {0};
    mtoks mt = {0};
    amatch *am = NULL;
    size_t nam = 0;
    bend_status st = BEND_OK;
    /* 1. non-normalized added tokens on the input; normalize the rest; normalized added tokens */
    if (bend_hf_added_find(h, false, seq, len, &am, &nam)) goto nomem;
    for (size_t i = 0; i < nam; i++) {
        nstr x;
        if (bend_hf_nstr_from_input(&x, seq, am[i].s, am[i].e)) goto nomem;
        if (am[i].idx >= 0) {
            if (bend_hf_splits_push(&sp, &x, am[i].idx)) goto nomem;
            continue;
        }
        if (h->has_norm && bend_hf_norm_apply(&h->norm, &x)) {
            bend_hf_nstr_free(&x);
            goto nomem;
        }
        amatch *am2 = NULL;
        size_t nam2 = 0;
        if (bend_hf_added_find(h, true, x.s, x.n, &am2, &nam2)) {
            bend_hf_nstr_free(&x);
            goto nomem;
        }
        for (size_t k = 0; k < nam2; k++) {
            nstr y;
            if (bend_hf_nstr_slice(&y, &x, am2[k].s, am2[k].e) || bend_hf_splits_push(&sp, &y, am2[k].idx)) {
                free(am2);
                bend_hf_nstr_free(&x);
                goto nomem;
            }
        }
        free(am2);
        bend_hf_nstr_free(&x);
    }
    free(am);
    am = NULL;
    /* 2. pre-tokenize */
    if (h->has_pre && bend_hf_pretok_apply(&h->pre, &sp)) goto nomem;
    /* 3. model */
    for (size_t i = 0; i < sp.n; i++) {
        const split *x = &sp.v[i];
        if (x->added >= 0) {
            const hf_added *a = &h->added[x->added];
            int64_t s, e;
            bend_hf_nstr_span(&x->ns, 0, x->ns.n, &s, &e);
            if (bend_hf_etoks_push(&toks, a->id, s, e, x->ns.s, x->ns.n)) goto nomem;
            continue;
        }
        mt.n = 0;
        st = bend_hf_model_word(&h->model, x->ns.s, x->ns.n, &mt, err);
        if (st) goto done;
        for (size_t k = 0; k < mt.n; k++) {
            int64_t s, e;
            bend_hf_nstr_span(&x->ns, mt.v[k].s, mt.v[k].e, &s, &e);
            const char *ts = bend_vocab_token(&h->model.vocab, mt.v[k].id);
            if (bend_hf_etoks_push(&toks, mt.v[k].id, s, e, ts, ts ? strlen(ts) : 0)) goto nomem;
        }
    }
    /* 4. post-process */
    if (h->has_post && bend_hf_post_apply(&h->post, &toks, add_special)) goto nomem;
    for (size_t i = 0; i < toks.n; i++)
        if (bend_tokbuf_push(out, toks.v[i].id, toks.v[i].s, toks.v[i].e)) goto nomem;
    goto done;
nomem:
    st = NOMEM(err);
done:
    free(am);
    free(mt.v);
    free(toks.v);
    bend_hf_splits_free(&sp);
    return st;
}

static const char *hf_token(const void *impl, int32_t id)
{
    const hf_impl *h = impl;
    for (size_t i = 0; i < h->n_added; i++)
        if (h->added[i].id == id) return h->added[i].content;
    return bend_vocab_token(&h->model.vocab, id);
}

static size_t hf_vocab_size(const void *impl) { return ((const hf_impl *)impl)->vocab_slots; }

static void hf_destroy(void *impl)
{
    hf_impl *h = impl;
    bend_hf_model_free(&h->model);
    bend_hf_norm_free(&h->norm);
    bend_hf_pretok_free(&h->pre);
    bend_hf_postproc_free(&h->post);
    for (size_t i = 0; i < h->n_added; i++) {
        free(h->added[i].content);
        free(h->added[i].pattern);
    }
    free(h->added);
    free(h);
}

static const bend_tok_ops hf_ops = {hf_encode, hf_token, hf_vocab_size, hf_destroy};

bend_status bend_tok_hf_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err)
{
    char *path = bend_tok_path(d->dir, "tokenizer.json");
    if (!path) return NOMEM(err);
    json_t *j = d->tokenizer_json;
    if (!json_is_object(j)) {
        bend_status st = bend_fail(err, BEND_ERR_PARSE, "%s: expected a JSON object", path);
        free(path);
        return st;
    }
    hf_impl *h = calloc(1, sizeof *h);
    if (!h) {
        free(path);
        return NOMEM(err);
    }
    bend_status st = bend_hf_model_parse(&h->model, json_object_get(j, "model"), path, err);
    json_t *v;
    if (!st && (v = json_object_get(j, "normalizer")) && !json_is_null(v)) {
        h->has_norm = true;
        st = bend_hf_norm_parse(&h->norm, v, path, 0, err);
    }
    if (!st && (v = json_object_get(j, "pre_tokenizer")) && !json_is_null(v)) {
        h->has_pre = true;
        st = bend_hf_pretok_parse(&h->pre, v, path, 0, err);
    }
    if (!st && (v = json_object_get(j, "post_processor")) && !json_is_null(v)) {
        h->has_post = true;
        st = bend_hf_postproc_parse(&h->post, v, path, 0, err);
    }
    if (!st) st = bend_hf_parse_added(h, json_object_get(j, "added_tokens"), path, err);
    if (st) {
        hf_destroy(h);
        free(path);
        return st;
    }
    h->vocab_slots = h->model.vocab.n;
    for (size_t i = 0; i < h->n_added; i++)
        if ((size_t)h->added[i].id + 1 > h->vocab_slots) h->vocab_slots = (size_t)h->added[i].id + 1;
    t->kind = h->model.kind == M_BPE ? "bpe" : "char";
    t->ops = &hf_ops;
    t->impl = h;
    /* Special roles as PreTrainedTokenizerFast reports them: the *_token entries of
     * special_tokens_map.json / tokenizer_config.json looked up in the tokenizer. Deliberate
     * differences: when the configs name none, the post-processor's cls / sep and the model's
     * unk_token are reported (PreTrainedTokenizerFast reports none); and a configured special token
     * that tokenizer.json lacks is reported as -1 (transformers would add it as a new token). */
    for (int r = 0; r < BEND_ROLE_COUNT; r++) {
        t->special[r] = -1;
        char key[32];
        snprintf(key, sizeof key, "%s_token", bend_role_names[r]);
        const char *name = NULL;
        json_t *cfgs[2] = {d->special_tokens_map, d->tokenizer_config};
        for (int k = 0; k < 2 && !name; k++) {
            json_t *e = json_is_object(cfgs[k]) ? json_object_get(cfgs[k], key) : NULL;
            if (json_is_object(e)) e = json_object_get(e, "content");
            if (json_is_string(e)) name = json_string_value(e);
        }
        if (!name && r == BEND_ROLE_UNK) name = h->model.unk;
        if (!name) continue;
        for (size_t i = 0; i < h->n_added; i++)
            if (!strcmp(h->added[i].content, name)) t->special[r] = h->added[i].id;
        if (t->special[r] < 0) t->special[r] = bend_vocab_find(&h->model.vocab, name, strlen(name));
    }
    if (h->has_post && (h->post.kind == PP_BERT || h->post.kind == PP_ROBERTA)) {
        if (t->special[BEND_ROLE_CLS] < 0) t->special[BEND_ROLE_CLS] = h->post.cls;
        if (t->special[BEND_ROLE_SEP] < 0) t->special[BEND_ROLE_SEP] = h->post.sep;
    }
    free(path);
    return BEND_OK;
}
