/* Unit tests of the tokenizers (src/tokenize): every tokenizer of the reference fixture
 * (tests/fixtures/tokenizers, made by tools/reference/make_tokenizer_fixtures.py from the upstream
 * Python tokenizers driven as BEND drives them) must give exactly the recorded ids, token strings
 * and spans for every sequence, and reproduce the id windows BEND's embedders feed their models;
 * transformers' Trie on its documented examples; and bad directories give clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "test_helpers.h"
#include "tokenize/tokenize_internal.h"
#include "tokenize/tokenizer.h"

static json_t *expected;
static char fixtures[4096];

/* ---- helpers --------------------------------------------------------------------------------- */

/* The fixture's long sequences: splitmix64 (see expected.json "sequence_generator"). */
static char *gen_sequence(json_t *spec, size_t *len)
{
    uint64_t state = (uint64_t)json_integer_value(json_object_get(spec, "seed"));
    size_t n = (size_t)json_integer_value(json_object_get(spec, "length"));
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        s[i] = "ACGT"[z >> 62];
    }
    json_t *p = json_object_get(spec, "n_period");
    if (json_is_integer(p) && json_integer_value(p) > 0) {
        size_t period = (size_t)json_integer_value(p);
        size_t off = (size_t)json_integer_value(json_object_get(spec, "n_offset"));
        for (size_t i = 0; i < n; i++)
            if (i % period == off) s[i] = 'N';
    }
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(spec, "n_runs"), k, r) {
        size_t pos = (size_t)json_integer_value(json_array_get(r, 0));
        size_t m = (size_t)json_integer_value(json_array_get(r, 1));
        for (size_t i = pos; i < n && i < pos + m; i++) s[i] = 'N';
    }
    json_array_foreach(json_object_get(spec, "lower_runs"), k, r) {
        size_t pos = (size_t)json_integer_value(json_array_get(r, 0));
        size_t m = (size_t)json_integer_value(json_array_get(r, 1));
        for (size_t i = pos; i < n && i < pos + m; i++)
            if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] - 'A' + 'a');
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static char *case_sequence(json_t *c, size_t *len)
{
    json_t *seq = json_object_get(c, "seq");
    if (json_is_string(seq)) {
        *len = json_string_length(seq);
        char *s = malloc(*len + 1);
        assert_non_null(s);
        memcpy(s, json_string_value(seq), *len + 1);
        return s;
    }
    return gen_sequence(json_object_get(c, "gen"), len);
}

static bend_tokenizer *open_fixture(const char *dir, const bend_tokenizer_options *opts)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", fixtures, dir);
    bend_tokenizer *t = NULL;
    bend_error err = {0};
    bend_status st = bend_tokenizer_open(path, opts, &t, &err);
    if (st) fail_msg("opening %s: %s", path, err.msg);
    return t;
}

static void encode(bend_tokenizer *t, const char *s, size_t n, bool add, bend_token_seq *out)
{
    bend_error err = {0};
    bend_status st = bend_tokenizer_encode(t, s, n, add, out, &err);
    if (st) fail_msg("encoding failed: %s", err.msg);
}

/* ids equal to the JSON list, with a readable first difference */
static void expect_ids(const char *what, const int32_t *ids, size_t n, json_t *want)
{
    size_t wn = json_array_size(want);
    for (size_t i = 0; i < n && i < wn; i++) {
        int32_t w = (int32_t)json_integer_value(json_array_get(want, i));
        if (ids[i] != w) fail_msg("%s: id %zu is %d, expected %d", what, i, ids[i], w);
    }
    if (n != wn) fail_msg("%s: %zu ids, expected %zu", what, n, wn);
}

/* ---- the reference fixture ------------------------------------------------------------------- */

/* BEND's id windows for one sequence (what its embedder passes to the model, chunk by chunk),
 * rebuilt from our tokenizer with each model's rule (bend/utils/embedders.py):
 *   kmer      the whole [CLS] ... [SEP] row cut into pieces of 512 ids (torch.split)
 *   nt6       the raw sequence cut into pieces of 5994 (v1) / 12282 (v2) nucleotides, each
 *             encoded ([CLS] ...) and cut into pieces of 1000 / 2048 ids
 *   dnabert2  raw pieces of 10,000 nucleotides, each encoded with [CLS] / [SEP]
 *   gena      the whole sequence encoded, [CLS] / [SEP] removed, cut into 510 ids, each piece
 *             re-wrapped in [CLS] ... [SEP]
 *   grover    the MaxMatch tokens in pieces of 510, each encoded with [CLS] / [SEP] (here: the ids
 *             without specials in pieces of 510 -- the same while every token is one id)
 *   hyenadna  raw pieces of 1024 nucleotides (tiny-1k), each encoded with [CLS] / [SEP]
 *   caduceus  raw pieces of 131072 nucleotides, encoded without special tokens */
