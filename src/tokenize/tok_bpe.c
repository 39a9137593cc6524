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
#include "tokenize/tokenize_internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------ */

#define NOMEM(err) bend_fail((err), BEND_ERR_NOMEM, "out of memory")

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jbool(json_t *o, const char *key, bool dflt)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* a JSON string without NUL bytes: its length, or -1 */
static long jstrlen(json_t *v)
{
    if (!json_is_string(v)) return -1;
    size_t n = json_string_length(v);
    if (memchr(json_string_value(v), 0, n)) return -1;
    return (long)n;
}

/* ---- normalized strings ------------------------------------------------------------------- */

typedef struct nstr {
    char *s;
    size_t n, cap;
    int64_t *a0, *a1; /* per byte: the input span it comes from */
    int64_t shift;    /* input offset of this string's start (for insertions at its start) */
    int64_t *mem;     /* one block holding a0, a1 and s (a pre-tokenized DNA string may be split
                         into one string per character) */
} nstr;

static void nstr_free(nstr *x)
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
static int nstr_push(nstr *x, const char *b, size_t len, int64_t a0, int64_t a1)
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
static int nstr_push_range(nstr *x, const nstr *src, size_t s, size_t e)
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
static int nstr_from_input(nstr *x, const char *input, size_t s, size_t e)
{
    memset(x, 0, sizeof *x);
    x->shift = (int64_t)s;
    if (nstr_reserve(x, e - s)) return -1;
    size_t i = s;
    while (i < e) {
        uint32_t cp;
        size_t l = bend_utf8_next(input, e, i, &cp);
        if (nstr_push(x, input + i, l, (int64_t)i, (int64_t)(i + l))) return -1;
        i += l;
    }
    if (!x->s && nstr_reserve(x, 0)) return -1;
    x->s[x->n] = '\0';
    return 0;
}

static int nstr_slice(nstr *out, const nstr *src, size_t s, size_t e)
{
    memset(out, 0, sizeof *out);
    out->shift = s < src->n ? src->a0[s] : src->shift;
    if (nstr_reserve(out, e - s)) return -1;
    out->s[0] = '\0';
    return nstr_push_range(out, src, s, e);
}

/* The input span of normalized bytes [s, e) (tokenizers' convert_offsets). */
static void nstr_span(const nstr *x, size_t s, size_t e, int64_t *o0, int64_t *o1)
{
    if (s >= e || e > x->n) {
        *o0 = *o1 = x->shift;
        return;
    }
    *o0 = x->a0[s];
    *o1 = x->a1[e - 1];
}

/* ---- patterns ----------------------------------------------------------------------------- */

typedef struct pattern {
    bool is_regex;
    char *str; /* String pattern (literal) */
    size_t len;
    regex_t re;
    bool compiled;
} pattern;

static void pattern_free(pattern *p)
{
    free(p->str);
    if (p->compiled) regfree(&p->re);
    memset(p, 0, sizeof *p);
}

/* Oniguruma -> POSIX ERE for the common constructs; NULL (with *why) when unsupported. Patterns
 * are limited in size and in repetition counts so that a hostile file cannot make regcomp build
 * a huge automaton. */
static char *translate_regex(const char *src, size_t n, const char **why)
{
    if (n > 256) {
        *why = "longer than 256 characters";
        return NULL;
    }
    size_t cap = n * 12 + 16, o = 0, braces = 0;
    char *out = malloc(cap);
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
#define EMIT(str)                                   \
    do {                                            \
        const char *e_ = (str);                     \
        size_t l_ = strlen(e_);                     \
        memcpy(out + o, e_, l_);                    \
        o += l_;                                    \
    } while (0)
    bool in_br = false;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '\0') {
            *why = "NUL in the pattern";
            goto bad;
        }
        if (in_br) {
            if (c == ']' && !(o > 0 && (out[o - 1] == '[' || (o > 1 && out[o - 1] == '^' && out[o - 2] == '[')))) {
                in_br = false;
                out[o++] = c;
            } else if (c == '\\' && i + 1 < n) {
                char d = src[++i];
                if (d == 's') EMIT("[:space:]");
                else if (d == 'd') EMIT("[:digit:]");
                else if (d == 'w') EMIT("[:alnum:]_");
                else if (d == 'n') out[o++] = '\n';
                else if (d == 't') out[o++] = '\t';
                else if (d == 'r') out[o++] = '\r';
                else if (d == '\\') out[o++] = '\\';
                else {
                    *why = "an escape inside [...] other than \\s \\d \\w \\n \\t \\r \\\\";
                    goto bad;
                }
            } else {
                out[o++] = c;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                *why = "a trailing backslash";
                goto bad;
            }
            char d = src[++i];
            if (d == 'd') EMIT("[0-9]");
            else if (d == 'D') EMIT("[^0-9]");
            else if (d == 's' || d == 'S' || d == 'w' || d == 'W') {
                out[o++] = '\\';
                out[o++] = d;
            } else if (d == 'n') out[o++] = '\n';
            else if (d == 't') out[o++] = '\t';
            else if (d == 'r') out[o++] = '\r';
            else if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9')) {
                *why = "an escape other than \\d \\D \\s \\S \\w \\W \\n \\t \\r";
                goto bad;
            } else {
                out[o++] = '\\';
                out[o++] = d;
            }
            continue;
        }
        if (c == '(' && i + 1 < n && src[i + 1] == '?') {
            if (i + 2 < n && src[i + 2] == ':') {
                out[o++] = '(';
                i += 2;
                continue;
            }
            *why = "a (?...) group other than (?:...)";
            goto bad;
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < n &&
            (src[i + 1] == '?' || src[i + 1] == '+')) {
            *why = "a lazy or possessive quantifier";
            goto bad;
        }
        if (c == '{') {
            if (++braces > 4) {
                *why = "more than 4 {m,n} repetitions";
                goto bad;
            }
            long num = 0;
            for (size_t k = i + 1; k < n && src[k] != '}'; k++) {
                if (src[k] >= '0' && src[k] <= '9') {
                    num = num * 10 + (src[k] - '0');
                    if (num > 64) {
                        *why = "a repetition count above 64";
                        goto bad;
                    }
                } else {
                    num = 0;
                }
            }
        }
        if (c == '[') in_br = true;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
#undef EMIT
}

/* {"String": "..."} or {"Regex": "..."} */
static bend_status pattern_parse(pattern *p, json_t *j, const char *where, bend_error *err)
{
    memset(p, 0, sizeof *p);
    json_t *s = json_object_get(j, "String"), *r = json_object_get(j, "Regex");
    if (json_is_string(s)) {
        long n = jstrlen(s);
        if (n < 0) return bend_fail(err, BEND_ERR_PARSE, "%s: pattern with a NUL byte", where);
        p->str = malloc((size_t)n + 1);
        if (!p->str) return NOMEM(err);
        memcpy(p->str, json_string_value(s), (size_t)n + 1);
        p->len = (size_t)n;
        return BEND_OK;
    }
    if (json_is_string(r)) {
        const char *why = NULL;
        char *ere = translate_regex(json_string_value(r), json_string_length(r), &why);
        if (!ere)
            return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: regex /%.80s/ is not supported (%s)",
                             where, json_string_value(r), why);
        int rc = regcomp(&p->re, ere, REG_EXTENDED);
        free(ere);
        if (rc)
            return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: regex /%.80s/ does not compile as a "
                             "POSIX extended regular expression", where, json_string_value(r));
        p->compiled = true;
        p->is_regex = true;
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_PARSE, "%s: expected a pattern {\"String\": ...} or "
                     "{\"Regex\": ...}", where);
}

