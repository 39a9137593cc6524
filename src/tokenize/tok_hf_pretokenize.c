/* tokenizer.json pre-tokenizers and the pre-tokenized string (splits). Part of the pipeline of
 * tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- splits (pre-tokenized string) -------------------------------------------------------- */

void bend_hf_splits_free(splits *a)
{
    for (size_t i = 0; i < a->n; i++) bend_hf_nstr_free(&a->v[i].ns);
    free(a->v);
    memset(a, 0, sizeof *a);
}

int bend_hf_splits_push(splits *a, nstr *ns, int32_t added)
{
    if (ns->n == 0) { /* tokenizers keeps only non-empty splits */
        bend_hf_nstr_free(ns);
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        split *v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            bend_hf_nstr_free(ns);
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n].ns = *ns;
    a->v[a->n].added = added;
    a->n++;
    memset(ns, 0, sizeof *ns);
    return 0;
}

enum { B_REMOVED, B_ISOLATED, B_MERGED_PREV, B_MERGED_NEXT, B_CONTIGUOUS };

/* NormalizedString::split: applies a behaviour to the pattern's pieces and appends the kept
 * slices of x to out. */
static int split_by(const nstr *x, matches *ms, int behavior, bool invert, splits *out)
{
    if (invert)
        for (size_t k = 0; k < ms->n; k++) ms->v[k].m = !ms->v[k].m;
    /* (range, remove) list */
    match *r = malloc((ms->n + 1) * sizeof *r);
    if (!r) return -1;
    size_t nr = 0;
    bool prev_match = false;
    switch (behavior) {
    case B_ISOLATED:
        for (size_t k = 0; k < ms->n; k++) r[nr++] = (match){ms->v[k].s, ms->v[k].e, false};
        break;
    case B_REMOVED:
        for (size_t k = 0; k < ms->n; k++) r[nr++] = ms->v[k];
        break;
    case B_CONTIGUOUS:
        for (size_t k = 0; k < ms->n; k++) {
            if (ms->v[k].m == prev_match && nr)
                r[nr - 1].e = ms->v[k].e;
            else
                r[nr++] = (match){ms->v[k].s, ms->v[k].e, false};
            prev_match = ms->v[k].m;
        }
        break;
    case B_MERGED_PREV:
        for (size_t k = 0; k < ms->n; k++) {
            if (ms->v[k].m && !prev_match && nr)
                r[nr - 1].e = ms->v[k].e;
            else
                r[nr++] = (match){ms->v[k].s, ms->v[k].e, false};
            prev_match = ms->v[k].m;
        }
        break;
    case B_MERGED_NEXT:
        for (size_t k = ms->n; k-- > 0;) {
            if (ms->v[k].m && !prev_match && nr)
                r[nr - 1].s = ms->v[k].s;
            else
                r[nr++] = (match){ms->v[k].s, ms->v[k].e, false};
            prev_match = ms->v[k].m;
        }
        for (size_t a = 0, b = nr ? nr - 1 : 0; a < b; a++, b--) {
            match t = r[a];
            r[a] = r[b];
            r[b] = t;
        }
        break;
    }
    int rc = 0;
    for (size_t k = 0; k < nr && !rc; k++) {
        if (r[k].m) continue; /* removed */
        nstr piece;
        if (bend_hf_nstr_slice(&piece, x, r[k].s, r[k].e)) {
            rc = -1;
            break;
        }
        rc = bend_hf_splits_push(out, &piece, -1);
    }
    free(r);
    return rc;
}

/* ---- pre-tokenizers ----------------------------------------------------------------------- */

void bend_hf_pretok_free(pretok *p)
{
    for (size_t i = 0; i < p->n_kids; i++) bend_hf_pretok_free(&p->kids[i]);
    free(p->kids);
    bend_hf_pattern_free(&p->pat);
    memset(p, 0, sizeof *p);
}

