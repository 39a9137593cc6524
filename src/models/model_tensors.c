/* The tensors each family's forward pass reads, and the check of a checkpoint against them.
 * Parameter names and shapes follow the reference checkpoints in tests/fixtures/models (written by
 * PyTorch from the real model classes), tests/fixtures/model_tensors (GPN's legacy ConvNet,
 * Caduceus ph / ps, BEND's bidirectional AWD-LSTM) and the specs (transformer-models.md §1-7,
 * 9.5; pipeline-and-nontransformer-models.md §1.2, §2.4, §3.6, §4.6). */
#include "models/model_tensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct expect_list {
    bend_tensor_expect *v;
    size_t n, cap;
    bool failed; /* out of memory or a name too long */
} expect_list;

/* Appends one tensor: ndim sizes d0.. (unused ones ignored), name from fmt. */
static void add(expect_list *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add(expect_list *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
    if (l->failed) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        bend_tensor_expect *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    bend_tensor_expect *e = &l->v[l->n];
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof e->name) {
        l->failed = true;
        return;
    }
    e->ndim = ndim;
    int64_t d[3] = {d0, d1, d2};
    for (int i = 0; i < ndim && i < 3; i++) e->shape[i] = d[i];
    l->n++;
}

#define ADD1(l, a, ...) add(l, 1, a, 0, 0, __VA_ARGS__)
#define ADD2(l, a, b, ...) add(l, 2, a, b, 0, __VA_ARGS__)
#define ADD3(l, a, b, c, ...) add(l, 3, a, b, c, __VA_ARGS__)

/* weight [rows, cols] and, when bias, bias [rows] */
static void linear(expect_list *l, const char *p, const char *name, int64_t rows, int64_t cols,
                   bool bias)
{
    ADD2(l, rows, cols, "%s%s.weight", p, name);
    if (bias) ADD1(l, rows, "%s%s.bias", p, name);
}

static void layer_norm(expect_list *l, const char *p, const char *name, int64_t h)
{
    ADD1(l, h, "%s%s.weight", p, name);
    ADD1(l, h, "%s%s.bias", p, name);
}

static bool gated(const bend_model_config *c)
{
    return c->activation == BEND_ACT_GEGLU || c->activation == BEND_ACT_SWIGLU;
}

/* HF BertModel / BigBirdModel, GENA's BERT (pre-LN), BEND's MosaicBERT (DNABERT-2). */
static void bert_tensors(const bend_model_config *c, expect_list *l)
{
    int64_t h = c->hidden_size, a = c->num_heads * c->head_dim, in = c->intermediate_size;
    ADD2(l, c->embedding_rows, h, "embeddings.word_embeddings.weight");
    if (c->position == BEND_POS_ABSOLUTE)
        ADD2(l, c->max_positions, h, "embeddings.position_embeddings.weight");
    if (c->type_vocab_size > 0) ADD2(l, c->type_vocab_size, h, "embeddings.token_type_embeddings.weight");
    if (c->embedding_layer_norm) layer_norm(l, "", "embeddings.LayerNorm", h);
    for (int64_t i = 0; i < c->num_layers; i++) {
        char p[64];
        snprintf(p, sizeof p, "encoder.layer.%lld.", (long long)i);
        if (c->arch == BEND_ARCH_MOSAIC_BERT) {
            linear(l, p, "attention.self.Wqkv", 3 * a, h, c->attention_bias);
            linear(l, p, "attention.output.dense", h, a, true);
            layer_norm(l, p, "attention.output.LayerNorm", h);
            linear(l, p, "mlp.gated_layers", gated(c) ? 2 * in : in, h, c->ffn_bias);
            linear(l, p, "mlp.wo", h, in, true);
            layer_norm(l, p, "mlp.layernorm", h);
            continue;
        }
        bool pre = c->norm_placement == BEND_NORM_PRE;
        if (pre) layer_norm(l, p, "pre_attention_ln", h);
        linear(l, p, "attention.self.query", a, h, c->attention_bias);
        linear(l, p, "attention.self.key", a, h, c->attention_bias);
        linear(l, p, "attention.self.value", a, h, c->attention_bias);
        linear(l, p, "attention.output.dense", h, a, true);
        if (pre)
            layer_norm(l, p, "post_attention_ln", h);
        else
            layer_norm(l, p, "attention.output.LayerNorm", h);
        linear(l, p, "intermediate.dense", gated(c) ? 2 * in : in, h, c->ffn_bias);
        linear(l, p, "output.dense", h, in, c->ffn_bias);
        if (!pre) layer_norm(l, p, "output.LayerNorm", h);
    }
}

