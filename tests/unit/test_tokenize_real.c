/* Tokenizers on the REAL released tokenizer files of BEND's models (tests/fixtures/tokenizers_real,
 * made by tools/reference/make_real_tokenizer_fixtures.py; provenance in each directory's SOURCE):
 * DNABERT k = 3..6 vocab.txt, DNABERT-2-117M tokenizer.json, GENA-LM t2t and GPN tokenizer.json. For
 * several hundred random DNA strings (N singles and runs, lower case, 1..3000 nt) re-made here,
 * the ids and spans with special tokens must match what transformers / tokenizers gave: the
 * token count and an FNV-1a digest per sequence, and the full lists for the first ones.
 * GENA's tokenizer.json (1.4 MB) and GPN's (only found in a GPL-3.0 repository) are not in the
 * repository: their tests run when $BEND_REAL_TOKENIZERS/<name>/ holds the release's files
 * (make_real_tokenizer_fixtures.py --external-copy writes them) and are skipped, saying so,
 * otherwise. */
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

#include "test_helpers.h"
#include "tokenize/tokenizer.h"

static json_t *expected;
static char fixtures[4096];

/* ---- the fixture's sequences (make_real_tokenizer_fixtures.real_sequence) -------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static char *real_sequence(uint64_t seed, uint64_t i, size_t *len)
{
    uint64_t st = seed * 1000003ull + i;
    size_t n = 1 + (size_t)(splitmix64(&st) % (i % 3 == 0 ? 3000 : 300));
    uint64_t flags = splitmix64(&st);
    int sporadic_lower = (flags & 3) == 0, all_lower = ((flags >> 4) & 7) == 0;
    unsigned n_mode = (unsigned)((flags >> 2) & 3);
    char *s = malloc(n + 1);
    assert_non_null(s);
    uint64_t run = 0;
    for (size_t p = 0; p < n; p++) {
        uint64_t z = splitmix64(&st);
        char c;
        if (run > 0) {
            c = 'N';
            run--;
        } else if (n_mode >= 2 && (z & 1023) < 3) {
            c = 'N';
            run = (z >> 10) % 25;
        } else if ((n_mode == 1 || n_mode == 3) && ((z >> 20) & 255) < 3) {
            c = 'N';
        } else {
            c = "ACGT"[z >> 62];
        }
        if (all_lower || (sporadic_lower && ((z >> 40) & 7) == 0)) c = (char)(c - 'A' + 'a');
        s[p] = c;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* FNV-1a 64 over the little-endian int32 triples (id, start, end) */
static uint64_t digest(const bend_token_seq *q)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t k = 0; k < q->n; k++) {
        int32_t v[3] = {q->ids[k], (int32_t)q->span_start[k], (int32_t)q->span_end[k]};
        for (int j = 0; j < 3; j++) {
            uint32_t u = (uint32_t)v[j];
            for (int b = 0; b < 4; b++) {
                h ^= (u >> (8 * b)) & 0xFF;
                h *= 0x100000001B3ull;
            }
        }
    }
    return h;
}

/* ---- one tokenizer --------------------------------------------------------------------------- */

static void check_full(const char *name, size_t i, const bend_token_seq *q, json_t *full)
{
    json_t *ids = json_object_get(full, "ids"), *spans = json_object_get(full, "spans");
    for (size_t k = 0; k < q->n && k < json_array_size(ids); k++) {
        json_t *sp = json_array_get(spans, k);
        int32_t wid = (int32_t)json_integer_value(json_array_get(ids, k));
        int64_t ws = json_integer_value(json_array_get(sp, 0));
        int64_t we = json_integer_value(json_array_get(sp, 1));
        if (q->ids[k] != wid || q->span_start[k] != ws || q->span_end[k] != we)
            fail_msg("%s seq %zu token %zu: id %d [%lld, %lld), expected id %d [%lld, %lld)", name,
                     i, k, q->ids[k], (long long)q->span_start[k], (long long)q->span_end[k], wid,
                     (long long)ws, (long long)we);
    }
    if (q->n != json_array_size(ids))
        fail_msg("%s seq %zu: %zu tokens, expected %zu", name, i, q->n, json_array_size(ids));
}

/* the full record of sequence i, if the fixture has one */
static void check_full_at(const char *name, size_t i, const bend_token_seq *q, json_t *full)
{
    size_t k;
    json_t *f;
    json_array_foreach(full, k, f) {
        if ((size_t)json_integer_value(json_object_get(f, "index")) == i) check_full(name, i, q, f);
    }
}

