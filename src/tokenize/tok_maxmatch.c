/* GROVER as BEND tokenizes it (GROVEREmbedder.max_match_tokenize, then BertTokenizer).
 *
 * BEND has GROVER's vocabulary but not its BPE merges, so it segments greedily: at character i it
 * tries the substrings seq[i:j] for j from i + M down to i + 1, where M is the length of the
 * longest vocab.txt entry (special tokens included, in characters), and takes the first that is a
 * vocab.txt entry; when none is, it emits the unknown token for that one character and moves on.
 * The tokens are joined by spaces and encoded by BertTokenizer(do_lower_case=False) with the
 * special tokens around them; each vocab token passes through BertTokenizer unchanged unless it
 * holds punctuation or whitespace (then it splits as BertTokenizer splits it), and each unknown
 * character becomes the unknown token's id with a one-character span.
 *
 * BEND splits the token list into windows of 510 tokens and encodes each window separately, with
 * its own [CLS] / [SEP]; encode() here covers the whole sequence (the embedder does the windows). */
#include "tokenize/tokenize_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct maxmatch_impl {
    bend_bert bert;
    bend_hftrie words; /* every vocab.txt entry, for the longest-prefix search */
    int32_t cls, sep, unk;
    bool plain[256];
} maxmatch_impl;

static bend_status push(bend_tokbuf *out, int32_t id, int64_t s, int64_t e, bend_error *err)
{
    if (bend_tokbuf_push(out, id, s, e))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    return BEND_OK;
}

static bend_status maxmatch_encode(void *vimpl, const char *seq, size_t len, bool add_special,
                                   bend_tokbuf *out, bend_error *err)
{
    maxmatch_impl *m = vimpl;
    if (add_special && (m->cls < 0 || m->sep < 0))
        return bend_fail(err, BEND_ERR_INVALID, "the GROVER tokenizer has no [CLS] / [SEP] token");
    size_t nc = 0;
    size_t *off = bend_char_offsets(seq, len, &nc);
    if (!off) return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    bend_status st = BEND_OK;
    if (add_special) st = push(out, m->cls, 0, 0, err);
    size_t i = 0;
    while (i < nc && !st) {
        /* BEND tries seq[i:j] for j = i+M .. i+1 and takes the first vocab.txt entry: the
         * longest entry that starts at i (no entry is longer than M), found here with a trie */
        size_t j = i;
        int32_t node = 0;
        for (size_t k = i + 1; k <= nc; k++) {
            node = bend_hftrie_step(&m->words, node, seq + off[k - 1], off[k] - off[k - 1]);
            if (node < 0) break;
            if (bend_hftrie_terminal(&m->words, node)) j = k;
        }
        if (j == i) {
            if (m->unk < 0) {
                st = bend_fail(err, BEND_ERR_INVALID, "the GROVER tokenizer has no unknown token "
                               "for a character that starts no vocab.txt entry");
                break;
            }
            st = push(out, m->unk, (int64_t)off[i], (int64_t)off[i + 1], err);
            i++;
        } else {
            st = bend_bert_encode_piece(&m->bert, m->plain, seq + off[i], off[j] - off[i],
                                        (int64_t)off[i], out, err);
            i = j;
        }
    }
    if (!st && add_special) st = push(out, m->sep, 0, 0, err);
    free(off);
    return st;
}

static const char *maxmatch_token(const void *impl, int32_t id)
{
    return bend_bert_token(&((const maxmatch_impl *)impl)->bert, id);
}

static size_t maxmatch_vocab_size(const void *impl)
{
    return bend_bert_vocab_size(&((const maxmatch_impl *)impl)->bert);
}

static void maxmatch_destroy(void *impl)
{
    maxmatch_impl *m = impl;
    bend_bert_free(&m->bert);
    bend_hftrie_free(&m->words);
    free(m);
}

static const bend_tok_ops maxmatch_ops = {maxmatch_encode, maxmatch_token, maxmatch_vocab_size,
                                          maxmatch_destroy};

bend_status bend_tok_maxmatch_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err)
{
    maxmatch_impl *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    /* BEND: BertTokenizer.from_pretrained(model_path, do_lower_case=False) */
    bend_status st = bend_bert_init(&m->bert, d, 0, err);
    if (st) {
        free(m);
        return st;
    }
    for (size_t id = 0; id < m->bert.vocab.n; id++) {
        const char *tok = m->bert.vocab.tok[id];
        if (tok && bend_hftrie_add(&m->words, tok, strlen(tok))) {
            maxmatch_destroy(m);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
    }
    m->cls = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, BEND_ROLE_CLS);
    m->sep = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, BEND_ROLE_SEP);
    m->unk = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, BEND_ROLE_UNK);
    bend_bert_plain_chars(&m->bert, m->plain);
    t->kind = "maxmatch";
    t->ops = &maxmatch_ops;
    t->impl = m;
    for (int r = 0; r < BEND_ROLE_COUNT; r++)
        t->special[r] = bend_slow_role_id(&m->bert.slow, &m->bert.vocab, r);
    return BEND_OK;
}