/* HF EsmModel (NT v1), InstaDeep's rotary / SwiGLU variant without FFN biases (NT v2). */
static void esm_tensors(const bend_model_config *c, expect_list *l)
{
    int64_t h = c->hidden_size, a = c->num_heads * c->head_dim, in = c->intermediate_size;
    ADD2(l, c->embedding_rows, h, "embeddings.word_embeddings.weight");
    if (c->position == BEND_POS_ABSOLUTE)
        ADD2(l, c->max_positions + c->position_offset, h, "embeddings.position_embeddings.weight");
    if (c->embedding_layer_norm) layer_norm(l, "", "embeddings.layer_norm", h);
    for (int64_t i = 0; i < c->num_layers; i++) {
        char p[64];
        snprintf(p, sizeof p, "encoder.layer.%lld.", (long long)i);
        layer_norm(l, p, "attention.LayerNorm", h);
        linear(l, p, "attention.self.query", a, h, c->attention_bias);
        linear(l, p, "attention.self.key", a, h, c->attention_bias);
        linear(l, p, "attention.self.value", a, h, c->attention_bias);
        linear(l, p, "attention.output.dense", h, a, true);
        layer_norm(l, p, "LayerNorm", h);
        linear(l, p, "intermediate.dense", gated(c) ? 2 * in : in, h, c->ffn_bias);
        linear(l, p, "output.dense", h, in, c->ffn_bias);
    }
    if (c->final_layer_norm) layer_norm(l, "", "encoder.emb_layer_norm_after", h);
}

/* HyenaDNA's LMBackbone (BEND's hyenadna.py; keys of the standalone Lightning checkpoints). */
static void hyena_tensors(const bend_model_config *c, expect_list *l)
{
    const bend_hyena_config *y = &c->hyena;
    int64_t d = c->hidden_size, order = y->order, fo = y->filter_order, e = y->emb_dim;
    int64_t df = d * (order - 1), proj = (order + 1) * d;
    /* BEND's loader: checkpoint_mixer renames `.mixer` and `.mlp` to `.mixer.layer`, `.mlp.layer` */
    const char *mixer = y->checkpoint_mixer ? "mixer.layer." : "mixer.";
    const char *mlp = y->checkpoint_mixer ? "mlp.layer." : "mlp.";
    ADD2(l, c->embedding_rows, d, "embeddings.word_embeddings.weight");
    if (c->position == BEND_POS_ABSOLUTE) ADD2(l, -1, d, "embeddings.position_embeddings.weight");
    for (int64_t i = 0; i < c->num_layers; i++) {
        char p[64], m[96], f[128];
        snprintf(p, sizeof p, "layers.%lld.", (long long)i);
        snprintf(m, sizeof m, "%s%s", p, mixer);
        snprintf(f, sizeof f, "%sfilter_fn.", m);
        linear(l, m, "in_proj", proj, d, true);
        linear(l, m, "out_proj", d, d, true);
        ADD3(l, proj, 1, y->short_filter_order, "%sshort_filter.weight", m);
        ADD1(l, proj, "%sshort_filter.bias", m);
        ADD1(l, df, "%sbias", f);
        ADD3(l, 1, y->l_max, e, "%spos_emb.z", f);
        ADD3(l, 1, y->l_max, 1, "%spos_emb.t", f);
        /* Linear(emb_dim, fo), Sin, [Linear(fo, fo), Sin] x 2, Linear(fo, df, bias=False) */
        linear(l, f, "implicit_filter.0", fo, e, true);
        ADD2(l, 1, fo, "%simplicit_filter.1.freq", f);
        linear(l, f, "implicit_filter.2", fo, fo, true);
        ADD2(l, 1, fo, "%simplicit_filter.3.freq", f);
        linear(l, f, "implicit_filter.4", fo, fo, true);
        ADD2(l, 1, fo, "%simplicit_filter.5.freq", f);
        linear(l, f, "implicit_filter.6", df, fo, false);
        ADD3(l, 1, 1, df, "%smodulation.deltas", f);
        layer_norm(l, p, "norm1", d);
        layer_norm(l, p, "norm2", d);
        char q[128];
        snprintf(q, sizeof q, "%s%s", p, mlp);
        linear(l, q, "fc1", y->d_inner, d, true);
        linear(l, q, "fc2", d, y->d_inner, true);
    }
    layer_norm(l, "", "ln_f", d);
}

