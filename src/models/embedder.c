#include "models/embedder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_embedder.h"
#include "models/onehot.h"

struct bend_embedder {
    const bend_embedder_ops *ops;
    void *self;
    int64_t dim;
};

/* Every family bend knows. Those without an opener are in BEND's list but not built yet: asking
 * for one is a clear error, not a crash. */
static const struct {
    const char *family;
    bend_embedder_opener open;
} families[] = {
    {"onehot", bend_onehot_open},
    {"dnabert", bend_lm_embedder_open},
    {"dnabert2", bend_lm_embedder_open},
    {"nucleotide_transformer", bend_lm_embedder_open},
    {"gena_lm", bend_lm_embedder_open},
    {"grover", bend_lm_embedder_open},
    {"hyenadna", bend_lm_embedder_open},
    {"awdlstm", bend_lm_embedder_open},
    {"resnetlm", bend_lm_embedder_open},
    {"gpn", NULL},
    {"caduceus", bend_lm_embedder_open},
};

bend_status bend_embedder_open(const bend_config *cfg, const char *model, const bend_device *dev,
                               bend_embedder **out, bend_error *err)
{
    *out = NULL;
    char key[512], *family = NULL;
    snprintf(key, sizeof key, "%s.family", model);
    bend_status st = bend_config_get_str(cfg, key, &family, err);
    if (st) return st;
    if (!family) return bend_fail(err, BEND_ERR_INVALID, "config key '%s' is null; it names the model family", key);
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        if (strcmp(families[i].family, family)) continue;
        free(family);
        if (!families[i].open)
            return bend_fail(err, BEND_ERR_UNSUPPORTED,
                             "model '%s' (family %s) is not available in this version of bend yet; "
                             "available families: onehot, dnabert, dnabert2, nucleotide_transformer, gena_lm, grover, "
                             "hyenadna, awdlstm, resnetlm, caduceus", model, families[i].family);
        return families[i].open(cfg, model, dev, out, err);
    }
    st = bend_fail(err, BEND_ERR_INVALID, "config key '%s': unknown model family '%s'", key, family);
    free(family);
    return st;
}

bend_status bend_embedder_wrap(const bend_embedder_ops *ops, void *self, int64_t dim,
                               bend_embedder **out, bend_error *err)
{
    *out = NULL;
    bend_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        if (ops->destroy) ops->destroy(self);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    e->ops = ops;
    e->self = self;
    e->dim = dim;
    *out = e;
    return BEND_OK;
}

void bend_embedder_close(bend_embedder *e)
{
    if (!e) return;
    if (e->ops->destroy) e->ops->destroy(e->self);
    free(e);
}

int64_t bend_embedder_dim(const bend_embedder *e) { return e->dim; }
const char *bend_embedder_family(const bend_embedder *e) { return e->ops->family; }
bool bend_embedder_one_row_per_nucleotide(const bend_embedder *e) { return !e->ops->count_rows; }

bend_status bend_embedder_count_rows(bend_embedder *e, const char *seq, int64_t len, int64_t *rows,
                                     char *skip, size_t skip_len, bend_error *err)
{
    if (skip_len) skip[0] = '\0';
    if (!e->ops->count_rows) {
        *rows = len;
        return BEND_OK;
    }
    return e->ops->count_rows(e->self, seq, len, rows, skip, skip_len, err);
}

bend_status bend_embedder_embed(bend_embedder *e, size_t n, const char *const *seqs,
                                const int64_t *lens, float *out, bend_error *err)
{
    return e->ops->embed(e->self, n, seqs, lens, out, err);
}

void bend_embedder_summary(bend_embedder *e, char *buf, size_t len)
{
    buf[0] = '\0';
    if (e->ops->summary) e->ops->summary(e->self, buf, len);
}