static void check_tokenizer(const char *name, const char *dir)
{
    json_t *entry = json_object_get(json_object_get(expected, "tokenizers"), name);
    if (!entry) fail_msg("expected.json has no tokenizer %s", name);
    bend_tokenizer *t = NULL;
    bend_error err = {0};
    if (bend_tokenizer_open(dir, NULL, &t, &err)) fail_msg("opening %s: %s", dir, err.msg);
    const char *kind = json_string_value(json_object_get(entry, "kind"));
    if (strcmp(bend_tokenizer_kind(t), kind))
        fail_msg("%s: detected kind %s, expected %s", name, bend_tokenizer_kind(t), kind);
    size_t vs = (size_t)json_integer_value(json_object_get(entry, "vocab_size"));
    if (bend_tokenizer_vocab_size(t) != vs)
        fail_msg("%s: vocab size %zu, expected %zu", name, bend_tokenizer_vocab_size(t), vs);

    json_t *seqs = json_object_get(expected, "sequences");
    uint64_t seed = (uint64_t)json_integer_value(json_object_get(seqs, "seed"));
    size_t count = (size_t)json_integer_value(json_object_get(seqs, "count"));
    json_t *n_tokens = json_object_get(entry, "n_tokens"), *digests = json_object_get(entry, "digest");
    json_t *full = json_object_get(entry, "full");
    assert_int_equal(json_array_size(n_tokens), count);
    assert_int_equal(json_array_size(digests), count);
    size_t chars = 0, mismatches = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = 0;
        char *s = real_sequence(seed, i, &n);
        chars += n;
        bend_token_seq q = {0};
        if (bend_tokenizer_encode(t, s, n, true, &q, &err))
            fail_msg("%s seq %zu: encoding failed: %s", name, i, err.msg);
        check_full_at(name, i, &q, full);
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest(&q));
        size_t wn = (size_t)json_integer_value(json_array_get(n_tokens, i));
        const char *wd = json_string_value(json_array_get(digests, i));
        if (q.n != wn || strcmp(hex, wd)) {
            if (mismatches++ < 5)
                fprintf(stderr, "%s seq %zu (%zu nt): %zu tokens digest %s, expected %zu / %s\n",
                        name, i, n, q.n, hex, wn, wd);
        }
        bend_token_seq_free(&q);
        free(s);
    }
    /* the generator's sequences, not some others: the total length is recorded */
    assert_int_equal(chars, (size_t)json_integer_value(json_object_get(seqs, "n_chars")));
    if (mismatches) fail_msg("%s: %zu of %zu sequences differ from the reference", name, mismatches, count);
    bend_tokenizer_close(t);
}

static void in_fixture(const char *name)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/%s", fixtures, name);
    check_tokenizer(name, dir);
}

static void test_dnabert3(void **state) { (void)state; in_fixture("dnabert3"); }
static void test_dnabert4(void **state) { (void)state; in_fixture("dnabert4"); }
static void test_dnabert5(void **state) { (void)state; in_fixture("dnabert5"); }
static void test_dnabert6(void **state) { (void)state; in_fixture("dnabert6"); }
/* the GitHub repository's tokenizer_config.json says do_lower_case true: every k-mer is [UNK] */
static void test_dnabert6_repo_config(void **state) { (void)state; in_fixture("dnabert6_repo_config"); }
static void test_dnabert2(void **state) { (void)state; in_fixture("dnabert2"); }

/* tokenizers whose files are not in the repository (see their SOURCE) */
static void external(const char *name, const char *what)
{
    const char *base = getenv("BEND_REAL_TOKENIZERS");
    char dir[8192], file[8300];
    snprintf(dir, sizeof dir, "%s/%s", base && *base ? base : "", name);
    snprintf(file, sizeof file, "%s/tokenizer.json", dir);
    struct stat st;
    if (!base || !*base || stat(file, &st)) {
        fprintf(stderr, "SKIPPED %s: %s is not in the repository and not at "
                        "$BEND_REAL_TOKENIZERS/%s/ (see tests/fixtures/tokenizers_real/%s/SOURCE)\n",
                name, what, name, name);
        skip();
    }
    check_tokenizer(name, dir);
}

static void test_gena_t2t(void **state)
{
    (void)state;
    external("gena_t2t", "GENA-LM's t2t tokenizer.json (1.4 MB)");
}

static void test_gpn(void **state)
{
    (void)state;
    external("gpn", "GPN's tokenizer (songlab/tokenizer-dna-mlm, copy in a GPL-3.0 repository)");
}

static int setup(void **state)
{
    (void)state;
    if (test_fixture_path("tokenizers_real", fixtures, sizeof fixtures)) return -1;
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
        cmocka_unit_test(test_dnabert3), cmocka_unit_test(test_dnabert4),
        cmocka_unit_test(test_dnabert5), cmocka_unit_test(test_dnabert6),
        cmocka_unit_test(test_dnabert6_repo_config), cmocka_unit_test(test_dnabert2),
        cmocka_unit_test(test_gena_t2t), cmocka_unit_test(test_gpn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
