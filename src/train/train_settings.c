#include "train/train_settings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"

static bend_status get_required_str(const bend_config *cfg, const char *key, char **out,
                                    bend_error *err)
{
    bend_status st = bend_config_get_str(cfg, key, out, err);
    if (!st && !*out) st = bend_fail(err, BEND_ERR_INVALID, "config key '%s' is null; set it", key);
    return st;
}

static bend_status get_positive(const bend_config *cfg, const char *key, int64_t *out, bend_error *err)
{
    bend_status st = bend_config_get_int(cfg, key, out, err);
    if (!st && *out < 1)
        st = bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected a positive integer, got %lld",
                       key, (long long)*out);
    return st;
}

/* null -> *out = 0; otherwise a positive integer. */
static bend_status get_optional_positive(const bend_config *cfg, const char *key, int64_t *out,
                                         bend_error *err)
{
    *out = 0;
    return bend_config_is_null(cfg, key) ? BEND_OK : get_positive(cfg, key, out, err);
}

static bend_status get_nonneg_double(const bend_config *cfg, const char *key, double *out,
                                     bend_error *err)
{
    bend_status st = bend_config_get_double(cfg, key, out, err);
    if (!st && !(*out >= 0 && isfinite(*out)))
        st = bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected a non-negative number, got %g",
                       key, *out);
    return st;
}

static bend_status parse_activation(const char *v, bend_output_activation *out, bend_error *err)
{
    static const char *const names[] = {"none", "softmax", "sigmoid", "softplus"};
    static const bend_output_activation acts[] = {BEND_ACT_NONE, BEND_ACT_SOFTMAX, BEND_ACT_SIGMOID,
                                                  BEND_ACT_SOFTPLUS};
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) {
            *out = acts[i];
            return BEND_OK;
        }
    return bend_fail(err, BEND_ERR_INVALID, "config key 'params.activation': unknown activation "
                     "'%s'; expected none, softmax, sigmoid or softplus", v);
}

/* params.load_checkpoint: false, true, or an epoch number (BEND accepts all three). */
static bend_status parse_resume(const bend_config *cfg, int64_t *out, bend_error *err)
{
    if (bend_config_is_null(cfg, "params.load_checkpoint")) {
        *out = BEND_RESUME_NONE;
        return BEND_OK;
    }
    bool b;
    bend_error ignore;
    if (!bend_config_get_bool(cfg, "params.load_checkpoint", &b, &ignore)) {
        *out = b ? BEND_RESUME_LATEST : BEND_RESUME_NONE;
        return BEND_OK;
    }
    bend_status st = bend_config_get_int(cfg, "params.load_checkpoint", out, NULL);
    if (st || *out < 1)
        return bend_fail(err, BEND_ERR_INVALID, "config key 'params.load_checkpoint': expected "
                         "true, false or an epoch number");
    return BEND_OK;
}