typedef struct match {
    size_t s, e;
    bool m;
} match;

typedef struct matches {
    match *v;
    size_t n, cap;
} matches;

static int matches_push(matches *a, size_t s, size_t e, bool m)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        match *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (match){s, e, m};
    return 0;
}

/* tokenizers' Pattern::find_matches: the whole of s[0..n) as (range, is_match) pieces. */
static int pattern_find(const pattern *p, const char *s, size_t n, matches *out)
{
    out->n = 0;
    if (!p->is_regex && p->len == 0) return matches_push(out, 0, n, false);
    if (n == 0) return matches_push(out, 0, 0, false);
    size_t prev = 0, pos = 0;
    bool have_last = false;
    size_t last_end = 0;
    while (pos <= n) {
        size_t ms, me;
        if (!p->is_regex) {
            const char *hit = NULL;
            for (size_t i = pos; i + p->len <= n; i++)
                if (!memcmp(s + i, p->str, p->len)) {
                    hit = s + i;
                    break;
                }
            if (!hit) break;
            ms = (size_t)(hit - s);
            me = ms + p->len;
        } else {
            regmatch_t m[1];
            m[0].rm_so = (regoff_t)pos;
            m[0].rm_eo = (regoff_t)n;
            if (regexec(&p->re, s, 1, m, REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0))) break;
            ms = (size_t)m[0].rm_so;
            me = (size_t)m[0].rm_eo;
            if (me < ms || me > n) break;
        }
        if (ms == me && have_last && last_end == me) {
            /* no empty match right after the previous match */
            if (pos >= n) break;
            uint32_t cp;
            pos += bend_utf8_next(s, n, pos, &cp);
            continue;
        }
        if (prev != ms && matches_push(out, prev, ms, false)) return -1;
        if (matches_push(out, ms, me, true)) return -1;
        prev = me;
        have_last = true;
        last_end = me;
        if (me == ms) {
            if (me >= n) break;
            uint32_t cp;
            pos = me + bend_utf8_next(s, n, me, &cp);
        } else {
            pos = me;
        }
    }
    if (prev != n && matches_push(out, prev, n, false)) return -1;
    return 0;
}

/* A character predicate as a pattern: every matching character is a match of its own. */
typedef bool (*char_pred)(uint32_t cp, const void *arg);

static int pred_find(char_pred pred, const void *arg, const char *s, size_t n, matches *out)
{
    out->n = 0;
    size_t last = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = bend_utf8_next(s, n, i, &cp);
        if (pred(cp, arg)) {
            if (last < i && matches_push(out, last, i, false)) return -1;
            if (matches_push(out, i, i + l, true)) return -1;
            last = i + l;
        }
        i += l;
    }
    if (n > last && matches_push(out, last, n, false)) return -1;
    return 0;
}

/* ---- normalizers -------------------------------------------------------------------------- */

typedef enum nkind { N_SEQ, N_STRIP, N_REPLACE, N_LOWER, N_IDENTITY, N_BERT, N_PREPEND } nkind;

typedef struct norm {
    nkind kind;
    struct norm *kids;
    size_t n_kids;
    bool left, right;                   /* Strip */
    pattern pat;                        /* Replace */
    char *content;                      /* Replace / Prepend */
    size_t content_len;
    bool clean_text, chinese, lowercase; /* BertNormalizer */
} norm;

static void norm_free(norm *z)
{
    for (size_t i = 0; i < z->n_kids; i++) norm_free(&z->kids[i]);
    free(z->kids);
    pattern_free(&z->pat);
    free(z->content);
    memset(z, 0, sizeof *z);
}

static bend_status norm_parse(norm *z, json_t *j, const char *path, int depth, bend_error *err)
{
    memset(z, 0, sizeof *z);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: normalizers nested too deeply", path);
    const char *type = jstr(j, "type");
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
            bend_status st = norm_parse(&z->kids[i], json_array_get(a, i), path, depth + 1, err);
            z->n_kids = i + 1;
            if (st) return st;
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Strip")) {
        z->kind = N_STRIP;
        z->left = jbool(j, "strip_left", true);
        z->right = jbool(j, "strip_right", true);
        return BEND_OK;
    }
    if (!strcmp(type, "Replace") || !strcmp(type, "Prepend")) {
        bool replace = !strcmp(type, "Replace");
        z->kind = replace ? N_REPLACE : N_PREPEND;
        json_t *c = json_object_get(j, replace ? "content" : "prepend");
        long n = jstrlen(c);
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
            return pattern_parse(&z->pat, p, path, err);
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
        z->clean_text = jbool(j, "clean_text", true);
        z->chinese = jbool(j, "handle_chinese_chars", true);
        z->lowercase = jbool(j, "lowercase", true);
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: normalizer type \"%.60s\" is not supported "
                     "(supported: Sequence, Strip, Replace, Lowercase, Prepend, BertNormalizer, "
                     "NFC/NFD/NFKC/NFKD, StripAccents)", path, type);
}

/* Applies z to x in place; -1 when out of memory. */
static int norm_apply(const norm *z, nstr *x)
{
    nstr out = {0};
    out.shift = x->shift;
    switch (z->kind) {
    case N_IDENTITY:
        return 0;
    case N_SEQ:
        for (size_t i = 0; i < z->n_kids; i++)
            if (norm_apply(&z->kids[i], x)) return -1;
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
        if (nstr_reserve(&out, e - s) || nstr_push_range(&out, x, s, e)) goto nomem;
        out.s[out.n] = '\0';
        break;
    }
    case N_PREPEND: {
        if (x->n == 0) return 0;
        /* the new characters share the span of the first character (NormalizedString::prepend) */
        uint32_t cp;
        size_t l = bend_utf8_next(x->s, x->n, 0, &cp);
        if (nstr_reserve(&out, x->n + z->content_len) ||
            nstr_push(&out, z->content, z->content_len, x->a0[0], x->a1[l - 1]) ||
            nstr_push_range(&out, x, 0, x->n))
            goto nomem;
        break;
    }
    case N_REPLACE: {
        matches ms = {0};
        if (pattern_find(&z->pat, x->s, x->n, &ms)) {
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
                rc = nstr_push_range(&out, x, m->s, m->e);
            } else {
                /* new characters share the span of the last character replaced */
                int64_t a0 = x->shift, a1 = x->shift;
                if (m->e > 0) {
                    a0 = x->a0[m->e - 1];
                    a1 = x->a1[m->e - 1];
                }
                rc = nstr_push(&out, z->content, z->content_len, a0, a1);
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
                rc = nstr_push(&out, " ", 1, a0, a1);
            } else if (z->chinese && bend_is_cjk(cp)) {
                rc = nstr_push(&out, " ", 1, a0, a1) || nstr_push_range(&out, x, i, i + l) ||
                     nstr_push(&out, " ", 1, a0, a1);
            } else {
                rc = nstr_push_range(&out, x, i, i + l);
                if (!rc && z->lowercase && l == 1 && cp >= 'A' && cp <= 'Z')
                    out.s[out.n - 1] = (char)(cp - 'A' + 'a');
            }
            if (rc) goto nomem;
            i += l;
        }
        break;
    }
    }
    nstr_free(x);
    *x = out;
    return 0;
