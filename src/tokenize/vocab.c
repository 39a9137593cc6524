/* Shared tokenizer machinery: output buffers, string maps, vocabularies (vocab.txt), files and
 * JSON, UTF-8 and character classes, transformers' Trie and the skeleton of a transformers "slow"
 * tokenizer (special tokens and added-token splitting). See tokenize_internal.h. */
#include "tokenize/tokenize_internal.h"
#include "core/path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- output buffer ------------------------------------------------------------------------ */

int bend_tokbuf_push(bend_tokbuf *b, int32_t id, int64_t start, int64_t end)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int32_t *ids = realloc(b->ids, cap * sizeof *ids);
        if (!ids) return -1;
        b->ids = ids;
        int64_t *s = realloc(b->start, cap * sizeof *s);
        if (!s) return -1;
        b->start = s;
        int64_t *e = realloc(b->end, cap * sizeof *e);
        if (!e) return -1;
        b->end = e;
        b->cap = cap;
    }
    b->ids[b->n] = id;
    b->start[b->n] = start;
    b->end[b->n] = end;
    b->n++;
    return 0;
}

void bend_tokbuf_free(bend_tokbuf *b)
{
    free(b->ids);
    free(b->start);
    free(b->end);
    memset(b, 0, sizeof *b);
}

/* ---- string -> int32 map ------------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void bend_tokmap_free(bend_tokmap *m)
{
    if (m->keys)
        for (size_t i = 0; i < m->n_slots; i++) free(m->keys[i]);
    free(m->keys);
    free(m->key_len);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t tokmap_slot(const bend_tokmap *m, const char *key, size_t len)
{
    size_t mask = m->n_slots - 1, i = hash_bytes(key, len) & mask;
    while (m->keys[i] && !(m->key_len[i] == len && !memcmp(m->keys[i], key, len)))
        i = (i + 1) & mask;
    return i;
}

static int tokmap_grow(bend_tokmap *m)
{
    size_t n_slots = m->n_slots ? m->n_slots * 2 : 64;
    bend_tokmap g = {0};
    g.n_slots = n_slots;
    g.keys = calloc(n_slots, sizeof *g.keys);
    g.key_len = calloc(n_slots, sizeof *g.key_len);
    g.vals = calloc(n_slots, sizeof *g.vals);
    if (!g.keys || !g.key_len || !g.vals) {
        free(g.keys);
        free(g.key_len);
        free(g.vals);
        return -1;
    }
    for (size_t i = 0; i < m->n_slots; i++) {
        if (!m->keys[i]) continue;
        size_t j = tokmap_slot(&g, m->keys[i], m->key_len[i]);
        g.keys[j] = m->keys[i];
        g.key_len[j] = m->key_len[i];
        g.vals[j] = m->vals[i];
    }
    g.n = m->n;
    free(m->keys);
    free(m->key_len);
    free(m->vals);
    *m = g;
    return 0;
}

int bend_tokmap_put(bend_tokmap *m, const char *key, size_t len, int32_t val)
{
    if (len > UINT32_MAX) return -1;
    if ((m->n + 1) * 2 > m->n_slots && tokmap_grow(m)) return -1;
    size_t i = tokmap_slot(m, key, len);
    if (!m->keys[i]) {
        char *k = malloc(len + 1);
        if (!k) return -1;
        memcpy(k, key, len);
        k[len] = '\0';
        m->keys[i] = k;
        m->key_len[i] = (uint32_t)len;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}

int32_t bend_tokmap_get(const bend_tokmap *m, const char *key, size_t len)
{
    if (!m->n_slots) return -1;
    size_t i = tokmap_slot(m, key, len);
    return m->keys[i] ? m->vals[i] : -1;
}

/* ---- vocabulary --------------------------------------------------------------------------- */

void bend_vocab_free(bend_vocab *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    bend_tokmap_free(&v->map);
    memset(v, 0, sizeof *v);
}

