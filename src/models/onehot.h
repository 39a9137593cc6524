/* BEND's OneHotEmbedder (sklearn LabelEncoder over A, C, G, N, T): channel A=0, C=1, G=2, N=3,
 * T=4, one 5-dim row per nucleotide. Lower case counts as upper case. Any other letter (IUPAC
 * ambiguity codes such as R or Y, which GRCh38 contains a few of) becomes N: BEND's encoder would
 * stop the whole job with "previously unseen labels"; bend instead follows the rule BEND applies
 * on the reverse strand (non-ACGT -> N) and counts these letters in the run's summary. */
#ifndef BEND_MODELS_ONEHOT_H
#define BEND_MODELS_ONEHOT_H

#include "models/embedder.h"

enum { BEND_ONEHOT_DIM = 5 };

bend_status bend_onehot_open(const bend_config *cfg, const char *model, const bend_device *dev,
                             bend_embedder **out, bend_error *err);

/* The channel of one letter (0..4), per the rule above. */
int bend_onehot_channel(char c);

#endif