nomem:
    nstr_free(&out);
    return -1;
}

/* ---- splits (pre-tokenized string) -------------------------------------------------------- */

typedef struct split {
    nstr ns;
    int32_t added; /* index of the added token this split is, or -1 */
} split;

typedef struct splits {
    split *v;
    size_t n, cap;
} splits;

static void splits_free(splits *a)
{
    for (size_t i = 0; i < a->n; i++) nstr_free(&a->v[i].ns);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static int splits_push(splits *a, nstr *ns, int32_t added)
{
    if (ns->n == 0) { /* tokenizers keeps only non-empty splits */
        nstr_free(ns);
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        split *v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            nstr_free(ns);
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
        if (nstr_slice(&piece, x, r[k].s, r[k].e)) {
            rc = -1;
            break;
        }
        rc = splits_push(out, &piece, -1);
    }
    free(r);
    return rc;
}

/* ---- pre-tokenizers ----------------------------------------------------------------------- */

typedef enum pkind { P_SEQ, P_WHITESPACE, P_WSSPLIT, P_BERT, P_PUNCT, P_DIGITS, P_SPLIT,
                     P_CHARDELIM, P_BYTELEVEL } pkind;

typedef struct pretok {
    pkind kind;
    struct pretok *kids;
    size_t n_kids;
    int behavior;
    bool invert;
    pattern pat;
    bool individual_digits;
    uint32_t delim;
    bool add_prefix_space, use_regex;
} pretok;

static void pretok_free(pretok *p)
{
    for (size_t i = 0; i < p->n_kids; i++) pretok_free(&p->kids[i]);
    free(p->kids);
    pattern_free(&p->pat);
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

static bend_status pretok_parse(pretok *p, json_t *j, const char *path, int depth, bend_error *err)
{
    memset(p, 0, sizeof *p);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: pre-tokenizers nested too deeply", path);
    const char *type = jstr(j, "type");
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
            bend_status st = pretok_parse(&p->kids[i], json_array_get(a, i), path, depth + 1, err);
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
        const char *b = jstr(j, "behavior");
        p->behavior = b ? parse_behavior(b) : B_ISOLATED;
        if (p->behavior < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: %s pre_tokenizer with unknown behavior "
                             "\"%.40s\"", path, type, b);
        if (p->kind == P_SPLIT) {
            if (!b)
                return bend_fail(err, BEND_ERR_PARSE, "%s: Split pre_tokenizer without a "
                                 "\"behavior\"", path);
            p->invert = jbool(j, "invert", false);
            json_t *pat = json_object_get(j, "pattern");
            if (!json_is_object(pat))
                return bend_fail(err, BEND_ERR_PARSE, "%s: Split pre_tokenizer without a "
                                 "\"pattern\"", path);
            return pattern_parse(&p->pat, pat, path, err);
        }
        return BEND_OK;
    }
    if (!strcmp(type, "Digits")) {
        p->kind = P_DIGITS;
        p->individual_digits = jbool(j, "individual_digits", false);
        return BEND_OK;
    }
    if (!strcmp(type, "CharDelimiterSplit")) {
        p->kind = P_CHARDELIM;
        json_t *d = json_object_get(j, "delimiter");
        long n = jstrlen(d);
        uint32_t cp = 0;
        if (n <= 0 || bend_utf8_next(json_string_value(d), (size_t)n, 0, &cp) != (size_t)n)
            return bend_fail(err, BEND_ERR_PARSE, "%s: CharDelimiterSplit needs a one-character "
                             "\"delimiter\"", path);
        p->delim = cp;
        return BEND_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        p->kind = P_BYTELEVEL;
        p->add_prefix_space = jbool(j, "add_prefix_space", true);
        p->use_regex = jbool(j, "use_regex", true);
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
        if (last < st && matches_push(out, last, st, true)) return -1;
        if (matches_push(out, st, i, false)) return -1;
        last = i;
    }
    if (last < n && matches_push(out, last, n, true)) return -1;
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
        if (matches_push(out, i, end, true)) return -1;
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
static int pretok_apply(const pretok *p, splits *sp)
{
    if (p->kind == P_SEQ) {
        for (size_t i = 0; i < p->n_kids; i++)
            if (pretok_apply(&p->kids[i], sp)) return -1;
        return 0;
    }
    splits out = {0};
    matches ms = {0};
    int rc = 0;
    for (size_t i = 0; i < sp->n && !rc; i++) {
        split *x = &sp->v[i];
        if (x->added >= 0) {
            rc = splits_push(&out, &x->ns, x->added);
            continue;
        }
        nstr *ns = &x->ns;
        switch (p->kind) {
        case P_WHITESPACE:
            rc = whitespace_find(ns->s, ns->n, &ms) || split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_WSSPLIT:
            rc = pred_find(pred_space, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_BERT: {
            splits tmp = {0};
            rc = pred_find(pred_space, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &tmp);
            for (size_t k = 0; k < tmp.n && !rc; k++)
                rc = pred_find(pred_punct, NULL, tmp.v[k].ns.s, tmp.v[k].ns.n, &ms) ||
                     split_by(&tmp.v[k].ns, &ms, B_ISOLATED, false, &out);
            splits_free(&tmp);
            break;
        }
        case P_PUNCT:
            rc = pred_find(pred_punct, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->behavior, false, &out);
            break;
        case P_DIGITS:
            rc = pred_find(pred_digit, NULL, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->individual_digits ? B_ISOLATED : B_CONTIGUOUS, false, &out);
            break;
        case P_SPLIT:
            rc = pattern_find(&p->pat, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, p->behavior, p->invert, &out);
            break;
        case P_CHARDELIM:
            rc = pred_find(pred_char, &p->delim, ns->s, ns->n, &ms) ||
                 split_by(ns, &ms, B_REMOVED, false, &out);
            break;
        case P_BYTELEVEL: {
            nstr pre = {0};
            pre.shift = ns->shift;
            if (p->add_prefix_space && ns->s[0] != ' ') {
                uint32_t cp0;
                size_t l0 = bend_utf8_next(ns->s, ns->n, 0, &cp0);
                rc = nstr_push(&pre, " ", 1, ns->a0[0], ns->a1[l0 - 1]) ||
                     nstr_push_range(&pre, ns, 0, ns->n);
            } else {
                rc = nstr_push_range(&pre, ns, 0, ns->n);
            }
            splits tmp = {0};
            if (!rc) {
                if (p->use_regex) {
                    rc = gpt2_find(pre.s, pre.n, &ms) || split_by(&pre, &ms, B_ISOLATED, false, &tmp);
                } else {
                    nstr cp = {0};
                    rc = nstr_slice(&cp, &pre, 0, pre.n) || splits_push(&tmp, &cp, -1);
                }
            }
            nstr_free(&pre);
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
                        rc = nstr_push(&m, enc, el, t->a0[b], t->a1[b + l - 1]);
                    }
                    b += l;
                }
                if (!rc) rc = splits_push(&out, &m, -1);
                else nstr_free(&m);
            }
            splits_free(&tmp);
            break;
        }
        case P_SEQ:
            break;
        }
    }
    free(ms.v);
    if (rc) {
        splits_free(&out);
        return -1;
    }
    splits_free(sp);
    *sp = out;
    return 0;
}

