/* tokenizer.json patterns ({"String": ...} / {"Regex": ...}): Oniguruma -> POSIX ERE translation,
 * matching, and character predicates as patterns. Part of the pipeline of tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ---- patterns ----------------------------------------------------------------------------- */

void bend_hf_pattern_free(pattern *p)
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
bend_status bend_hf_pattern_parse(pattern *p, json_t *j, const char *where, bend_error *err)
{
    memset(p, 0, sizeof *p);
    json_t *s = json_object_get(j, "String"), *r = json_object_get(j, "Regex");
    if (json_is_string(s)) {
        long n = bend_hf_jstrlen(s);
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

int bend_hf_matches_push(matches *a, size_t s, size_t e, bool m)
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
int bend_hf_pattern_find(const pattern *p, const char *s, size_t n, matches *out)
{
    out->n = 0;
    if (!p->is_regex && p->len == 0) return bend_hf_matches_push(out, 0, n, false);
    if (n == 0) return bend_hf_matches_push(out, 0, 0, false);
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
        if (prev != ms && bend_hf_matches_push(out, prev, ms, false)) return -1;
        if (bend_hf_matches_push(out, ms, me, true)) return -1;
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
    if (prev != n && bend_hf_matches_push(out, prev, n, false)) return -1;
    return 0;
}

int bend_hf_pred_find(char_pred pred, const void *arg, const char *s, size_t n, matches *out)
{
    out->n = 0;
    size_t last = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = bend_utf8_next(s, n, i, &cp);
        if (pred(cp, arg)) {
            if (last < i && bend_hf_matches_push(out, last, i, false)) return -1;
            if (bend_hf_matches_push(out, i, i + l, true)) return -1;
            last = i + l;
        }
        i += l;
    }
    if (n > last && bend_hf_matches_push(out, last, n, false)) return -1;
    return 0;
}
