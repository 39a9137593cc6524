/* One token per character.
 *
 * HyenaDNA: BEND builds `CharacterTokenizer(characters=['A','C','G','T','N'], ...)` in code
 * (bend/models/hyena_dna.py), whatever the checkpoint directory holds: [CLS]=0 [SEP]=1 [BOS]=2
 * [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6, then A=7 C=8 G=9 T=10 N=11; any other character
 * (lower case included) is [UNK]. Calling it wraps the text as [CLS] ... [SEP]: the
 * add_special_tokens=False BEND passes to the constructor changes nothing (BEND's comment says
 * so). Like every transformers slow tokenizer it first splits the text on its special tokens, so
 * the text "[MASK]" would be id 3 (with lstrip, as BEND's AddedToken for [MASK] has).
 *
 * Caduceus (CaduceusTokenizer, trust_remote_code): the same table, characters from
 * tokenizer_config.json ("characters", default A C G T N), the text upper-cased before the
 * lookup, and add_special_tokens appends [SEP] only (BEND passes add_special_tokens=False).
 * The caduceus repository later renumbered its table ([CLS]=0 [EOS]=1 [SEP]=2 [REF]=3 ...); the
 * released checkpoints use the one above.
 *
 * Vocab: for a directory forced to "char" that has only a vocab.txt (the ResNet-LM / AWD-LSTM
 * tokenizer files are not public): id of each character in vocab.txt, the unknown token
 * otherwise, nothing added around. Their tokenizer.json form goes through tok_bpe.c. */
#include "tokenize/tokenize_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct char_impl {
    bend_char_flavour flavour;
    bend_vocab vocab;
    bend_slow_tok slow;
    int32_t unk, cls, sep;
} char_impl;

typedef struct char_ctx {
    const char_impl *m;
} char_ctx;

/* _tokenize = list(text) (Caduceus: list(text.upper())), then convert_tokens_to_ids. */
static bend_status char_chunk(void *vctx, const char *text, size_t len, int64_t base,
                              bend_tokbuf *out, bend_error *err)
{
    const char_impl *m = ((char_ctx *)vctx)->m;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t l = bend_utf8_next(text, len, i, &cp);
        char up[4];
        const char *s = text + i;
        if (m->flavour == BEND_CHAR_CADUCEUS && l == 1 && cp >= 'a' && cp <= 'z') {
            up[0] = (char)(cp - 'a' + 'A');
            s = up;
        }
        int32_t id = bend_slow_tok_id(&m->slow, &m->vocab, s, l);
        if (id < 0) id = m->unk;
        if (id < 0)
            return bend_fail(err, BEND_ERR_INVALID, "the character tokenizer has no unknown token "
                             "for a character outside its vocabulary");
        if (bend_tokbuf_push(out, id, base + (int64_t)i, base + (int64_t)(i + l)))
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
        i += l;
    }
    return BEND_OK;
}

static bend_status char_encode(void *vimpl, const char *seq, size_t len, bool add_special,
                               bend_tokbuf *out, bend_error *err)
{
    char_impl *m = vimpl;
    bool lead = add_special && m->flavour == BEND_CHAR_HYENA;
    bool tail = add_special && m->flavour != BEND_CHAR_VOCAB;
    if ((lead && m->cls < 0) || (tail && m->sep < 0))
        return bend_fail(err, BEND_ERR_INVALID, "the character tokenizer has no [CLS] / [SEP]");
    if (lead && bend_tokbuf_push(out, m->cls, 0, 0))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    char_ctx c = {m};
    bend_status st = bend_slow_tokenize(&m->slow, seq, len, 0, char_chunk, &c, out, err);
    if (st) return st;
    if (tail && bend_tokbuf_push(out, m->sep, 0, 0))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory tokenizing");
    return BEND_OK;
}

static const char *char_token(const void *impl, int32_t id)
{
    const char_impl *m = impl;
    for (size_t i = 0; i < m->slow.n_added; i++)
        if (m->slow.added[i].id == id) return m->slow.added[i].content;
    return bend_vocab_token(&m->vocab, id);
}

static size_t char_vocab_size(const void *impl)
{
    const char_impl *m = impl;
    size_t n = m->vocab.n;
    for (size_t i = 0; i < m->slow.n_added; i++)
        if ((size_t)m->slow.added[i].id + 1 > n) n = (size_t)m->slow.added[i].id + 1;
    return n;
}

static void char_destroy(void *impl)
{
    char_impl *m = impl;
    bend_vocab_free(&m->vocab);
    bend_slow_tok_free(&m->slow);
    free(m);
}

static const bend_tok_ops char_ops = {char_encode, char_token, char_vocab_size, char_destroy};