/* BEND's AWDLSTMModel: embedding, then per layer i2h / h2h with the recurrent weight in
 * weight_raw under WeightDrop. Bidirectional (BEND's "type 1"): a second, separate stack of the
 * same layers, `lstm_rev`, runs on the reversed sequence. */
static void awdlstm_stack(const bend_awdlstm_config *a, const char *stack, expect_list *l)
{
    int64_t emb = a->input_size;
    for (int64_t i = 0; i < a->num_layers; i++) {
        int64_t in = i == 0 ? emb : a->hidden_size;
        int64_t out = i == a->num_layers - 1 ? emb : a->hidden_size;
        char p[96];
        if (a->weight_drop) {
            ADD2(l, 4 * out, out, "encoder.%s.%lld.weight_raw", stack, (long long)i);
            snprintf(p, sizeof p, "encoder.%s.%lld.module.", stack, (long long)i);
            linear(l, p, "i2h", 4 * out, in, true);
            ADD1(l, 4 * out, "%sh2h.bias", p);
        } else {
            snprintf(p, sizeof p, "encoder.%s.%lld.", stack, (long long)i);
            linear(l, p, "i2h", 4 * out, in, true);
            linear(l, p, "h2h", 4 * out, out, true);
        }
    }
}

static void awdlstm_tensors(const bend_model_config *c, expect_list *l)
{
    const bend_awdlstm_config *a = &c->awdlstm;
    ADD2(l, c->embedding_rows, a->input_size, "embedding.weight");
    awdlstm_stack(a, "lstm", l);
    if (a->bidirectional) awdlstm_stack(a, "lstm_rev", l);
}

/* One mamba_ssm 1.2.0.post1 Mamba: E = expand * d_model inner channels, R = dt_rank, N = d_state.
 * With the_projections false (mamba_rev tied to mamba_fwd) in_proj / out_proj are not its own. */
static void mamba_tensors(const bend_caduceus_config *d, const char *p, bool the_projections,
                          expect_list *l)
{
    int64_t e = d->expand * d->d_model;
    if (the_projections) linear(l, p, "in_proj", 2 * e, d->d_model, d->bias);
    ADD3(l, e, 1, d->d_conv, "%sconv1d.weight", p);
    if (d->conv_bias) ADD1(l, e, "%sconv1d.bias", p);
    ADD2(l, d->dt_rank + 2 * d->d_state, e, "%sx_proj.weight", p);
    linear(l, p, "dt_proj", e, d->dt_rank, true);
    ADD2(l, e, d->d_state, "%sA_log", p);
    ADD1(l, e, "%sD", p);
    if (the_projections) linear(l, p, "out_proj", d->d_model, e, d->bias);
}

/* RMSNorm (mamba_ssm's: weight only) or nn.LayerNorm; RCPS without fused add+norm wraps it. */
static void caduceus_norm(const bend_model_config *c, const char *p, expect_list *l)
{
    const bend_caduceus_config *d = &c->caduceus;
    const char *wrap = d->rcps && !d->fused_add_norm ? "submodule." : "";
    ADD1(l, d->d_model, "%s%sweight", p, wrap);
    if (c->norm_kind == BEND_NORM_LAYERNORM) ADD1(l, d->d_model, "%s%sbias", p, wrap);
}

/* Caduceus's CaduceusMixerModel (kuleshov-group/caduceus modeling_caduceus.py / modeling_rcps.py;
 * spec pipeline-and-nontransformer-models.md 4.4-4.6). Every parameter is per strand (d_model);
 * RCPS adds the `embedding.` and `submodule.` segments. Tied mamba_rev projections are read
 * from mamba_fwd, which is where save_pretrained keeps them. */
