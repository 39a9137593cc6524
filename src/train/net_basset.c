/* BEND's Basset (bend/models/basset.py) on channels-last rows: three stages of
 * Conv1d('same') -> BatchNorm1d -> ReLU -> MaxPool(p, p), a channel-major flatten (feature
 * c * Lf + l, as torch flattens [B, C, Lf]), then Linear -> ReLU -> Dropout -> Linear ->
 * Dropout -> Linear (no ReLU after the second Linear, as in BEND). */
#include <string.h>

#include "train/layers.h"
#include "train/net_internal.h"

#define FB(id, count) ((float *)bend_net_buf(&net->bufs[id], (size_t)(count) * sizeof(float)))

static const int64_t ch[3] = {300, 200, 200}, ks[3] = {19, 11, 7}, pool[3] = {3, 4, 4};

static void dropout_mask(bend_net *net, float *mask, int64_t n, bool train)
{
    double p = train && !net->spec.disable_dropout ? 0.3 : 0.0;
    float keep = (float)(1.0 / (1.0 - p));
    for (int64_t i = 0; i < n; i++)
        mask[i] = p > 0 && bend_rng_uniform(&net->rng) < p ? 0.0f : keep;
}

bend_status bend_net_basset_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                    bool train, const float **z, bend_error *err)
{
    bend_net_basset *bs = &net->basset;
    bend_param *p = net->params + bs->p0;
    if (L != bs->L0)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: Basset was built for input length %lld, got %lld",
                         (long long)bs->L0, (long long)L);
    bs->B = B;
    const float *in = x;
    int64_t cin = net->spec.input_size;
    float *stat = FB(BUF_B_STAT, 2 * 3 * 300);
    if (!stat) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory");
    for (int s = 0; s < 3; s++) {
        int64_t len = bs->len[s], C = ch[s], K = ks[s], lo = len / pool[s];
        float *wk = FB(BUF_B_WK0 + s, K * C * cin), *a = FB(BUF_B_A0 + s, B * len * C);
        float *y = FB(BUF_B_Y0 + s, B * len * C), *m = FB(BUF_B_M0 + s, B * lo * C);
        int32_t *arg = bend_net_buf(&net->bufs[BUF_B_ARG0 + s],
                                    (size_t)(B * lo * C) * sizeof(int32_t));
        if (!wk || !a || !y || !m || !arg)
            return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for Basset (batch %lld)",
                             (long long)B);
        bend_param *q = p + 7 * s;
        bool ok = true;
        float *col = bend_net_col(net, bend_conv1d_col_size(len, cin, K), &ok);
        if (!ok) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for Basset's conv");
        bend_conv1d_pack(q[0].value, C, cin, K, wk);
        for (int64_t b = 0; b < B; b++)
            bend_conv1d_forward(in + b * len * cin, len, cin, wk, q[1].value, C, K, 1, (K - 1) / 2,
                                a + b * len * C, len, col);
        bend_batchnorm_forward(a, B * len, C, q[2].value, q[3].value, q[4].value, q[5].value,
                               train, y, stat + 600 * s, stat + 600 * s + 300);
        if (train) q[6].value[0] += 1.0f;
        for (int64_t b = 0; b < B; b++)
            bend_maxpool_relu_forward(y + b * len * C, len, C, pool[s], m + b * lo * C,
                                      arg + b * lo * C);
        in = m;
        cin = C;
    }
    int64_t Lf = bs->Lf, F = bs->nfeat, O = net->spec.output_size;
    float *f = FB(BUF_B_F, B * F), *z1 = FB(BUF_B_Z1, B * 1000), *h1 = FB(BUF_B_H1, B * 1000);
    float *z2 = FB(BUF_B_Z2, B * 1000), *h2 = FB(BUF_B_H2, B * 1000), *z3 = FB(BUF_B_Z3, B * O);
    float *mask1 = FB(BUF_B_MASK1, B * 1000), *mask2 = FB(BUF_B_MASK2, B * 1000);
    if (!f || !z1 || !h1 || !z2 || !h2 || !z3 || !mask1 || !mask2)
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for Basset's classifier");
    for (int64_t b = 0; b < B; b++)
        for (int64_t l = 0; l < Lf; l++)
            for (int64_t c = 0; c < cin; c++) f[b * F + c * Lf + l] = in[(b * Lf + l) * cin + c];
    dropout_mask(net, mask1, B * 1000, train);
    dropout_mask(net, mask2, B * 1000, train);
    bend_linear_forward(f, B, F, p[21].value, p[22].value, 1000, z1);
    for (int64_t i = 0; i < B * 1000; i++) h1[i] = (z1[i] > 0 ? z1[i] : 0.0f) * mask1[i];
    bend_linear_forward(h1, B, 1000, p[23].value, p[24].value, 1000, z2);
    for (int64_t i = 0; i < B * 1000; i++) h2[i] = z2[i] * mask2[i];
    bend_linear_forward(h2, B, 1000, p[25].value, p[26].value, O, z3);
    *z = z3;
    return BEND_OK;
}

