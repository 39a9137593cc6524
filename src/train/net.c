/* The downstream networks: parameter tables with BEND's state_dict names, initialisation, and
 * the forward / backward of each kind, written out layer by layer over the kernels of layers.c.
 * Activations live in grow-only buffers owned by the net (allocated on first use and when a
 * batch is larger than any before), so a training loop does not allocate per step. */
#include "train/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/layers.h"
#include "train/net_internal.h"
#include "train/rng.h"

/* ---------------------------------------------------------------------------------------------
 * Buffers and the parameter table */

void *bend_net_buf(bend_net_buf_t *b, size_t bytes)
{
    if (bytes == 0) bytes = 1;
    if (b->cap < bytes) {
        free(b->p);
        b->p = malloc(bytes);
        b->cap = b->p ? bytes : 0;
    }
    return b->p;
}

float *bend_net_col(bend_net *net, int64_t n, bool *ok)
{
    if (n == 0) return NULL;
    float *col = bend_net_buf(&net->bufs[BUF_COL], (size_t)n * sizeof(float));
    if (!col) *ok = false;
    return col;
}

static void buf_free(bend_net_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

static bend_status add_param(bend_net *net, const char *name, int ndim, const int64_t *shape,
                             bool is_buffer, bend_error *err)
{
    if (net->n_params == net->cap_params) {
        int cap = net->cap_params ? 2 * net->cap_params : 32;
        bend_param *p = realloc(net->params, (size_t)cap * sizeof *p);
        if (!p) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for parameter table");
        net->params = p;
        net->cap_params = cap;
    }
    bend_param *p = &net->params[net->n_params];
    memset(p, 0, sizeof *p);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= shape[i];
    }
    p->is_buffer = is_buffer;
    char *n = strdup(name);
    p->value = calloc((size_t)p->numel, sizeof(float));
    p->grad = is_buffer ? NULL : calloc((size_t)p->numel, sizeof(float));
    p->name = n;
    net->n_params++;
    if (!n || !p->value || (!is_buffer && !p->grad))
        return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for %s (%lld values)", name,
                         (long long)p->numel);
    return BEND_OK;
}

static bend_status add_conv(bend_net *net, const char *prefix, int64_t cout, int64_t cin,
                            int64_t K, bend_error *err)
{
    char name[256];
    int64_t ws[3] = {cout, cin, K}, bs[1] = {cout};
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (add_param(net, name, 3, ws, false, err)) return err->status;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return add_param(net, name, 1, bs, false, err);
}

static bend_status add_linear(bend_net *net, const char *prefix, int64_t out, int64_t in,
                              bend_error *err)
{
    char name[256];
    int64_t ws[2] = {out, in}, bs[1] = {out};
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (add_param(net, name, 2, ws, false, err)) return err->status;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return add_param(net, name, 1, bs, false, err);
}

static bend_status add_norm(bend_net *net, const char *prefix, int64_t C, bool batchnorm,
                            bend_error *err)
{
    char name[256];
    int64_t s[1] = {C};
    static const char *const pn[] = {"weight", "bias"}, *const bn[] = {"running_mean",
                                                                       "running_var"};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, pn[i]);
        if (add_param(net, name, 1, s, false, err)) return err->status;
    }
    if (!batchnorm) return BEND_OK;
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, bn[i]);
        if (add_param(net, name, 1, s, true, err)) return err->status;
    }
    snprintf(name, sizeof name, "%s.num_batches_tracked", prefix);
    if (add_param(net, name, 0, s, true, err)) return err->status;
    net->params[net->n_params - 1].is_integer = true;
    return BEND_OK;
}

/* PyTorch's default for Conv1d / Linear: weight and bias uniform in +-1/sqrt(fan_in) (kaiming
 * uniform with a = sqrt(5) reduces to that bound for the weight). */
static void init_uniform(bend_rng *r, bend_param *p, double bound)
{
    for (int64_t i = 0; i < p->numel; i++)
        p->value[i] = (float)((2.0 * bend_rng_uniform(r) - 1.0) * bound);
}

static void init_default_pair(bend_rng *r, bend_param *w, bend_param *b)
{
    int64_t fan_in = w->numel / w->shape[0];
    double bound = 1.0 / sqrt((double)fan_in);
    init_uniform(r, w, bound);
    init_uniform(r, b, bound);
}

static void init_fill(bend_param *p, float v)
{
    for (int64_t i = 0; i < p->numel; i++) p->value[i] = v;
}

/* ---------------------------------------------------------------------------------------------
 * Building */