/* The HyenaDNA / Caduceus table for the given characters. */
static int build_table(bend_vocab *v, const char *const *chars, size_t n_chars)
{
    static const char *const specials[] = {"[CLS]", "[SEP]", "[BOS]", "[MASK]",
                                           "[PAD]", "[RESERVED]", "[UNK]"};
    for (int32_t i = 0; i < 7; i++)
        if (bend_vocab_set(v, specials[i], strlen(specials[i]), i)) return -1;
    for (size_t i = 0; i < n_chars; i++)
        if (bend_vocab_set(v, chars[i], strlen(chars[i]), (int32_t)(7 + i))) return -1;
    return 0;
}

bend_status bend_tok_char_open(const bend_tok_dir *d, bend_char_flavour flavour,
                               bend_tokenizer *t, bend_error *err)
{
    char_impl *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    m->flavour = flavour;
    bend_status st = BEND_OK;
    static const char *const acgtn[] = {"A", "C", "G", "T", "N"};
    if (flavour == BEND_CHAR_HYENA) {
        if (build_table(&m->vocab, acgtn, 5)) goto nomem;
        static const bend_slow_defaults defs = {
            .role = {[BEND_ROLE_BOS] = "[BOS]", [BEND_ROLE_EOS] = "[SEP]", [BEND_ROLE_SEP] = "[SEP]",
                     [BEND_ROLE_CLS] = "[CLS]", [BEND_ROLE_PAD] = "[PAD]", [BEND_ROLE_UNK] = "[UNK]",
                     [BEND_ROLE_MASK] = "[MASK]"},
            .lstrip = {[BEND_ROLE_MASK] = true},
        };
        st = bend_slow_tok_init(&m->slow, d, &defs, false, &m->vocab, err);
    } else if (flavour == BEND_CHAR_CADUCEUS) {
        json_t *chars = json_is_object(d->tokenizer_config) ?
                        json_object_get(d->tokenizer_config, "characters") : NULL;
        if (json_is_array(chars)) {
            size_t n = json_array_size(chars);
            if (n > 100000) {
                st = bend_fail(err, BEND_ERR_INVALID, "%s/tokenizer_config.json: too many "
                               "characters", d->dir);
                goto fail;
            }
            const char **list = calloc(n + 1, sizeof *list);
            if (!list) goto nomem;
            for (size_t i = 0; i < n; i++) {
                json_t *c = json_array_get(chars, i);
                if (!json_is_string(c) || memchr(json_string_value(c), 0, json_string_length(c))) {
                    free(list);
                    st = bend_fail(err, BEND_ERR_PARSE, "%s/tokenizer_config.json: \"characters\" "
                                   "must be a list of strings", d->dir);
                    goto fail;
                }
                list[i] = json_string_value(c);
            }
            int rc = build_table(&m->vocab, list, n);
            free(list);
            if (rc) goto nomem;
        } else if (build_table(&m->vocab, acgtn, 5)) {
            goto nomem;
        }
        static const bend_slow_defaults defs = {
            .role = {[BEND_ROLE_BOS] = "[BOS]", [BEND_ROLE_EOS] = "[SEP]", [BEND_ROLE_SEP] = "[SEP]",
                     [BEND_ROLE_CLS] = "[CLS]", [BEND_ROLE_PAD] = "[PAD]", [BEND_ROLE_UNK] = "[UNK]",
                     [BEND_ROLE_MASK] = "[MASK]"},
        };
        st = bend_slow_tok_init(&m->slow, d, &defs, true, &m->vocab, err);
    } else {
        char *path = bend_tok_path(d->dir, "vocab.txt");
        if (!path) goto nomem;
        if (!bend_tok_is_file(path))
            st = bend_fail(err, BEND_ERR_IO, "%s not found: a character tokenizer needs "
                           "tokenizer.json or vocab.txt", path);
        else
            st = bend_vocab_load_txt(&m->vocab, path, BEND_VOCAB_LINES_BERT, err);
        free(path);
        if (st) goto fail;
        static const bend_slow_defaults defs = {.role = {[BEND_ROLE_UNK] = "[UNK]"}};
        st = bend_slow_tok_init(&m->slow, d, &defs, true, &m->vocab, err);
    }
    if (st) goto fail;
    m->unk = bend_slow_role_id(&m->slow, &m->vocab, BEND_ROLE_UNK);
    m->cls = bend_slow_role_id(&m->slow, &m->vocab, BEND_ROLE_CLS);
    m->sep = bend_slow_role_id(&m->slow, &m->vocab, BEND_ROLE_SEP);
    t->kind = "char";
    t->ops = &char_ops;
    t->impl = m;
    for (int r = 0; r < BEND_ROLE_COUNT; r++) t->special[r] = bend_slow_role_id(&m->slow, &m->vocab, r);
    return BEND_OK;
nomem:
    st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
fail:
    bend_vocab_free(&m->vocab);
    bend_slow_tok_free(&m->slow);
    free(m);
    return st;
}
