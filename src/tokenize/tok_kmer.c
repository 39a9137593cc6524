/* DNABERT's overlapping k-mers, and transformers' BertTokenizer that turns them into ids (also
 * used by GROVER, tok_maxmatch.c).
 *
 * BEND (DNABertEmbedder) writes the k-mers seq[i:i+k], i = 0..L-k, joined by single spaces, and
 * encodes that text with BertTokenizer. The k-mers are separated by spaces and no special token
 * contains a space, so tokenizing each k-mer on its own gives the same tokens as the joined text;
 * that is what encode does, so every token knows the k-mer it came from: token i of an all-DNA
 * sequence covers nucleotides [i, i+k). A k-mer that is not in vocab.txt (one with N, lower case,
 * IUPAC letters) is one [UNK]; one with punctuation or whitespace splits further, exactly as
 * BertTokenizer splits it (the pieces cover the k-mer's characters they came from).
 *
 * BertTokenizer as restated here (transformers 4.46 tokenization_bert.py):
 *   tokenize(): lower-case the non-special text if do_lower_case; split on the added (special)
 *     tokens (transformers' Trie); for every other piece:
 *   BasicTokenizer: drop NUL, U+FFFD and control characters, map whitespace to spaces, put spaces
 *     around CJK ideographs, split on whitespace, lower-case (if do_lower_case) and split off
 *     every punctuation character (never for the special tokens);
 *   WordPiece: a word longer than 100 characters is [UNK]; otherwise greedy longest-prefix
 *     matching with "##" continuations, and [UNK] for the whole word if any part fails.
 * Deliberate deviations, all outside ASCII: no NFC normalisation, no accent stripping and only
 * ASCII case mapping, approximate Unicode classes (vocab.c). */
#include "tokenize/tokenize_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- BertTokenizer ------------------------------------------------------------------------ */

bend_status bend_bert_init(bend_bert *b, const bend_tok_dir *d, int lower_case_override,
                           bend_error *err)
{
    memset(b, 0, sizeof *b);
    char *path = bend_tok_path(d->dir, "vocab.txt");
    if (!path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (!bend_tok_is_file(path)) {
        bend_status st = bend_fail(err, BEND_ERR_IO, "%s not found: a BERT tokenizer (DNABERT, "
                                   "GROVER) needs vocab.txt", path);
        free(path);
        return st;
    }
    bend_status st = bend_vocab_load_txt(&b->vocab, path, BEND_VOCAB_LINES_BERT, err);
    free(path);
    if (st) {
        bend_vocab_free(&b->vocab);
        return st;
    }
    /* do_lower_case: transformers' BertTokenizer defaults to true, which would turn every DNA
     * k-mer into [UNK]; DNABERT's and GROVER's files say false (BEND passes false for GROVER), so
     * a directory without the key is read as false. */
    b->do_lower_case = false;
    b->tokenize_chinese_chars = true;
    json_t *cfg = d->tokenizer_config;
    if (json_is_object(cfg)) {
        json_t *v = json_object_get(cfg, "do_lower_case");
        if (json_is_boolean(v)) b->do_lower_case = json_is_true(v);
        v = json_object_get(cfg, "tokenize_chinese_chars");
        if (json_is_boolean(v)) b->tokenize_chinese_chars = json_is_true(v);
    }
    if (lower_case_override >= 0) b->do_lower_case = lower_case_override;
    b->max_input_chars_per_word = 100;
    static const bend_slow_defaults defs = {
        .role = {[BEND_ROLE_UNK] = "[UNK]", [BEND_ROLE_SEP] = "[SEP]", [BEND_ROLE_PAD] = "[PAD]",
                 [BEND_ROLE_CLS] = "[CLS]", [BEND_ROLE_MASK] = "[MASK]"},
    };
    st = bend_slow_tok_init(&b->slow, d, &defs, true, &b->vocab, err);
    if (st) {
        bend_vocab_free(&b->vocab);
        return st;
    }
    b->unk_id = bend_slow_role_id(&b->slow, &b->vocab, BEND_ROLE_UNK);
    return BEND_OK;
}

void bend_bert_free(bend_bert *b)
{
    bend_vocab_free(&b->vocab);
    bend_slow_tok_free(&b->slow);
    memset(b, 0, sizeof *b);
}

const char *bend_bert_token(const bend_bert *b, int32_t id)
{
    for (size_t i = 0; i < b->slow.n_added; i++)
        if (b->slow.added[i].id == id) return b->slow.added[i].content;
    return bend_vocab_token(&b->vocab, id);
}

size_t bend_bert_vocab_size(const bend_bert *b)
{
    size_t n = b->vocab.n;
    for (size_t i = 0; i < b->slow.n_added; i++)
        if ((size_t)b->slow.added[i].id + 1 > n) n = (size_t)b->slow.added[i].id + 1;
    return n;
}

/* One character of a word after cleaning: its bytes in the input. */
typedef struct wchar {
    size_t s, e;
} wchar;

typedef struct bert_scratch {
    char *buf; /* a word's bytes (lower-cased when asked) */
    size_t cap;
    char *probe; /* "##" + substring */
    size_t probe_cap;
} bert_scratch;

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    char *n = realloc(*p, c);
    if (!n) return -1;
    *p = n;
    *cap = c;
    return 0;
}