static bend_status build_cnn_head(bend_net *net, const char *prefix, int64_t din,
                                  bend_error *err)
{
    const bend_net_spec *s = &net->spec;
    bend_net_head *h = &net->head;
    char name[96];
    h->p0 = net->n_params;
    h->din = din;
    h->H = s->hidden_size;
    h->K = s->kernel_size;
    h->O = s->output_size;
    h->w = s->downsample_window;
    snprintf(name, sizeof name, "%sconv1.1", prefix);
    if (add_conv(net, name, h->H, din, h->K, err)) return err->status;
    snprintf(name, sizeof name, "%sconv2.1", prefix);
    if (add_conv(net, name, h->H, h->H, h->K, err)) return err->status;
    snprintf(name, sizeof name, "%slinear.0", prefix);
    return add_linear(net, name, h->O, h->H, err);
}

static void init_cnn_head(bend_net *net)
{
    bend_param *p = net->params + net->head.p0;
    for (int i = 0; i < 3; i++) init_default_pair(&net->rng, &p[2 * i], &p[2 * i + 1]);
}

static bend_status build_resnet(bend_net *net, bend_error *err)
{
    const bend_net_spec *s = &net->spec;
    bend_net_resnet *r = &net->resnet;
    r->nl = s->resnet_layers;
    r->Hd = s->resnet_hidden;
    r->K = s->resnet_kernel;
    r->p0 = net->n_params;
    r->dil = calloc((size_t)r->nl, sizeof *r->dil);
    if (!r->dil) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory");
    char name[96];
    for (int64_t j = 0; j < r->nl; j++) {
        /* ConvNetConfig defaults: dilation_max 32, cycle 6, double every layer */
        int64_t d = (int64_t)1 << ((j % 6) / 1);
        r->dil[j] = d < 32 ? d : 32;
        snprintf(name, sizeof name, "encoder.encoder.%lld.conv.1", (long long)j);
        if (add_conv(net, name, r->Hd, r->Hd, r->K, err)) return err->status;
        snprintf(name, sizeof name, "encoder.encoder.%lld.conv.4", (long long)j);
        if (add_norm(net, name, r->Hd, false, err)) return err->status;
        snprintf(name, sizeof name, "encoder.encoder.%lld.ffn.0", (long long)j);
        if (add_linear(net, name, r->Hd, r->Hd, err)) return err->status;
        snprintf(name, sizeof name, "encoder.encoder.%lld.ffn.2", (long long)j);
        if (add_norm(net, name, r->Hd, false, err)) return err->status;
    }
    return build_cnn_head(net, "downstream_cnn.", r->Hd, err);
}

static void init_resnet(bend_net *net)
{
    bend_net_resnet *r = &net->resnet;
    for (int64_t j = 0; j < r->nl; j++) {
        bend_param *p = net->params + r->p0 + 8 * j;
        init_default_pair(&net->rng, &p[0], &p[1]); /* HF _init_weights has no Conv1d branch */
        init_fill(&p[2], 1.0f);
        init_fill(&p[3], 0.0f);
        for (int64_t i = 0; i < p[4].numel; i++)
            p[4].value[i] = (float)(0.02 * bend_rng_normal(&net->rng));
        init_fill(&p[5], 0.0f);
        init_fill(&p[6], 1.0f);
        init_fill(&p[7], 0.0f);
    }
    init_cnn_head(net);
}

static const int64_t basset_ch[3] = {300, 200, 200}, basset_k[3] = {19, 11, 7},
                     basset_pool[3] = {3, 4, 4};

static bend_status build_basset(bend_net *net, bend_error *err)
{
    const bend_net_spec *s = &net->spec;
    bend_net_basset *b = &net->basset;
    b->p0 = net->n_params;
    b->L0 = s->basset_input_len > 0 ? s->basset_input_len : 512;
    int64_t cin = s->input_size, len = b->L0;
    char name[96];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "conv_net.%d", 4 * i);
        if (add_conv(net, name, basset_ch[i], cin, basset_k[i], err)) return err->status;
        snprintf(name, sizeof name, "conv_net.%d", 4 * i + 1);
        if (add_norm(net, name, basset_ch[i], true, err)) return err->status;
        b->len[i] = len;
        len /= basset_pool[i];
        cin = basset_ch[i];
    }
    b->Lf = len;
    if (len <= 0)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: Basset input length %lld is too short for its pools (3, 4, 4)",
                         (long long)b->L0);
    b->nfeat = cin * len;
    if (add_linear(net, "clf.1", 1000, b->nfeat, err) ||
        add_linear(net, "clf.4", 1000, 1000, err) ||
        add_linear(net, "clf.6", s->output_size, 1000, err))
        return err->status;
    return BEND_OK;
}