static void caduceus_tensors(const bend_model_config *c, expect_list *l)
{
    const bend_caduceus_config *d = &c->caduceus;
    ADD2(l, c->embedding_rows, d->d_model, "embeddings.word_embeddings.%sweight",
         d->rcps ? "embedding." : "");
    for (int64_t i = 0; i < c->num_layers; i++) {
        char p[96], m[160];
        snprintf(p, sizeof p, "layers.%lld.", (long long)i);
        snprintf(m, sizeof m, "%smixer.%smamba_fwd.", p, d->rcps ? "submodule." : "");
        mamba_tensors(d, m, true, l);
        if (d->bidirectional) {
            snprintf(m, sizeof m, "%smixer.%smamba_rev.", p, d->rcps ? "submodule." : "");
            mamba_tensors(d, m, !d->bidirectional_weight_tie, l);
        }
        strncat(p, "norm.", sizeof p - strlen(p) - 1);
        caduceus_norm(c, p, l);
    }
    caduceus_norm(c, "norm_f.", l);
}

/* BEND's ConvNetModel (ResNet-LM): one-hot input, so no embedding table. */
static void convnet_tensors(const bend_model_config *c, expect_list *l)
{
    int64_t h = c->hidden_size;
    for (int64_t j = 0; j < c->num_layers; j++) {
        char p[64];
        snprintf(p, sizeof p, "encoder.%lld.", (long long)j);
        ADD3(l, h, h, c->convnet.kernel_size, "%sconv.1.weight", p);
        ADD1(l, h, "%sconv.1.bias", p);
        layer_norm(l, p, "conv.4", h);
        linear(l, p, "ffn.0", h, h, true);
        layer_norm(l, p, "ffn.2", h);
    }
}

static const char *const bert_prefixes[] = {"bert.", "", NULL};
static const char *const esm_prefixes[] = {"esm.", "", NULL};
static const char *const hyena_prefixes[] = {"model.backbone.", "backbone.", "", NULL};
static const char *const awd_prefixes[] = {"encoder.", "", NULL};
static const char *const convnet_prefixes[] = {"model.", "", NULL};
/* CaduceusForMaskedLM, the Caduceus base model, the mixer model itself */
static const char *const caduceus_prefixes[] = {"caduceus.backbone.", "backbone.", "", NULL};
static const char *const no_prefixes[] = {"", NULL};

const char *const *bend_model_tensor_prefixes(const bend_model_config *cfg)
{
    switch (cfg->arch) {
    case BEND_ARCH_BERT:
    case BEND_ARCH_MOSAIC_BERT:
    case BEND_ARCH_BIGBIRD: return bert_prefixes;
    case BEND_ARCH_ESM: return esm_prefixes;
    case BEND_ARCH_HYENA: return hyena_prefixes;
    case BEND_ARCH_AWD_LSTM: return awd_prefixes;
    case BEND_ARCH_CONVNET: return convnet_prefixes;
    case BEND_ARCH_MAMBA: return caduceus_prefixes;
    default: return no_prefixes;
    }
}

