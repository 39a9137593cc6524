/* The inside of bend_net, shared by net.c and the per-kind forward/backward files. */
#ifndef BEND_TRAIN_NET_INTERNAL_H
#define BEND_TRAIN_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "train/net.h"
#include "train/rng.h"

typedef struct bend_net_buf_t {
    void *p;
    size_t cap;
} bend_net_buf_t;

/* A buffer of at least `bytes`, reallocated (contents lost) only when it must grow; NULL when
 * out of memory. */
void *bend_net_buf(bend_net_buf_t *b, size_t bytes);

enum {
    BUF_Y, BUF_DZ, BUF_COL,
    /* CNN head */
    BUF_H_WK1, BUF_H_WK2, BUF_H_DWK1, BUF_H_DWK2, BUF_H_A1, BUF_H_G1, BUF_H_A2, BUF_H_G2,
    BUF_H_POOL, BUF_H_Z, BUF_H_DP, BUF_H_DG2, BUF_H_DG1,
    /* ResNet encoder */
    BUF_R_X0, BUF_R_XS, BUF_R_WK, BUF_R_DWK, BUF_R_A, BUF_R_G, BUF_R_T, BUF_R_U, BUF_R_B,
    BUF_R_H, BUF_R_M1, BUF_R_S1, BUF_R_M2, BUF_R_S2, BUF_R_DX, BUF_R_DU, BUF_R_DT, BUF_R_DH,
    /* Basset */
    BUF_B_WK0, BUF_B_WK1, BUF_B_WK2, BUF_B_DWK0, BUF_B_DWK1, BUF_B_DWK2,
    BUF_B_A0, BUF_B_A1, BUF_B_A2, BUF_B_Y0, BUF_B_Y1, BUF_B_Y2, BUF_B_M0, BUF_B_M1, BUF_B_M2,
    BUF_B_ARG0, BUF_B_ARG1, BUF_B_ARG2, BUF_B_STAT, BUF_B_F, BUF_B_Z1, BUF_B_H1, BUF_B_Z2,
    BUF_B_H2, BUF_B_Z3, BUF_B_MASK1, BUF_B_MASK2, BUF_B_D1, BUF_B_D2, BUF_B_DM, BUF_B_DY,
    BUF_B_DA, BUF_B_DPREV,
    BUF_COUNT
};

typedef struct bend_net_head {
    int p0;                       /* index of conv1.1.weight */
    int64_t din, H, K, O, w;
    int64_t B, L, L1, L2, Lp;     /* geometry of the last forward */
} bend_net_head;

typedef struct bend_net_resnet {
    int p0;                       /* index of encoder.encoder.0.conv.1.weight; 8 tensors a layer */
    int64_t nl, Hd, K;
    int64_t *dil;
    int64_t B, L;
    const float *out;             /* the encoder's output of the last forward */
} bend_net_resnet;

typedef struct bend_net_basset {
    int p0;
    int64_t L0, len[3], Lf, nfeat;
    int64_t B;
} bend_net_basset;

struct bend_net {
    bend_net_spec spec;
    bend_param *params;
    int n_params, cap_params;
    bend_rng rng;
    bend_net_head head;
    bend_net_resnet resnet;
    bend_net_basset basset;
    bend_net_buf_t bufs[BUF_COUNT];
    /* the last forward */
    const float *x, *z;
    int64_t B, L, rows, cols;
    bool have_train;
};

/* The shared im2col workspace of n floats (n from bend_conv1d_col_size, the largest of the
 * convs about to run), or NULL when n is 0; *ok false when out of memory. Acquire it right
 * before use: another acquisition may move it. */
float *bend_net_col(bend_net *net, int64_t n, bool *ok);

/* z: rows x O logits before the output activation, in a net-owned buffer */
bend_status bend_net_head_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                  const float **z, bend_error *err);
/* dx (NULL: not wanted) is overwritten with the gradient of the head's input */
bend_status bend_net_head_backward(bend_net *net, const float *x, const float *dz, float *dx,
                                   bend_error *err);
bend_status bend_net_resnet_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                    bool train, const float **z, bend_error *err);
bend_status bend_net_resnet_backward(bend_net *net, const float *dz, bend_error *err);
bend_status bend_net_basset_forward(bend_net *net, const float *x, int64_t B, int64_t L,
                                    bool train, const float **z, bend_error *err);
bend_status bend_net_basset_backward(bend_net *net, const float *dz, bend_error *err);

#endif