int bend_vocab_set(bend_vocab *v, const char *s, size_t len, int32_t id)
{
    if (id < 0 || id > BEND_TOK_MAX_ID) return -1;
    if ((size_t)id >= v->n) {
        size_t n = (size_t)id + 1;
        if (n > v->cap) {
            size_t cap = v->cap * 2 > n ? v->cap * 2 : n;
            char **tok = realloc(v->tok, cap * sizeof *tok);
            if (!tok) return -1;
            v->tok = tok;
            v->cap = cap;
        }
        for (size_t i = v->n; i < n; i++) v->tok[i] = NULL;
        v->n = n;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (bend_tokmap_put(&v->map, s, len, id)) {
        free(copy);
        return -1;
    }
    free(v->tok[id]);
    v->tok[id] = copy;
    if (len > v->max_len) v->max_len = len;
    v->count++;
    return 0;
}

int32_t bend_vocab_find(const bend_vocab *v, const char *s, size_t len)
{
    return bend_tokmap_get(&v->map, s, len);
}

const char *bend_vocab_token(const bend_vocab *v, int32_t id)
{
    if (id < 0 || (size_t)id >= v->n) return NULL;
    return v->tok[id];
}

/* Python str.strip() / splitlines() helpers on bytes, for the ESM style. */
static bool is_esm_line_break(const char *s, size_t n, size_t i, size_t *len)
{
    unsigned char c = (unsigned char)s[i];
    /* str.splitlines(): \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029 */
    if (c == '\r') {
        *len = (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
        return true;
    }
    if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) {
        *len = 1;
        return true;
    }
    uint32_t cp;
    size_t l = bend_utf8_next(s, n, i, &cp);
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
        *len = l;
        return true;
    }
    return false;
}

bend_status bend_vocab_load_txt(bend_vocab *v, const char *path, bend_vocab_lines style,
                                bend_error *err)
{
    char *data = NULL;
    size_t n = 0;
    bend_status st = bend_tok_read_file(path, &data, &n, err);
    if (st) return st;
    int32_t id = 0;
    size_t i = 0;
    while (i < n) {
        size_t line_start = i, line_end, next;
        if (style == BEND_VOCAB_LINES_BERT) {
            /* readlines() with universal newlines: \n, \r\n and \r end a line */
            while (i < n && data[i] != '\n' && data[i] != '\r') i++;
            line_end = i;
            next = i;
            if (i < n) next += (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') ? 2 : 1;
        } else {
            size_t brk = 0;
            while (i < n && !is_esm_line_break(data, n, i, &brk)) i++;
            line_end = i;
            next = i < n ? i + brk : i;
            /* strip(): Python whitespace on both sides */
            while (line_start < line_end) {
                uint32_t cp;
                size_t l = bend_utf8_next(data, line_end, line_start, &cp);
                if (!bend_is_py_space(cp)) break;
                line_start += l;
            }
            while (line_end > line_start) {
                size_t k = line_end - 1;
                while (k > line_start && ((unsigned char)data[k] & 0xC0) == 0x80) k--;
                uint32_t cp;
                bend_utf8_next(data, line_end, k, &cp);
                if (!bend_is_py_space(cp)) break;
                line_end = k;
            }
        }
        if (id > BEND_TOK_MAX_ID) {
            free(data);
            return bend_fail(err, BEND_ERR_INVALID, "%s: more than %d lines; expected a vocabulary",
                             path, BEND_TOK_MAX_ID + 1);
        }
        if (bend_vocab_set(v, data + line_start, line_end - line_start, id)) {
            free(data);
            return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory reading the vocabulary", path);
        }
        id++;
        i = next;
    }
    free(data);
    if (id == 0)
        return bend_fail(err, BEND_ERR_PARSE, "%s is empty: expected one token per line", path);
    return BEND_OK;
}

/* ---- files -------------------------------------------------------------------------------- */

char *bend_tok_path(const char *dir, const char *name) { return bend_path_join(dir, name); }

bool bend_tok_is_file(const char *path)
{
    struct stat sb;
    return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

bend_status bend_tok_read_file(const char *path, char **data, size_t *len, bend_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return bend_fail(err, BEND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(fp);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)1 << 31)) {
                free(buf);
                fclose(fp);
                return bend_fail(err, BEND_ERR_INVALID, "%s is larger than 2 GiB: expected a "
                                 "tokenizer file", path);
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                fclose(fp);
                return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return bend_fail(err, BEND_ERR_IO, "error reading %s", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return BEND_OK;
}

bend_status bend_tok_read_json(const char *path, json_t **out, bend_error *err)
{
    *out = NULL;
    char *data = NULL;
    size_t n = 0;
    bend_status st = bend_tok_read_file(path, &data, &n, err);
    if (st) return st;
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    /* transformers writes model_max_length = 1e30 as an integer (1000000000000000019884624838656)
     * that does not fit jansson's integers: read such a file with every number as a real */
    if (!j && strstr(je.text, "too big integer")) j = json_loadb(data, n, JSON_DECODE_INT_AS_REAL, &je);
    free(data);
    if (!j)
        return bend_fail(err, BEND_ERR_PARSE, "%s is not valid JSON (line %d, column %d: %s)", path,
                         je.line, je.column, je.text);
    *out = j;
    return BEND_OK;
}

bool bend_json_int(json_t *v, long long lo, long long hi, long long *out)
{
    double d;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < lo || x > hi) return false;
        *out = (long long)x;
        return true;
    }
    if (!json_is_real(v)) return false;
    d = json_real_value(v);
    if (!(d >= (double)lo && d <= (double)hi) || d != (double)(long long)d) return false;
    *out = (long long)d;
    return true;
}