typedef struct windows {
    int32_t **w;
    size_t *n;
    size_t count;
} windows;

static void win_add(windows *ws, const int32_t *ids, size_t n)
{
    ws->w = realloc(ws->w, (ws->count + 1) * sizeof *ws->w);
    ws->n = realloc(ws->n, (ws->count + 1) * sizeof *ws->n);
    assert_non_null(ws->w);
    assert_non_null(ws->n);
    ws->w[ws->count] = malloc((n + 1) * sizeof **ws->w);
    assert_non_null(ws->w[ws->count]);
    if (n) memcpy(ws->w[ws->count], ids, n * sizeof *ids);
    ws->n[ws->count++] = n;
}

static void win_free(windows *ws)
{
    for (size_t i = 0; i < ws->count; i++) free(ws->w[i]);
    free(ws->w);
    free(ws->n);
}

static void raw_windows(bend_tokenizer *t, const char *s, size_t n, size_t piece, bool add,
                        size_t max_ids, windows *ws)
{
    for (size_t off = 0; off < n; off += piece) {
        size_t len = n - off < piece ? n - off : piece;
        bend_token_seq q = {0};
        encode(t, s + off, len, add, &q);
        for (size_t k = 0; k < q.n; k += max_ids)
            win_add(ws, q.ids + k, q.n - k < max_ids ? q.n - k : max_ids);
        bend_token_seq_free(&q);
    }
}

static void bend_rule_windows(const char *name, bend_tokenizer *t, const char *s, size_t n,
                              windows *ws)
{
    bend_token_seq q = {0};
    if (!strncmp(name, "dnabert", 7) && strcmp(name, "dnabert2_bpe")) {
        encode(t, s, n, true, &q);
        for (size_t k = 0; k < q.n; k += 512) win_add(ws, q.ids + k, q.n - k < 512 ? q.n - k : 512);
    } else if (!strcmp(name, "nt_v1")) {
        raw_windows(t, s, n, 5994, true, 1000, ws);
    } else if (!strcmp(name, "nt_v2")) {
        raw_windows(t, s, n, 12282, true, 2048, ws);
    } else if (!strcmp(name, "dnabert2_bpe")) {
        raw_windows(t, s, n, 10000, true, SIZE_MAX, ws);
    } else if (!strcmp(name, "hyenadna")) {
        raw_windows(t, s, n, 1024, true, SIZE_MAX, ws);
    } else if (!strcmp(name, "caduceus")) {
        raw_windows(t, s, n, 131072, false, SIZE_MAX, ws);
    } else if (!strcmp(name, "gena_bert_bpe") || !strcmp(name, "grover")) {
        encode(t, s, n, true, &q);
        int32_t cls = bend_tokenizer_special(t, "cls"), sep = bend_tokenizer_special(t, "sep");
        assert_true(q.n >= 2);
        size_t body = q.n - 2;
        int32_t *buf = malloc((512 + 2) * sizeof *buf);
        assert_non_null(buf);
        for (size_t k = 0; k < body; k += 510) {
            size_t m = body - k < 510 ? body - k : 510;
            buf[0] = cls;
            memcpy(buf + 1, q.ids + 1 + k, m * sizeof *buf);
            buf[m + 1] = sep;
            win_add(ws, buf, m + 2);
        }
        free(buf);
    } else {
        fail_msg("no BEND window rule for %s", name);
    }
    bend_token_seq_free(&q);
}

