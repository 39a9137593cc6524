/* Nucleotide Transformer v1 and v2: transformers' EsmTokenizer over the model's vocab.txt.
 *
 * EsmTokenizer registers its whole vocabulary as "no split" tokens, so tokenize() cuts the text
 * with transformers' Trie over every vocabulary string (longest match at the earliest start, see
 * bend_hftrie_split), and every piece that is not a special token goes through str.split() and a
 * vocabulary lookup (unknown -> <unk>). For upper-case DNA this is: the 6-mer at the current
 * position when the next six characters are A/C/G/T, else the single nucleotide (A C G T N), and
 * one <unk> for each whitespace-free run of characters that start no vocabulary token (so "xyz"
 * is one <unk> covering three characters). The same code handles v1 (<unk> <pad> <mask> <cls>,
 * 6-mers, A T C G N, <eos> <bos>) and v2 (<unk> <pad> <mask> <cls> <eos> <bos>, 6-mers, A T C G N):
 * the ids come from the file.
 *
 * Special tokens: <cls> first; <eos> last only when the tokenizer has an eos token (NT's
 * tokenizer_config.json sets eos_token to null, so NT gets none; a directory without that key gets
 * EsmTokenizer's default <eos>). BEND cuts the raw sequence into pieces of 5994 (v1) / 12282 (v2)
 * nucleotides and each piece's ids into windows of 1000 / 2048; that is the embedder's job. */
#include "tokenize/tokenize_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct nt6_impl {
    bend_vocab vocab;
    bend_slow_tok slow;
    int32_t cls, eos;
    bool has_eos;
} nt6_impl;

typedef struct esm_ctx {
    const nt6_impl *m;
} esm_ctx;

/* EsmTokenizer._tokenize (str.split()) + convert_tokens_to_ids. */
static bend_status esm_chunk(void *vctx, const char *text, size_t len, int64_t base,
                             bend_tokbuf *out, bend_error *err)
{
    const nt6_impl *m = ((esm_ctx *)vctx)->m;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t l = bend_utf8_next(text, len, i, &cp);
        if (bend_is_py_space(cp)) {
            i += l;
            continue;
        }
        size_t s = i;
        while (i < len) {
            l = bend_utf8_next(text, len, i, &cp);
            if (bend_is_py_space(cp)) break;
            i += l;
        }
        int32_t id = bend_slow_tok_id(&m->slow, &m->vocab, text + s, i - s);
        if (id < 0 && m->slow.role[BEND_ROLE_UNK])
            id = bend_vocab_find(&m->vocab, m->slow.role[BEND_ROLE_UNK],
                                 strlen(m->slow.role[BEND_ROLE_UNK]));
        if (id < 0)
            return bend_fail(err, BEND_ERR_INVALID, "the Nucleotide Transformer vocabulary has no "
                             "unknown token for a piece that is not in it");
        if (bend_tokbuf_push(out, id, base + (int64_t)s, base + (int64_t)i))
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    }
    return BEND_OK;
}

static bend_status nt6_encode(void *vimpl, const char *seq, size_t len, bool add_special,
                              bend_tokbuf *out, bend_error *err)
{
    nt6_impl *m = vimpl;
    if (add_special && m->cls < 0)
        return bend_fail(err, BEND_ERR_INVALID, "the Nucleotide Transformer tokenizer has no <cls>");
    if (add_special && bend_tokbuf_push(out, m->cls, 0, 0))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    esm_ctx c = {m};
    bend_status st = bend_slow_tokenize(&m->slow, seq, len, 0, esm_chunk, &c, out, err);
    if (st) return st;
    if (add_special && m->has_eos) {
        if (m->eos < 0)
            return bend_fail(err, BEND_ERR_INVALID, "the Nucleotide Transformer eos token is not "
                             "in its vocabulary");
        if (bend_tokbuf_push(out, m->eos, 0, 0))
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    }
    return BEND_OK;
}

static const char *nt6_token(const void *impl, int32_t id)
{
    const nt6_impl *m = impl; /* convert_ids_to_tokens: the added tokens first */
    for (size_t i = 0; i < m->slow.n_added; i++)
        if (m->slow.added[i].id == id) return m->slow.added[i].content;
    return bend_vocab_token(&m->vocab, id);
}

static size_t nt6_vocab_size(const void *impl)
{
    const nt6_impl *m = impl;
    size_t n = m->vocab.n;
    for (size_t i = 0; i < m->slow.n_added; i++)
        if ((size_t)m->slow.added[i].id + 1 > n) n = (size_t)m->slow.added[i].id + 1;
    return n;
}

static void nt6_destroy(void *impl)
{
    nt6_impl *m = impl;
    bend_vocab_free(&m->vocab);
    bend_slow_tok_free(&m->slow);
    free(m);
}

static const bend_tok_ops nt6_ops = {nt6_encode, nt6_token, nt6_vocab_size, nt6_destroy};

bend_status bend_tok_nt6_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err)
{
    nt6_impl *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    char *path = bend_tok_path(d->dir, "vocab.txt");
    if (!path) {
        free(m);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    bend_status st;
    if (!bend_tok_is_file(path))
        st = bend_fail(err, BEND_ERR_IO, "%s not found: the Nucleotide Transformer tokenizer "
                       "needs vocab.txt", path);
    else
        st = bend_vocab_load_txt(&m->vocab, path, BEND_VOCAB_LINES_ESM, err);
    free(path);
    if (st) {
        bend_vocab_free(&m->vocab);
        free(m);
        return st;
    }
    static const bend_slow_defaults defs = {
        .role = {[BEND_ROLE_UNK] = "<unk>", [BEND_ROLE_CLS] = "<cls>", [BEND_ROLE_PAD] = "<pad>",
                 [BEND_ROLE_MASK] = "<mask>", [BEND_ROLE_EOS] = "<eos>"},
    };
    st = bend_slow_tok_init(&m->slow, d, &defs, true, &m->vocab, err);
    if (st) {
        bend_vocab_free(&m->vocab);
        free(m);
        return st;
    }
    /* unique_no_split_tokens = the whole vocabulary */
    for (size_t id = 0; id < m->vocab.n; id++) {
        const char *tok = m->vocab.tok[id];
        if (tok && bend_hftrie_add(&m->slow.trie, tok, strlen(tok))) {
            nt6_destroy(m);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
    }
    m->cls = bend_slow_role_id(&m->slow, &m->vocab, BEND_ROLE_CLS);
    m->has_eos = m->slow.role[BEND_ROLE_EOS] != NULL;
    m->eos = bend_slow_role_id(&m->slow, &m->vocab, BEND_ROLE_EOS);
    t->kind = "nt6";
    t->ops = &nt6_ops;
    t->impl = m;
    for (int r = 0; r < BEND_ROLE_COUNT; r++) t->special[r] = bend_slow_role_id(&m->slow, &m->vocab, r);
    return BEND_OK;
}