/* ---- UTF-8 and character classes ---------------------------------------------------------- */

size_t bend_utf8_next(const char *str, size_t n, size_t i, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xDC00 + c;
        return 1;
    }
    if (i + len > n) {
        *cp = 0xDC00 + c;
        return 1;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *cp = 0xDC00 + c;
            return 1;
        }
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xDC00 + c;
        return 1;
    }
    *cp = v;
    return len;
}

static bool is_unicode_space(uint32_t cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool bend_is_py_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || is_unicode_space(cp);
}

bool bend_is_rust_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || is_unicode_space(cp);
}

bool bend_is_bert_space(uint32_t cp)
{
    /* " ", \t, \n, \r or category Zs */
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool bend_is_bert_control(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    /* Cc, Cf (the common ones), Cs (lone surrogates, i.e. our undecodable bytes), Co */
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD || (cp >= 0x600 && cp <= 0x605) ||
           cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x180E ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF ||
           (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xD800 && cp <= 0xDFFF) ||
           (cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000;
}

bool bend_is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    /* the Unicode P* characters that are likely to occur; others count as letters */
    return cp == 0xA1 || cp == 0xA7 || cp == 0xAB || cp == 0xB6 || cp == 0xB7 || cp == 0xBB ||
           cp == 0xBF || cp == 0x37E || cp == 0x387 || (cp >= 0x2010 && cp <= 0x2027) ||
           (cp >= 0x2030 && cp <= 0x205E) || (cp >= 0x3001 && cp <= 0x3003) ||
           (cp >= 0x3008 && cp <= 0x3011) || (cp >= 0x3014 && cp <= 0x301F) ||
           (cp >= 0xFF01 && cp <= 0xFF0F && cp != 0xFF04 && cp != 0xFF0B) ||
           (cp >= 0xFF1A && cp <= 0xFF20 && cp != 0xFF1C && cp != 0xFF1D && cp != 0xFF1E) ||
           (cp >= 0xFF3B && cp <= 0xFF3F && cp != 0xFF3E) || cp == 0xFF5B || cp == 0xFF5D;
}

bool bend_is_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

bool bend_is_alnum(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
    /* approximation: every non-ASCII character that is no space, punctuation or control */
    return !bend_is_rust_space(cp) && !bend_is_punct(cp) && !bend_is_bert_control(cp);
}

bool bend_is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* ---- transformers' Trie ------------------------------------------------------------------- */

struct bend_hftrie_node {
    int32_t first_child, next_sibling;
    unsigned char byte;
    bool terminal;
};

static int32_t trie_child(const bend_hftrie *t, int32_t node, unsigned char c)
{
    for (int32_t k = t->nodes[node].first_child; k >= 0; k = t->nodes[k].next_sibling)
        if (t->nodes[k].byte == c) return k;
    return -1;
}

static int32_t trie_new_node(bend_hftrie *t, unsigned char c)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct bend_hftrie_node *nodes = realloc(t->nodes, cap * sizeof *nodes);
        if (!nodes) return -1;
        t->nodes = nodes;
        t->cap = cap;
    }
    if (t->n >= INT32_MAX) return -1;
    t->nodes[t->n] = (struct bend_hftrie_node){-1, -1, c, false};
    return (int32_t)t->n++;
}