static void init_basset(bend_net *net)
{
    bend_param *p = net->params + net->basset.p0;
    for (int i = 0; i < 3; i++) {
        bend_param *q = p + 7 * i;
        init_default_pair(&net->rng, &q[0], &q[1]);
        init_fill(&q[2], 1.0f);
        init_fill(&q[3], 0.0f);
        init_fill(&q[4], 0.0f);
        init_fill(&q[5], 1.0f);
        init_fill(&q[6], 0.0f);
    }
    for (int i = 0; i < 3; i++) init_default_pair(&net->rng, &p[21 + 2 * i], &p[22 + 2 * i]);
}

bend_status bend_net_create(const bend_net_spec *spec, uint64_t seed, bend_net **out,
                            bend_error *err)
{
    *out = NULL;
    if (spec->input_size <= 0 || spec->output_size <= 0)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: input_size %lld and output_size %lld must be > 0",
                         (long long)spec->input_size, (long long)spec->output_size);
    if (spec->kind != BEND_NET_BASSET &&
        (spec->hidden_size <= 0 || spec->kernel_size <= 0 || spec->downsample_window < 0))
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: CNN hidden_size %lld / kernel_size %lld must be > 0 and "
                         "downsample_window %lld >= 0",
                         (long long)spec->hidden_size, (long long)spec->kernel_size,
                         (long long)spec->downsample_window);
    if (spec->kind == BEND_NET_RESNET &&
        (spec->resnet_layers <= 0 || spec->resnet_hidden < spec->input_size ||
         spec->resnet_kernel <= 0))
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: ResNet needs resnet_layers > 0, resnet_kernel > 0 and "
                         "resnet_hidden >= input_size (got %lld, %lld, %lld < %lld)",
                         (long long)spec->resnet_layers, (long long)spec->resnet_kernel,
                         (long long)spec->resnet_hidden, (long long)spec->input_size);
    bend_net *net = calloc(1, sizeof *net);
    if (!net) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory");
    net->spec = *spec;
    bend_rng_seed(&net->rng, seed);
    bend_status st;
    switch (spec->kind) {
    case BEND_NET_CNN:
        st = build_cnn_head(net, "", spec->input_size, err);
        if (!st) init_cnn_head(net);
        break;
    case BEND_NET_RESNET:
        st = build_resnet(net, err);
        if (!st) init_resnet(net);
        break;
    case BEND_NET_BASSET:
        st = build_basset(net, err);
        if (!st) init_basset(net);
        break;
    default:
        st = bend_fail(err, BEND_ERR_INVALID, "net: unknown network kind %d", (int)spec->kind);
    }
    if (st) {
        bend_net_free(net);
        return st;
    }
    *out = net;
    return BEND_OK;
}

void bend_net_free(bend_net *net)
{
    if (!net) return;
    for (int i = 0; i < net->n_params; i++) {
        free((char *)net->params[i].name);
        free(net->params[i].value);
        free(net->params[i].grad);
    }
    free(net->params);
    free(net->resnet.dil);
    for (size_t i = 0; i < sizeof net->bufs / sizeof net->bufs[0]; i++) buf_free(&net->bufs[i]);
    free(net);
}

bend_param *bend_net_params(bend_net *net, int *n)
{
    *n = net->n_params;
    return net->params;
}

void bend_net_zero_grad(bend_net *net)
{
    for (int i = 0; i < net->n_params; i++)
        if (net->params[i].grad)
            memset(net->params[i].grad, 0, (size_t)net->params[i].numel * sizeof(float));
}

/* ---------------------------------------------------------------------------------------------
 * Output activation and the entry points */

static void activation_forward(bend_output_activation act, const float *z, int64_t rows,
                               int64_t C, float *y)
{
    int64_t n = rows * C;
    switch (act) {
    case BEND_ACT_NONE:
        memcpy(y, z, (size_t)n * sizeof *y);
        break;
    case BEND_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-z[i]));
        break;
    case BEND_ACT_SOFTPLUS: /* nn.Softplus(beta 1, threshold 20) */
        for (int64_t i = 0; i < n; i++) y[i] = z[i] > 20.0f ? z[i] : log1pf(expf(z[i]));
        break;
    case BEND_ACT_SOFTMAX:
        for (int64_t r = 0; r < rows; r++) {
            const float *a = z + r * C;
            float *o = y + r * C, m = a[0];
            double s = 0; /* rows can be long (a flattened [L', C]): sums in double */
            for (int64_t c = 1; c < C; c++) m = a[c] > m ? a[c] : m;
            for (int64_t c = 0; c < C; c++) s += exp((double)a[c] - m);
            for (int64_t c = 0; c < C; c++) o[c] = (float)(exp((double)a[c] - m) / s);
        }
        break;
    }
}