typedef struct bert_ctx {
    const bend_bert *b;
    const char *text; /* the piece being tokenized */
    bert_scratch sc;
} bert_ctx;

static bend_status push(bend_tokbuf *out, int32_t id, int64_t s, int64_t e, bend_error *err)
{
    if (bend_tokbuf_push(out, id, s, e))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    return BEND_OK;
}

static bend_status push_unk(const bend_bert *b, bend_tokbuf *out, int64_t s, int64_t e,
                            bend_error *err)
{
    if (b->unk_id < 0)
        return bend_fail(err, BEND_ERR_INVALID, "the tokenizer has no unknown token ([UNK]) "
                         "for a word that is not in vocab.txt");
    return push(out, b->unk_id, s, e, err);
}

/* WordPiece over chars[0..nc) of a word whose bytes (lower-cased as needed) are word[0..]; char
 * k occupies word[wpos[k]..wpos[k+1]). */
static bend_status wordpiece(bert_ctx *c, const wchar *chars, const size_t *wpos, size_t nc,
                             const char *word, int64_t base, bend_tokbuf *out, bend_error *err)
{
    const bend_bert *b = c->b;
    int64_t ws = base + (int64_t)chars[0].s, we = base + (int64_t)chars[nc - 1].e;
    if (nc > b->max_input_chars_per_word) return push_unk(b, out, ws, we, err);
    size_t mark = out->n;
    size_t start = 0;
    while (start < nc) {
        size_t end = nc;
        int32_t found = -1;
        while (start < end) {
            const char *sub = word + wpos[start];
            size_t len = wpos[end] - wpos[start];
            const char *probe = sub;
            size_t plen = len;
            if (start > 0) {
                if (grow(&c->sc.probe, &c->sc.probe_cap, len + 2))
                    return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
                c->sc.probe[0] = '#';
                c->sc.probe[1] = '#';
                memcpy(c->sc.probe + 2, sub, len);
                probe = c->sc.probe;
                plen = len + 2;
            }
            if (bend_vocab_find(&b->vocab, probe, plen) >= 0) {
                found = bend_slow_tok_id(&b->slow, &b->vocab, probe, plen);
                break;
            }
            end--;
        }
        if (found < 0) {
            out->n = mark; /* the whole word becomes one [UNK] */
            return push_unk(b, out, ws, we, err);
        }
        bend_status st = push(out, found, base + (int64_t)chars[start].s,
                              base + (int64_t)chars[end - 1].e, err);
        if (st) return st;
        start = end;
    }
    return BEND_OK;
}