/* ---- pair -> (rank, id) map for BPE merges ------------------------------------------------ */

typedef struct merge_map {
    uint64_t *keys; /* (a << 32 | b) + 1; 0 = empty */
    int32_t *rank, *id;
    size_t n_slots, n;
} merge_map;

static void merge_map_free(merge_map *m)
{
    free(m->keys);
    free(m->rank);
    free(m->id);
    memset(m, 0, sizeof *m);
}

static size_t mm_slot(const merge_map *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = m->n_slots - 1, i = (size_t)(h >> 17) & mask;
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & mask;
    return i;
}

static int mm_put(merge_map *m, int32_t a, int32_t b, int32_t rank, int32_t id)
{
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    if ((m->n + 1) * 2 > m->n_slots) {
        merge_map g = {0};
        g.n_slots = m->n_slots ? m->n_slots * 2 : 256;
        g.keys = calloc(g.n_slots, sizeof *g.keys);
        g.rank = malloc(g.n_slots * sizeof *g.rank);
        g.id = malloc(g.n_slots * sizeof *g.id);
        if (!g.keys || !g.rank || !g.id) {
            merge_map_free(&g);
            return -1;
        }
        for (size_t i = 0; i < m->n_slots; i++) {
            if (!m->keys[i]) continue;
            size_t j = mm_slot(&g, m->keys[i]);
            g.keys[j] = m->keys[i];
            g.rank[j] = m->rank[i];
            g.id[j] = m->id[i];
        }
        g.n = m->n;
        merge_map_free(m);
        *m = g;
    }
    size_t i = mm_slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->n++;
    }
    m->rank[i] = rank; /* a repeated pair keeps the last rank, as a HashMap insert does */
    m->id[i] = id;
    return 0;
}

static bool mm_get(const merge_map *m, int32_t a, int32_t b, int32_t *rank, int32_t *id)
{
    if (!m->n_slots) return false;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t i = mm_slot(m, key);
    if (!m->keys[i]) return false;
    *rank = m->rank[i];
    *id = m->id[i];
    return true;
}

/* ---- models ------------------------------------------------------------------------------- */

typedef enum mkind { M_BPE, M_WORDLEVEL, M_WORDPIECE } mkind;

typedef struct model {
    mkind kind;
    bend_vocab vocab;
    merge_map merges;
    char *unk;                 /* unk_token or NULL */
    char *prefix, *suffix;     /* continuing_subword_prefix / end_of_word_suffix (BPE), prefix
                                  (WordPiece) */
    bool fuse_unk, byte_fallback, ignore_merges;
    size_t max_chars;          /* WordPiece max_input_chars_per_word */
    bend_hftrie wp_first, wp_cont; /* WordPiece: the vocabulary, and the entries that start with
                                      the prefix (prefix removed), for longest-prefix search */
} model;

static void model_free(model *m)
{
    bend_vocab_free(&m->vocab);
    merge_map_free(&m->merges);
    bend_hftrie_free(&m->wp_first);
    bend_hftrie_free(&m->wp_cont);
    free(m->unk);
    free(m->prefix);
    free(m->suffix);
    memset(m, 0, sizeof *m);
}

static char *dup_jstr(json_t *v)
{
    long n = jstrlen(v);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) memcpy(s, json_string_value(v), (size_t)n + 1);
    return s;
}