static void check_tokenizer(const char *name, json_t *entry)
{
    const char *dir = json_string_value(json_object_get(entry, "dir"));
    bend_tokenizer *t = open_fixture(dir, NULL);
    const char *kind = json_string_value(json_object_get(entry, "kind"));
    if (strcmp(bend_tokenizer_kind(t), kind))
        fail_msg("%s: detected kind %s, expected %s", name, bend_tokenizer_kind(t), kind);
    size_t vs = (size_t)json_integer_value(json_object_get(entry, "vocab_size"));
    if (bend_tokenizer_vocab_size(t) != vs)
        fail_msg("%s: vocab size %zu, expected %zu", name, bend_tokenizer_vocab_size(t), vs);
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(entry, "special"), key, val) {
        int32_t got = bend_tokenizer_special(t, key);
        if (got != (int32_t)json_integer_value(val))
            fail_msg("%s: special %s = %d, expected %d", name, key, got, (int)json_integer_value(val));
    }
    assert_null(bend_tokenizer_token(t, -1));
    assert_null(bend_tokenizer_token(t, (int32_t)vs + 1000));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(entry, "cases"), i, c) {
        char what[256];
        snprintf(what, sizeof what, "%s / %s", name, json_string_value(json_object_get(c, "name")));
        size_t n = 0;
        char *s = case_sequence(c, &n);
        bool add = json_is_true(json_object_get(c, "add_special_tokens"));
        bend_token_seq q = {0};
        encode(t, s, n, add, &q);
        expect_ids(what, q.ids, q.n, json_object_get(c, "ids"));
        json_t *toks = json_object_get(c, "tokens"), *spans = json_object_get(c, "spans");
        for (size_t k = 0; k < q.n; k++) {
            const char *tok = bend_tokenizer_token(t, q.ids[k]);
            const char *want = json_string_value(json_array_get(toks, k));
            if (!tok || strcmp(tok, want))
                fail_msg("%s: token %zu is '%s', expected '%s'", what, k, tok ? tok : "(null)", want);
            json_t *sp = json_array_get(spans, k);
            int64_t ws = json_integer_value(json_array_get(sp, 0)), we = json_integer_value(json_array_get(sp, 1));
            if (q.span_start[k] != ws || q.span_end[k] != we)
                fail_msg("%s: span %zu is [%lld, %lld), expected [%lld, %lld)", what, k,
                         (long long)q.span_start[k], (long long)q.span_end[k], (long long)ws,
                         (long long)we);
        }
        bend_token_seq_free(&q);
        json_t *bw = json_object_get(c, "bend_windows");
        if (json_is_array(bw)) {
            windows w = {0};
            bend_rule_windows(name, t, s, n, &w);
            if (w.count != json_array_size(bw))
                fail_msg("%s: %zu BEND windows, expected %zu", what, w.count, json_array_size(bw));
            for (size_t k = 0; k < w.count; k++) {
                char wh[300];
                snprintf(wh, sizeof wh, "%s window %zu", what, k);
                expect_ids(wh, w.w[k], w.n[k], json_array_get(bw, k));
            }
            win_free(&w);
        }
        free(s);
    }
    bend_tokenizer_close(t);
}

#define FIXTURE_TEST(fn, key)                                                              \
    static void fn(void **state)                                                           \
    {                                                                                      \
        (void)state;                                                                       \
        json_t *e = json_object_get(json_object_get(expected, "tokenizers"), key);         \
        if (!e) fail_msg("expected.json has no tokenizer %s", key);                        \
        check_tokenizer(key, e);                                                           \
    }

FIXTURE_TEST(test_dnabert3, "dnabert3")
FIXTURE_TEST(test_dnabert4, "dnabert4")
FIXTURE_TEST(test_dnabert5, "dnabert5")
FIXTURE_TEST(test_dnabert6, "dnabert6")
FIXTURE_TEST(test_nt_v1, "nt_v1")
FIXTURE_TEST(test_nt_v2, "nt_v2")
FIXTURE_TEST(test_dnabert2_bpe, "dnabert2_bpe")
FIXTURE_TEST(test_gena_bpe, "gena_bert_bpe")
FIXTURE_TEST(test_bytelevel_bpe, "bytelevel_bpe")
FIXTURE_TEST(test_charlevel, "charlevel")
FIXTURE_TEST(test_grover, "grover")
FIXTURE_TEST(test_hyenadna, "hyenadna")
FIXTURE_TEST(test_caduceus, "caduceus")

static void test_fixture_complete(void **state)
{
    (void)state;
    /* every tokenizer in expected.json has a test above */
    static const char *const known[] = {"dnabert3", "dnabert4", "dnabert5", "dnabert6", "nt_v1",
                                        "nt_v2", "dnabert2_bpe", "gena_bert_bpe", "bytelevel_bpe",
                                        "charlevel", "grover", "hyenadna", "caduceus"};
    json_t *all = json_object_get(expected, "tokenizers");
    assert_int_equal(json_object_size(all), sizeof known / sizeof *known);
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) assert_non_null(json_object_get(all, known[i]));
}