static bend_status load_model(const bend_config *cfg, bend_train_settings *s, bend_error *err)
{
    bend_net_spec *n = &s->net;
    bend_status st = BEND_OK;
    if (!strcmp(s->embedder, "resnet-supervised")) {
        n->kind = BEND_NET_RESNET;
        if (!st) st = get_positive(cfg, "supervised_encoder.resnet-supervised.n_layers", &n->resnet_layers, err);
        if (!st) st = get_positive(cfg, "supervised_encoder.resnet-supervised.hidden_size", &n->resnet_hidden, err);
        if (!st) st = get_positive(cfg, "supervised_encoder.resnet-supervised.kernel_size", &n->resnet_kernel, err);
    } else if (!strcmp(s->embedder, "basset-supervised")) {
        n->kind = BEND_NET_BASSET;
        if (!st) st = get_positive(cfg, "supervised_encoder.basset-supervised.input_len", &n->basset_input_len, err);
    } else {
        n->kind = BEND_NET_CNN;
    }
    /* BEND builds ConvNetForSupervised's head with its own defaults (hidden_size_downstream,
     * kernel_size_downstream), not the task's model.hidden_size. */
    const bool resnet = n->kind == BEND_NET_RESNET;
    if (!st) st = get_positive(cfg, resnet ? "supervised_encoder.resnet-supervised.hidden_size_downstream"
                                           : "model.hidden_size", &n->hidden_size, err);
    if (!st) st = get_positive(cfg, resnet ? "supervised_encoder.resnet-supervised.kernel_size_downstream"
                                           : "model.kernel_size", &n->kernel_size, err);
    if (!st && bend_config_is_null(cfg, "model.output_size"))
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'model.output_size' is null: set the number "
                       "of labels of task '%s' (BEND's label_dims)", s->task);
    if (!st) st = get_positive(cfg, "model.output_size", &n->output_size, err);
    if (!st) st = get_optional_positive(cfg, "model.output_downsample_window", &n->downsample_window, err);
    char *act = NULL;
    if (!st) st = get_required_str(cfg, "params.activation", &act, err);
    if (!st) st = parse_activation(act, &n->activation, err);
    free(act);
    return st;
}

static bend_status load_loss(const bend_config *cfg, bend_train_settings *s, bend_error *err)
{
    char *criterion = NULL;
    bend_status st = get_required_str(cfg, "params.criterion", &criterion, err);
    /* BEND's train_on_task.py calls the Poisson loss poisson_nll. */
    if (!st && !strcmp(criterion, "poisson_nll")) s->loss.kind = BEND_LOSS_POISSON;
    else if (!st) st = bend_loss_kind_from_name(criterion, &s->loss.kind, err);
    if (st) bend_error_context(err, "config key 'params.criterion'");
    free(criterion);
    if (!st && !bend_config_is_null(cfg, "params.class_weights")) {
        char **items = NULL;
        size_t n = 0;
        st = bend_config_get_str_list(cfg, "params.class_weights", &items, &n, err);
        if (!st && !(s->class_weights = calloc(n ? n : 1, sizeof *s->class_weights)))
            st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char *end = NULL;
            double w = st ? 0 : strtod(items[i], &end);
            if (!st && (end == items[i] || *end || !(w >= 0) || !isfinite(w)))
                st = bend_fail(err, BEND_ERR_INVALID, "config key 'params.class_weights': item %zu "
                               "('%s') is not a non-negative number", i, items[i]);
            if (!st) s->class_weights[i] = w;
            free(items[i]);
        }
        free(items);
        s->loss.class_weights = s->class_weights;
        s->loss.n_class_weights = (int64_t)n;
    }
    if (!st) st = bend_config_get_bool(cfg, "params.bce_mask_padding", &s->loss.bce_mask_padding, err);
    return st;
}

static bend_status load_cross_validation(const bend_config *cfg, bend_train_settings *s,
                                         bend_error *err)
{
    const char *key = "data.cross_validation";
    bool on;
    bend_error ignore;
    if (bend_config_is_null(cfg, key) || (!bend_config_get_bool(cfg, key, &on, &ignore) && !on))
        return BEND_OK;
    bend_status st = bend_config_get_int(cfg, key, &s->cross_validation, NULL);
    if (st || s->cross_validation < 0)
        return bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected false or a fold number "
                         "(1..10; 0 is BEND's default, the last fold)", key);
    s->cross_validation_on = true;
    return BEND_OK;
}