static bend_status model_parse(model *m, json_t *j, const char *path, bend_error *err)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) return bend_fail(err, BEND_ERR_PARSE, "%s: expected a \"model\" object", path);
    const char *type = jstr(j, "type");
    json_t *vocab = json_object_get(j, "vocab");
    json_t *merges = json_object_get(j, "merges");
    if (!type) {
        /* older files omit the type: BPE has merges, WordPiece a continuing_subword_prefix */
        if (merges) type = "BPE";
        else if (json_object_get(j, "continuing_subword_prefix")) type = "WordPiece";
        else type = "WordLevel";
    }
    if (!strcmp(type, "BPE")) m->kind = M_BPE;
    else if (!strcmp(type, "WordLevel")) m->kind = M_WORDLEVEL;
    else if (!strcmp(type, "WordPiece")) m->kind = M_WORDPIECE;
    else
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: model type \"%.60s\" is not supported "
                         "(supported: BPE, WordLevel, WordPiece)", path, type);
    if (!json_is_object(vocab))
        return bend_fail(err, BEND_ERR_PARSE, "%s: model.vocab must be an object {token: id}", path);
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        long long id;
        if (!bend_json_int(val, 0, BEND_TOK_MAX_ID, &id))
            return bend_fail(err, BEND_ERR_PARSE, "%s: model.vocab[\"%.40s\"] must be an id in "
                             "0..%d", path, key, BEND_TOK_MAX_ID);
        if (id > (long long)(16 * json_object_size(vocab) + 65536))
            return bend_fail(err, BEND_ERR_INVALID, "%s: model.vocab id %lld is far beyond the "
                             "vocabulary size", path, id);
        if (bend_vocab_set(&m->vocab, key, strlen(key), (int32_t)id)) return NOMEM(err);
    }
    json_t *unk = json_object_get(j, "unk_token");
    if (json_is_string(unk) && !(m->unk = dup_jstr(unk)))
        return bend_fail(err, BEND_ERR_PARSE, "%s: bad model.unk_token", path);
    /* serde defaults of the models without one in the file */
    if (!unk && m->kind == M_WORDLEVEL && !(m->unk = strdup("<unk>"))) return NOMEM(err);
    if (!unk && m->kind == M_WORDPIECE && !(m->unk = strdup("[UNK]"))) return NOMEM(err);
    if (m->kind == M_WORDPIECE) {
        json_t *p = json_object_get(j, "continuing_subword_prefix");
        m->prefix = json_is_string(p) ? dup_jstr(p) : strdup("##");
        if (!m->prefix) return bend_fail(err, BEND_ERR_PARSE, "%s: bad continuing_subword_prefix", path);
        long long mx;
        m->max_chars = bend_json_int(json_object_get(j, "max_input_chars_per_word"), 0,
                                     1LL << 40, &mx) ? (size_t)mx : 100;
        size_t pl = strlen(m->prefix);
        for (size_t id = 0; id < m->vocab.n; id++) {
            const char *t = m->vocab.tok[id];
            if (!t) continue;
            size_t tl = strlen(t);
            if (bend_hftrie_add(&m->wp_first, t, tl)) return NOMEM(err);
            if (tl > pl && !memcmp(t, m->prefix, pl) && bend_hftrie_add(&m->wp_cont, t + pl, tl - pl))
                return NOMEM(err);
        }
        return BEND_OK;
    }
    if (m->kind == M_WORDLEVEL) return BEND_OK;
    /* BPE */
    json_t *dropout = json_object_get(j, "dropout");
    if (dropout && !json_is_null(dropout) && !(json_is_number(dropout) && json_number_value(dropout) == 0.0))
        return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: BPE dropout is random; only null or 0 is "
                         "supported", path);
    json_t *p = json_object_get(j, "continuing_subword_prefix");
    if (json_is_string(p) && !(m->prefix = dup_jstr(p)))
        return bend_fail(err, BEND_ERR_PARSE, "%s: bad continuing_subword_prefix", path);
    p = json_object_get(j, "end_of_word_suffix");
    if (json_is_string(p) && !(m->suffix = dup_jstr(p)))
        return bend_fail(err, BEND_ERR_PARSE, "%s: bad end_of_word_suffix", path);
    m->fuse_unk = jbool(j, "fuse_unk", false);
    m->byte_fallback = jbool(j, "byte_fallback", false);
    m->ignore_merges = jbool(j, "ignore_merges", false);
    if (merges && !json_is_array(merges))
        return bend_fail(err, BEND_ERR_PARSE, "%s: model.merges must be a list", path);
    size_t prefix_len = m->prefix ? strlen(m->prefix) : 0;
    char *buf = NULL;
    size_t buf_cap = 0;
    for (size_t r = 0; merges && r < json_array_size(merges); r++) {
        json_t *e = json_array_get(merges, r);
        const char *a, *b;
        size_t al, bl;
        char *tmp = NULL;
        if (json_is_string(e)) {
            /* "a b": exactly one space */
            const char *s = json_string_value(e);
            size_t n = json_string_length(e);
            const char *sp = memchr(s, ' ', n);
            if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s))) {
                free(buf);
                return bend_fail(err, BEND_ERR_PARSE, "%s: merge %zu \"%.60s\" is not \"a b\"", path,
                                 r, s);
            }
            a = s;
            al = (size_t)(sp - s);
            b = sp + 1;
            bl = n - al - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 &&
                   json_is_string(json_array_get(e, 0)) && json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            al = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            bl = json_string_length(json_array_get(e, 1));
        } else {
            free(buf);
            return bend_fail(err, BEND_ERR_PARSE, "%s: merge %zu must be \"a b\" or [\"a\", \"b\"]",
                             path, r);
        }
        int32_t ia = bend_vocab_find(&m->vocab, a, al), ib = bend_vocab_find(&m->vocab, b, bl);
        if (ia < 0 || ib < 0) {
            free(buf);
            return bend_fail(err, BEND_ERR_PARSE, "%s: merge %zu uses \"%.40s\", which is not in "
                             "model.vocab", path, r, ia < 0 ? a : b);
        }
        if (bl < prefix_len) {
            free(buf);
            return bend_fail(err, BEND_ERR_PARSE, "%s: merge %zu: \"%.40s\" is shorter than the "
                             "continuing_subword_prefix", path, r, b);
        }
        size_t nl = al + bl - prefix_len;
        if (nl + 1 > buf_cap) {
            buf_cap = (nl + 1) * 2;
            tmp = realloc(buf, buf_cap);
            if (!tmp) {
                free(buf);
                return NOMEM(err);
            }
            buf = tmp;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, b + prefix_len, bl - prefix_len);
        int32_t nid = bend_vocab_find(&m->vocab, buf, nl);
        if (nid < 0) {
            bend_fail(err, BEND_ERR_PARSE, "%s: merge %zu makes \"%.*s\", which is not in "
                      "model.vocab", path, r, (int)(nl > 40 ? 40 : nl), buf);
            free(buf);
            return BEND_ERR_PARSE;
        }
        if (r > INT32_MAX || mm_put(&m->merges, ia, ib, (int32_t)r, nid)) {
            free(buf);
            return NOMEM(err);
        }
    }
    free(buf);
    return BEND_OK;
}

/* A model token: id and its byte range in the word. */
typedef struct mtok {
    int32_t id;
    size_t s, e;
} mtok;

typedef struct mtoks {
    mtok *v;
    size_t n, cap;
} mtoks;

static int mtoks_push(mtoks *a, int32_t id, size_t s, size_t e)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        mtok *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (mtok){id, s, e};
    return 0;
}

typedef struct sym {
    int32_t c;
    int32_t prev, next;
    size_t start, len; /* bytes of the word */
} sym;

typedef struct hent {
    int32_t rank, id;
    size_t pos;
} hent;

static bool hless(const hent *a, const hent *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int heap_push(hent **h, size_t *n, size_t *cap, hent e)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        hent *v = realloc(*h, c * sizeof *v);
        if (!v) return -1;
        *h = v;
        *cap = c;
    }
    size_t i = (*n)++;
    (*h)[i] = e;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&(*h)[i], &(*h)[p])) break;
        hent t = (*h)[i];
        (*h)[i] = (*h)[p];
        (*h)[p] = t;
        i = p;
    }
    return 0;
}

static hent heap_pop(hent *h, size_t *n)
{
    hent top = h[0];
    h[0] = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && hless(&h[l], &h[m])) m = l;
        if (r < *n && hless(&h[r], &h[m])) m = r;
        if (m == i) break;
        hent t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

/* BPE on one word w[0..n): tokenizers' merge_word + Word::merge_all. */
static bend_status bpe_word(const model *m, const char *w, size_t n, mtoks *out, bend_error *err)
{
    if (m->ignore_merges) {
        int32_t id = bend_vocab_find(&m->vocab, w, n);
        if (id >= 0) return mtoks_push(out, id, 0, n) ? NOMEM(err) : BEND_OK;
    }
    sym *sy = malloc((n + 1) * sizeof *sy);
    hent *heap = NULL;
    size_t hn = 0, hcap = 0, ns = 0;
    char *probe = NULL;
    size_t plen_pre = m->prefix ? strlen(m->prefix) : 0, plen_suf = m->suffix ? strlen(m->suffix) : 0;
    probe = malloc(plen_pre + plen_suf + 8);
    bend_status st = BEND_OK;
    if (!sy || !probe) {
        st = NOMEM(err);
        goto done;
    }
    int32_t unk_id = -1;
    bool have_unk = false;
    size_t unk_start = 0, unk_len = 0;
#define ADD_SYM(cid, st_, ln_)                                                  \
    do {                                                                        \
        sy[ns] = (sym){(cid), (int32_t)ns - 1, (int32_t)ns + 1, (st_), (ln_)};  \
        ns++;                                                                   \
    } while (0)
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = bend_utf8_next(w, n, i, &cp);
        bool first = i == 0, last = i + l == n;
        size_t pl = 0;
        if (!first && m->prefix) {
            memcpy(probe, m->prefix, plen_pre);
            pl = plen_pre;
        }
        memcpy(probe + pl, w + i, l);
        pl += l;
        if (last && m->suffix) {
            memcpy(probe + pl, m->suffix, plen_suf);
            pl += plen_suf;
        }
        int32_t id = bend_vocab_find(&m->vocab, probe, pl);
        if (id >= 0) {
            if (have_unk) {
                ADD_SYM(unk_id, unk_start, unk_len);
                have_unk = false;
            }
            ADD_SYM(id, i, l);
        } else {
            bool done_fb = false;
            if (m->byte_fallback) {
                int32_t ids[64];
                bool all = pl <= 64;
                for (size_t q = 0; q < pl && all; q++) {
                    char code[8];
                    snprintf(code, sizeof code, "<0x%02X>", (unsigned char)probe[q]);
                    ids[q] = bend_vocab_find(&m->vocab, code, strlen(code));
                    all = ids[q] >= 0;
                }
                if (all) {
                    /* each byte symbol has length 1 (as tokenizers does) */
                    if (have_unk) {
                        ADD_SYM(unk_id, unk_start, unk_len);
                        have_unk = false;
                    }
                    sym *ny = realloc(sy, (ns + pl + (n - i) + 1) * sizeof *sy);
                    if (!ny) {
                        st = NOMEM(err);
                        goto done;
                    }
                    sy = ny;
                    for (size_t q = 0; q < pl; q++) ADD_SYM(ids[q], i + (q < l ? q : l - 1), 1);
                    done_fb = true;
                }
            }
            if (!done_fb && m->unk) {
                int32_t u = bend_vocab_find(&m->vocab, m->unk, strlen(m->unk));
                if (u < 0) {
                    st = bend_fail(err, BEND_ERR_INVALID, "the BPE unk_token \"%.40s\" is not in "
                                   "model.vocab", m->unk);
                    goto done;
                }
                if (have_unk && m->fuse_unk) {
                    unk_len += l;
                } else {
                    if (have_unk) ADD_SYM(unk_id, unk_start, unk_len);
                    unk_id = u;
                    unk_start = i;
                    unk_len = l;
                    have_unk = true;
                }
            }
            /* no unk_token: the character is dropped, as tokenizers drops it */
        }
        i += l;
    }
    if (have_unk) ADD_SYM(unk_id, unk_start, unk_len);