static void activation_backward(bend_output_activation act, const float *z, const float *y,
                                const float *dy, int64_t rows, int64_t C, float *dz)
{
    int64_t n = rows * C;
    switch (act) {
    case BEND_ACT_NONE:
        memcpy(dz, dy, (size_t)n * sizeof *dz);
        break;
    case BEND_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case BEND_ACT_SOFTPLUS:
        for (int64_t i = 0; i < n; i++)
            dz[i] = z[i] > 20.0f ? dy[i] : dy[i] / (1.0f + expf(-z[i]));
        break;
    case BEND_ACT_SOFTMAX:
        for (int64_t r = 0; r < rows; r++) {
            const float *o = y + r * C, *g = dy + r * C;
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (double)o[c] * g[c];
            for (int64_t c = 0; c < C; c++) dz[r * C + c] = (float)(o[c] * ((double)g[c] - s));
        }
        break;
    }
}

bend_status bend_net_forward(bend_net *net, const float *x, int64_t B, int64_t L, bool train,
                             const float **y, int64_t out_shape[3], int *out_ndim,
                             bend_error *err)
{
    net->have_train = false;
    if (B <= 0 || L <= 0)
        return bend_fail(err, BEND_ERR_INVALID, "net: empty batch (B %lld, L %lld)",
                         (long long)B, (long long)L);
    const float *z;
    int64_t rows, C; /* z is B * pos rows of C */
    int64_t pos;
    bend_status st;
    switch (net->spec.kind) {
    case BEND_NET_CNN:
        st = bend_net_head_forward(net, x, B, L, &z, err);
        if (st) return st;
        pos = net->head.Lp;
        C = net->head.O;
        break;
    case BEND_NET_RESNET:
        st = bend_net_resnet_forward(net, x, B, L, train, &z, err);
        if (st) return st;
        pos = net->head.Lp;
        C = net->head.O;
        break;
    case BEND_NET_BASSET:
        st = bend_net_basset_forward(net, x, B, L, train, &z, err);
        if (st) return st;
        pos = 1;
        C = net->spec.output_size;
        break;
    default:
        return bend_fail(err, BEND_ERR_INVALID, "net: unknown network kind");
    }
    /* BEND: `if output_size == 1 and x.dim() > 2 or self.downsample: flatten(x, 1)`; Basset's
     * output is [B, out] already. The activation runs on the reshaped output, so a softmax
     * after a flatten spans all L' * C values of a sample, as in BEND. */
    bool flat = net->spec.kind == BEND_NET_BASSET || net->head.w > 0 || C == 1;
    out_shape[0] = B;
    out_shape[1] = flat ? pos * C : pos;
    out_shape[2] = flat ? 0 : C;
    *out_ndim = flat ? 2 : 3;
    rows = flat ? B : B * pos;
    C = flat ? pos * C : C;
    float *yb = bend_net_buf(&net->bufs[BUF_Y], (size_t)(rows * C) * sizeof(float));
    if (!yb) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for the output");
    activation_forward(net->spec.activation, z, rows, C, yb);
    net->z = z;
    net->rows = rows;
    net->cols = C;
    *y = yb;
    net->x = x;
    net->B = B;
    net->L = L;
    net->have_train = train;
    return BEND_OK;
}

bend_status bend_net_backward(bend_net *net, const float *dy, bend_error *err)
{
    if (!net->have_train)
        return bend_fail(err, BEND_ERR_INVALID,
                         "net: backward needs a preceding forward with train = true");
    float *dz = bend_net_buf(&net->bufs[BUF_DZ], (size_t)(net->rows * net->cols) * sizeof(float));
    if (!dz) return bend_fail(err, BEND_ERR_NOMEM, "net: out of memory for the output gradient");
    activation_backward(net->spec.activation, net->z, (const float *)net->bufs[BUF_Y].p, dy,
                        net->rows, net->cols, dz);
    switch (net->spec.kind) {
    case BEND_NET_CNN:
        return bend_net_head_backward(net, net->x, dz, NULL, err);
    case BEND_NET_RESNET:
        return bend_net_resnet_backward(net, dz, err);
    case BEND_NET_BASSET:
        return bend_net_basset_backward(net, dz, err);
    }
    return bend_fail(err, BEND_ERR_INVALID, "net: unknown network kind");
}
