/* Internals shared by the files of the Hugging Face `tokenizers` pipeline (tokenizer.json); not a
 * public API. The pipeline is described in tok_bpe.c.
 *
 *   tok_bpe.c             entry point: loading tokenizer.json, running the stages, JSON helpers
 *   tok_hf_regex.c        patterns (String / Regex) and matching
 *   tok_hf_normalize.c    normalized strings and normalizers
 *   tok_hf_pretokenize.c  splits and pre-tokenizers
 *   tok_hf_model.c        models: BPE, WordLevel, WordPiece
 *   tok_hf_post.c         post-processors
 *   tok_hf_added.c        added tokens */
#ifndef BEND_TOK_HF_INTERNAL_H
#define BEND_TOK_HF_INTERNAL_H

#include "tokenize/tokenize_internal.h"

#include <regex.h>

#define NOMEM(err) bend_fail((err), BEND_ERR_NOMEM, "out of memory")

typedef struct nstr {
    char *s;
    size_t n, cap;
    int64_t *a0, *a1; /* per byte: the input span it comes from */
    int64_t shift;    /* input offset of this string's start (for insertions at its start) */
    int64_t *mem;     /* one block holding a0, a1 and s (a pre-tokenized DNA string may be split
                         into one string per character) */
} nstr;

typedef struct pattern {
    bool is_regex;
    char *str; /* String pattern (literal) */
    size_t len;
    regex_t re;
    bool compiled;
} pattern;

typedef struct match {
    size_t s, e;
    bool m;
} match;

typedef struct matches {
    match *v;
    size_t n, cap;
} matches;

/* A character predicate as a pattern: every matching character is a match of its own. */
typedef bool (*char_pred)(uint32_t cp, const void *arg);

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

typedef struct split {
    nstr ns;
    int32_t added; /* index of the added token this split is, or -1 */
} split;

typedef struct splits {
    split *v;
    size_t n, cap;
} splits;

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

typedef struct merge_map {
    uint64_t *keys; /* (a << 32 | b) + 1; 0 = empty */
    int32_t *rank, *id;
    size_t n_slots, n;
} merge_map;

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

/* A model token: id and its byte range in the word. */
typedef struct mtok {
    int32_t id;
    size_t s, e;
} mtok;

typedef struct mtoks {
    mtok *v;
    size_t n, cap;
} mtoks;

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

/* AddedVocabulary::find_matches over s[0..n) for the added tokens with normalized == want:
 * leftmost-longest, then single_word, lstrip, rstrip. Appends (range, added index or -1). */
typedef struct amatch {
    size_t s, e;
    int32_t idx;
} amatch;

/* tok_bpe.c */
const char *bend_hf_jstr(json_t *o, const char *key);
bool bend_hf_jbool(json_t *o, const char *key, bool dflt);
long bend_hf_jstrlen(json_t *v);
int bend_hf_etoks_push(etoks *a, int32_t id, int64_t s, int64_t e, const char *str, size_t len);

/* tok_hf_regex.c */
void bend_hf_pattern_free(pattern *p);
bend_status bend_hf_pattern_parse(pattern *p, json_t *j, const char *where, bend_error *err);
int bend_hf_matches_push(matches *a, size_t s, size_t e, bool m);
int bend_hf_pattern_find(const pattern *p, const char *s, size_t n, matches *out);
int bend_hf_pred_find(char_pred pred, const void *arg, const char *s, size_t n, matches *out);

/* tok_hf_normalize.c */
void bend_hf_nstr_free(nstr *x);
int bend_hf_nstr_push(nstr *x, const char *b, size_t len, int64_t a0, int64_t a1);
int bend_hf_nstr_push_range(nstr *x, const nstr *src, size_t s, size_t e);
int bend_hf_nstr_from_input(nstr *x, const char *input, size_t s, size_t e);
int bend_hf_nstr_slice(nstr *out, const nstr *src, size_t s, size_t e);
void bend_hf_nstr_span(const nstr *x, size_t s, size_t e, int64_t *o0, int64_t *o1);
void bend_hf_norm_free(norm *z);
bend_status bend_hf_norm_parse(norm *z, json_t *j, const char *path, int depth,
                               bend_error *err);
int bend_hf_norm_apply(const norm *z, nstr *x);

/* tok_hf_pretokenize.c */
void bend_hf_splits_free(splits *a);
int bend_hf_splits_push(splits *a, nstr *ns, int32_t added);
void bend_hf_pretok_free(pretok *p);
bend_status bend_hf_pretok_parse(pretok *p, json_t *j, const char *path, int depth,
                                 bend_error *err);
int bend_hf_pretok_apply(const pretok *p, splits *sp);

/* tok_hf_model.c */
void bend_hf_model_free(model *m);
bend_status bend_hf_model_parse(model *m, json_t *j, const char *path, bend_error *err);
bend_status bend_hf_model_word(const model *m, const char *w, size_t n, mtoks *out,
                               bend_error *err);

/* tok_hf_post.c */
void bend_hf_postproc_free(postproc *p);
bend_status bend_hf_postproc_parse(postproc *p, json_t *j, const char *path, int depth,
                                   bend_error *err);
int bend_hf_post_apply(const postproc *p, etoks *t, bool add_special);

/* tok_hf_added.c */
int bend_hf_added_find(const hf_impl *h, bool want_normalized, const char *s, size_t n,
                       amatch **out, size_t *n_out);
bend_status bend_hf_parse_added(hf_impl *h, json_t *arr, const char *path, bend_error *err);

#endif
