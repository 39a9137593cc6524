/* BEND's windowing, special-token removal and upsampling, per model family, as a plan:
 *   windows  the token-id sequences the model runs on, each independently (positions restart);
 *   row_src  for every output row, which token vector of the concatenated window outputs it is.
 * So `rows[r] = outputs[row_src[r]]` (bend_window_gather) is the whole of BEND's chunk assembly,
 * CLS/SEP dropping and repeat-upsampling, and n_rows is known before the model runs (what the
 * store needs to place samples). A plan whose row count differs from the sequence length when
 * upsampling is a sample BEND would not store: `skip` says why, and the caller reports it.
 *
 * What each scheme does is BEND's code (bend/utils/embedders.py at ac6e80c), not its README:
 *   dnabert   k-mers of the whole sequence with [CLS]/[SEP], id row cut into 512-id windows (no
 *             specials added inside); upsampling repeats edge k-mers as the code does:
 *             k=3 [e0,E,eL] k=4 [e0,E,eL,eL] k=5 [e0,E,e0,eL,eL] k=6 [e0,E,e0,eL,eL,eL]
 *   nt        sequence cut into pieces of piece_nucleotides, each tokenized with <cls>; a piece of
 *             more than max_tokens ids runs as max_tokens-id windows; each token repeated
 *             len(token) times (<unk> counts 5), the <cls> row dropped per piece
 *   dnabert2  10,000-nt pieces, each [CLS] .. [SEP] in one window; [UNK] repeated once, other
 *             tokens len(token) times; inner CLS/SEP rows dropped between pieces, then the ends
 *   gena      the whole sequence tokenized once; its tokens cut into max_tokens chunks, each run
 *             as [CLS] chunk [SEP]; every token (incl. [UNK]) repeated len(token) times
 *   grover    MaxMatch tokens cut into max_tokens chunks, each [CLS] chunk [SEP]; upsampled per
 *             window ([UNK] once), inner CLS/SEP dropped, then the ends
 *   hyenadna  pieces of piece_nucleotides, each [CLS] .. [SEP]; both dropped per piece
 *   caduceus  pieces of piece_nucleotides without special tokens
 *   whole     the whole sequence as one window, rows = tokens (AWD-LSTM, ResNet-LM, GPN) */
#ifndef BEND_MODELS_WINDOWS_H
#define BEND_MODELS_WINDOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tokenize/tokenizer.h"

typedef enum bend_window_scheme {
    BEND_SCHEME_DNABERT,
    BEND_SCHEME_NT,
    BEND_SCHEME_DNABERT2,
    BEND_SCHEME_GENA,
    BEND_SCHEME_GROVER,
    BEND_SCHEME_HYENADNA,
    BEND_SCHEME_CADUCEUS,
    BEND_SCHEME_WHOLE,
} bend_window_scheme;

typedef struct bend_window_rules {
    bend_window_scheme scheme;
    int kmer;                  /* dnabert: 3..6 */
    int64_t piece_nucleotides; /* nt 5994 (v1) / 12282 (v2); dnabert2 10000; hyenadna max_length; caduceus 131072 */
    int64_t max_tokens;        /* dnabert 512; nt 1000 (v1) / 2048 (v2); gena 510 (4094 bigbird); grover 510 */
    bool upsample;             /* upsample_embeddings */
    bool remove_special_tokens;
} bend_window_rules;

/* BEND's rules for a family (the `family` names of configs/models/), with upsampling and
 * special-token removal as BEND's pipeline uses them. Variant: "v2" for NT v2, "bigbird" for
 * GENA-LM BigBird, the HyenaDNA max_length, DNABERT's k: pass through the returned struct. */
bend_status bend_window_rules_for_family(const char *family, bend_window_rules *out, bend_error *err);

typedef struct bend_window_plan {
    size_t n_windows;
    size_t *window_start; /* n_windows + 1 offsets into ids */
    int32_t *ids;
    int64_t n_outputs;    /* total tokens over all windows */
    int64_t n_rows;
    int64_t *row_src;     /* n_rows indices into the concatenated window outputs */
    char skip[256];       /* non-empty: BEND would drop this sample, and why */
} bend_window_plan;

bend_status bend_window_plan_make(const bend_window_rules *rules, bend_tokenizer *tok,
                                  const char *seq, size_t len, bend_window_plan *out,
                                  bend_error *err);
void bend_window_plan_free(bend_window_plan *p);

/* rows[r][:] = outputs[row_src[r]][:] for dim floats per row (the CPU reference of upsampling). */
void bend_window_gather(const bend_window_plan *p, const float *outputs, int64_t dim, float *rows);

#endif