bend_status bend_model_expected_tensors(const bend_model_config *cfg, bend_tensor_expect **out,
                                        size_t *n, bend_error *err)
{
    *out = NULL;
    *n = 0;
    const char *fam = bend_model_family_name(cfg->family);
    expect_list l = {0};
    switch (cfg->family) {
    case BEND_FAMILY_ONEHOT: return BEND_OK;
    case BEND_FAMILY_DNABERT:
    case BEND_FAMILY_GROVER:
    case BEND_FAMILY_DNABERT2:
    case BEND_FAMILY_GENA_LM:
        if (cfg->arch != BEND_ARCH_BERT && cfg->arch != BEND_ARCH_MOSAIC_BERT &&
            cfg->arch != BEND_ARCH_BIGBIRD)
            break;
        bert_tensors(cfg, &l);
        break;
    case BEND_FAMILY_NT:
        if (cfg->arch != BEND_ARCH_ESM) break;
        esm_tensors(cfg, &l);
        break;
    case BEND_FAMILY_HYENADNA:
        if (cfg->arch != BEND_ARCH_HYENA) break;
        hyena_tensors(cfg, &l);
        break;
    case BEND_FAMILY_AWDLSTM:
        if (cfg->arch != BEND_ARCH_AWD_LSTM) break;
        /* BEND's AWDLSTM assigns its bidirectional stacks only inside `if weight_dropout_prob:`,
         * so such a model has no LSTM layers at all: no checkpoint of it can be run */
        if (cfg->awdlstm.bidirectional && !cfg->awdlstm.weight_drop)
            return bend_fail(err, BEND_ERR_UNSUPPORTED,
                             "%s: a bidirectional AWD-LSTM with weight_dropout_prob 0 has no LSTM "
                             "layers in BEND's AWDLSTM (it builds them only under weight drop)",
                             cfg->config_path[0] ? cfg->config_path : fam);
        awdlstm_tensors(cfg, &l);
        break;
    case BEND_FAMILY_RESNETLM:
    case BEND_FAMILY_GPN: /* GPN's legacy ConvNet: BEND's ConvNet was copied from it */
        if (cfg->arch != BEND_ARCH_CONVNET) break;
        convnet_tensors(cfg, &l);
        break;
    case BEND_FAMILY_CADUCEUS:
        if (cfg->arch != BEND_ARCH_MAMBA) break;
        caduceus_tensors(cfg, &l);
        break;
    default: break;
    }
    if (l.failed) {
        free(l.v);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory listing the %s tensors", fam);
    }
    if (!l.n)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "the tensors a %s (%s) checkpoint needs are not known to this build", fam,
                         bend_model_arch_name(cfg->arch));
    *out = l.v;
    *n = l.n;
    return BEND_OK;
}

static bool is_float(bend_dtype dt)
{
    return dt == BEND_DT_F32 || dt == BEND_DT_F16 || dt == BEND_DT_BF16 || dt == BEND_DT_F64;
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && k < size; d++) {
        if (shape[d] < 0)
            k += (size_t)snprintf(buf + k, size - k, "%s*", d ? ", " : "");
        else
            k += (size_t)snprintf(buf + k, size - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    }
    if (k < size) snprintf(buf + k, size - k, "]");
}

static bool shape_matches(const bend_tensor_expect *e, const bend_tensor_ref *r)
{
    if (r->ndim != e->ndim) return false;
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] >= 0 && e->shape[d] != r->shape[d]) return false;
    return true;
}

/* Levenshtein distance of the first 255 characters. */
static int edit_distance(const char *a, const char *b)
{
    int row[256], prev[256];
    size_t la = strlen(a), lb = strlen(b);
    if (la > 255) la = 255;
    if (lb > 255) lb = 255;
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
        }
        memcpy(prev, row, (lb + 1) * sizeof *row);
    }
    return prev[lb];
}

/* Up to 3 names in w nearest to `name`, appended to buf as " 'a' [shape], ...". */
static void similar_names(const bend_weights *w, const char *name, char *buf, size_t size)
{
    size_t best[3];
    int dist[3], nb = 0;
    for (size_t i = 0; i < bend_weights_count(w); i++) {
        int dd = edit_distance(name, bend_weights_at(w, i)->name);
        int pos = nb;
        while (pos > 0 && dist[pos - 1] > dd) pos--;
        if (pos >= 3) continue;
        int last = nb < 3 ? nb : 2;
        for (int k = last; k > pos; k--) {
            best[k] = best[k - 1];
            dist[k] = dist[k - 1];
        }
        best[pos] = i;
        dist[pos] = dd;
        if (nb < 3) nb++;
    }
    size_t k = strlen(buf);
    if (!nb) {
        snprintf(buf + k, size - k, "; the checkpoint holds no tensors");
        return;
    }
    k += (size_t)snprintf(buf + k, size - k, "; similar names present:");
    for (int i = 0; i < nb && k < size; i++) {
        const bend_tensor_ref *r = bend_weights_at(w, best[i]);
        char shape[160];
        format_shape(shape, sizeof shape, r->ndim, r->shape);
        k += (size_t)snprintf(buf + k, size - k, "%s '%s' %s", i ? "," : "", r->name, shape);
    }
}