static bool is_never_split(const bend_bert *b, const char *w, size_t n)
{
    for (int r = 0; r < BEND_ROLE_COUNT; r++)
        if (b->slow.role[r] && strlen(b->slow.role[r]) == n && !memcmp(b->slow.role[r], w, n))
            return true;
    return false;
}

/* One whitespace-separated word chars[0..nc): punctuation splitting, then WordPiece. */
static bend_status bert_word(bert_ctx *c, const wchar *chars, size_t nc, int64_t base,
                             bend_tokbuf *out, bend_error *err)
{
    const bend_bert *b = c->b;
    size_t total = 0;
    for (size_t k = 0; k < nc; k++) total += chars[k].e - chars[k].s;
    if (grow(&c->sc.buf, &c->sc.cap, total + 1))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    size_t *wpos = malloc((nc + 1) * sizeof *wpos);
    if (!wpos) return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    size_t p = 0;
    for (size_t k = 0; k < nc; k++) {
        wpos[k] = p;
        memcpy(c->sc.buf + p, c->text + chars[k].s, chars[k].e - chars[k].s);
        p += chars[k].e - chars[k].s;
    }
    wpos[nc] = p;
    char *word = c->sc.buf;
    bend_status st = BEND_OK;
    if (is_never_split(b, word, p)) {
        st = wordpiece(c, chars, wpos, nc, word, base, out, err);
        free(wpos);
        return st;
    }
    if (b->do_lower_case)
        for (size_t i = 0; i < p; i++)
            if (word[i] >= 'A' && word[i] <= 'Z') word[i] = (char)(word[i] - 'A' + 'a');
    /* _run_split_on_punc: every punctuation character is a word of its own */
    size_t k = 0;
    while (k < nc && !st) {
        uint32_t cp;
        bend_utf8_next(c->text, chars[k].e, chars[k].s, &cp);
        if (bend_is_punct(cp)) {
            st = wordpiece(c, chars + k, wpos + k, 1, word, base, out, err);
            k++;
            continue;
        }
        size_t j = k + 1;
        while (j < nc) {
            bend_utf8_next(c->text, chars[j].e, chars[j].s, &cp);
            if (bend_is_punct(cp)) break;
            j++;
        }
        st = wordpiece(c, chars + k, wpos + k, j - k, word, base, out, err);
        k = j;
    }
    free(wpos);
    return st;
}

/* BertTokenizer._tokenize + convert_tokens_to_ids of one piece (no added tokens in it). */
static bend_status bert_chunk(void *vctx, const char *text, size_t len, int64_t base,
                              bend_tokbuf *out, bend_error *err)
{
    bert_ctx *c = vctx;
    c->text = text;
    wchar *chars = malloc((len + 1) * sizeof *chars);
    if (!chars) return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    bend_status st = BEND_OK;
    size_t nc = 0, i = 0;
    while (i < len && !st) {
        uint32_t cp;
        size_t l = bend_utf8_next(text, len, i, &cp);
        /* _clean_text drops NUL, U+FFFD and control characters first (so \x1c..\x1f and U+0085,
         * whitespace to str.split(), vanish instead of separating words), then whitespace
         * separates words */
        bool drop = cp == 0 || cp == 0xFFFD || bend_is_bert_control(cp);
        bool sep = !drop && (bend_is_bert_space(cp) || bend_is_py_space(cp));
        bool cjk = !sep && !drop && c->b->tokenize_chinese_chars && bend_is_cjk(cp);
        if (sep || cjk) {
            if (nc) st = bert_word(c, chars, nc, base, out, err);
            nc = 0;
            if (cjk && !st) {
                chars[0] = (wchar){i, i + l};
                st = bert_word(c, chars, 1, base, out, err);
            }
        } else if (!drop) {
            chars[nc++] = (wchar){i, i + l};
        }
        i += l;
    }
    if (nc && !st) st = bert_word(c, chars, nc, base, out, err);
    free(chars);
    return st;
}

