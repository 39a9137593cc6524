/* The tokenizers of BEND's language models, each returning token ids and, for every token, the
 * span of input nucleotides it covers (what upsampling uses):
 *   char       HyenaDNA / Caduceus CharacterTokenizer ids; BEND's ResNet-LM and AWD-LSTM tokenizers
 *   kmer       DNABERT overlapping k-mers (k = 3..6) looked up in vocab.txt
 *   nt6        Nucleotide Transformer 6-mers with single-nucleotide fallback (v1 and v2 vocabularies)
 *   bpe        Hugging Face BPE from tokenizer.json (DNABERT-2, GENA-LM)
 *   maxmatch   GROVER's MaxMatch over its vocab.txt (as BEND segments it)
 * Special tokens (CLS, SEP, EOS, UNK, PAD, MASK) keep the ids each model uses; their spans are
 * empty (start == end).
 *
 * Spans are byte offsets into the input ([start, end), equal to character offsets for ASCII); the
 * special tokens the tokenizer adds around the sequence have the span [0, 0) (as Hugging Face
 * reports their offsets), and special-token text found in the input keeps its span. For DNABERT
 * token i of a DNA sequence covers [i, i+k). The ids are exactly those of the upstream tokenizers
 * as BEND calls them (tests/fixtures/tokenizers); the sequence is tokenized as given (BEND
 * upper-cases sequences before tokenizing). Chunking into model windows is the embedder's job.
 * Detection rules and the supported tokenizer.json components: src/tokenize/tokenizer.c and
 * src/tokenize/tok_bpe.c. */
#ifndef BEND_TOKENIZE_TOKENIZER_H
#define BEND_TOKENIZE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct bend_tokenizer bend_tokenizer;

typedef struct bend_token_seq {
    size_t n;
    int32_t *ids;
    int64_t *span_start, *span_end; /* nucleotides [start, end) of the input; empty for specials */
} bend_token_seq;

typedef struct bend_tokenizer_options {
    const char *kind; /* "char", "kmer", "nt6", "bpe", "maxmatch"; NULL = detect from the files */
    int kmer;         /* DNABERT's k (3..6); 0 = from the directory's files */
} bend_tokenizer_options;

/* Reads the tokenizer files of a checkpoint directory (vocab.txt, tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json, ...). */
bend_status bend_tokenizer_open(const char *model_dir, const bend_tokenizer_options *opts,
                                bend_tokenizer **out, bend_error *err);
void bend_tokenizer_close(bend_tokenizer *t);

const char *bend_tokenizer_kind(const bend_tokenizer *t);
size_t bend_tokenizer_vocab_size(const bend_tokenizer *t);
const char *bend_tokenizer_token(const bend_tokenizer *t, int32_t id); /* NULL if out of range */
/* Id of a special token by role: "cls", "sep", "eos", "bos", "unk", "pad", "mask"; -1 if none. */
int32_t bend_tokenizer_special(const bend_tokenizer *t, const char *role);

/* Tokenizes seq[0..len). With add_special_tokens, the model's specials are added as its Hugging
 * Face tokenizer adds them (e.g. CLS ... SEP). out is overwritten (its previous arrays are not
 * freed; on failure it is left empty); free it with bend_token_seq_free. Encoding does not modify
 * the tokenizer, so one tokenizer may encode from several threads at once. */
bend_status bend_tokenizer_encode(bend_tokenizer *t, const char *seq, size_t len,
                                  bool add_special_tokens, bend_token_seq *out, bend_error *err);
void bend_token_seq_free(bend_token_seq *s);

#endif
