#include "embed/settings.h"
#include "core/path.h"
#include "core/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bend_status require_name(const char *key, const char *value, const char *const *names,
                                size_t n, const char *what, bend_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], value)) return BEND_OK;
    bend_strbuf list = BEND_STRBUF_INIT;
    bend_strbuf_join(&list, names, n, ", ");
    bend_status st = bend_fail(err, BEND_ERR_INVALID, "config key '%s': unknown %s '%s'; known %ss: %s",
                               key, what, value, what, bend_strbuf_cstr(&list));
    bend_strbuf_free(&list);
    return st;
}

static bend_status get_task_str(const bend_config *cfg, const char *task, const char *key,
                                char **out, bend_error *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s.%s", task, key);
    if (!bend_config_has(cfg, path)) {
        *out = NULL;
        return BEND_OK;
    }
    return bend_config_get_str(cfg, path, out, err);
}


bend_status bend_embed_settings_load(const bend_config *cfg, bend_embed_settings *s,
                                     bend_error *err)
{
    memset(s, 0, sizeof *s);
    bend_status st;
    size_t n_tasks, n_models;
    const char *const *tasks = bend_config_task_names(cfg, &n_tasks);
    const char *const *models = bend_config_model_names(cfg, &n_models);
    if ((st = bend_config_get_str(cfg, "task", &s->task, err))) goto fail;
    if (!s->task) { st = bend_fail(err, BEND_ERR_INVALID, "config key 'task' is null; name a task, e.g. task=histone_modification"); goto fail; }
    if ((st = require_name("task", s->task, tasks, n_tasks, "task", err))) goto fail;
    if ((st = bend_config_get_str(cfg, "model", &s->model, err))) goto fail;
    if (!s->model) { st = bend_fail(err, BEND_ERR_INVALID, "config key 'model' is null; name a model, e.g. model=onehot"); goto fail; }
    if ((st = require_name("model", s->model, models, n_models, "model", err))) goto fail;
    if ((st = bend_config_get_str(cfg, "data_dir", &s->data_dir, err))) goto fail;
    if (!s->data_dir) { st = bend_fail(err, BEND_ERR_INVALID, "config key 'data_dir' is null"); goto fail; }

    if ((st = get_task_str(cfg, s->task, "bed", &s->bed, err))) goto fail;
    if ((st = get_task_str(cfg, s->task, "reference_fasta", &s->reference_fasta, err))) goto fail;
    if ((st = get_task_str(cfg, s->task, "hdf5_file", &s->hdf5_file, err))) goto fail;
    if (!s->bed || !s->reference_fasta) {
        st = bend_fail(err, BEND_ERR_INVALID, "task '%s' needs both '%s.bed' and '%s.reference_fasta'",
                       s->task, s->task, s->task);
        goto fail;
    }
    char key[512];
    snprintf(key, sizeof key, "%s.read_strand", s->task);
    if (bend_config_has(cfg, key) && (st = bend_config_get_bool(cfg, key, &s->read_strand, err))) goto fail;
    snprintf(key, sizeof key, "%s.label_depth", s->task);
    if (!bend_config_is_null(cfg, key)) {
        if ((st = bend_config_get_int(cfg, key, &s->label_depth, err))) goto fail;
        if (s->label_depth < 1 || s->label_depth > 1000000) {
            st = bend_fail(err, BEND_ERR_INVALID, "config key '%s': expected a positive number of labels, got %lld",
                           key, (long long)s->label_depth);
            goto fail;
        }
    }

    if ((st = bend_config_get_int(cfg, "chunk_size", &s->chunk_size, err))) goto fail;
    if (s->chunk_size < 1) {
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'chunk_size': expected a positive integer, got %lld",
                       (long long)s->chunk_size);
        goto fail;
    }
    if (!bend_config_is_null(cfg, "chunk")) {
        if ((st = bend_config_get_int_list(cfg, "chunk", &s->chunks, &s->n_chunks, err))) goto fail;
        for (size_t i = 0; i < s->n_chunks; i++)
            if (s->chunks[i] < 0) {
                st = bend_fail(err, BEND_ERR_INVALID, "config key 'chunk': chunk ids are 0 or more, got %lld",
                               (long long)s->chunks[i]);
                goto fail;
            }
    }
    if (!bend_config_is_null(cfg, "splits") &&
        (st = bend_config_get_str_list(cfg, "splits", &s->splits, &s->n_splits, err)))
        goto fail;

    char *dtype = NULL;
    if ((st = bend_config_get_str(cfg, "dtype", &dtype, err))) goto fail;
    if (dtype && !strcmp(dtype, "float16")) s->dtype = BEND_STORE_F16;
    else if (dtype && !strcmp(dtype, "float32")) s->dtype = BEND_STORE_F32;
    else {
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'dtype': expected float32 or float16, got '%s'",
                       dtype ? dtype : "null");
        free(dtype);
        goto fail;
    }
    free(dtype);
    if ((st = bend_config_get_str(cfg, "device", &s->device, err))) goto fail;
    if ((st = bend_config_get_bool(cfg, "overwrite", &s->overwrite, err))) goto fail;
    if ((st = bend_config_get_double(cfg, "progress_interval", &s->progress_interval, err))) goto fail;
    if ((st = bend_config_get_int(cfg, "work_nucleotides", &s->work_nucleotides, err))) goto fail;
    if (s->work_nucleotides < 1) {
        st = bend_fail(err, BEND_ERR_INVALID, "config key 'work_nucleotides': expected a positive integer");
        goto fail;
    }
    char *task_dir = bend_path_join(s->data_dir, s->task);
    s->store_dir = task_dir ? bend_path_join(task_dir, s->model) : NULL;
    free(task_dir);
    s->store_path = s->store_dir ? bend_path_join(s->store_dir, "embeddings.h5") : NULL;
    if (!s->store_path) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return BEND_OK;
fail:
    bend_embed_settings_free(s);
    return st;
}

void bend_embed_settings_free(bend_embed_settings *s)
{
    free(s->task);
    free(s->model);
    free(s->data_dir);
    free(s->bed);
    free(s->reference_fasta);
    free(s->hdf5_file);
    free(s->chunks);
    for (size_t i = 0; i < s->n_splits; i++) free(s->splits[i]);
    free(s->splits);
    free(s->device);
    free(s->store_dir);
    free(s->store_path);
    memset(s, 0, sizeof *s);
}