#undef ADD_SYM
    if (ns) sy[ns - 1].next = -1;
    /* merge_all */
    for (size_t k = 0; k + 1 < ns; k++) {
        int32_t rank, nid;
        if (mm_get(&m->merges, sy[k].c, sy[k + 1].c, &rank, &nid) &&
            heap_push(&heap, &hn, &hcap, (hent){rank, nid, k})) {
            st = NOMEM(err);
            goto done;
        }
    }
    while (hn) {
        hent top = heap_pop(heap, &hn);
        sym *cur = &sy[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        sym *right = &sy[cur->next];
        int32_t rank, nid;
        if (!mm_get(&m->merges, cur->c, right->c, &rank, &nid) || nid != top.id) continue;
        cur->c = top.id;
        cur->len += right->len;
        int32_t rnext = right->next;
        cur->next = rnext;
        right->len = 0;
        if (rnext >= 0) sy[rnext].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && mm_get(&m->merges, sy[cur->prev].c, cur->c, &rank, &nid) &&
            heap_push(&heap, &hn, &hcap, (hent){rank, nid, (size_t)cur->prev})) {
            st = NOMEM(err);
            goto done;
        }
        cur = &sy[top.pos];
        if (cur->next >= 0 && mm_get(&m->merges, cur->c, sy[cur->next].c, &rank, &nid) &&
            heap_push(&heap, &hn, &hcap, (hent){rank, nid, top.pos})) {
            st = NOMEM(err);
            goto done;
        }
    }
    /* offsets are the running sum of the symbol lengths (tokenizers' Word), so a dropped
     * character (no unk_token) shifts the later ones, as it does there */
    size_t pos = 0;
    for (size_t k = 0; k < ns; k++) {
        if (!sy[k].len) continue;
        if (mtoks_push(out, sy[k].c, pos, pos + sy[k].len)) {
            st = NOMEM(err);
            goto done;
        }
        pos += sy[k].len;
    }
done:
    free(sy);
    free(heap);
    free(probe);
    return st;
}

static bend_status wordpiece_word(const model *m, const char *w, size_t n, mtoks *out,
                                  bend_error *err)
{
    size_t nchars = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        i += bend_utf8_next(w, n, i, &cp);
        nchars++;
    }
    int32_t unk = m->unk ? bend_vocab_find(&m->vocab, m->unk, strlen(m->unk)) : -1;
    if (nchars > m->max_chars) {
        if (unk < 0) return bend_fail(err, BEND_ERR_INVALID, "the WordPiece unk_token is not in the vocab");
        return mtoks_push(out, unk, 0, n) ? NOMEM(err) : BEND_OK;
    }
    size_t mark = out->n, plen = strlen(m->prefix);
    char *probe = malloc(n + plen + 1);
    if (!probe) return NOMEM(err);
    size_t start = 0;
    while (start < n) {
        /* tokenizers tries w[start:end] ("##"-prefixed after the start) for end from the word's
         * end down, one character at a time: the longest vocabulary entry, found with a trie */
        const bend_hftrie *tr = start ? &m->wp_cont : &m->wp_first;
        size_t end = start, k = start;
        int32_t node = 0, found = -1;
        while (k < n) {
            uint32_t cp;
            size_t l = bend_utf8_next(w, n, k, &cp);
            node = bend_hftrie_step(tr, node, w + k, l);
            if (node < 0) break;
            k += l;
            if (bend_hftrie_terminal(tr, node)) end = k;
        }
        if (end > start) {
            size_t pl = 0;
            if (start > 0) {
                memcpy(probe, m->prefix, plen);
                pl = plen;
            }
            memcpy(probe + pl, w + start, end - start);
            found = bend_vocab_find(&m->vocab, probe, pl + end - start);
        }
        if (found < 0) {
            free(probe);
            out->n = mark;
            if (unk < 0) return bend_fail(err, BEND_ERR_INVALID, "the WordPiece unk_token is not in the vocab");
            return mtoks_push(out, unk, 0, n) ? NOMEM(err) : BEND_OK;
        }
        if (mtoks_push(out, found, start, end)) {
            free(probe);
            return NOMEM(err);
        }
        start = end;
    }
    free(probe);
    return BEND_OK;
}

static bend_status model_word(const model *m, const char *w, size_t n, mtoks *out, bend_error *err)
{
    if (m->kind == M_BPE) return bpe_word(m, w, n, out, err);
    if (m->kind == M_WORDPIECE) return wordpiece_word(m, w, n, out, err);
    int32_t id = bend_vocab_find(&m->vocab, w, n);
    if (id < 0 && m->unk) id = bend_vocab_find(&m->vocab, m->unk, strlen(m->unk));
    if (id < 0)
        return bend_fail(err, BEND_ERR_INVALID, "WordLevel: \"%.40s\" is not in the vocab and the "
                         "unk_token is missing", w);
    return mtoks_push(out, id, 0, n) ? NOMEM(err) : BEND_OK;
}

/* ---- post-processors ---------------------------------------------------------------------- */

typedef enum ppkind { PP_TEMPLATE, PP_BERT, PP_ROBERTA, PP_BYTELEVEL, PP_SEQ } ppkind;

typedef struct tpiece {
    bool is_seq;
    int32_t *ids;
    size_t n_ids;
} tpiece;

