/* tokenizer.json added tokens: loading, and finding them in a text. Part of the pipeline of
 * tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <stdlib.h>
#include <string.h>

static bool ends_with_word(const char *s, size_t n)
{
    if (!n) return false;
    size_t k = n - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    uint32_t cp;
    bend_utf8_next(s, n, k, &cp);
    return bend_is_alnum(cp) || cp == '_';
}

static bool starts_with_word(const char *s, size_t n)
{
    if (!n) return false;
    uint32_t cp;
    bend_utf8_next(s, n, 0, &cp);
    return bend_is_alnum(cp) || cp == '_';
}

int bend_hf_added_find(const hf_impl *h, bool want_normalized, const char *s, size_t n,
                       amatch **out, size_t *n_out)
{
    amatch *v = NULL;
    size_t nv = 0, cap = 0, start_offset = 0, pos = 0;
#define PUSHM(a, b, c)                                                 \
    do {                                                               \
        if (nv == cap) {                                               \
            cap = cap ? cap * 2 : 8;                                   \
            amatch *t_ = realloc(v, cap * sizeof *v);                  \
            if (!t_) {                                                 \
                free(v);                                               \
                return -1;                                             \
            }                                                          \
            v = t_;                                                    \
        }                                                              \
        v[nv++] = (amatch){(a), (b), (c)};                             \
    } while (0)
    bool any = false;
    for (size_t k = 0; k < h->n_added; k++)
        if (h->added[k].normalized == want_normalized && h->added[k].pattern_len) any = true;
    while (any && pos < n) {
        /* leftmost-longest match starting at or after pos */
        size_t best_s = n, best_len = 0;
        int32_t best = -1;
        for (size_t i = pos; i < n && best < 0; i++) {
            for (size_t k = 0; k < h->n_added; k++) {
                const hf_added *a = &h->added[k];
                if (a->normalized != want_normalized || !a->pattern_len) continue;
                if (a->pattern_len <= n - i && !memcmp(s + i, a->pattern, a->pattern_len) &&
                    (best < 0 || a->pattern_len > best_len)) {
                    best = (int32_t)k;
                    best_s = i;
                    best_len = a->pattern_len;
                }
            }
        }
        if (best < 0) break;
        size_t ms = best_s, me = best_s + best_len;
        pos = me;
        const hf_added *a = &h->added[best];
        if (a->single_word) {
            bool start_space = ms == 0 || !ends_with_word(s, ms);
            bool stop_space = me == n || !starts_with_word(s + me, n - me);
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t ns = ms;
            while (ns > 0) {
                size_t k = ns - 1;
                while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
                uint32_t cp;
                bend_utf8_next(s, ns, k, &cp);
                if (!bend_is_rust_space(cp)) break;
                ns = k;
            }
            ms = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            while (me < n) {
                uint32_t cp;
                size_t l = bend_utf8_next(s, n, me, &cp);
                if (!bend_is_rust_space(cp)) break;
                me += l;
            }
        }
        if (start_offset < ms) PUSHM(start_offset, ms, -1);
        PUSHM(ms, me, best);
        start_offset = me;
        if (pos < me) pos = me;
    }
    if (start_offset < n) PUSHM(start_offset, n, -1);
#undef PUSHM
    *out = v;
    *n_out = nv;
    return 0;
}

bend_status bend_hf_parse_added(hf_impl *h, json_t *arr, const char *path, bend_error *err)
{
    if (!arr || json_is_null(arr)) return BEND_OK;
    if (!json_is_array(arr))
        return bend_fail(err, BEND_ERR_PARSE, "%s: \"added_tokens\" must be a list", path);
    size_t n = json_array_size(arr);
    h->added = calloc(n + 1, sizeof *h->added);
    if (!h->added) return NOMEM(err);
    int32_t vocab_size = (int32_t)h->model.vocab.map.n;
    int32_t max_added = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        json_t *c = json_object_get(e, "content");
        long cl = bend_hf_jstrlen(c);
        if (!json_is_object(e) || cl < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: added_tokens[%zu] needs a \"content\" string",
                             path, i);
        const char *content = json_string_value(c);
        /* a repeated content keeps its first entry */
        bool dup = false;
        for (size_t k = 0; k < h->n_added && !dup; k++) dup = !strcmp(h->added[k].content, content);
        if (dup) continue;
        hf_added *a = &h->added[h->n_added];
        a->special = bend_hf_jbool(e, "special", false);
        a->single_word = bend_hf_jbool(e, "single_word", false);
        a->lstrip = bend_hf_jbool(e, "lstrip", false);
        a->rstrip = bend_hf_jbool(e, "rstrip", false);
        a->normalized = bend_hf_jbool(e, "normalized", !a->special);
        if (!(a->content = strdup(content))) return NOMEM(err);
        h->n_added++;
        /* the id tokenizers gives it on loading */
        int32_t id = bend_vocab_find(&h->model.vocab, content, (size_t)cl);
        if (id < 0) {
            if (max_added < 0) id = vocab_size;
            else id = (max_added >= vocab_size || vocab_size == 0) ? max_added + 1 : vocab_size;
        }
        if (id > BEND_TOK_MAX_ID) return bend_fail(err, BEND_ERR_INVALID, "%s: too many added tokens", path);
        a->id = id;
        if (id > max_added) max_added = id;
        /* the pattern: the content, normalized for normalized tokens */
        nstr x;
        if (bend_hf_nstr_from_input(&x, content, 0, (size_t)cl)) return NOMEM(err);
        if (a->normalized && h->has_norm && bend_hf_norm_apply(&h->norm, &x)) {
            bend_hf_nstr_free(&x);
            return NOMEM(err);
        }
        a->pattern = malloc(x.n + 1);
        if (!a->pattern) {
            bend_hf_nstr_free(&x);
            return NOMEM(err);
        }
        memcpy(a->pattern, x.s, x.n);
        a->pattern[x.n] = '\0';
        a->pattern_len = x.n;
        bend_hf_nstr_free(&x);
    }
    return BEND_OK;
}
