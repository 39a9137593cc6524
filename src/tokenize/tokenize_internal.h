/* Internals shared by the tokenizer implementations (the .c files of src/tokenize); not a
 * public API.
 *
 *   vocab.c          files and JSON, string -> id maps, vocab.txt loading, UTF-8 and the character
 *                    classes of Python / Rust / BERT, transformers' Trie and the skeleton of a
 *                    "slow" (Python PreTrainedTokenizer) tokenizer: special tokens resolved from
 *                    tokenizer_config.json / special_tokens_map.json, added-token splitting
 *   tok_kmer.c       DNABERT k-mers, and transformers' BertTokenizer (basic tokenizer + WordPiece)
 *                    which GROVER reuses
 *   tok_maxmatch.c   BEND's GROVER MaxMatch
 *   tok_nt6.c        EsmTokenizer (Nucleotide Transformer v1 / v2)
 *   tok_char.c       HyenaDNA / Caduceus CharacterTokenizer, vocab.txt-driven characters
 *   tok_bpe.c        the Hugging Face `tokenizers` pipeline from tokenizer.json (BPE, WordLevel,
 *                    WordPiece models); its stages are tok_hf_*.c (normalize, pretokenize,
 *                    model, post, added, regex) with tok_hf_internal.h
 *   tokenizer.c      directory detection and the public API
 *
 * Text is handled as bytes; where Python would work on characters (code points) the code decodes
 * UTF-8 and spans stay byte offsets. Character classes beyond ASCII are approximations (see
 * vocab.c): DNA input is ASCII, and every documented equivalence is exact for ASCII. */
#ifndef BEND_TOKENIZE_INTERNAL_H
#define BEND_TOKENIZE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "tokenize/tokenizer.h"

/* ---- output buffer ------------------------------------------------------------------------ */

typedef struct bend_tokbuf {
    int32_t *ids;
    int64_t *start, *end;
    size_t n, cap;
} bend_tokbuf;

/* 0 on success, -1 when out of memory. */
int bend_tokbuf_push(bend_tokbuf *b, int32_t id, int64_t start, int64_t end);
void bend_tokbuf_free(bend_tokbuf *b);

/* ---- string -> int32 map (keys are byte strings, copied) ------------------------------------ */

typedef struct bend_tokmap {
    char **keys;
    uint32_t *key_len;
    int32_t *vals;
    size_t n_slots, n; /* open addressing, n_slots a power of two (0 before the first put) */
} bend_tokmap;

void bend_tokmap_free(bend_tokmap *m);
/* Sets key -> val, replacing an existing value. 0 or -1 (out of memory). */
int bend_tokmap_put(bend_tokmap *m, const char *key, size_t len, int32_t val);
/* The value or -1. */
int32_t bend_tokmap_get(const bend_tokmap *m, const char *key, size_t len);

/* ---- vocabulary: id <-> token ------------------------------------------------------------- */

/* Ids are limited so that a hostile file cannot make us allocate gigabytes for a sparse table. */
enum { BEND_TOK_MAX_ID = (1 << 24) - 1 };

typedef struct bend_vocab {
    char **tok;      /* id -> NUL-terminated token (owned); NULL where no token has that id */
    size_t n;        /* number of id slots (largest id + 1) */
    size_t cap;      /* allocated slots */
    bend_tokmap map; /* token -> id; with duplicate tokens the last assignment wins */
    size_t max_len;  /* longest token, in bytes */
    size_t count;    /* number of assignments made */
} bend_vocab;

void bend_vocab_free(bend_vocab *v);
/* Assigns token s[0..len) the id (the token string of that id slot is replaced). 0, or -1 when
 * out of memory or the id is out of [0, BEND_TOK_MAX_ID]. */
int bend_vocab_set(bend_vocab *v, const char *s, size_t len, int32_t id);
int32_t bend_vocab_find(const bend_vocab *v, const char *s, size_t len);
const char *bend_vocab_token(const bend_vocab *v, int32_t id);

typedef enum bend_vocab_lines {
    /* transformers' load_vocab (BERT): readlines() with universal newlines, rstrip("\n"): every
     * line is a token (empty lines too), other whitespace kept; id = line number. */
    BEND_VOCAB_LINES_BERT,
    /* EsmTokenizer's load_vocab_file: read().splitlines(), then strip() of each line. */
    BEND_VOCAB_LINES_ESM,
} bend_vocab_lines;

/* Loads a vocab.txt; an empty file (no token at all) is an error (BEND_ERR_PARSE). */
bend_status bend_vocab_load_txt(bend_vocab *v, const char *path, bend_vocab_lines style,
                                bend_error *err);

/* ---- files -------------------------------------------------------------------------------- */

char *bend_tok_path(const char *dir, const char *name); /* malloc'd "dir/name" or NULL */
bool bend_tok_is_file(const char *path);
bend_status bend_tok_read_file(const char *path, char **data, size_t *len, bend_error *err);
/* Parses a JSON file: BEND_ERR_IO when unreadable, BEND_ERR_PARSE (with line and column) when
 * it is not JSON. A file with an integer beyond 64 bits is read with every number as a real. */
