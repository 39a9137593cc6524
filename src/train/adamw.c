/* torch.optim.AdamW's single-tensor path (what CPU tensors use), operation by operation in
 * float32 with the scalars computed in double as Python does, so a step rounds as torch's:
 *   p *= 1 - lr wd;  m = m + (1 - b1)(g - m)  (lerp);  v = v b2 + (1 - b2) g g;
 *   p += (-lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>

struct bend_adamw {
    bend_adamw_config cfg;
    int n;
    int64_t step;
    float **m, **v; /* NULL for buffers */
};

bend_status bend_adamw_create(const bend_adamw_config *cfg, const bend_param *params, int n,
                              bend_adamw **out, bend_error *err)
{
    *out = NULL;
    bend_adamw *o = calloc(1, sizeof *o);
    if (!o) return bend_fail(err, BEND_ERR_NOMEM, "adamw: out of memory");
    o->cfg = *cfg;
    o->n = n;
    o->m = calloc((size_t)(n > 0 ? n : 1), sizeof *o->m);
    o->v = calloc((size_t)(n > 0 ? n : 1), sizeof *o->v);
    if (!o->m || !o->v) {
        bend_adamw_free(o);
        return bend_fail(err, BEND_ERR_NOMEM, "adamw: out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (params[i].is_buffer) continue;
        o->m[i] = calloc((size_t)params[i].numel, sizeof(float));
        o->v[i] = calloc((size_t)params[i].numel, sizeof(float));
        if (!o->m[i] || !o->v[i]) {
            bend_adamw_free(o);
            return bend_fail(err, BEND_ERR_NOMEM, "adamw: out of memory for the state of %s",
                             params[i].name);
        }
    }
    *out = o;
    return BEND_OK;
}

void bend_adamw_free(bend_adamw *opt)
{
    if (!opt) return;
    for (int i = 0; i < opt->n; i++) {
        if (opt->m) free(opt->m[i]);
        if (opt->v) free(opt->v[i]);
    }
    free(opt->m);
    free(opt->v);
    free(opt);
}

void bend_adamw_step(bend_adamw *opt, bend_param *params, int n)
{
    const bend_adamw_config *c = &opt->cfg;
    opt->step++;
    double step = (double)opt->step;
    float decay = (float)(1.0 - c->lr * c->weight_decay);
    float w1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2, w2 = (float)(1.0 - c->beta2);
    double bc1 = 1.0 - pow(c->beta1, step), bc2 = 1.0 - pow(c->beta2, step);
    float neg_step_size = (float)(-(c->lr / bc1));
    float bc2_sqrt = (float)sqrt(bc2), eps = (float)c->eps;
    if (n > opt->n) n = opt->n;
    for (int i = 0; i < n; i++) {
        bend_param *p = &params[i];
        float *m = opt->m[i], *v = opt->v[i], *x = p->value;
        const float *g = p->grad;
        if (p->is_buffer || !m || !g) continue;
        for (int64_t k = 0; k < p->numel; k++) {
            x[k] = x[k] * decay;
            m[k] = m[k] + w1 * (g[k] - m[k]);
            v[k] = v[k] * b2 + w2 * g[k] * g[k];
            float denom = sqrtf(v[k]) / bc2_sqrt + eps;
            x[k] = x[k] + neg_step_size * m[k] / denom;
        }
    }
}

int64_t *bend_adamw_step_count(bend_adamw *opt)
{
    return &opt->step;
}

float *bend_adamw_exp_avg(bend_adamw *opt, int i)
{
    return i >= 0 && i < opt->n ? opt->m[i] : NULL;
}

float *bend_adamw_exp_avg_sq(bend_adamw *opt, int i)
{
    return i >= 0 && i < opt->n ? opt->v[i] : NULL;
}
