/* tokenizer.json normalizers, and the normalized strings (with alignments) they work on. Part
 * of the pipeline of tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- normalized strings ------------------------------------------------------------------- */

void bend_hf_nstr_free(nstr *x)
{
    free(x->mem);
    memset(x, 0, sizeof *x);
}

static int nstr_reserve(nstr *x, size_t need)
{
    if (need + 1 <= x->cap) return 0;
    size_t cap = x->cap ? x->cap * 2 : need + 1;
    if (cap < need + 1) cap = need + 1;
    if (cap > ((size_t)1 << 40)) return -1;
    int64_t *mem = malloc(cap * (2 * sizeof(int64_t) + 1));
    if (!mem) return -1;
    int64_t *a0 = mem, *a1 = mem + cap;
    char *s = (char *)(mem + 2 * cap);
    if (x->n) {
        memcpy(a0, x->a0, x->n * sizeof *a0);
        memcpy(a1, x->a1, x->n * sizeof *a1);
        memcpy(s, x->s, x->n);
    }
    s[x->n] = '\0';
    free(x->mem);
    x->mem = mem;
    x->a0 = a0;
    x->a1 = a1;
    x->s = s;
    x->cap = cap;
    return 0;
}

/* Appends bytes, every one aligned to [a0, a1). */
int bend_hf_nstr_push(nstr *x, const char *b, size_t len, int64_t a0, int64_t a1)
{
    if (nstr_reserve(x, x->n + len)) return -1;
    for (size_t i = 0; i < len; i++) {
        x->s[x->n] = b[i];
        x->a0[x->n] = a0;
        x->a1[x->n] = a1;
        x->n++;
    }
    x->s[x->n] = '\0';
    return 0;
}

/* Appends src[s..e) with its alignments. */
int bend_hf_nstr_push_range(nstr *x, const nstr *src, size_t s, size_t e)
{
    if (nstr_reserve(x, x->n + (e - s))) return -1;
    memcpy(x->s + x->n, src->s + s, e - s);
    memcpy(x->a0 + x->n, src->a0 + s, (e - s) * sizeof *x->a0);
    memcpy(x->a1 + x->n, src->a1 + s, (e - s) * sizeof *x->a1);
    x->n += e - s;
    x->s[x->n] = '\0';
    return 0;
}

/* input[s..e) with every byte aligned to its character's span */
int bend_hf_nstr_from_input(nstr *x, const char *input, size_t s, size_t e)
{
    memset(x, 0, sizeof *x);
    x->shift = (int64_t)s;
    if (nstr_reserve(x, e - s)) return -1;
    size_t i = s;
    while (i < e) {
        uint32_t cp;
        size_t l = bend_utf8_next(input, e, i, &cp);
        if (bend_hf_nstr_push(x, input + i, l, (int64_t)i, (int64_t)(i + l))) return -1;
        i += l;
    }
    if (!x->s && nstr_reserve(x, 0)) return -1;
    x->s[x->n] = '\0';
    return 0;
}

int bend_hf_nstr_slice(nstr *out, const nstr *src, size_t s, size_t e)
{
    memset(out, 0, sizeof *out);
    out->shift = s < src->n ? src->a0[s] : src->shift;
    if (nstr_reserve(out, e - s)) return -1;
    out->s[0] = '\0';
    return bend_hf_nstr_push_range(out, src, s, e);
}

/* The input span of normalized bytes [s, e) (tokenizers' convert_offsets). */
void bend_hf_nstr_span(const nstr *x, size_t s, size_t e, int64_t *o0, int64_t *o1)
{
    if (s >= e || e > x->n) {
        *o0 = *o1 = x->shift;
        return;
    }
    *o0 = x->a0[s];
    *o1 = x->a1[e - 1];
}

/* ---- normalizers -------------------------------------------------------------------------- */