static int parse_behavior(const char *b)
{
    if (!b) return -1;
    if (!strcmp(b, "Removed")) return B_REMOVED;
    if (!strcmp(b, "Isolated")) return B_ISOLATED;
    if (!strcmp(b, "MergedWithPrevious")) return B_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return B_MERGED_NEXT;
    if (!strcmp(b, "Contiguous")) return B_CONTIGUOUS;
    return -1;
}

bend_status bend_hf_pretok_parse(pretok *p, json_t *j, const char *path, int depth, bend_error *err)
{
    memset(p, 0, sizeof *p);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: pre-tokenizers nested too deeply", path);
    const char *type = bend_hf_jstr(j, "type");
    if (!type) return bend_fail(err, BEND_ERR_PARSE, "%s: pre_tokenizer without a \"type\"", path);
    if (!strcmp(type, "Sequence")) {
        p->kind = P_SEQ;
        json_t *a = json_object_get(j, "pretokenizers");
        if (!json_is_array(a))
            return bend_fail(err, BEND_ERR_PARSE, "%s: Sequence pre_tokenizer without a "
                             "\"pretokenizers\" list", path);
        p->kids = calloc(json_array_size(a) + 1, sizeof *p->kids);
        if (!p->kids) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(a); i++) {
            bend_status st = bend_hf_pretok_parse(&p->kids[i], json_array_get(a, i), path, depth + 1, err);
            p->n_kids = i + 1;
            if (st) return st;
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Whitespace")) {
        p->kind = P_WHITESPACE;
        return BEND_OK;
    }
    if (!strcmp(type, "WhitespaceSplit")) {
        p->kind = P_WSSPLIT;
        return BEND_OK;
    }
    if (!strcmp(type, "BertPreTokenizer")) {
        p->kind = P_BERT;
        return BEND_OK;
    }
    if (!strcmp(type, "Punctuation") || !strcmp(type, "Split")) {
        p->kind = !strcmp(type, "Split") ? P_SPLIT : P_PUNCT;
        const char *b = bend_hf_jstr(j, "behavior");
        p->behavior = b ? parse_behavior(b) : B_ISOLATED;
        if (p->behavior < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: %s pre_tokenizer with unknown behavior "
                             "\"%.40s\"", path, type, b);
        if (p->kind == P_SPLIT) {
            if (!b)
                return bend_fail(err, BEND_ERR_PARSE, "%s: Split pre_tokenizer without a "
                                 "\"behavior\"", path);
            p->invert = bend_hf_jbool(j, "invert", false);
            json_t *pat = json_object_get(j, "pattern");
            if (!json_is_object(pat))
                return bend_fail(err, BEND_ERR_PARSE, "%s: Split pre_tokenizer without a "
                                 "\"pattern\"", path);
            return bend_hf_pattern_parse(&p->pat, pat, path, err);
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Digits")) {
        p->kind = P_DIGITS;
        p->individual_digits = bend_hf_jbool(j, "individual_digits", false);
        return BEND_OK;
    }
    if (!strcmp(type, "CharDelimiterSplit")) {
        p->kind = P_CHARDELIM;
        json_t *d = json_object_get(j, "delimiter");
        long n = bend_hf_jstrlen(d);
        uint32_t cp = 0;
        if (n <= 0 || bend_utf8_next(json_string_value(d), (size_t)n, 0, &cp) != (size_t)n)
            return bend_fail(err, BEND_ERR_PARSE, "%s: CharDelimiterSplit needs a one-character "
                             "\"delimiter\"", path);
        p->delim = cp;
        return BEND_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        p->kind = P_BYTELEVEL;
        p->add_prefix_space = bend_hf_jbool(j, "add_prefix_space", true);
        p->use_regex = bend_hf_jbool(j, "use_regex", true);
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: pre_tokenizer type \"%.60s\" is not supported "
                     "(supported: Sequence, Whitespace, WhitespaceSplit, BertPreTokenizer, "
                     "Punctuation, Digits, Split, CharDelimiterSplit, ByteLevel)", path, type);
}

static bool pred_space(uint32_t cp, const void *a) { (void)a; return bend_is_rust_space(cp); }
static bool pred_punct(uint32_t cp, const void *a) { (void)a; return bend_is_punct(cp); }
static bool pred_digit(uint32_t cp, const void *a) { (void)a; return bend_is_digit(cp); }
static bool pred_char(uint32_t cp, const void *a) { return cp == *(const uint32_t *)a; }

/* Whitespace's regex \w+|[^\w\s]+ as kept runs (the rest removed). */
static int whitespace_find(const char *s, size_t n, matches *out)
{
    out->n = 0;
    size_t i = 0, last = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = bend_utf8_next(s, n, i, &cp);
        if (bend_is_rust_space(cp)) {
            i += l;
            continue;
        }
        bool word = bend_is_alnum(cp) || cp == '_';
        size_t st = i;
        i += l;
        while (i < n) {
            l = bend_utf8_next(s, n, i, &cp);
            if (bend_is_rust_space(cp) || (bend_is_alnum(cp) || cp == '_') != word) break;
            i += l;
        }
        if (last < st && bend_hf_matches_push(out, last, st, true)) return -1;
        if (bend_hf_matches_push(out, st, i, false)) return -1;
        last = i;
    }
    if (last < n && bend_hf_matches_push(out, last, n, true)) return -1;
    return 0;
}

