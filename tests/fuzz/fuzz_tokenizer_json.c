// FUZZ-SOURCES: src/tokenize/tokenizer.c src/tokenize/vocab.c src/tokenize/tok_bpe.c src/tokenize/tok_hf_regex.c src/tokenize/tok_hf_normalize.c src/tokenize/tok_hf_pretokenize.c src/tokenize/tok_hf_model.c src/tokenize/tok_hf_post.c src/tokenize/tok_hf_added.c src/tokenize/tok_char.c src/tokenize/tok_kmer.c src/tokenize/tok_maxmatch.c src/tokenize/tok_nt6.c src/core/error.c src/core/path.c
// FUZZ-PKGS: jansson
/* Tokenizer files from untrusted bytes: the input is written to a scratch checkpoint directory as
 * tokenizer.json (when it starts like JSON) or as vocab.txt (otherwise; then opened by detection,
 * as nt6 or as char depending on its length), opened, and when it opens, a few sequences are
 * encoded (DNA, an N run, lower case, special-token text, punctuation and whitespace, a long word,
 * the input's own first bytes) and every id is looked up. Nothing may crash, leak or hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenize/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], json_path[300], vocab_path[300];

static int write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(data, 1, size, fp);
    return fclose(fp) || w != size ? -1 : 0;
}

static void encode_all(bend_tokenizer *t, const char *s, size_t n)
{
    for (int add = 0; add < 2; add++) {
        bend_token_seq q = {0};
        bend_error err;
        if (bend_tokenizer_encode(t, s, n, add, &q, &err) == BEND_OK) {
            for (size_t i = 0; i < q.n; i++) {
                (void)bend_tokenizer_token(t, q.ids[i]);
                if (q.span_start[i] > q.span_end[i] || q.span_end[i] > (int64_t)n) {
                    /* spans must stay inside the input */
                    fprintf(stderr, "bad span [%lld, %lld) for input of %zu\n",
                            (long long)q.span_start[i], (long long)q.span_end[i], n);
                    abort();
                }
            }
        }
        bend_token_seq_free(&q);
    }
}

static void cleanup(void)
{
    unlink(json_path);
    unlink(vocab_path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_tokenizer_json.XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(cleanup);
        snprintf(json_path, sizeof json_path, "%s/tokenizer.json", dir);
        snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", dir);
    }
    unlink(json_path);
    unlink(vocab_path);
    size_t k = 0;
    while (k < size && (data[k] == ' ' || data[k] == '\n' || data[k] == '\t')) k++;
    bool as_json = k < size && (data[k] == '{' || data[k] == '[');
    if (write_file(as_json ? json_path : vocab_path, data, size)) return 0;
    bend_tokenizer_options opts = {NULL, 0};
    if (!as_json && size % 3 == 1) opts.kind = "nt6";
    if (!as_json && size % 3 == 2) opts.kind = "char";
    bend_tokenizer *t = NULL;
    bend_error err;
    if (bend_tokenizer_open(dir, &opts, &t, &err) == BEND_OK) {
        static const char *const seqs[] = {
            "ACGTACGTAC", "", "ACGTNNNNNNNNNNNNACGTTTGCA", "acgtACGTnnacGT",
            "AC [MASK]GT<cls>ACGTAC[UNK]A<unk>", "ACG-TACGT.AC", " ACGT ACG  T \t\r\n", "A",
            "\xc3\xa9\xe4\xb8\xad\xff\xfe ACGT \xe2\x80\xa8 x_y",
        };
        for (size_t i = 0; i < sizeof seqs / sizeof *seqs; i++) encode_all(t, seqs[i], strlen(seqs[i]));
        char long_word[3000];
        for (size_t i = 0; i < sizeof long_word; i++) long_word[i] = "ACGTN"[(i * 7 + i / 13) % 5];
        encode_all(t, long_word, sizeof long_word);
        encode_all(t, (const char *)data, size < 64 ? size : 64);
        size_t vs = bend_tokenizer_vocab_size(t);
        for (size_t i = 0; i < vs && i < 70000; i++) (void)bend_tokenizer_token(t, (int32_t)i);
        static const char *const roles[] = {"cls", "sep", "eos", "bos", "unk", "pad", "mask", "x"};
        for (size_t i = 0; i < sizeof roles / sizeof *roles; i++) (void)bend_tokenizer_special(t, roles[i]);
        (void)bend_tokenizer_kind(t);
        bend_tokenizer_close(t);
    }
    return 0;
}
