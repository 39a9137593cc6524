#include "models/onehot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t other_letters; /* letters outside ACGTN (either case) embedded as N */
} onehot_state;

int bend_onehot_channel(char c)
{
    switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 4;
    default: return 3; /* N, and every other letter */
    }
}

static bool is_acgtn(char c)
{
    return strchr("ACGTNacgtn", c) != NULL && c != '\0';
}

static bend_status onehot_embed(void *self, size_t n, const char *const *seqs, const int64_t *lens,
                                float *out, bend_error *err)
{
    (void)err;
    onehot_state *s = self;
    /* One-hot is a table lookup: it runs on the CPU whatever the device, as the bottleneck is
     * reading the FASTA and writing the store, not arithmetic. */
    for (size_t i = 0; i < n; i++) {
        const char *seq = seqs[i];
        memset(out, 0, (size_t)lens[i] * BEND_ONEHOT_DIM * sizeof *out);
        for (int64_t j = 0; j < lens[i]; j++) {
            out[j * BEND_ONEHOT_DIM + bend_onehot_channel(seq[j])] = 1.0f;
            if (!is_acgtn(seq[j])) s->other_letters++;
        }
        out += lens[i] * BEND_ONEHOT_DIM;
    }
    return BEND_OK;
}

static void onehot_summary(void *self, char *buf, size_t len)
{
    onehot_state *s = self;
    if (s->other_letters)
        snprintf(buf, len, "%lld letter%s other than A, C, G, T, N (IUPAC codes) %s embedded as N "
                 "(BEND's OneHotEmbedder stops with an error on these)",
                 (long long)s->other_letters, s->other_letters == 1 ? "" : "s",
                 s->other_letters == 1 ? "was" : "were");
}

static void onehot_destroy(void *self) { free(self); }

static const bend_embedder_ops onehot_ops = {
    .family = "onehot",
    .count_rows = NULL,
    .embed = onehot_embed,
    .summary = onehot_summary,
    .destroy = onehot_destroy,
};

bend_status bend_onehot_open(const bend_config *cfg, const char *model, const bend_device *dev,
                             bend_embedder **out, bend_error *err)
{
    (void)dev;
    char key[512];
    snprintf(key, sizeof key, "%s.embedding_dim", model);
    if (bend_config_has(cfg, key)) {
        int64_t dim = 0;
        bend_status st = bend_config_get_int(cfg, key, &dim, err);
        if (st) return st;
        if (dim != BEND_ONEHOT_DIM)
            return bend_fail(err, BEND_ERR_INVALID, "config key '%s' is %lld, but one-hot embeddings "
                             "have %d channels (A, C, G, N, T)", key, (long long)dim, BEND_ONEHOT_DIM);
    }
    onehot_state *s = calloc(1, sizeof *s);
    if (!s) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    return bend_embedder_wrap(&onehot_ops, s, BEND_ONEHOT_DIM, out, err);
}