bend_status bend_tok_read_json(const char *path, json_t **out, bend_error *err);

/* An integer JSON value in [lo, hi] (an integral real counts: see bend_tok_read_json). */
bool bend_json_int(json_t *v, long long lo, long long hi, long long *out);

/* What a checkpoint directory holds, read once by bend_tokenizer_open. */
typedef struct bend_tok_dir {
    const char *dir;
    json_t *tokenizer_config;   /* tokenizer_config.json or NULL */
    json_t *special_tokens_map; /* special_tokens_map.json or NULL */
    json_t *config;             /* config.json or NULL */
    json_t *tokenizer_json;     /* tokenizer.json or NULL */
    bool has_vocab_txt;
} bend_tok_dir;

/* ---- UTF-8 and character classes ---------------------------------------------------------- */

/* Decodes the character at s[i] (i < n); returns its length in bytes (1..4). An invalid byte is
 * one character 0xDC00 + byte (as Python's surrogateescape would read it). */
size_t bend_utf8_next(const char *s, size_t n, size_t i, uint32_t *cp);
bool bend_is_py_space(uint32_t cp);    /* Python str.isspace() */
bool bend_is_rust_space(uint32_t cp);  /* Rust char::is_whitespace() */
bool bend_is_punct(uint32_t cp);       /* ASCII punctuation or Unicode P* (approximate) */
bool bend_is_alnum(uint32_t cp);       /* letters and digits (non-ASCII: approximate) */
bool bend_is_digit(uint32_t cp);
bool bend_is_cjk(uint32_t cp);         /* BERT's _is_chinese_char */
bool bend_is_bert_space(uint32_t cp);  /* transformers' / tokenizers' BERT _is_whitespace */
bool bend_is_bert_control(uint32_t cp); /* transformers' BERT _is_control */

/* Byte offset of every character (code point) of seq[0..len), then len; malloc'd, NULL when out
 * of memory. */
size_t *bend_char_offsets(const char *seq, size_t len, size_t *n_chars);

/* ---- transformers' Trie (tokenization_utils.Trie) ----------------------------------------- */

typedef struct bend_hftrie {
    struct bend_hftrie_node *nodes; /* node 0 = root */
    size_t n, cap;
} bend_hftrie;

int bend_hftrie_add(bend_hftrie *t, const char *s, size_t len); /* 0 or -1; "" is ignored */
/* The node reached from `node` (0 = the root) along s[0..n), or -1; for longest-prefix searches. */
int32_t bend_hftrie_step(const bend_hftrie *t, int32_t node, const char *s, size_t n);
bool bend_hftrie_terminal(const bend_hftrie *t, int32_t node); /* a whole string ends there */
void bend_hftrie_free(bend_hftrie *t);
/* The cut offsets Trie.split computes (0, s1, e1, s2, e2, ..., len) with the exact semantics of
 * transformers 4.46 (longest match at the earliest start, with its lookahead); the pieces are
 * text[cuts[i]..cuts[i+1]) for consecutive pairs (empty and reversed pairs are skipped, as
 * cut_text does). *cuts is malloc'd. 0 or -1 (out of memory). */
int bend_hftrie_split(const bend_hftrie *t, const char *text, size_t len, size_t **cuts,
                      size_t *n_cuts);

/* ---- slow (transformers PreTrainedTokenizer) special tokens -------------------------------- */

enum { BEND_ROLE_BOS, BEND_ROLE_EOS, BEND_ROLE_UNK, BEND_ROLE_SEP, BEND_ROLE_PAD, BEND_ROLE_CLS,
       BEND_ROLE_MASK, BEND_ROLE_COUNT };
extern const char *const bend_role_names[BEND_ROLE_COUNT]; /* "bos", "eos", ... */

typedef struct bend_added_token {
    char *content;
    int32_t id;
    bool lstrip, rstrip, special;
} bend_added_token;

typedef struct bend_slow_tok {
    char *role[BEND_ROLE_COUNT]; /* the special token strings (NULL: the model has none) */
    bend_added_token *added;     /* the added tokens (the special ones, and tokenizer_config's
                                    added_tokens_decoder) */
    size_t n_added;
    bend_tokmap added_map;       /* content -> index in added */
    bend_hftrie trie;            /* the added tokens (EsmTokenizer adds its whole vocabulary) */
} bend_slow_tok;

/* Defaults of a tokenizer class: the role strings (NULL = none) and per role the lstrip flag of
 * AddedToken objects the class builds itself (HyenaDNA's [MASK]). */
typedef struct bend_slow_defaults {
    const char *role[BEND_ROLE_COUNT];
    bool lstrip[BEND_ROLE_COUNT];
    const char *const *additional; /* additional special tokens, NULL-terminated, or NULL */
} bend_slow_defaults;

