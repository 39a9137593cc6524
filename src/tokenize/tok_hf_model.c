/* tokenizer.json models: BPE (merges with a binary heap), WordLevel, WordPiece. Part of the
 * pipeline of tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pair -> (rank, id) map for BPE merges ------------------------------------------------ */

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

void bend_hf_model_free(model *m)
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
    long n = bend_hf_jstrlen(v);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) memcpy(s, json_string_value(v), (size_t)n + 1);
    return s;
}

bend_status bend_hf_model_parse(model *m, json_t *j, const char *path, bend_error *err)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(j)) return bend_fail(err, BEND_ERR_PARSE, "%s: expected a \"model\" object", path);
    const char *type = bend_hf_jstr(j, "type");
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
    m->fuse_unk = bend_hf_jbool(j, "fuse_unk", false);
    m->byte_fallback = bend_hf_jbool(j, "byte_fallback", false);
    m->ignore_merges = bend_hf_jbool(j, "ignore_merges", false);
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

bend_status bend_hf_model_word(const model *m, const char *w, size_t n, mtoks *out, bend_error *err)
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