/* snprintf into buf (messages are cut at size, which is fine for them) */
static void putf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void putf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* The problem with one expected tensor, or "" if none. */
static void describe(const bend_model_config *cfg, const bend_weights *w,
                     const bend_tensor_expect *e, const char *full, char *buf, size_t size)
{
    const char *fam = bend_model_family_name(cfg->family);
    const char *cfgname = cfg->config_path[0] ? cfg->config_path : "the config";
    char want[160], got[160];
    buf[0] = '\0';
    format_shape(want, sizeof want, e->ndim, e->shape);
    const bend_tensor_ref *r = bend_weights_find(w, full);
    if (!r) {
        const char *file = bend_weights_count(w) ? bend_weights_at(w, 0)->file : "the checkpoint";
        putf(buf, size, "%s: tensor '%s' %s, which the %s forward pass needs (%s), is missing",
             file, full, want, fam, cfgname);
        similar_names(w, full, buf, size);
        return;
    }
    format_shape(got, sizeof got, r->ndim, r->shape);
    if (!is_float(r->dtype) && !e->integer_ok) {
        putf(buf, size, "%s: tensor '%s' has dtype %s; the %s forward pass needs a floating "
             "type (F32, F16, BF16 or F64)", r->file, full, bend_dtype_name(r->dtype), fam);
        return;
    }
    if (!shape_matches(e, r))
        putf(buf, size, "%s: tensor '%s' has shape %s; %s expects %s for %s", r->file, full, got,
             cfgname, want, fam);
}

bend_status bend_model_check_weights(const bend_model_config *cfg, const bend_weights *w,
                                     const char **prefix_out, bend_error *err)
{
    const char *const *prefixes = bend_model_tensor_prefixes(cfg);
    if (prefix_out) *prefix_out = prefixes[0];
    bend_tensor_expect *ex = NULL;
    size_t n = 0;
    bend_status st = bend_model_expected_tensors(cfg, &ex, &n, err);
    if (st || !n) return st;

    char full[BEND_TENSOR_NAME_MAX + 64];
    /* the prefix under which most expected tensors are present; the first on a tie */
    const char *prefix = prefixes[0];
    size_t best = 0;
    for (size_t p = 0; prefixes[p]; p++) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++) {
            snprintf(full, sizeof full, "%s%s", prefixes[p], ex[i].name);
            found += bend_weights_find(w, full) != NULL;
        }
        if (found > best) {
            best = found;
            prefix = prefixes[p];
        }
    }
    if (prefix_out) *prefix_out = prefix;

    char *msg = malloc(BEND_ERROR_MSG_MAX), *other = malloc(BEND_ERROR_MSG_MAX);
    if (!msg || !other) {
        free(msg);
        free(other);
        free(ex);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    size_t problems = 0;
    const char *second = NULL;
    char second_name[BEND_TENSOR_NAME_MAX + 64] = "";
    msg[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(full, sizeof full, "%s%s", prefix, ex[i].name);
        describe(cfg, w, &ex[i], full, problems ? other : msg, BEND_ERROR_MSG_MAX);
        if (!(problems ? other : msg)[0]) continue;
        if (problems == 1) {
            snprintf(second_name, sizeof second_name, "%s", full);
            second = second_name;
        }
        problems++;
    }
    if (problems) {
        size_t k = strlen(msg);
        if (best == 0 && k < BEND_ERROR_MSG_MAX) {
            k += (size_t)snprintf(msg + k, BEND_ERROR_MSG_MAX - k,
                                  " (none of the %zu tensors %s needs is present under prefix",
                                  n, bend_model_family_name(cfg->family));
            for (size_t p = 0; prefixes[p] && k < BEND_ERROR_MSG_MAX; p++)
                k += (size_t)snprintf(msg + k, BEND_ERROR_MSG_MAX - k, "%s '%s'",
                                      p ? " or" : "", prefixes[p]);
            if (k < BEND_ERROR_MSG_MAX)
                k += (size_t)snprintf(msg + k, BEND_ERROR_MSG_MAX - k,
                                      ": is this the right model family?)");
        }
        if (problems > 1 && k < BEND_ERROR_MSG_MAX)
            snprintf(msg + k, BEND_ERROR_MSG_MAX - k,
                     " (and %zu more of the %zu expected tensors missing or mis-shaped, e.g. '%s')",
                     problems - 1, n, second);
        st = bend_fail(err, BEND_ERR_INVALID, "%s", msg);
    }
    free(msg);
    free(other);
    free(ex);
    return st;
}