/* ---- forced kinds and options ---------------------------------------------------------------- */

static void test_forced_kinds(void **state)
{
    (void)state;
    bend_tokenizer_options o = {"kmer", 6};
    bend_tokenizer *t = open_fixture("dnabert6", &o);
    assert_string_equal(bend_tokenizer_kind(t), "kmer");
    bend_token_seq q = {0};
    encode(t, "AAAAAAT", 7, true, &q);
    /* [CLS] AAAAAA AAAAAT [SEP]: ids 5 + base-4 value over A,T,C,G */
    assert_int_equal(q.n, 4);
    assert_int_equal(q.ids[0], 2);
    assert_int_equal(q.ids[1], 5);
    assert_int_equal(q.ids[2], 6);
    assert_int_equal(q.ids[3], 3);
    assert_int_equal(q.span_start[2], 1);
    assert_int_equal(q.span_end[2], 7);
    bend_token_seq_free(&q);
    bend_tokenizer_close(t);

    /* a k that disagrees with the vocabulary */
    char path[8192];
    snprintf(path, sizeof path, "%s/dnabert6", fixtures);
    bend_error err = {0};
    o.kmer = 3;
    assert_int_equal(bend_tokenizer_open(path, &o, &t, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "6-mers"));
    assert_null(t);

    /* an unknown kind */
    bend_tokenizer_options bad = {"wordpiece", 0};
    assert_int_equal(bend_tokenizer_open(path, &bad, &t, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown tokenizer kind"));

    /* HyenaDNA forced on a directory without files: BEND's built-in table */
    const char *dir = test_scratch_dir("tok_char");
    bend_tokenizer_options ch = {"char", 0};
    assert_int_equal(bend_tokenizer_open(dir, &ch, &t, &err), BEND_OK);
    encode(t, "ACGTNa", 6, true, &q);
    static const int32_t want[] = {0, 7, 8, 9, 10, 11, 6, 1}; /* [CLS] A C G T N [UNK] [SEP] */
    assert_int_equal(q.n, sizeof want / sizeof *want);
    for (size_t k = 0; k < q.n; k++) assert_int_equal(q.ids[k], want[k]);
    assert_string_equal(bend_tokenizer_token(t, 11), "N");
    assert_int_equal(bend_tokenizer_special(t, "mask"), 3);
    assert_int_equal(bend_tokenizer_special(t, "nonsense"), -1);
    bend_token_seq_free(&q);
    bend_tokenizer_close(t);
}

/* ---- transformers' Trie ---------------------------------------------------------------------- */

static void expect_pieces(const bend_hftrie *t, const char *text, const char *const *want, size_t nw)
{
    size_t *cuts = NULL, nc = 0;
    assert_int_equal(bend_hftrie_split(t, text, strlen(text), &cuts, &nc), 0);
    size_t start = 0, k = 0;
    for (size_t i = 0; i < nc; i++) {
        size_t end = cuts[i];
        if (start >= end) continue;
        if (k >= nw) fail_msg("'%s': more pieces than expected", text);
        if (strlen(want[k]) != end - start || memcmp(text + start, want[k], end - start))
            fail_msg("'%s': piece %zu is '%.*s', expected '%s'", text, k, (int)(end - start),
                     text + start, want[k]);
        k++;
        start = end;
    }
    if (k != nw) fail_msg("'%s': %zu pieces, expected %zu", text, k, nw);
    free(cuts);
}

static void test_trie(void **state)
{
    (void)state;
    /* the examples of transformers' Trie.split docstring and comments */
    bend_hftrie t = {0};
    static const char *const none[] = {"[CLS] This is a extra_id_100"};
    expect_pieces(&t, "[CLS] This is a extra_id_100", none, 1);
    assert_int_equal(bend_hftrie_add(&t, "[CLS]", 5), 0);
    assert_int_equal(bend_hftrie_add(&t, "extra_id_1", 10), 0);
    assert_int_equal(bend_hftrie_add(&t, "extra_id_100", 12), 0);
    static const char *const p1[] = {"[CLS]", " This is a ", "extra_id_100"};
    expect_pieces(&t, "[CLS] This is a extra_id_100", p1, 3);
    bend_hftrie_free(&t);
    assert_int_equal(bend_hftrie_add(&t, "A", 1), 0);
    assert_int_equal(bend_hftrie_add(&t, "P", 1), 0);
    assert_int_equal(bend_hftrie_add(&t, "[SPECIAL]", 9), 0);
    static const char *const p2[] = {"[SPECIAL]", " ", "A", "P"};
    expect_pieces(&t, "[SPECIAL] AP", p2, 4);
    bend_hftrie_free(&t);
    assert_int_equal(bend_hftrie_add(&t, "blowing", 7), 0);
    assert_int_equal(bend_hftrie_add(&t, "lower", 5), 0);
    static const char *const p3[] = {"b", "lower"};
    expect_pieces(&t, "blower", p3, 2);
    bend_hftrie_free(&t);
    assert_int_equal(bend_hftrie_add(&t, "AB", 2), 0);
    assert_int_equal(bend_hftrie_add(&t, "B", 1), 0);
    assert_int_equal(bend_hftrie_add(&t, "C", 1), 0);
    static const char *const p4[] = {"AB", "C"};
    expect_pieces(&t, "ABC", p4, 2);
    bend_hftrie_free(&t);
    assert_int_equal(bend_hftrie_add(&t, "ABC", 3), 0);
    assert_int_equal(bend_hftrie_add(&t, "B", 1), 0);
    assert_int_equal(bend_hftrie_add(&t, "CD", 2), 0);
    static const char *const p5[] = {"ABC", "D"};
    expect_pieces(&t, "ABCD", p5, 2);
    bend_hftrie_free(&t);
}

/* ---- speed ----------------------------------------------------------------------------------- */

static void test_long_bpe_word_is_fast(void **state)
{
    (void)state;
    bend_tokenizer *t = open_fixture("dnabert2_bpe", NULL);
    size_t n = 200000;
    char *s = malloc(n);
    assert_non_null(s);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s[i] = "ACGT"[x >> 62];
    }
    clock_t c0 = clock();
    bend_token_seq q = {0};
    encode(t, s, n, true, &q);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_true(q.n > 2);
    /* the spans tile the word */
    assert_int_equal(q.span_start[1], 0);
    for (size_t k = 2; k + 1 < q.n; k++) assert_int_equal(q.span_start[k], q.span_end[k - 1]);
    assert_int_equal(q.span_end[q.n - 2], (int64_t)n);
    if (secs > 2.0) fail_msg("a %zu-character BPE word took %.2f s", n, secs);
    bend_token_seq_free(&q);
    free(s);
    bend_tokenizer_close(t);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void expect_open_error(const char *dir, const bend_tokenizer_options *o, bend_status want,
                              const char *part)
{
    bend_tokenizer *t = (bend_tokenizer *)1;
    bend_error err = {0};
    bend_status st = bend_tokenizer_open(dir, o, &t, &err);
    if (st != want) fail_msg("%s: status %d (%s), expected %d", dir, st, err.msg, want);
    if (!strstr(err.msg, part)) fail_msg("%s: message '%s' lacks '%s'", dir, err.msg, part);
    assert_null(t);
}

static void test_errors(void **state)
{
    (void)state;
    const char *base = test_scratch_dir("tok_err");
    char d[6000];

    snprintf(d, sizeof d, "%s/missing", base);
    expect_open_error(d, NULL, BEND_ERR_IO, "model directory");

    snprintf(d, sizeof d, "%s/notjson", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"A\": 0,}");
    expect_open_error(d, NULL, BEND_ERR_PARSE, "tokenizer.json is not valid JSON");

    snprintf(d, sizeof d, "%s/empty", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "vocab.txt", "");
    expect_open_error(d, NULL, BEND_ERR_PARSE, "vocab.txt is empty");
    bend_tokenizer_options kmer = {"kmer", 3};
    expect_open_error(d, &kmer, BEND_ERR_PARSE, "vocab.txt is empty");
    bend_tokenizer_options nt = {"nt6", 0};
    expect_open_error(d, &nt, BEND_ERR_PARSE, "vocab.txt is empty");

    snprintf(d, sizeof d, "%s/nothing", base);
    assert_int_equal(mkdir(d, 0755), 0);
    expect_open_error(d, NULL, BEND_ERR_IO, "no tokenizer files");
    bend_tokenizer_options bpe = {"bpe", 0};
    expect_open_error(d, &bpe, BEND_ERR_IO, "tokenizer.json not found");
    expect_open_error(d, &kmer, BEND_ERR_IO, "vocab.txt not found");

    snprintf(d, sizeof d, "%s/unsupported", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "tokenizer.json",
                    "{\"normalizer\": {\"type\": \"Precompiled\"}, \"model\": {\"type\": \"BPE\", "
                    "\"vocab\": {\"A\": 0}, \"merges\": []}}");
    expect_open_error(d, NULL, BEND_ERR_UNSUPPORTED, "Precompiled");

    snprintf(d, sizeof d, "%s/badmerge", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "tokenizer.json",
                    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"A\": 0, \"C\": 1}, "
                    "\"merges\": [\"A C\"]}}");
    expect_open_error(d, NULL, BEND_ERR_PARSE, "not in model.vocab");

    snprintf(d, sizeof d, "%s/badregex", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "tokenizer.json",
                    "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?<=A)C\"}, "
                    "\"behavior\": \"Isolated\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"A\": 0}, "
                    "\"merges\": []}}");
    expect_open_error(d, NULL, BEND_ERR_UNSUPPORTED, "regex");

    snprintf(d, sizeof d, "%s/notadir", base);
    test_write_file(base, "notadir", "x");
    expect_open_error(d, NULL, BEND_ERR_IO, "not a directory");
    expect_open_error(NULL, NULL, BEND_ERR_INVALID, "no model directory");

    /* a vocab.txt of only special tokens: no k to be found */
    snprintf(d, sizeof d, "%s/onlyspecials", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    bend_tokenizer_options k0 = {"kmer", 0};
    expect_open_error(d, &k0, BEND_ERR_INVALID, "cannot tell k");

    /* a BPE whose unk_token is missing from the vocabulary fails when it is needed */
    snprintf(d, sizeof d, "%s/nounk", base);
    assert_int_equal(mkdir(d, 0755), 0);
    test_write_file(d, "tokenizer.json",
                    "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"[UNK]\", "
                    "\"vocab\": {\"A\": 0}, \"merges\": []}}");
    bend_tokenizer *t = NULL;
    bend_error err = {0};
    assert_int_equal(bend_tokenizer_open(d, NULL, &t, &err), BEND_OK);
    bend_token_seq q = {0};
    assert_int_equal(bend_tokenizer_encode(t, "AAA", 3, true, &q, &err), BEND_OK);
    assert_int_equal(q.n, 3);
    bend_token_seq_free(&q);
    assert_int_equal(bend_tokenizer_encode(t, "AXA", 3, true, &q, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unk_token"));
    assert_int_equal(q.n, 0);
    assert_int_equal(bend_tokenizer_encode(t, NULL, 3, true, &q, &err), BEND_ERR_INVALID);
    assert_int_equal(bend_tokenizer_encode(t, NULL, 0, true, &q, &err), BEND_OK);
    assert_int_equal(q.n, 0);
    bend_tokenizer_close(t);
    bend_tokenizer_close(NULL);
    bend_token_seq_free(NULL);
}

/* ---- main ------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    if (test_fixture_path("tokenizers", fixtures, sizeof fixtures)) return -1;
    char path[8192];
    snprintf(path, sizeof path, "%s/expected.json", fixtures);
    json_error_t je;
    expected = json_load_file(path, 0, &je);
    if (!expected) {
        fprintf(stderr, "%s: %s (line %d)\n", path, je.text, je.line);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(expected);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_complete),
        cmocka_unit_test(test_dnabert3),
        cmocka_unit_test(test_dnabert4),
        cmocka_unit_test(test_dnabert5),
        cmocka_unit_test(test_dnabert6),
        cmocka_unit_test(test_nt_v1),
        cmocka_unit_test(test_nt_v2),
        cmocka_unit_test(test_dnabert2_bpe),
        cmocka_unit_test(test_gena_bpe),
        cmocka_unit_test(test_bytelevel_bpe),
        cmocka_unit_test(test_charlevel),
        cmocka_unit_test(test_grover),
        cmocka_unit_test(test_hyenadna),
        cmocka_unit_test(test_caduceus),
        cmocka_unit_test(test_forced_kinds),
        cmocka_unit_test(test_trie),
        cmocka_unit_test(test_long_bpe_word_is_fast),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