bend_status bend_train_settings_load(const bend_config *cfg, bend_train_settings *s, bend_error *err)
{
    memset(s, 0, sizeof *s);
    bend_status st = get_required_str(cfg, "task", &s->task, err);
    if (!st) st = get_required_str(cfg, "embedder", &s->embedder, err);
    if (!st) st = get_required_str(cfg, "data_dir", &s->data_dir, err);
    if (!st) st = get_required_str(cfg, "output_dir", &s->output_dir, err);
    if (!st) st = get_required_str(cfg, "device", &s->device, err);
    if (!st) {
        /* BEND trains its supervised baselines on the one-hot data (train_on_task.py). */
        bool supervised = strstr(s->embedder, "supervised") != NULL;
        s->store_model = strdup(supervised ? "onehot" : s->embedder);
        char *dir = s->store_model ? bend_path_join(s->data_dir, s->task) : NULL;
        char *dir2 = dir ? bend_path_join(dir, s->store_model) : NULL;
        s->store_path = dir2 ? bend_path_join(dir2, "embeddings.h5") : NULL;
        free(dir);
        free(dir2);
        if (!s->store_path) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    if (!st) st = load_model(cfg, s, err);
    if (!st) st = get_nonneg_double(cfg, "optimizer.lr", &s->optimizer.lr, err);
    if (!st) st = get_nonneg_double(cfg, "optimizer.weight_decay", &s->optimizer.weight_decay, err);
    if (!st) st = get_nonneg_double(cfg, "optimizer.eps", &s->optimizer.eps, err);
    if (!st) st = get_nonneg_double(cfg, "optimizer.betas.0", &s->optimizer.beta1, err);
    if (!st) st = get_nonneg_double(cfg, "optimizer.betas.1", &s->optimizer.beta2, err);
    if (!st && (s->optimizer.beta1 >= 1 || s->optimizer.beta2 >= 1))
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'optimizer.betas': each must be in [0, 1)");
    if (!st) st = get_positive(cfg, "data.batch_size", &s->batch_size, err);
    if (!st) st = bend_config_get_double(cfg, "data.padding_value", &s->padding_value, err);
    if (!st) st = bend_config_get_bool(cfg, "data.shuffle", &s->shuffle, err);
    char *pad = NULL;
    if (!st) st = get_required_str(cfg, "data.onehot_padding", &pad, err);
    if (!st && strcmp(pad, "A") && strcmp(pad, "zeros"))
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'data.onehot_padding': expected A or "
                       "zeros, got '%s'", pad);
    if (!st) s->onehot_padding_a = !strcmp(pad, "A");
    free(pad);
    if (!st) st = load_cross_validation(cfg, s, err);
    if (!st) st = get_positive(cfg, "params.epochs", &s->epochs, err);
    if (!st) st = parse_resume(cfg, &s->load_checkpoint, err);
    char *mode = NULL;
    if (!st) st = get_required_str(cfg, "params.mode", &mode, err);
    if (!st && strcmp(mode, "train") && strcmp(mode, "test"))
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'params.mode': expected train or test, "
                       "got '%s'", mode);
    if (!st) s->test_only = !strcmp(mode, "test");
    free(mode);
    if (!st) st = get_positive(cfg, "params.gradient_accumulation_steps", &s->grad_accum, err);
    if (!st) st = load_loss(cfg, s, err);
    char *metric = NULL;
    if (!st) st = get_required_str(cfg, "params.metric", &metric, err);
    if (!st && (st = bend_metric_kind_from_name(metric, &s->metric, err)))
        bend_error_context(err, "config key 'params.metric'");
    if (!st) s->metric_name = bend_metric_kind_name(s->metric);
    free(metric);
    if (!st) st = get_optional_positive(cfg, "params.early_stopping", &s->early_stopping, err);
    if (!st && !bend_config_is_null(cfg, "seed")) {
        int64_t seed;
        st = bend_config_get_int(cfg, "seed", &seed, err);
        if (!st && seed < 0)
            st = bend_fail(err, BEND_ERR_INVALID, "config key 'seed': expected a non-negative integer");
        s->seed = (uint64_t)seed;
        s->seed_given = true;
    }
    if (st) bend_train_settings_free(s);
    return st;
}

void bend_train_settings_free(bend_train_settings *s)
{
    free(s->task);
    free(s->embedder);
    free(s->data_dir);
    free(s->output_dir);
    free(s->store_model);
    free(s->store_path);
    free(s->class_weights);
    free(s->device);
    memset(s, 0, sizeof *s);
}