bend_status bend_net_basset_backward(bend_net *net, const float *dz, bend_error *err)
{
    bend_net_basset *bs = &net->basset;
    bend_param *p = net->params + bs->p0;
    int64_t B = bs->B, Lf = bs->Lf, F = bs->nfeat, O = net->spec.output_size;
    float *f = net->bufs[BUF_B_F].p, *z1 = net->bufs[BUF_B_Z1].p, *h1 = net->bufs[BUF_B_H1].p;
    float *h2 = net->bufs[BUF_B_H2].p;
    float *mask1 = net->bufs[BUF_B_MASK1].p, *mask2 = net->bufs[BUF_B_MASK2].p;
    float *stat = net->bufs[BUF_B_STAT].p;
    float *d1 = FB(BUF_B_D1, B * 1000), *d2 = FB(BUF_B_D2, B * 1000);
    float *df = FB(BUF_B_DM, B * F);
    int64_t most = B * bs->len[0] * ch[0];
    float *dy = FB(BUF_B_DY, most), *da = FB(BUF_B_DA, most);
    float *dprev = FB(BUF_B_DPREV, B * bs->len[1] * ch[0]);
    if (!d1 || !d2 || !df || !dy || !da || !dprev)
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for Basset's backward");
    bend_linear_backward(h2, B, 1000, p[25].value, dz, O, p[25].grad, p[26].grad, d2);
    for (int64_t i = 0; i < B * 1000; i++) d2[i] *= mask2[i];
    bend_linear_backward(h1, B, 1000, p[23].value, d2, 1000, p[23].grad, p[24].grad, d1);
    for (int64_t i = 0; i < B * 1000; i++) d1[i] = z1[i] > 0 ? d1[i] * mask1[i] : 0.0f;
    bend_linear_backward(f, B, F, p[21].value, d1, 1000, p[21].grad, p[22].grad, df);
    /* un-flatten into the last stage's pooled rows, reusing dprev */
    int64_t C3 = ch[2];
    float *dpool = dprev;
    for (int64_t b = 0; b < B; b++)
        for (int64_t l = 0; l < Lf; l++)
            for (int64_t c = 0; c < C3; c++) dpool[(b * Lf + l) * C3 + c] = df[b * F + c * Lf + l];
    for (int s = 2; s >= 0; s--) {
        int64_t len = bs->len[s], C = ch[s], K = ks[s], lo = len / pool[s];
        int64_t cin = s ? ch[s - 1] : net->spec.input_size;
        bend_param *q = p + 7 * s;
        const float *a = net->bufs[BUF_B_A0 + s].p, *y = net->bufs[BUF_B_Y0 + s].p;
        const int32_t *arg = net->bufs[BUF_B_ARG0 + s].p;
        const float *wk = net->bufs[BUF_B_WK0 + s].p;
        const float *in = s ? (const float *)net->bufs[BUF_B_M0 + s - 1].p : net->x;
        for (int64_t b = 0; b < B; b++)
            bend_maxpool_relu_backward(y + b * len * C, dpool + b * lo * C, arg + b * lo * C, len,
                                       C, pool[s], dy + b * len * C);
        bend_batchnorm_backward(a, dy, B * len, C, q[2].value, stat + 600 * s,
                                stat + 600 * s + 300, q[2].grad, q[3].grad, da);
        float *dwk = FB(BUF_B_DWK0 + s, K * C * cin);
        bool ok = true;
        float *col = bend_net_col(net, bend_conv1d_col_size(len, cin, K), &ok);
        if (!dwk || !ok) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory");
        memset(dwk, 0, (size_t)(K * C * cin) * sizeof *dwk);
        /* the gradient of this stage's input is the previous stage's pooled gradient */
        if (s) memset(dprev, 0, (size_t)(B * len * cin) * sizeof *dprev);
        for (int64_t b = 0; b < B; b++)
            bend_conv1d_backward(in + b * len * cin, len, cin, wk, da + b * len * C, C, K, 1,
                                 (K - 1) / 2, len, dwk, q[1].grad,
                                 s ? dprev + b * len * cin : NULL, col);
        bend_conv1d_unpack_add(dwk, C, cin, K, q[0].grad);
        dpool = dprev;
    }
    return BEND_OK;
}