/* tokenize()'s do_lower_case step: lower-case everything except the special tokens (found as
 * transformers' regex alternation finds them: at each position the first special that matches). */
static char *lower_except_specials(const bend_bert *b, const char *text, size_t len)
{
    char *t = malloc(len + 1);
    if (!t) return NULL;
    size_t i = 0;
    while (i < len) {
        size_t m = 0;
        for (int r = 0; r < BEND_ROLE_COUNT && !m; r++) {
            const char *s = b->slow.role[r];
            if (!s) continue;
            size_t sl = strlen(s);
            if (sl && sl <= len - i && !memcmp(text + i, s, sl)) m = sl;
        }
        if (m) {
            memcpy(t + i, text + i, m);
            i += m;
        } else {
            char ch = text[i];
            t[i++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
    }
    t[len] = '\0';
    return t;
}

bend_status bend_bert_encode_text(const bend_bert *b, const char *text, size_t len, int64_t base,
                                  bend_tokbuf *out, bend_error *err)
{
    bert_ctx c = {b, NULL, {0}};
    char *lower = NULL;
    if (b->do_lower_case) {
        lower = lower_except_specials(b, text, len);
        if (!lower) return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
        text = lower;
    }
    bend_status st = bend_slow_tokenize(&b->slow, text, len, base, bert_chunk, &c, out, err);
    free(lower);
    free(c.sc.buf);
    free(c.sc.probe);
    return st;
}

/* ---- DNABERT k-mers ----------------------------------------------------------------------- */

typedef struct kmer_impl {
    bend_bert bert;
    int k;
    int32_t cls, sep;
    bool plain[256]; /* ASCII letters and digits that start no added token: a k-mer made of them
                        is one word, looked up directly */
} kmer_impl;

static void fill_plain(const bend_bert *b, bool plain[256])
{
    for (int ch = 0; ch < 256; ch++) {
        bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
        plain[ch] = alnum && !b->do_lower_case;
    }
    for (size_t i = 0; i < b->slow.n_added; i++)
        plain[(unsigned char)b->slow.added[i].content[0]] = false;
}

/* Encodes one whitespace-free piece of the input (a k-mer, a MaxMatch token): when it is made of
 * plain characters and is a vocabulary word, that is what BertTokenizer would give (one word,
 * found whole by WordPiece); otherwise the full pipeline runs. */
static bend_status encode_piece(const bend_bert *b, const bool plain[256], const char *s,
                                size_t n, int64_t base, bend_tokbuf *out, bend_error *err)
{
    bool fast = n <= b->max_input_chars_per_word;
    for (size_t i = 0; i < n && fast; i++) fast = plain[(unsigned char)s[i]];
    if (fast) {
        int32_t id = bend_slow_tok_id(&b->slow, &b->vocab, s, n);
        if (id >= 0 && bend_vocab_find(&b->vocab, s, n) >= 0)
            return push(out, id, base, base + (int64_t)n, err);
    }
    return bend_bert_encode_text(b, s, n, base, out, err);
}

/* Byte offset of every character (code point) of seq, plus len at the end. */
static size_t *char_offsets(const char *seq, size_t len, size_t *n_chars)
{
    size_t *off = malloc((len + 1) * sizeof *off);
    if (!off) return NULL;
    size_t n = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        off[n++] = i;
        i += bend_utf8_next(seq, len, i, &cp);
    }
    off[n] = len;
    *n_chars = n;
    return off;
}

static bend_status kmer_encode(void *vimpl, const char *seq, size_t len, bool add_special,
                               bend_tokbuf *out, bend_error *err)
{
    kmer_impl *m = vimpl;
    if (add_special && (m->cls < 0 || m->sep < 0))
        return bend_fail(err, BEND_ERR_INVALID, "the DNABERT tokenizer has no [CLS] / [SEP] token");
    size_t nc = 0;
    size_t *off = char_offsets(seq, len, &nc);
    if (!off) return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    bend_status st = BEND_OK;
    if (add_special) st = push(out, m->cls, 0, 0, err);
    size_t k = (size_t)m->k;
    for (size_t i = 0; !st && i + k <= nc; i++)
        st = encode_piece(&m->bert, m->plain, seq + off[i], off[i + k] - off[i], (int64_t)off[i],
                          out, err);
    if (!st && add_special) st = push(out, m->sep, 0, 0, err);
    free(off);
    return st;
}

static const char *kmer_token(const void *impl, int32_t id)
{
    return bend_bert_token(&((const kmer_impl *)impl)->bert, id);
}

static size_t kmer_vocab_size(const void *impl)
{
    return bend_bert_vocab_size(&((const kmer_impl *)impl)->bert);
}

static void kmer_destroy(void *impl)
{
    kmer_impl *m = impl;
    bend_bert_free(&m->bert);
    free(m);
}

static const bend_tok_ops kmer_ops = {kmer_encode, kmer_token, kmer_vocab_size, kmer_destroy};

/* k of a DNABERT vocabulary: the common length of every token that is not a special one, when
 * they all have it; 0 otherwise. */
static int vocab_k(const bend_bert *b)
{
    int k = 0;
    for (size_t id = 0; id < b->vocab.n; id++) {
        const char *t = b->vocab.tok[id];
        if (!t || bend_tokmap_get(&b->slow.added_map, t, strlen(t)) >= 0) continue;
        size_t n = strlen(t);
        if (!n || n > 64) return 0;
        if (!k) k = (int)n;
        else if ((size_t)k != n) return 0;
    }
    return k;
}

bend_status bend_tok_kmer_open(const bend_tok_dir *d, int kmer, bend_tokenizer *t,
                               bend_error *err)
{
    kmer_impl *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = bend_bert_init(&m->bert, d, -1, err);
    if (st) {
        free(m);
        return st;
    }
    int vk = vocab_k(&m->bert);
    if (kmer) {
        if (kmer < 1 || kmer > 64) {
            kmer_destroy(m);
            return bend_fail(err, BEND_ERR_INVALID, "k-mer size %d is out of range: expected 1..64 "
                             "(DNABERT uses 3..6)", kmer);
        }
        if (vk && vk != kmer) {
            kmer_destroy(m);
            return bend_fail(err, BEND_ERR_INVALID, "%s/vocab.txt holds %d-mers but k = %d was asked "
                             "for", d->dir, vk, kmer);
        }
        m->k = kmer;
    } else {
        if (!vk) {
            kmer_destroy(m);
            return bend_fail(err, BEND_ERR_INVALID, "%s/vocab.txt: cannot tell k: expected every token "
                             "but the special ones to be a k-mer of the same length (or give k)",
                             d->dir);
        }
        m->k = vk;
    }
    m->cls = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, BEND_ROLE_CLS);
    m->sep = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, BEND_ROLE_SEP);
    fill_plain(&m->bert, m->plain);
    t->kind = "kmer";
    t->ops = &kmer_ops;
    t->impl = m;
    for (int r = 0; r < BEND_ROLE_COUNT; r++)
        t->special[r] = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, r);
    return BEND_OK;
}

bend_status bend_bert_encode_piece(const bend_bert *b, const bool plain[256], const char *s,
                                   size_t n, int64_t base, bend_tokbuf *out, bend_error *err)
{
    return encode_piece(b, plain, s, n, base, out, err);
}

void bend_bert_plain_chars(const bend_bert *b, bool plain[256]) { fill_plain(b, plain); }

size_t *bend_char_offsets(const char *seq, size_t len, size_t *n_chars)
{
    return char_offsets(seq, len, n_chars);
}