int bend_hftrie_add(bend_hftrie *t, const char *s, size_t len)
{
    if (!len) return 0;
    if (!t->n && trie_new_node(t, 0) < 0) return -1;
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int32_t ch = trie_child(t, node, c);
        if (ch < 0) {
            ch = trie_new_node(t, c);
            if (ch < 0) return -1;
            t->nodes[ch].next_sibling = t->nodes[node].first_child;
            t->nodes[node].first_child = ch;
        }
        node = ch;
    }
    t->nodes[node].terminal = true;
    return 0;
}

int32_t bend_hftrie_step(const bend_hftrie *t, int32_t node, const char *s, size_t n)
{
    if (!t->n || node < 0) return -1;
    for (size_t i = 0; i < n && node >= 0; i++) node = trie_child(t, node, (unsigned char)s[i]);
    return node;
}

bool bend_hftrie_terminal(const bend_hftrie *t, int32_t node)
{
    return node >= 0 && (size_t)node < t->n && t->nodes[node].terminal;
}

void bend_hftrie_free(bend_hftrie *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

typedef struct sizevec {
    size_t *v, n, cap;
} sizevec;

static int sizevec_push(sizevec *a, size_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        size_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* A restatement of transformers' Trie.split (4.46): partial matches ("states") are tracked per
 * start offset, in order of their start. When a state has completed a token at `cur`, a
 * lookahead over the states that started no later than it extends each as far as the trie
 * allows and keeps the longest match of the earliest such start; all states are then dropped and
 * scanning resumes after the match. States that failed on the current character are still
 * consulted by that lookahead with their old position (as transformers does). */
int bend_hftrie_split(const bend_hftrie *t, const char *text, size_t n, size_t **cuts,
                      size_t *n_cuts)
{
    sizevec out = {0};
    size_t *st_start = NULL;
    int32_t *st_node = NULL;
    bool *st_dead = NULL;
    size_t ns = 0, st_cap = 0;
    int rc = -1;
    if (sizevec_push(&out, 0)) goto done;
    if (t->n) {
        const struct bend_hftrie_node *nodes = t->nodes;
        size_t skip = 0;
        for (size_t cur = 0; cur < n; cur++) {
            unsigned char c = (unsigned char)text[cur];
            if (skip && cur < skip) continue;
            bool reset = false;
            for (size_t si = 0; si < ns; si++) {
                size_t start = st_start[si];
                int32_t node = st_node[si];
                if (nodes[node].terminal) {
                    size_t end = cur;
                    for (size_t li = 0; li < ns; li++) {
                        size_t ls = st_start[li], la;
                        int32_t ln = st_node[li];
                        if (ls > start) break;
                        if (ls < start) {
                            la = cur + 1;
                            end = cur + 1;
                        } else {
                            la = cur;
                            end = cur;
                        }
                        if (nodes[ln].terminal) {
                            start = ls;
                            end = la;
                            skip = la;
                        }
                        while (la < n) {
                            int32_t ch = trie_child(t, ln, (unsigned char)text[la]);
                            if (ch < 0) break;
                            ln = ch;
                            la++;
                            if (nodes[ln].terminal) {
                                start = ls;
                                end = la;
                                skip = la;
                            }
                        }
                    }
                    if (sizevec_push(&out, start) || sizevec_push(&out, end)) goto done;
                    reset = true;
                    break;
                }
                int32_t ch = trie_child(t, node, c);
                if (ch >= 0)
                    st_node[si] = ch;
                else
                    st_dead[si] = true;
            }
            if (reset) {
                ns = 0;
            } else {
                size_t k = 0;
                for (size_t si = 0; si < ns; si++) {
                    if (st_dead[si]) continue;
                    st_start[k] = st_start[si];
                    st_node[k] = st_node[si];
                    st_dead[k] = false;
                    k++;
                }
                ns = k;
            }
            if (cur >= skip) {
                int32_t ch = trie_child(t, 0, c);
                if (ch >= 0) {
                    if (ns == st_cap) {
                        size_t cap = st_cap ? st_cap * 2 : 16;
                        size_t *a = realloc(st_start, cap * sizeof *a);
                        if (!a) goto done;
                        st_start = a;
                        int32_t *b = realloc(st_node, cap * sizeof *b);
                        if (!b) goto done;
                        st_node = b;
                        bool *d = realloc(st_dead, cap * sizeof *d);
                        if (!d) goto done;
                        st_dead = d;
                        st_cap = cap;
                    }
                    st_start[ns] = cur;
                    st_node[ns] = ch;
                    st_dead[ns] = false;
                    ns++;
                }
            }
        }
        for (size_t si = 0; si < ns; si++) {
            if (nodes[st_node[si]].terminal) {
                if (sizevec_push(&out, st_start[si]) || sizevec_push(&out, n)) goto done;
                break;
            }
        }
    }
    if (sizevec_push(&out, n)) goto done;
    rc = 0;
done:
    free(st_start);
    free(st_node);
    free(st_dead);
    if (rc) {
        free(out.v);
        *cuts = NULL;
        *n_cuts = 0;
    } else {
        *cuts = out.v;
        *n_cuts = out.n;
    }
    return rc;
}

/* ---- slow tokenizer special tokens -------------------------------------------------------- */

const char *const bend_role_names[BEND_ROLE_COUNT] = {"bos", "eos", "unk", "sep",
                                                      "pad", "cls", "mask"};

void bend_slow_tok_free(bend_slow_tok *st)
{
    for (int r = 0; r < BEND_ROLE_COUNT; r++) free(st->role[r]);
    for (size_t i = 0; i < st->n_added; i++) free(st->added[i].content);
    free(st->added);
    bend_tokmap_free(&st->added_map);
    bend_hftrie_free(&st->trie);
    memset(st, 0, sizeof *st);
}

/* Parses a special-token value: a string, an AddedToken object {"content": ...} (with its
 * lstrip / rstrip), or null. Returns 1 when present (content NULL for null), 0 when the value has
 * another type (ignored), -1 when out of memory. */
static int parse_token_value(json_t *v, char **content, bool *lstrip, bool *rstrip)
{
    *content = NULL;
    if (json_is_null(v)) return 1;
    const char *s = NULL;
    size_t len = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_object(v)) {
        json_t *c = json_object_get(v, "content");
        if (!json_is_string(c)) return 0;
        s = json_string_value(c);
        len = json_string_length(c);
        *lstrip = json_is_true(json_object_get(v, "lstrip"));
        *rstrip = json_is_true(json_object_get(v, "rstrip"));
    } else {
        return 0;
    }
    if (memchr(s, '\0', len)) return 0;
    *content = strdup(s);
    return *content ? 1 : -1;
}

static int add_token(bend_slow_tok *st, const char *content, int32_t id, bool lstrip, bool rstrip,
                     bool special)
{
    size_t len = strlen(content);
    int32_t idx = bend_tokmap_get(&st->added_map, content, len);
    if (idx >= 0) return 0; /* already added: the first definition stays */
    bend_added_token *a = realloc(st->added, (st->n_added + 1) * sizeof *a);
    if (!a) return -1;
    st->added = a;
    char *c = strdup(content);
    if (!c) return -1;
    a[st->n_added] = (bend_added_token){c, id, lstrip, rstrip, special};
    if (bend_tokmap_put(&st->added_map, content, len, (int32_t)st->n_added)) {
        free(c);
        return -1;
    }
    st->n_added++;
    return bend_hftrie_add(&st->trie, content, len);
}

bend_status bend_slow_tok_init(bend_slow_tok *st, const bend_tok_dir *d,
                               const bend_slow_defaults *defs, bool use_files, bend_vocab *vocab,
                               bend_error *err)
{
    memset(st, 0, sizeof *st);
    bool lstrip[BEND_ROLE_COUNT], rstrip[BEND_ROLE_COUNT];
    json_t *cfgs[2] = {use_files ? d->tokenizer_config : NULL,
                       use_files ? d->special_tokens_map : NULL};
    for (int r = 0; r < BEND_ROLE_COUNT; r++) {
        lstrip[r] = defs->lstrip[r];
        rstrip[r] = false;
        if (defs->role[r] && !(st->role[r] = strdup(defs->role[r]))) goto nomem;
        char key[32];
        snprintf(key, sizeof key, "%s_token", bend_role_names[r]);
        /* special_tokens_map.json is applied after (over) tokenizer_config.json */
        for (int k = 0; k < 2; k++) {
            json_t *v = cfgs[k] && json_is_object(cfgs[k]) ? json_object_get(cfgs[k], key) : NULL;
            if (!v) continue;
            char *content;
            bool ls = false, rs = false;
            int rc = parse_token_value(v, &content, &ls, &rs);
            if (rc < 0) goto nomem;
            if (rc == 0) continue;
            free(st->role[r]);
            st->role[r] = content;
            lstrip[r] = ls;
            rstrip[r] = rs;
        }
    }
    /* tokenizer_config.json's added_tokens_decoder: {"<id>": {"content": ..., ...}} */
    json_t *atd = cfgs[0] && json_is_object(cfgs[0]) ?
                  json_object_get(cfgs[0], "added_tokens_decoder") : NULL;
    if (json_is_object(atd)) {
        const char *key;
        json_t *val;
        json_object_foreach(atd, key, val) {
            char *end = NULL;
            long id = strtol(key, &end, 10);
            if (!end || *end || id < 0 || id > BEND_TOK_MAX_ID || !json_is_object(val)) continue;
            char *content;
            bool ls = false, rs = false;
            int rc = parse_token_value(val, &content, &ls, &rs);
            if (rc < 0) goto nomem;
            if (rc == 0 || !content) continue;
            bool special = json_is_true(json_object_get(val, "special"));
            int a = add_token(st, content, (int32_t)id, ls, rs, special);
            free(content);
            if (a) goto nomem;
        }
    }
    /* The special tokens in transformers' order (bos, eos, unk, sep, pad, cls, mask, then the
     * additional ones); each takes its vocabulary id or the next one after the vocabulary. */
    int32_t next_id = (int32_t)vocab->map.n;
    for (size_t i = 0; i < st->n_added; i++)
        if (bend_vocab_find(vocab, st->added[i].content, strlen(st->added[i].content)) < 0) next_id++;
    for (int r = 0; r < BEND_ROLE_COUNT; r++) {
        if (!st->role[r]) continue;
        if (bend_tokmap_get(&st->added_map, st->role[r], strlen(st->role[r])) >= 0) continue;
        int32_t id = bend_vocab_find(vocab, st->role[r], strlen(st->role[r]));
        if (id < 0) id = next_id++;
        if (add_token(st, st->role[r], id, lstrip[r], rstrip[r], true)) goto nomem;
    }
    json_t *extra = NULL;
    for (int k = 0; k < 2; k++) {
        json_t *v = cfgs[k] && json_is_object(cfgs[k]) ?
                    json_object_get(cfgs[k], "additional_special_tokens") : NULL;
        if (json_is_array(v)) extra = v;
    }
    if (extra) {
        size_t i;
        json_t *v;
        json_array_foreach(extra, i, v) {
            char *content;
            bool ls = false, rs = false;
            int rc = parse_token_value(v, &content, &ls, &rs);
            if (rc < 0) goto nomem;
            if (rc == 0 || !content) continue;
            int32_t id = bend_tokmap_get(&st->added_map, content, strlen(content)) >= 0 ? 0 :
                         bend_vocab_find(vocab, content, strlen(content));
            if (id < 0) id = next_id++;
            int a = add_token(st, content, id, ls, rs, true);
            free(content);
            if (a) goto nomem;
        }
    } else if (defs->additional) {
        for (const char *const *p = defs->additional; *p; p++) {
            if (bend_tokmap_get(&st->added_map, *p, strlen(*p)) >= 0) continue;
            int32_t id = bend_vocab_find(vocab, *p, strlen(*p));
            if (id < 0) id = next_id++;
            if (add_token(st, *p, id, false, false, true)) goto nomem;
        }
    }
    return BEND_OK;
nomem:
    bend_slow_tok_free(st);
    return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory resolving the special tokens", d->dir);
}

int32_t bend_slow_tok_id(const bend_slow_tok *st, const bend_vocab *v, const char *s, size_t len)
{
    int32_t idx = bend_tokmap_get(&st->added_map, s, len);
    if (idx >= 0) return st->added[idx].id;
    return bend_vocab_find(v, s, len);
}

int32_t bend_slow_role_id(const bend_slow_tok *st, const bend_vocab *v, int role)
{
    if (!st->role[role]) return -1;
    return bend_slow_tok_id(st, v, st->role[role], strlen(st->role[role]));
}

typedef struct piece {
    size_t s, e;
} piece;

bend_status bend_slow_tokenize(const bend_slow_tok *st, const char *text, size_t len,
                               int64_t base, bend_slow_chunk_fn fn, void *ctx, bend_tokbuf *out,
                               bend_error *err)
{
    size_t *cuts = NULL, n_cuts = 0;
    if (bend_hftrie_split(&st->trie, text, len, &cuts, &n_cuts))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    /* cut_text: consecutive offsets, skipping empty and reversed pairs */
    piece *pc = malloc((n_cuts + 1) * sizeof *pc);
    if (!pc) {
        free(cuts);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    }
    size_t np = 0, start = 0;
    for (size_t i = 0; i < n_cuts; i++) {
        size_t end = cuts[i];
        if (start >= end) continue;
        pc[np++] = (piece){start, end};
        start = end;
    }
    free(cuts);
    /* whitespace eaten by added tokens with lstrip / rstrip (str.lstrip / str.rstrip) */
    for (size_t i = 0; i < np; i++) {
        int32_t idx = bend_tokmap_get(&st->added_map, text + pc[i].s, pc[i].e - pc[i].s);
        if (idx < 0) continue;
        const bend_added_token *a = &st->added[idx];
        if (a->rstrip && i + 1 < np && pc[i + 1].e > pc[i + 1].s) {
            piece *r = &pc[i + 1];
            while (r->s < r->e) {
                uint32_t cp;
                size_t l = bend_utf8_next(text, r->e, r->s, &cp);
                if (!bend_is_py_space(cp)) break;
                r->s += l;
            }
        }
        if (a->lstrip && i > 0 && pc[i - 1].e > pc[i - 1].s) {
            piece *l = &pc[i - 1];
            while (l->e > l->s) {
                size_t k = l->e - 1;
                while (k > l->s && ((unsigned char)text[k] & 0xC0) == 0x80) k--;
                uint32_t cp;
                bend_utf8_next(text, l->e, k, &cp);
                if (!bend_is_py_space(cp)) break;
                l->e = k;
            }
        }
    }
    bend_status rc = BEND_OK;
    for (size_t i = 0; i < np && !rc; i++) {
        if (pc[i].e <= pc[i].s) continue;
        size_t n = pc[i].e - pc[i].s;
        int32_t idx = bend_tokmap_get(&st->added_map, text + pc[i].s, n);
        if (idx >= 0) {
            if (bend_tokbuf_push(out, st->added[idx].id, base + (int64_t)pc[i].s,
                                 base + (int64_t)pc[i].e))
                rc = bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
        } else {
            rc = fn(ctx, text + pc[i].s, n, base + (int64_t)pc[i].s, out, err);
        }
    }
    free(pc);
    return rc;
}
