/* BEND's downstream CNN (bend/models/downstream.py::CNN) on channels-last rows:
 * conv1 (k, padding 1) -> GELU -> conv2 (k, padding 1) -> GELU -> [AvgPool(w, w)] -> Linear.
 * Also the head of the supervised ResNet. */
#include <string.h>

#include "train/layers.h"
#include "train/net_internal.h"

#define FB(id, count) ((float *)bend_net_buf(&net->bufs[id], (size_t)(count) * sizeof(float)))

/* im2col workspaces of conv1 and conv2 (one shared buffer; NULL where a conv wants none) */
static bool head_cols(bend_net *net, float **col1, float **col2)
{
    bend_net_head *h = &net->head;
    int64_t n1 = bend_conv1d_col_size(h->L1, h->din, h->K);
    int64_t n2 = bend_conv1d_col_size(h->L2, h->H, h->K);
    bool ok = true;
    float *ws = bend_net_col(net, n1 > n2 ? n1 : n2, &ok);
    *col1 = n1 ? ws : NULL;
    *col2 = n2 ? ws : NULL;
    return ok;
}

bend_status bend_net_head_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                  const float **z, bend_error *err)
{
    bend_net_head *h = &net->head;
    const bend_param *p = net->params + h->p0;
    /* nn.Conv1d(..., padding=1) whatever the kernel: length L + 2 - (K - 1) */
    int64_t L1 = L + 3 - h->K, L2 = L1 + 3 - h->K;
    if (L2 <= 0)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: sequence length %lld is too short for kernel size %lld",
                         (long long)L, (long long)h->K);
    int64_t Lp = h->w > 0 ? L2 / h->w : L2;
    if (Lp <= 0)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: sequence length %lld is shorter than the downsample window %lld",
                         (long long)L2, (long long)h->w);
    int64_t H = h->H, K = h->K;
    float *wk1 = FB(BUF_H_WK1, K * H * h->din), *wk2 = FB(BUF_H_WK2, K * H * H);
    float *a1 = FB(BUF_H_A1, B * L1 * H), *g1 = FB(BUF_H_G1, B * L1 * H);
    float *a2 = FB(BUF_H_A2, B * L2 * H), *g2 = FB(BUF_H_G2, B * L2 * H);
    float *pool = h->w > 0 ? FB(BUF_H_POOL, B * Lp * H) : g2;
    float *zz = FB(BUF_H_Z, B * Lp * h->O);
    if (!wk1 || !wk2 || !a1 || !g1 || !a2 || !g2 || !pool || !zz)
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for a batch of %lld x %lld",
                         (long long)B, (long long)L);
    h->L1 = L1;
    h->L2 = L2;
    float *col1, *col2;
    if (!head_cols(net, &col1, &col2))
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for the conv workspace");
    bend_conv1d_pack(p[0].value, H, h->din, K, wk1);
    bend_conv1d_pack(p[2].value, H, H, K, wk2);
    for (int64_t b = 0; b < B; b++)
        bend_conv1d_forward(x + b * L * h->din, L, h->din, wk1, p[1].value, H, K, 1, 1,
                            a1 + b * L1 * H, L1, col1);
    bend_gelu_forward(a1, B * L1 * H, g1);
    for (int64_t b = 0; b < B; b++)
        bend_conv1d_forward(g1 + b * L1 * H, L1, H, wk2, p[3].value, H, K, 1, 1, a2 + b * L2 * H,
                            L2, col2);
    bend_gelu_forward(a2, B * L2 * H, g2);
    if (h->w > 0)
        for (int64_t b = 0; b < B; b++)
            bend_avgpool_forward(g2 + b * L2 * H, L2, H, h->w, pool + b * Lp * H);
    bend_linear_forward(pool, B * Lp, H, p[4].value, p[5].value, h->O, zz);
    h->B = B;
    h->L = L;
    h->L1 = L1;
    h->L2 = L2;
    h->Lp = Lp;
    *z = zz;
    return BEND_OK;
}

bend_status bend_net_head_backward(bend_net *net, const float *x, const float *dz, float *dx,
                                   bend_error *err)
{
    bend_net_head *h = &net->head;
    bend_param *p = net->params + h->p0;
    int64_t B = h->B, L = h->L, L1 = h->L1, L2 = h->L2, Lp = h->Lp, H = h->H, K = h->K;
    float *wk1 = net->bufs[BUF_H_WK1].p, *wk2 = net->bufs[BUF_H_WK2].p;
    float *a1 = net->bufs[BUF_H_A1].p, *g1 = net->bufs[BUF_H_G1].p;
    float *a2 = net->bufs[BUF_H_A2].p, *g2 = net->bufs[BUF_H_G2].p;
    float *pool = h->w > 0 ? net->bufs[BUF_H_POOL].p : g2;
    float *dwk1 = FB(BUF_H_DWK1, K * H * h->din), *dwk2 = FB(BUF_H_DWK2, K * H * H);
    float *dp = FB(BUF_H_DP, B * Lp * H);
    float *dg2 = h->w > 0 ? FB(BUF_H_DG2, B * L2 * H) : dp;
    float *dg1 = FB(BUF_H_DG1, B * L1 * H);
    float *col1, *col2;
    if (!dwk1 || !dwk2 || !dp || !dg2 || !dg1 || !head_cols(net, &col1, &col2))
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for the CNN backward");
    bend_linear_backward(pool, B * Lp, H, p[4].value, dz, h->O, p[4].grad, p[5].grad, dp);
    if (h->w > 0)
        for (int64_t b = 0; b < B; b++)
            bend_avgpool_backward(dp + b * Lp * H, L2, H, h->w, dg2 + b * L2 * H);
    bend_gelu_backward(a2, dg2, B * L2 * H, dg2);
    memset(dwk2, 0, (size_t)(K * H * H) * sizeof *dwk2);
    memset(dg1, 0, (size_t)(B * L1 * H) * sizeof *dg1);
    for (int64_t b = 0; b < B; b++)
        bend_conv1d_backward(g1 + b * L1 * H, L1, H, wk2, dg2 + b * L2 * H, H, K, 1, 1, L2, dwk2,
                             p[3].grad, dg1 + b * L1 * H, col2);
    bend_conv1d_unpack_add(dwk2, H, H, K, p[2].grad);
    bend_gelu_backward(a1, dg1, B * L1 * H, dg1);
    memset(dwk1, 0, (size_t)(K * H * h->din) * sizeof *dwk1);
    if (dx) memset(dx, 0, (size_t)(B * L * h->din) * sizeof *dx);
    for (int64_t b = 0; b < B; b++)
        bend_conv1d_backward(x + b * L * h->din, L, h->din, wk1, dg1 + b * L1 * H, H, K, 1, 1, L1,
                             dwk1, p[1].grad, dx ? dx + b * L * h->din : NULL, col1);
    bend_conv1d_unpack_add(dwk1, H, h->din, K, p[0].grad);
    return BEND_OK;
}
