/* The trainable downstream networks of BEND (bend/models/downstream.py CNN, ConvNetForSupervised,
 * bend/models/basset.py Basset) with forward and backward on the CPU. One handle for all of them,
 * so the trainer, the optimizer and the checkpoint writer treat them alike.
 *
 * Layout: inputs are padded batches x[B, L, D] float32, channels last (the store's row layout).
 * Parameters carry BEND's state_dict names and PyTorch shapes (conv weight [out, in, k]) so a
 * checkpoint loads into BEND's module with load_state_dict. */
#ifndef BEND_TRAIN_NET_H
#define BEND_TRAIN_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

typedef enum bend_net_kind {
    BEND_NET_CNN,      /* downstream.CNN: conv k -> GELU -> conv k -> GELU -> [avgpool] -> linear */
    BEND_NET_RESNET,   /* downstream.ConvNetForSupervised: ConvNetModel + CNN */
    BEND_NET_BASSET,   /* basset.Basset */
} bend_net_kind;

typedef enum bend_output_activation {
    BEND_ACT_NONE,
    BEND_ACT_SOFTMAX,  /* over the last dimension */
    BEND_ACT_SIGMOID,
    BEND_ACT_SOFTPLUS,
} bend_output_activation;

typedef struct bend_net_spec {
    bend_net_kind kind;
    int64_t input_size;        /* D: channels per nucleotide in x (5 for one-hot) */
    int64_t output_size;       /* labels per position / per sample */
    int64_t hidden_size;       /* CNN hidden (64; 2 for enhancer) */
    int64_t kernel_size;       /* CNN kernel (3) */
    int64_t downsample_window; /* 0: none; else AvgPool1d(window, window) before the linear */
    bend_output_activation activation;
    /* BEND_NET_RESNET */
    int64_t resnet_layers;     /* 30 */
    int64_t resnet_hidden;     /* 256 */
    int64_t resnet_kernel;     /* dilated conv kernel: 3 (BEND main) or 9 (paper-era) */
    /* BEND_NET_BASSET */
    int64_t basset_input_len;  /* 512 */
    /* Tests only: dropout off in train mode (BEND's Basset drops with p = 0.3), so a train-mode
     * forward/backward can be compared with PyTorch's. */
    bool disable_dropout;
} bend_net_spec;

typedef struct bend_param {
    const char *name;   /* BEND state_dict key, e.g. "conv1.1.weight" */
    int ndim;
    int64_t shape[4];
    int64_t numel;
    float *value;
    float *grad;        /* same size; accumulated by backward, cleared by bend_net_zero_grad;
                           NULL for buffers */
    bool is_buffer;     /* BatchNorm running stats etc.: saved, not optimised, no grad */
    bool is_integer;    /* an integer count kept in float (BatchNorm num_batches_tracked, ndim 0):
                           torch's state_dict holds it as an int64 scalar */
} bend_param;

typedef struct bend_net bend_net;

/* Creates a network with PyTorch-default-style initialisation drawn from `seed` (the same seed
 * gives the same weights on every rank and every run). */
bend_status bend_net_create(const bend_net_spec *spec, uint64_t seed, bend_net **out,
                            bend_error *err);
void bend_net_free(bend_net *net);

/* All tensors in state_dict order (module by module: a module's parameters, then its buffers,
 * so BatchNorm's running stats sit between Basset's parameters); owned by the net. */
bend_param *bend_net_params(bend_net *net, int *n);

/* Forward of a padded batch x[B, L, D]. train: keep activations for backward, BatchNorm uses
 * batch statistics and updates running stats, dropout active (drawn from the net's RNG). The
 * output follows BEND's reshape rule: [B, L', C] per position, or [B, C'] flattened when a
 * downsample exists or output_size == 1 (see spec 7.1 step 7); *y is owned by the net and valid
 * until the next forward. out_shape gets the dims, *out_ndim 2 or 3. A train forward keeps a
 * pointer to x (not a copy: gene-finding batches are gigabytes): x must stay unchanged until
 * bend_net_backward. BEND_NET_RESNET widens x's D channels with zeros to resnet_hidden, which is
 * what BEND's OneHotEmbedding(hidden) does to the one-hot ids. */
bend_status bend_net_forward(bend_net *net, const float *x, int64_t B, int64_t L, bool train,
                             const float **y, int64_t out_shape[3], int *out_ndim,
                             bend_error *err);

/* Backward of the last train forward: dy has y's shape; adds to every param's grad. */
bend_status bend_net_backward(bend_net *net, const float *dy, bend_error *err);

void bend_net_zero_grad(bend_net *net);

#endif