typedef struct postproc {
    ppkind kind;
    struct postproc *kids;
    size_t n_kids;
    tpiece *pieces;
    size_t n_pieces;
    int32_t cls, sep;
    bool trim_offsets, add_prefix_space;
} postproc;

static void postproc_free(postproc *p)
{
    for (size_t i = 0; i < p->n_kids; i++) postproc_free(&p->kids[i]);
    free(p->kids);
    for (size_t i = 0; i < p->n_pieces; i++) free(p->pieces[i].ids);
    free(p->pieces);
    memset(p, 0, sizeof *p);
}

static bool parse_tok_pair(json_t *a, int32_t *id)
{
    if (!json_is_array(a) || json_array_size(a) != 2) return false;
    long long x;
    if (!bend_json_int(json_array_get(a, 1), 0, BEND_TOK_MAX_ID, &x)) return false;
    *id = (int32_t)x;
    return true;
}

static bend_status postproc_parse(postproc *p, json_t *j, const char *path, int depth,
                                  bend_error *err)
{
    memset(p, 0, sizeof *p);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: post-processors nested too deeply", path);
    const char *type = jstr(j, "type");
    if (!type) return bend_fail(err, BEND_ERR_PARSE, "%s: post_processor without a \"type\"", path);
    if (!strcmp(type, "Sequence")) {
        p->kind = PP_SEQ;
        json_t *a = json_object_get(j, "processors");
        if (!json_is_array(a))
            return bend_fail(err, BEND_ERR_PARSE, "%s: Sequence post_processor without a "
                             "\"processors\" list", path);
        p->kids = calloc(json_array_size(a) + 1, sizeof *p->kids);
        if (!p->kids) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(a); i++) {
            bend_status st = postproc_parse(&p->kids[i], json_array_get(a, i), path, depth + 1, err);
            p->n_kids = i + 1;
            if (st) return st;
        }
        return BEND_OK;
    }
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        bool roberta = !strcmp(type, "RobertaProcessing");
        p->kind = roberta ? PP_ROBERTA : PP_BERT;
        if (!parse_tok_pair(json_object_get(j, "cls"), &p->cls) ||
            !parse_tok_pair(json_object_get(j, "sep"), &p->sep))
            return bend_fail(err, BEND_ERR_PARSE, "%s: %s needs \"cls\" and \"sep\" as [token, id]",
                             path, type);
        p->trim_offsets = roberta && jbool(j, "trim_offsets", true);
        p->add_prefix_space = roberta && jbool(j, "add_prefix_space", true);
        return BEND_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        p->kind = PP_BYTELEVEL;
        p->trim_offsets = jbool(j, "trim_offsets", true);
        p->add_prefix_space = jbool(j, "add_prefix_space", true);
        return BEND_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        p->kind = PP_TEMPLATE;
        json_t *single = json_object_get(j, "single"), *specials = json_object_get(j, "special_tokens");
        if (!json_is_array(single))
            return bend_fail(err, BEND_ERR_PARSE, "%s: TemplateProcessing without a \"single\" "
                             "template list", path);
        p->pieces = calloc(json_array_size(single) + 1, sizeof *p->pieces);
        if (!p->pieces) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *e = json_array_get(single, i);
            json_t *sq = json_object_get(e, "Sequence"), *sp = json_object_get(e, "SpecialToken");
            tpiece *tp = &p->pieces[i];
            p->n_pieces = i + 1;
            if (json_is_object(sq)) {
                const char *sid = jstr(sq, "id");
                if (!sid || strcmp(sid, "A"))
                    return bend_fail(err, BEND_ERR_PARSE, "%s: the single template may only hold "
                                     "the sequence \"A\"", path);
                tp->is_seq = true;
                continue;
            }
            const char *name = jstr(sp, "id");
            json_t *def = name && json_is_object(specials) ? json_object_get(specials, name) : NULL;
            json_t *ids = json_object_get(def, "ids");
            if (!json_is_array(ids))
                return bend_fail(err, BEND_ERR_PARSE, "%s: template token \"%.40s\" has no entry in "
                                 "special_tokens", path, name ? name : "?");
            tp->ids = calloc(json_array_size(ids) + 1, sizeof *tp->ids);
            if (!tp->ids) return NOMEM(err);
            for (size_t k = 0; k < json_array_size(ids); k++) {
                long long x;
                if (!bend_json_int(json_array_get(ids, k), 0, BEND_TOK_MAX_ID, &x))
                    return bend_fail(err, BEND_ERR_PARSE, "%s: special token \"%.40s\" has a bad id",
                                     path, name);
                tp->ids[k] = (int32_t)x;
                tp->n_ids = k + 1;
            }
        }
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: post_processor type \"%.60s\" is not "
                     "supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, "
                     "ByteLevel, Sequence)", path, type);
}

/* ---- the tokenizer ------------------------------------------------------------------------ */

typedef struct hf_added {
    char *content;  /* as written */
    char *pattern;  /* what is searched: content, normalized when `normalized` */
    size_t pattern_len;
    int32_t id;
    bool single_word, lstrip, rstrip, normalized, special;
} hf_added;

typedef struct hf_impl {
    model model;
    bool has_norm, has_pre, has_post;
    norm norm;
    pretok pre;
    postproc post;
    hf_added *added;
    size_t n_added;
    size_t vocab_slots;
} hf_impl;

/* An encoded token before post-processing: id, input span, and its string (the model's token, or
 * an added token's matched text) for offset trimming. */
typedef struct etok {
    int32_t id;
    int64_t s, e;
    const char *str;
    size_t len;
} etok;

typedef struct etoks {
    etok *v;
    size_t n, cap;
} etoks;

static int etoks_push(etoks *a, int32_t id, int64_t s, int64_t e, const char *str, size_t len)
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

/* AddedVocabulary::find_matches over s[0..n) for the added tokens with normalized == want:
 * leftmost-longest, then single_word, lstrip, rstrip. Appends (range, added index or -1). */
typedef struct amatch {
    size_t s, e;
    int32_t idx;
} amatch;

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

