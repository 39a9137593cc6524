/* BEND's supervised ResNet (downstream.py::ConvNetForSupervised): ConvNetModel's dilated
 * residual layers (spec 1.1) on the one-hot input widened with zero channels to the hidden
 * width (what OneHotEmbedding(hidden) gives for ids), then the downstream CNN head.
 * Train mode keeps only each layer's input; backward recomputes a layer's inside from it
 * (activation checkpointing), so memory is one [B, L, H] tensor per layer, not six. */
#include <string.h>

#include "train/layers.h"
#include "train/net_internal.h"

#define FB(id, count) ((float *)bend_net_buf(&net->bufs[id], (size_t)(count) * sizeof(float)))

static const double ln_eps = 1e-5; /* nn.LayerNorm default */

static float *slot(bend_net *net, int64_t j, bool train)
{
    size_t n = (size_t)(net->resnet.B * net->resnet.L * net->resnet.Hd);
    return (float *)net->bufs[BUF_R_XS].p + (size_t)(train ? j : j % 2) * n;
}

/* One layer: u = x + LN_a(GELU(conv(x))); out = u + LN_b(GELU(ffn(u))). Leaves a, g, u, b, h
 * and the LayerNorm statistics in their buffers for backward. */
static void layer_forward(bend_net *net, int64_t j, const float *x, float *out)
{
    bend_net_resnet *r = &net->resnet;
    bend_param *p = net->params + r->p0 + 8 * j;
    int64_t B = r->B, L = r->L, H = r->Hd, K = r->K, N = B * L, d = r->dil[j];
    const float *wk = (const float *)net->bufs[BUF_R_WK].p + j * K * H * H;
    float *a = net->bufs[BUF_R_A].p, *g = net->bufs[BUF_R_G].p, *t = net->bufs[BUF_R_T].p;
    float *u = net->bufs[BUF_R_U].p, *bb = net->bufs[BUF_R_B].p, *h = net->bufs[BUF_R_H].p;
    float *m1 = net->bufs[BUF_R_M1].p, *s1 = net->bufs[BUF_R_S1].p;
    float *m2 = net->bufs[BUF_R_M2].p, *s2 = net->bufs[BUF_R_S2].p;
    /* padding "same": d (K - 1) in all, the odd one on the right */
    int64_t pl = d * (K - 1) / 2;
    bool ok = true; /* the workspace was sized by bend_net_resnet_forward, so this cannot fail */
    float *col = bend_net_col(net, bend_conv1d_col_size(L, H, K), &ok);
    for (int64_t b = 0; b < B; b++)
        bend_conv1d_forward(x + b * L * H, L, H, wk, p[1].value, H, K, d, pl, a + b * L * H, L,
                            col);
    bend_gelu_forward(a, N * H, g);
    bend_layernorm_forward(g, N, H, p[2].value, p[3].value, ln_eps, t, m1, s1);
    for (int64_t i = 0; i < N * H; i++) u[i] = x[i] + t[i];
    bend_linear_forward(u, N, H, p[4].value, p[5].value, H, bb);
    bend_gelu_forward(bb, N * H, h);
    bend_layernorm_forward(h, N, H, p[6].value, p[7].value, ln_eps, t, m2, s2);
    for (int64_t i = 0; i < N * H; i++) out[i] = u[i] + t[i];
}