/* GPT-2's 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
enum { CL_SPACE, CL_LETTER, CL_NUMBER, CL_OTHER };

static int gpt2_class(uint32_t cp)
{
    if (bend_is_rust_space(cp)) return CL_SPACE;
    if (bend_is_digit(cp)) return CL_NUMBER;
    if (cp < 0x80) return ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')) ? CL_LETTER : CL_OTHER;
    return bend_is_punct(cp) || bend_is_bert_control(cp) ? CL_OTHER : CL_LETTER;
}

static int gpt2_find(const char *s, size_t n, matches *out)
{
    out->n = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = bend_utf8_next(s, n, i, &cp);
        size_t end = i;
        if (cp == '\'' && i + 1 < n) {
            static const char *const sfx[] = {"s", "t", "re", "ve", "m", "ll", "d"};
            for (int k = 0; k < 7 && end == i; k++) {
                size_t sl = strlen(sfx[k]);
                if (i + 1 + sl <= n && !memcmp(s + i + 1, sfx[k], sl)) end = i + 1 + sl;
            }
        }
        if (end == i) {
            size_t j = i;
            int cls = gpt2_class(cp);
            if (cp == ' ' && i + l < n) {
                uint32_t c2;
                bend_utf8_next(s, n, i + l, &c2);
                if (gpt2_class(c2) != CL_SPACE) {
                    j = i + l;
                    cls = gpt2_class(c2);
                }
            }
            if (cls != CL_SPACE) {
                size_t k = j;
                while (k < n) {
                    uint32_t c3;
                    size_t l3 = bend_utf8_next(s, n, k, &c3);
                    if (gpt2_class(c3) != cls) break;
                    k += l3;
                }
                end = k;
            } else {
                /* \s+(?!\S) then \s+ */
                size_t k = i, last_start = i;
                while (k < n) {
                    uint32_t c3;
                    size_t l3 = bend_utf8_next(s, n, k, &c3);
                    if (gpt2_class(c3) != CL_SPACE) break;
                    last_start = k;
                    k += l3;
                }
                if (k == n || last_start == i)
                    end = k;
                else
                    end = last_start; /* leave the last space to the next word */
            }
        }
        if (bend_hf_matches_push(out, i, end, true)) return -1;
        i = end;
    }
    return 0;
}