static int added_find(const hf_impl *h, bool want_normalized, const char *s, size_t n,
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

/* ByteLevel's process_offsets */
static void trim_offsets(etoks *t, bool add_prefix_space)
{
    for (size_t i = 0; i < t->n; i++) {
        etok *k = &t->v[i];
        if (!k->str) continue;
        size_t lead = 0, trail = 0, p = 0;
        while (p < k->len) {
            uint32_t cp;
            size_t l = bend_utf8_next(k->str, k->len, p, &cp);
            if (cp != 0x120 && !bend_is_rust_space(cp)) break;
            lead++;
            p += l;
        }
        size_t e = k->len;
        while (e > 0) {
            size_t q = e - 1;
            while (q > 0 && ((unsigned char)k->str[q] & 0xC0) == 0x80) q--;
            uint32_t cp;
            bend_utf8_next(k->str, e, q, &cp);
            if (cp != 0x120 && !bend_is_rust_space(cp)) break;
            trail++;
            e = q;
        }
        if (lead > 0) {
            bool is_first = i == 0 || k->s == 0;
            if (is_first && add_prefix_space && lead == 1) lead = 0;
            k->s = k->s + (int64_t)lead < k->e ? k->s + (int64_t)lead : k->e;
        }
        if (trail > 0 && k->e >= (int64_t)trail)
            k->e = k->e - (int64_t)trail > k->s ? k->e - (int64_t)trail : k->s;
    }
}

static int post_apply(const postproc *p, etoks *t, bool add_special)
{
    if (p->kind == PP_SEQ) {
        for (size_t i = 0; i < p->n_kids; i++)
            if (post_apply(&p->kids[i], t, add_special)) return -1;
        return 0;
    }
    if (p->kind == PP_BYTELEVEL || p->kind == PP_ROBERTA) {
        if (p->trim_offsets) trim_offsets(t, p->add_prefix_space);
        if (p->kind == PP_BYTELEVEL) return 0;
    }
    if (!add_special) return 0;
    etoks out = {0};
    int rc = 0;
    if (p->kind == PP_BERT || p->kind == PP_ROBERTA) {
        rc = etoks_push(&out, p->cls, 0, 0, NULL, 0);
        for (size_t i = 0; i < t->n && !rc; i++) rc = etoks_push(&out, t->v[i].id, t->v[i].s, t->v[i].e, t->v[i].str, t->v[i].len);
        if (!rc) rc = etoks_push(&out, p->sep, 0, 0, NULL, 0);
    } else {
        for (size_t k = 0; k < p->n_pieces && !rc; k++) {
            const tpiece *tp = &p->pieces[k];
            if (tp->is_seq) {
                for (size_t i = 0; i < t->n && !rc; i++)
                    rc = etoks_push(&out, t->v[i].id, t->v[i].s, t->v[i].e, t->v[i].str, t->v[i].len);
            } else {
                for (size_t i = 0; i < tp->n_ids && !rc; i++) rc = etoks_push(&out, tp->ids[i], 0, 0, NULL, 0);
            }
        }
    }
    if (rc) {
        free(out.v);
        return -1;
    }
    free(t->v);
    *t = out;
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
    if (added_find(h, false, seq, len, &am, &nam)) goto nomem;
    for (size_t i = 0; i < nam; i++) {
        nstr x;
        if (nstr_from_input(&x, seq, am[i].s, am[i].e)) goto nomem;
        if (am[i].idx >= 0) {
            if (splits_push(&sp, &x, am[i].idx)) goto nomem;
            continue;
        }
        if (h->has_norm && norm_apply(&h->norm, &x)) {
            nstr_free(&x);
            goto nomem;
        }
        amatch *am2 = NULL;
        size_t nam2 = 0;
        if (added_find(h, true, x.s, x.n, &am2, &nam2)) {
            nstr_free(&x);
            goto nomem;
        }
        for (size_t k = 0; k < nam2; k++) {
            nstr y;
            if (nstr_slice(&y, &x, am2[k].s, am2[k].e) || splits_push(&sp, &y, am2[k].idx)) {
                free(am2);
                nstr_free(&x);
                goto nomem;
            }
        }
        free(am2);
        nstr_free(&x);
    }
    free(am);
    am = NULL;
    /* 2. pre-tokenize */
    if (h->has_pre && pretok_apply(&h->pre, &sp)) goto nomem;
    /* 3. model */
    for (size_t i = 0; i < sp.n; i++) {
        const split *x = &sp.v[i];
        if (x->added >= 0) {
            const hf_added *a = &h->added[x->added];
            int64_t s, e;
            nstr_span(&x->ns, 0, x->ns.n, &s, &e);
            if (etoks_push(&toks, a->id, s, e, x->ns.s, x->ns.n)) goto nomem;
            continue;
        }
        mt.n = 0;
        st = model_word(&h->model, x->ns.s, x->ns.n, &mt, err);
        if (st) goto done;
        for (size_t k = 0; k < mt.n; k++) {
            int64_t s, e;
            nstr_span(&x->ns, mt.v[k].s, mt.v[k].e, &s, &e);
            const char *ts = bend_vocab_token(&h->model.vocab, mt.v[k].id);
            if (etoks_push(&toks, mt.v[k].id, s, e, ts, ts ? strlen(ts) : 0)) goto nomem;
        }
    }
    /* 4. post-process */
    if (h->has_post && post_apply(&h->post, &toks, add_special)) goto nomem;
    for (size_t i = 0; i < toks.n; i++)
        if (bend_tokbuf_push(out, toks.v[i].id, toks.v[i].s, toks.v[i].e)) goto nomem;
    goto done;
nomem:
    st = NOMEM(err);
done:
    free(am);
    free(mt.v);
    free(toks.v);
    splits_free(&sp);
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
    model_free(&h->model);
    norm_free(&h->norm);
    pretok_free(&h->pre);
    postproc_free(&h->post);
    for (size_t i = 0; i < h->n_added; i++) {
        free(h->added[i].content);
        free(h->added[i].pattern);
    }
    free(h->added);
    free(h);
}

static const bend_tok_ops hf_ops = {hf_encode, hf_token, hf_vocab_size, hf_destroy};

static bend_status parse_added(hf_impl *h, json_t *arr, const char *path, bend_error *err)
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
        long cl = jstrlen(c);
        if (!json_is_object(e) || cl < 0)
            return bend_fail(err, BEND_ERR_PARSE, "%s: added_tokens[%zu] needs a \"content\" string",
                             path, i);
        const char *content = json_string_value(c);
        /* a repeated content keeps its first entry */
        bool dup = false;
        for (size_t k = 0; k < h->n_added && !dup; k++) dup = !strcmp(h->added[k].content, content);
        if (dup) continue;
        hf_added *a = &h->added[h->n_added];
        a->special = jbool(e, "special", false);
        a->single_word = jbool(e, "single_word", false);
        a->lstrip = jbool(e, "lstrip", false);
        a->rstrip = jbool(e, "rstrip", false);
        a->normalized = jbool(e, "normalized", !a->special);
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
        if (nstr_from_input(&x, content, 0, (size_t)cl)) return NOMEM(err);
        if (a->normalized && h->has_norm && norm_apply(&h->norm, &x)) {
            nstr_free(&x);
            return NOMEM(err);
        }
        a->pattern = malloc(x.n + 1);
        if (!a->pattern) {
            nstr_free(&x);
            return NOMEM(err);
        }
        memcpy(a->pattern, x.s, x.n);
        a->pattern[x.n] = '\0';
        a->pattern_len = x.n;
        nstr_free(&x);
    }
    return BEND_OK;
}

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
    bend_status st = model_parse(&h->model, json_object_get(j, "model"), path, err);
    json_t *v;
    if (!st && (v = json_object_get(j, "normalizer")) && !json_is_null(v)) {
        h->has_norm = true;
        st = norm_parse(&h->norm, v, path, 0, err);
    }
    if (!st && (v = json_object_get(j, "pre_tokenizer")) && !json_is_null(v)) {
        h->has_pre = true;
        st = pretok_parse(&h->pre, v, path, 0, err);
    }
    if (!st && (v = json_object_get(j, "post_processor")) && !json_is_null(v)) {
        h->has_post = true;
        st = postproc_parse(&h->post, v, path, 0, err);
    }
    if (!st) st = parse_added(h, json_object_get(j, "added_tokens"), path, err);
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