bend_status bend_net_resnet_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                    bool train, const float **z, bend_error *err)
{
    bend_net_resnet *r = &net->resnet;
    int64_t H = r->Hd, K = r->K, N = B * L, D = net->spec.input_size;
    r->B = B;
    r->L = L;
    float *x0 = FB(BUF_R_X0, N * H), *xs = FB(BUF_R_XS, (train ? r->nl : 2) * N * H);
    float *wk = FB(BUF_R_WK, r->nl * K * H * H);
    bool ok = x0 && xs && wk && FB(BUF_R_A, N * H) && FB(BUF_R_G, N * H) && FB(BUF_R_T, N * H) &&
              FB(BUF_R_U, N * H) && FB(BUF_R_B, N * H) && FB(BUF_R_H, N * H) &&
              FB(BUF_R_M1, N) && FB(BUF_R_S1, N) && FB(BUF_R_M2, N) && FB(BUF_R_S2, N);
    ok = ok && (bend_conv1d_col_size(L, H, K) == 0 ||
                bend_net_col(net, bend_conv1d_col_size(L, H, K), &ok));
    if (!ok)
        return bend_fail(err, BEND_ERR_NOMEM,
                         "net: out of memory for the ResNet on a batch of %lld x %lld",
                         (long long)B, (long long)L);
    for (int64_t i = 0; i < N; i++) {
        memcpy(x0 + i * H, x + i * D, (size_t)D * sizeof *x0);
        memset(x0 + i * H + D, 0, (size_t)(H - D) * sizeof *x0);
    }
    for (int64_t j = 0; j < r->nl; j++)
        bend_conv1d_pack(net->params[r->p0 + 8 * j].value, H, H, K, wk + j * K * H * H);
    const float *in = x0;
    for (int64_t j = 0; j < r->nl; j++) {
        float *out = slot(net, j, train);
        layer_forward(net, j, in, out);
        in = out;
    }
    r->out = in;
    return bend_net_head_forward(net, in, B, L, z, err);
}

bend_status bend_net_resnet_backward(bend_net *net, const float *dz, bend_error *err)
{
    bend_net_resnet *r = &net->resnet;
    int64_t B = r->B, L = r->L, H = r->Hd, K = r->K, N = B * L;
    float *dx = FB(BUF_R_DX, N * H), *du = FB(BUF_R_DU, N * H), *dt = FB(BUF_R_DT, N * H);
    float *dh = FB(BUF_R_DH, N * H), *dwk = FB(BUF_R_DWK, K * H * H);
    if (!dx || !du || !dt || !dh || !dwk)
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for the ResNet backward");
    bend_status st = bend_net_head_backward(net, r->out, dz, dx, err);
    if (st) return st;
    float *g = net->bufs[BUF_R_G].p, *u = net->bufs[BUF_R_U].p, *a = net->bufs[BUF_R_A].p;
    float *bb = net->bufs[BUF_R_B].p, *h = net->bufs[BUF_R_H].p, *tmp = net->bufs[BUF_R_T].p;
    float *m1 = net->bufs[BUF_R_M1].p, *s1 = net->bufs[BUF_R_S1].p;
    float *m2 = net->bufs[BUF_R_M2].p, *s2 = net->bufs[BUF_R_S2].p;
    for (int64_t j = r->nl - 1; j >= 0; j--) {
        bend_param *p = net->params + r->p0 + 8 * j;
        const float *in = j == 0 ? (const float *)net->bufs[BUF_R_X0].p : slot(net, j - 1, true);
        layer_forward(net, j, in, tmp); /* recompute the inside; tmp's result is not needed */
        const float *wk = (const float *)net->bufs[BUF_R_WK].p + j * K * H * H;
        int64_t d = r->dil[j], pl = d * (K - 1) / 2;
        /* out = u + LN_b(GELU(ffn(u))) */
        bend_layernorm_backward(h, dx, N, H, p[6].value, m2, s2, p[6].grad, p[7].grad, dt);
        bend_gelu_backward(bb, dt, N * H, dt);
        bend_linear_backward(u, N, H, p[4].value, dt, H, p[4].grad, p[5].grad, dh);
        for (int64_t i = 0; i < N * H; i++) du[i] = dx[i] + dh[i];
        /* u = x + LN_a(GELU(conv(x))) */
        bend_layernorm_backward(g, du, N, H, p[2].value, m1, s1, p[2].grad, p[3].grad, dt);
        bend_gelu_backward(a, dt, N * H, dt);
        memcpy(dx, du, (size_t)(N * H) * sizeof *dx);
        memset(dwk, 0, (size_t)(K * H * H) * sizeof *dwk);
        bool ok = true; /* sized by the forward: cannot fail */
        float *col = bend_net_col(net, bend_conv1d_col_size(L, H, K), &ok);
        for (int64_t b = 0; b < B; b++)
            bend_conv1d_backward(in + b * L * H, L, H, wk, dt + b * L * H, H, K, d, pl, L, dwk,
                                 p[1].grad, j == 0 ? NULL : dx + b * L * H, col);
        bend_conv1d_unpack_add(dwk, H, H, K, p[0].grad);
    }
    return BEND_OK;
}