/* GPT-2's bytes_to_unicode */
static uint32_t byte_char(unsigned b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    unsigned k = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) k++;
    return 256 + k;
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Applies p to every split that is not an added token. */
int bend_hf_pretok_apply(const pretok *p, splits *sp)
{
    if (p->kind == P_SEQ) {
        for (size_t i = 0; i < p->n_kids; i++)
            if (bend_hf_pretok_apply(&p->kids[i], sp)) return -1;
        return 0;
    }
    splits out = {0};
    matches ms = {0};
    int rc = 0;
    for (size_t i = 0; i < sp->n && !rc; i++) {
        split *x = &sp->v[i];
        if (x->added >= 0) {
            rc = bend_hf_splits_push(&out, &x->ns, x->added);
            continue;
        }
        nstr *ns = &x->ns;
        switch (p->kind) {
        case P_WHITESPACE:
            rc = whitespace_find(ns->s, ns->n, &ms) || split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_WSSPLIT:
            rc = bend_hf_pred_find(pred_space, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_BERT: {
            splits tmp = {0};
            rc = bend_hf_pred_find(pred_space, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &tmp);
            for (size_t k = 0; k < tmp.n && !rc; k++)
                rc = bend_hf_pred_find(pred_punct, NULL, tmp.v[k].ns.s, tmp.v[k].ns.n, &ms) ||
                     split_by(&tmp.v[k].ns, &ms, B_ISOLATED, false, &out);
            bend_hf_splits_free(&tmp);
            break;
        }
        case P_PUNCT:
            rc = bend_hf_pred_find(pred_punct, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->behavior, false, &out);
            break;
        case P_DIGITS:
            rc = bend_hf_pred_find(pred_digit, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->individual_digits ? B_ISOLATED : B_CONTIGUOUS, false, &out);
            break;
        case P_SPLIT:
            rc = bend_hf_pattern_find(&p->pat, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->behavior, p->invert, &out);
            break;
        case P_CHARDELIM:
            rc = bend_hf_pred_find(pred_char, &p->delim, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_BYTELEVEL: {
            nstr pre = {0};
            pre.shift = ns->shift;
            if (p->add_prefix_space && ns->s[0] != ' ') {
                uint32_t cp0;
                size_t l0 = bend_utf8_next(ns->s, ns->n, 0, &cp0);
                rc = bend_hf_nstr_push(&pre, " ", 1, ns->a0[0], ns->a1[l0 - 1]) ||
                     bend_hf_nstr_push_range(&pre, ns, 0, ns->n);
            } else {
                rc = bend_hf_nstr_push_range(&pre, ns, 0, ns->n);
            }
            splits tmp = {0};
            if (!rc) {
                if (p->use_regex) {
                    rc = gpt2_find(pre.s, pre.n, &ms) || split_by(&pre, &ms, B_ISOLATED, false, &tmp);
                } else {
                    nstr cp = {0};
                    rc = bend_hf_nstr_slice(&cp, &pre, 0, pre.n) || bend_hf_splits_push(&tmp, &cp, -1);
                }
            }
            bend_hf_nstr_free(&pre);
            for (size_t k = 0; k < tmp.n && !rc; k++) {
                const nstr *t = &tmp.v[k].ns;
                nstr m = {0};
                m.shift = t->shift;
                size_t b = 0;
                while (b < t->n && !rc) {
                    uint32_t cp;
                    size_t l = bend_utf8_next(t->s, t->n, b, &cp);
                    for (size_t q = 0; q < l && !rc; q++) {
                        char enc[4];
                        size_t el = utf8_put(byte_char((unsigned char)t->s[b + q]), enc);
                        rc = bend_hf_nstr_push(&m, enc, el, t->a0[b], t->a1[b + l - 1]);
                    }
                    b += l;
                }
                if (!rc) rc = bend_hf_splits_push(&out, &m, -1);
                else bend_hf_nstr_free(&m);
            }
            bend_hf_splits_free(&tmp);
            break;
        }
        case P_SEQ:
            break;
        }
    }
    free(ms.v);
    if (rc) {
        bend_hf_splits_free(&out);
        return -1;
    }
    bend_hf_splits_free(sp);
    *sp = out;
    return 0;
}