/* Resolves the special tokens as transformers' from_pretrained does: special_tokens_map.json
 * over tokenizer_config.json over the class defaults (a JSON null removes a role); every special
 * token (and added_tokens_decoder entry) becomes an added token with the id the vocabulary gives
 * it, or the next free id when the vocabulary lacks it (transformers appends it). With
 * use_files false only the defaults count (BEND builds HyenaDNA's tokenizer in code). The trie
 * is filled with the added tokens. */
bend_status bend_slow_tok_init(bend_slow_tok *st, const bend_tok_dir *d,
                               const bend_slow_defaults *defs, bool use_files, bend_vocab *vocab,
                               bend_error *err);
void bend_slow_tok_free(bend_slow_tok *st);
/* convert_tokens_to_ids for one token: an added token's id, else the vocabulary's, else -1. */
int32_t bend_slow_tok_id(const bend_slow_tok *st, const bend_vocab *v, const char *s, size_t len);
int32_t bend_slow_role_id(const bend_slow_tok *st, const bend_vocab *v, int role);

/* Handles one piece of text that is not an added token (the tokenizer's _tokenize followed by
 * convert_tokens_to_ids), pushing ids with spans base + [start, end). */
typedef bend_status (*bend_slow_chunk_fn)(void *ctx, const char *text, size_t len, int64_t base,
                                          bend_tokbuf *out, bend_error *err);

/* PreTrainedTokenizer.tokenize + convert_tokens_to_ids on text[0..len) (which starts at input
 * offset base): split on the trie, strip whitespace next to added tokens with lstrip / rstrip,
 * emit added tokens, hand every other non-empty piece to fn. */
bend_status bend_slow_tokenize(const bend_slow_tok *st, const char *text, size_t len,
                               int64_t base, bend_slow_chunk_fn fn, void *ctx, bend_tokbuf *out,
                               bend_error *err);

/* ---- transformers' BertTokenizer (tok_kmer.c), used by DNABERT and GROVER ------------------ */

typedef struct bend_bert {
    bend_vocab vocab;
    bend_slow_tok slow;
    bool do_lower_case;
    bool tokenize_chinese_chars;
    int32_t unk_id;
    size_t max_input_chars_per_word;
} bend_bert;

/* Loads vocab.txt, tokenizer_config.json and special_tokens_map.json of d. lower_case_override:
 * -1 = from tokenizer_config.json (default false, see tok_kmer.c), 0 / 1 = forced (GROVER). */
bend_status bend_bert_init(bend_bert *b, const bend_tok_dir *d, int lower_case_override,
                           bend_error *err);
void bend_bert_free(bend_bert *b);
/* BertTokenizer tokenize + convert_tokens_to_ids of text[0..len) starting at input offset base. */
bend_status bend_bert_encode_text(const bend_bert *b, const char *text, size_t len, int64_t base,
                                  bend_tokbuf *out, bend_error *err);
/* The same for one whitespace-free piece of the input (a k-mer, a MaxMatch token), with a fast
 * path for a piece made of plain[] characters that is a vocabulary word. */
bend_status bend_bert_encode_piece(const bend_bert *b, const bool plain[256], const char *s,
                                   size_t n, int64_t base, bend_tokbuf *out, bend_error *err);
/* plain[c]: ASCII letters and digits that start no added token (all false with do_lower_case). */
void bend_bert_plain_chars(const bend_bert *b, bool plain[256]);
const char *bend_bert_token(const bend_bert *b, int32_t id);
size_t bend_bert_vocab_size(const bend_bert *b);

/* ---- implementations ---------------------------------------------------------------------- */

typedef struct bend_tok_ops {
    bend_status (*encode)(void *impl, const char *seq, size_t len, bool add_special,
                          bend_tokbuf *out, bend_error *err);
    const char *(*token)(const void *impl, int32_t id);
    size_t (*vocab_size)(const void *impl);
    void (*destroy)(void *impl);
} bend_tok_ops;

struct bend_tokenizer {
    const char *kind; /* static string */
    const bend_tok_ops *ops;
    void *impl;
    int32_t special[BEND_ROLE_COUNT];
};

/* Each fills t->kind, t->ops, t->impl and t->special. */
bend_status bend_tok_kmer_open(const bend_tok_dir *d, int kmer, bend_tokenizer *t,
                               bend_error *err);
bend_status bend_tok_maxmatch_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err);
bend_status bend_tok_nt6_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err);
/* Flavour of the built-in character tables. */
typedef enum bend_char_flavour { BEND_CHAR_HYENA, BEND_CHAR_CADUCEUS, BEND_CHAR_VOCAB } bend_char_flavour;
bend_status bend_tok_char_open(const bend_tok_dir *d, bend_char_flavour flavour,
                               bend_tokenizer *t, bend_error *err);
/* tokenizer.json; kind "bpe" for a BPE model, "char" for the others. */
bend_status bend_tok_hf_open(const bend_tok_dir *d, bend_tokenizer *t, bend_error *err);

#endif
