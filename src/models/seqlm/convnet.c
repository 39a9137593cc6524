/* BEND's dilated ResNet-LM (bend/models/dilated_cnn.py ConvNetModel) and GPN's ConvNet (gpn
 * legacy.py ConvNetModel: the same layers and key names; only the dilation base and the default
 * depth differ, which the typed config carries). One-hot input into hidden_size channels, then
 * per layer, with the norm inside each residual branch:
 *   x = x + LN_a(GELU(Conv1d_dilated(x)));  x = x + LN_b(GELU(Linear(x)))
 * No final norm. Layer 0 = the one-hot input, j = after layer j; -1 = the last layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/lm_families.h"
#include "models/model_tensors.h"
#include "models/seqlm/seqlm_common.h"
#include "ops/ops.h"
#include "ops/ops_seq.h"

/* torch.nn.LayerNorm's default; BEND's ConvNetConfig has no eps key */
#define CONVNET_LN_EPS 1e-5f

typedef struct conv_layer {
    int64_t dilation;
    float *conv_w; /* packed [K][H][H] */
    float *conv_b, *ln_a_w, *ln_a_b, *ffn_w, *ffn_b, *ln_b_w, *ln_b_b;
} conv_layer;

typedef struct convnet_lm {
    bend_lm base;
    const bend_ops *ops;
    int64_t H, K;
    char what[4200];
    conv_layer *layers;
} convnet_lm;

static void convnet_destroy(bend_lm *lm)
{
    convnet_lm *m = (convnet_lm *)lm;
    if (m->layers) {
        for (int j = 0; j < m->base.n_layers; j++) {
            conv_layer *l = &m->layers[j];
            free(l->conv_w);
            free(l->conv_b);
            free(l->ln_a_w);
            free(l->ln_a_b);
            free(l->ffn_w);
            free(l->ffn_b);
            free(l->ln_b_w);
            free(l->ln_b_b);
        }
        free(m->layers);
    }
    free(m);
}

static bend_status convnet_forward(bend_lm *lm, int n_windows, const int64_t *offsets,
                                   const int32_t *ids, int layer, float *out, bend_error *err)
{
    convnet_lm *m = (convnet_lm *)lm;
    const bend_ops *o = m->ops;
    int64_t H = m->H;
    /* F.one_hot(ids, num_classes=hidden_size): any id below H has a channel */
    bend_status st = seqlm_check_args(m->what, n_windows, offsets, ids, H, layer,
                                      m->base.n_layers, 0, err);
    if (st) return st;
    int64_t T = offsets[n_windows];
    float *x = out;
    memset(x, 0, (size_t)(T * H) * sizeof *x);
    for (int64_t r = 0; r < T; r++) x[r * H + ids[r]] = 1.0f;
    int last = layer < 0 ? m->base.n_layers : layer;
    if (last == 0 || T == 0) return BEND_OK;

    float *tmp = malloc((size_t)(T * H) * sizeof *tmp);
    if (!tmp)
        return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory for %lld tokens", m->what,
                         (long long)T);
    for (int j = 0; j < last; j++) {
        const conv_layer *l = &m->layers[j];
        int64_t pad_left = l->dilation * (m->K - 1) / 2; /* torch padding="same" */
        bend_op_dilated_conv1d(o, n_windows, offsets, H, H, m->K, l->dilation, pad_left,
                               l->conv_w, l->conv_b, x, tmp);
        bend_op_activation(o, BEND_OP_ACT_GELU, T * H, tmp);
        bend_op_layernorm(o, T, H, tmp, l->ln_a_w, l->ln_a_b, CONVNET_LN_EPS, tmp);
        bend_op_add(o, T * H, tmp, x);
        bend_op_linear(o, T, H, H, x, H, l->ffn_w, l->ffn_b, 0.0f, tmp, H);
        bend_op_activation(o, BEND_OP_ACT_GELU, T * H, tmp);
        bend_op_layernorm(o, T, H, tmp, l->ln_b_w, l->ln_b_b, CONVNET_LN_EPS, tmp);
        bend_op_add(o, T * H, tmp, x);
    }
    free(tmp);
    return BEND_OK;
}

static const bend_lm_ops convnet_ops = {.forward = convnet_forward, .destroy = convnet_destroy};

/* The first prefix of the family's list under which layer 0's conv weight exists. */
static const char *detect_prefix(const bend_model_config *cfg, const bend_weights *w)
{
    const char *const *p = bend_model_tensor_prefixes(cfg);
    for (; *p; p++) {
        char name[256];
        snprintf(name, sizeof name, "%sencoder.0.conv.1.weight", *p);
        if (bend_weights_find(w, name)) return *p;
    }
    return "";
}

bend_status bend_convnet_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                 const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    bend_status st = seqlm_check_device(cfg, dev, err);
    if (st) return st;
    if (cfg->arch != BEND_ARCH_CONVNET)
        return bend_fail(err, BEND_ERR_INVALID, "%s: not a ConvNet configuration",
                         cfg->config_path);
    convnet_lm *m = calloc(1, sizeof *m);
    if (!m) return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening a ConvNet");
    m->base.ops = &convnet_ops;
    m->base.dim = cfg->hidden_size;
    m->base.n_layers = (int)cfg->num_layers;
    m->ops = bend_ops_cpu();
    m->H = cfg->hidden_size;
    m->K = cfg->convnet.kernel_size;
    snprintf(m->what, sizeof m->what, "%s (%s)", bend_model_family_name(cfg->family),
             cfg->config_path);
    m->layers = calloc((size_t)cfg->num_layers, sizeof *m->layers);
    if (!m->layers) {
        convnet_destroy(&m->base);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory opening a ConvNet");
    }
    const char *prefix = detect_prefix(cfg, w);
    int64_t H = m->H, K = m->K;
    for (int j = 0; j < m->base.n_layers && !st; j++) {
        conv_layer *l = &m->layers[j];
        l->dilation = bend_convnet_dilation(cfg, j);
        char name[128];
        const int64_t s_conv[3] = {H, H, K}, s_vec[1] = {H}, s_mat[2] = {H, H};
        float *conv_w = NULL;
#define GET(field, fmt, nd, shape)                                                           \
    if (!st) {                                                                               \
        snprintf(name, sizeof name, fmt, j);                                                 \
        st = seqlm_get(w, prefix, name, nd, shape, &l->field, err);                          \
    }
        if (!st) {
            snprintf(name, sizeof name, "encoder.%d.conv.1.weight", j);
            st = seqlm_get(w, prefix, name, 3, s_conv, &conv_w, err);
        }
        if (!st) {
            l->conv_w = malloc((size_t)(K * H * H) * sizeof(float));
            if (!l->conv_w)
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory for ConvNet layer %d", j);
            else
                bend_conv1d_pack_weight(H, H, K, conv_w, l->conv_w);
        }
        free(conv_w);
        GET(conv_b, "encoder.%d.conv.1.bias", 1, s_vec)
        GET(ln_a_w, "encoder.%d.conv.4.weight", 1, s_vec)
        GET(ln_a_b, "encoder.%d.conv.4.bias", 1, s_vec)
        GET(ffn_w, "encoder.%d.ffn.0.weight", 2, s_mat)
        GET(ffn_b, "encoder.%d.ffn.0.bias", 1, s_vec)
        GET(ln_b_w, "encoder.%d.ffn.2.weight", 1, s_vec)
        GET(ln_b_b, "encoder.%d.ffn.2.bias", 1, s_vec)
#undef GET
    }
    if (st) {
        convnet_destroy(&m->base);
        return st;
    }
    *out = &m->base;
    return BEND_OK;
}