void bend_hf_norm_free(norm *z)
{
    for (size_t i = 0; i < z->n_kids; i++) bend_hf_norm_free(&z->kids[i]);
    free(z->kids);
    bend_hf_pattern_free(&z->pat);
    free(z->content);
    memset(z, 0, sizeof *z);
}

bend_status bend_hf_norm_parse(norm *z, json_t *j, const char *path, int depth, bend_error *err)
{
    memset(z, 0, sizeof *z);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: normalizers nested too deeply", path);
    const char *type = bend_hf_jstr(j, "type");
    if (!type) return bend_fail(err, BEND_ERR_PARSE, "%s: normalizer without a \"type\"", path);
    if (!strcmp(type, "Sequence")) {
        z->kind = N_SEQ;
        json_t *a = json_object_get(j, "normalizers");
        if (!json_is_array(a))
            return bend_fail(err, BEND_ERR_PARSE, "%s: Sequence normalizer without a "
                             "\"normalizers\" list", path);
        z->kids = calloc(json_array_size(a) + 1, sizeof *z->kids);
        if (!z->kids) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(a); i++) {
            bend_status st = bend_hf_norm_parse(&z->kids[i], json_array_get(a, i), path, depth + 1, err);
            z->n_kids = i + 1;
            if (st) return st;
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Strip")) {
        z->kind = N_STRIP;
        z->left = bend_hf_jbool(j, "strip_left", true);
        z->right = bend_hf_jbool(j, "strip_right", true);
        return BEND_OK;
    }
    if (!strcmp(type, "Replace") || !strcmp(type, "Prepend")) {
        bool replace = !strcmp(type, "Replace");
        z->kind = replace ? N_REPLACE : N_PREPEND;
        json_t *c = json_object_get(j, replace ? "content" : "prepend");
        long n = bend_hf_jstrlen(c);
        if (n < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: %s normalizer without a \"%s\" string", path,
                             type, replace ? "content" : "prepend");
        z->content = malloc((size_t)n + 1);
        if (!z->content) return NOMEM(err);
        memcpy(z->content, json_string_value(c), (size_t)n + 1);
        z->content_len = (size_t)n;
        if (replace) {
            json_t *p = json_object_get(j, "pattern");
            if (!json_is_object(p))
                return bend_fail(err, BEND_ERR_PARSE, "%s: Replace normalizer without a "
                                 "\"pattern\"", path);
            return bend_hf_pattern_parse(&z->pat, p, path, err);
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Lowercase")) {
        z->kind = N_LOWER;
        return BEND_OK;
    }
    if (!strcmp(type, "NFC") || !strcmp(type, "NFD") || !strcmp(type, "NFKC") ||
        !strcmp(type, "NFKD") || !strcmp(type, "StripAccents")) {
        z->kind = N_IDENTITY; /* identities on ASCII text */
        return BEND_OK;
    }
    if (!strcmp(type, "BertNormalizer")) {
        z->kind = N_BERT;
        z->clean_text = bend_hf_jbool(j, "clean_text", true);
        z->chinese = bend_hf_jbool(j, "handle_chinese_chars", true);
        z->lowercase = bend_hf_jbool(j, "lowercase", true);
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: normalizer type \"%.60s\" is not supported "
                     "(supported: Sequence, Strip, Replace, Lowercase, Prepend, BertNormalizer, "
                     "NFC/NFD/NFKC/NFKD, StripAccents)", path, type);
}

/* Applies z to x in place; -1 when out of memory. */
int bend_hf_norm_apply(const norm *z, nstr *x)
{
    nstr out = {0};
    out.shift = x->shift;
    switch (z->kind) {
    case N_IDENTITY:
        return 0;
    case N_SEQ:
        for (size_t i = 0; i < z->n_kids; i++)
            if (bend_hf_norm_apply(&z->kids[i], x)) return -1;
        return 0;
    case N_LOWER:
        for (size_t i = 0; i < x->n; i++)
            if (x->s[i] >= 'A' && x->s[i] <= 'Z') x->s[i] = (char)(x->s[i] - 'A' + 'a');
        return 0;
    case N_STRIP: {
        size_t s = 0, e = x->n;
        if (z->left)
            while (s < e) {
                uint32_t cp;
                size_t l = bend_utf8_next(x->s, e, s, &cp);
                if (!bend_is_rust_space(cp)) break;
                s += l;
            }
        if (z->right)
            while (e > s) {
                size_t k = e - 1;
                while (k > s && ((unsigned char)x->s[k] & 0xC0) == 0x80) k--;
                uint32_t cp;
                bend_utf8_next(x->s, e, k, &cp);
                if (!bend_is_rust_space(cp)) break;
                e = k;
            }
        if (s == 0 && e == x->n) return 0;
        if (nstr_reserve(&out, e - s) || bend_hf_nstr_push_range(&out, x, s, e)) goto nomem;
        out.s[out.n] = '\0';
        break;
    }
    case N_PREPEND: {
        if (x->n == 0) return 0;
        /* the new characters share the span of the first character (NormalizedString::prepend) */
        uint32_t cp;
        size_t l = bend_utf8_next(x->s, x->n, 0, &cp);
        if (nstr_reserve(&out, x->n + z->content_len) ||
            bend_hf_nstr_push(&out, z->content, z->content_len, x->a0[0], x->a1[l - 1]) ||
            bend_hf_nstr_push_range(&out, x, 0, x->n))
            goto nomem;
        break;
    }
    case N_REPLACE: {
        matches ms = {0};
        if (bend_hf_pattern_find(&z->pat, x->s, x->n, &ms)) {
            free(ms.v);
            goto nomem;
        }
        if (nstr_reserve(&out, x->n)) {
            free(ms.v);
            goto nomem;
        }
        out.s[0] = '\0';
        for (size_t k = 0; k < ms.n; k++) {
            const match *m = &ms.v[k];
            int rc;
            if (!m->m) {
                rc = bend_hf_nstr_push_range(&out, x, m->s, m->e);
            } else {
                /* new characters share the span of the last character replaced */
                int64_t a0 = x->shift, a1 = x->shift;
                if (m->e > 0) {
                    a0 = x->a0[m->e - 1];
                    a1 = x->a1[m->e - 1];
                }
                rc = bend_hf_nstr_push(&out, z->content, z->content_len, a0, a1);
            }
            if (rc) {
                free(ms.v);
                goto nomem;
            }
        }
        free(ms.v);
        break;
    }
    case N_BERT: {
        if (nstr_reserve(&out, x->n * 3)) goto nomem;
        out.s[0] = '\0';
        size_t i = 0;
        while (i < x->n) {
            uint32_t cp;
            size_t l = bend_utf8_next(x->s, x->n, i, &cp);
            int64_t a0 = x->a0[i], a1 = x->a1[i + l - 1];
            int rc = 0;
            if (z->clean_text && (cp == 0 || cp == 0xFFFD || bend_is_bert_control(cp))) {
                i += l;
                continue;
            }
            if (z->clean_text && (bend_is_bert_space(cp) || bend_is_rust_space(cp))) {
                rc = bend_hf_nstr_push(&out, " ", 1, a0, a1);
            } else if (z->chinese && bend_is_cjk(cp)) {
                rc = bend_hf_nstr_push(&out, " ", 1, a0, a1) || bend_hf_nstr_push_range(&out, x, i, i + l) ||
                     bend_hf_nstr_push(&out, " ", 1, a0, a1);
            } else {
                rc = bend_hf_nstr_push_range(&out, x, i, i + l);
                if (!rc && z->lowercase && l == 1 && cp >= 'A' && cp <= 'Z')
                    out.s[out.n - 1] = (char)(cp - 'A' + 'a');
            }
            if (rc) goto nomem;
            i += l;
        }
        break;
    }
    }
    bend_hf_nstr_free(x);
    *x = out;
    return 0;
nomem:
    bend_hf_nstr_free(&out);
    return -1;
}
