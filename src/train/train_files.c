/* Checkpoints, CSV files and the test predictions of bend train (see train_files.h). */
#define _XOPEN_SOURCE 700
#include "train/train_files.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/safetensors_write.h"
#include "checkpoint/weights.h"
#include "core/path.h"
#include "core/strbuf.h"
#include "store/h5util.h"

static const char *const output_files[] = {"losses.csv", "best_model_metrics.csv",
                                           "test_predictions.h5"};

void bend_format_double(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "%s", "");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* pandas writes floats with a decimal point or exponent (1.0, not 1) */
    if (!strpbrk(buf, ".einf") && strlen(buf) + 3 < len) strcat(buf, ".0");
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bend_status remove_tree(const char *path, bend_error *err)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return bend_fail(err, BEND_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return BEND_OK;
}

static char *join3(const char *a, const char *b, const char *c)
{
    char *ab = bend_path_join(a, b);
    char *abc = ab && c ? bend_path_join(ab, c) : NULL;
    if (!c) return ab;
    free(ab);
    return abc;
}

/* epoch_N -> N; 0 for other names. */
static int64_t epoch_of(const char *name)
{
    if (strncmp(name, "epoch_", 6) || !name[6]) return 0;
    char *end;
    long long e = strtoll(name + 6, &end, 10);
    return *end || e < 1 ? 0 : e;
}

bend_status bend_train_prepare_output(const char *output_dir, bool fresh, bend_error *err)
{
    char *ckpt = bend_path_join(output_dir, "checkpoints");
    if (!ckpt) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = bend_mkdir_p(ckpt, "output directory", err);
    DIR *d = !st && fresh ? opendir(ckpt) : NULL;
    for (struct dirent *e; d && !st && (e = readdir(d));) {
        if (!epoch_of(e->d_name) && strncmp(e->d_name, ".epoch_", 7)) continue;
        char *p = bend_path_join(ckpt, e->d_name);
        st = p ? remove_tree(p, err) : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        free(p);
    }
    if (d) closedir(d);
    for (size_t i = 0; !st && fresh && i < sizeof output_files / sizeof *output_files; i++) {
        char *p = bend_path_join(output_dir, output_files[i]);
        if (!p) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        else if (unlink(p) != 0 && errno != ENOENT)
            st = bend_fail(err, BEND_ERR_IO, "cannot remove %s: %s", p, strerror(errno));
        free(p);
    }
    free(ckpt);
    return st;
}

/* Writes text to path via a temporary file and rename. */
static bend_status write_text_atomic(const char *path, const char *text, bend_error *err)
{
    bend_strbuf tmp = BEND_STRBUF_INIT;
    bend_strbuf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (tmp.failed) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    FILE *f = fopen(bend_strbuf_cstr(&tmp), "w");
    bend_status st = BEND_OK;
    if (!f) {
        st = bend_fail(err, BEND_ERR_IO, "cannot write %s: %s", bend_strbuf_cstr(&tmp), strerror(errno));
    } else {
        bool ok = fputs(text, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if (fclose(f) != 0) ok = false;
        if (!ok) st = bend_fail(err, BEND_ERR_IO, "cannot write %s: %s", bend_strbuf_cstr(&tmp), strerror(errno));
        if (!st && rename(bend_strbuf_cstr(&tmp), path) != 0)
            st = bend_fail(err, BEND_ERR_IO, "cannot rename %s to %s: %s", bend_strbuf_cstr(&tmp),
                           path, strerror(errno));
        if (st) unlink(bend_strbuf_cstr(&tmp));
    }
    bend_strbuf_free(&tmp);
    return st;
}

static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static double real_of(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static bend_status write_state(const char *path, const char *metric_name, uint64_t seed,
                               int64_t adam_step, const bend_epoch_record *history, size_t n,
                               bend_error *err)
{
    json_t *hist = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(hist, json_pack("{s:I, s:o, s:o, s:o}", "epoch", (json_int_t)history[i].epoch,
                                              "train_loss", real_or_null(history[i].train_loss),
                                              "val_loss", real_or_null(history[i].val_loss),
                                              "val_metric", real_or_null(history[i].val_metric)));
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    json_t *root = json_pack("{s:s, s:I, s:s, s:s, s:I, s:o}", "format", "bend-train-checkpoint",
                             "epoch", (json_int_t)(n ? history[n - 1].epoch : 0), "metric", metric_name,
                             "seed", seed_text, "adamw_step", (json_int_t)adam_step, "history", hist);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) return bend_fail(err, BEND_ERR_NOMEM, "out of memory writing %s", path);
    bend_status st = write_text_atomic(path, text, err);
    free(text);
    return st;
}

bend_status bend_train_save_checkpoint(const char *output_dir, bend_net *net, bend_adamw *opt,
                                       const char *metric_name, uint64_t seed,
                                       const bend_epoch_record *history, size_t n_history,
                                       bend_error *err)
{
    int64_t epoch = history[n_history - 1].epoch;
    char name[64], tmp_name[96];
    snprintf(name, sizeof name, "epoch_%lld", (long long)epoch);
    snprintf(tmp_name, sizeof tmp_name, ".epoch_%lld.tmp.%ld", (long long)epoch, (long)getpid());
    char *final = join3(output_dir, "checkpoints", name), *tmp = join3(output_dir, "checkpoints", tmp_name);
    char *model = tmp ? bend_path_join(tmp, "model.safetensors") : NULL;
    char *optim = tmp ? bend_path_join(tmp, "optimizer.safetensors") : NULL;
    char *state = tmp ? bend_path_join(tmp, "state.json") : NULL;
    int n = 0;
    bend_param *p = bend_net_params(net, &n);
    bend_st_tensor *t = calloc((size_t)(2 * n + 1), sizeof *t);
    char **names = calloc((size_t)(2 * n + 1), sizeof *names);
    bend_status st = final && tmp && model && optim && state && t && names
                         ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (!st) st = remove_tree(tmp, err);
    if (!st) st = bend_mkdir_p(tmp, "checkpoint directory", err);
    /* Integer buffers (BatchNorm's num_batches_tracked) are int64 in torch's state_dict. */
    int64_t *counts = calloc((size_t)n + 1, sizeof *counts);
    if (!st && !counts) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < n; i++) {
        t[i] = (bend_st_tensor){p[i].name, BEND_DT_F32, p[i].ndim, {0}, p[i].value};
        if (p[i].is_integer && p[i].numel == 1) {
            counts[i] = (int64_t)p[i].value[0];
            t[i].dtype = BEND_DT_I64;
            t[i].data = &counts[i];
        }
        memcpy(t[i].shape, p[i].shape, sizeof p[i].shape);
    }
    char epoch_text[32];
    snprintf(epoch_text, sizeof epoch_text, "%lld", (long long)epoch);
    const char *const meta[][2] = {{"format", "pt"}, {"epoch", epoch_text}};
    if (!st) st = bend_safetensors_write(model, t, (size_t)n, meta, 2, err);
    size_t k = 0;
    for (int i = 0; !st && i < n; i++) {
        if (p[i].is_buffer) continue;
        for (int m = 0; m < 2; m++) {
            bend_strbuf sb = BEND_STRBUF_INIT;
            bend_strbuf_printf(&sb, "%s.%s", p[i].name, m ? "exp_avg_sq" : "exp_avg");
            names[k] = bend_strbuf_take(&sb);
            t[k] = (bend_st_tensor){names[k], BEND_DT_F32, p[i].ndim, {0},
                                    m ? bend_adamw_exp_avg_sq(opt, i) : bend_adamw_exp_avg(opt, i)};
            memcpy(t[k].shape, p[i].shape, sizeof p[i].shape);
            if (!names[k++]) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
    }
    int64_t step = *bend_adamw_step_count(opt);
    if (!st) st = bend_safetensors_write(optim, t, k, meta, 2, err);
    if (!st) st = write_state(state, metric_name, seed, step, history, n_history, err);
    if (!st) st = remove_tree(final, err);
    if (!st && rename(tmp, final) != 0)
        st = bend_fail(err, BEND_ERR_IO, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
    for (size_t i = 0; i < k; i++) free(names[i]);
    free(names);
    free(counts);
    free(t);
    free(final);
    free(tmp);
    free(model);
    free(optim);
    free(state);
    return st;
}

bend_status bend_train_find_checkpoint(const char *output_dir, int64_t want, int64_t *epoch,
                                       bend_error *err)
{
    *epoch = 0;
    char *ckpt = bend_path_join(output_dir, "checkpoints");
    if (!ckpt) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    DIR *d = opendir(ckpt);
    for (struct dirent *e; d && (e = readdir(d));) {
        int64_t ep = epoch_of(e->d_name);
        if (ep && (want < 0 ? ep > *epoch : ep == want)) *epoch = ep;
    }
    if (d) closedir(d);
    bend_status st = BEND_OK;
    if (want > 0 && *epoch != want)
        st = bend_fail(err, BEND_ERR_IO, "%s has no checkpoint of epoch %lld (params.load_checkpoint)",
                       ckpt, (long long)want);
    free(ckpt);
    return st;
}

static bend_status load_tensors(const char *path, bend_param *p, int n, bool optimizer,
                                bend_adamw *opt, bend_error *err)
{
    bend_weights *w = NULL;
    bend_status st = bend_weights_open(path, &w, err);
    for (int i = 0; !st && i < n; i++) {
        for (int m = 0; m < (optimizer ? 2 : 1) && !st; m++) {
            if (optimizer && p[i].is_buffer) continue;
            bend_strbuf name = BEND_STRBUF_INIT;
            if (optimizer) bend_strbuf_printf(&name, "%s.%s", p[i].name, m ? "exp_avg_sq" : "exp_avg");
            else bend_strbuf_printf(&name, "%s", p[i].name);
            float *values = NULL;
            st = bend_weights_get_f32(w, bend_strbuf_cstr(&name), p[i].ndim, p[i].shape, &values, err);
            float *dst = !optimizer ? p[i].value : m ? bend_adamw_exp_avg_sq(opt, i) : bend_adamw_exp_avg(opt, i);
            if (!st) memcpy(dst, values, (size_t)p[i].numel * sizeof *dst);
            free(values);
            bend_strbuf_free(&name);
        }
    }
    bend_weights_close(w);
    return st;
}

bend_status bend_train_load_checkpoint(const char *output_dir, int64_t epoch, bend_net *net,
                                       bend_adamw *opt, bend_epoch_record **history,
                                       size_t *n_history, uint64_t *seed, bend_error *err)
{
    *history = NULL;
    *n_history = 0;
    char name[64];
    snprintf(name, sizeof name, "epoch_%lld", (long long)epoch);
    char *dir = join3(output_dir, "checkpoints", name);
    char *model = dir ? bend_path_join(dir, "model.safetensors") : NULL;
    char *optim = dir ? bend_path_join(dir, "optimizer.safetensors") : NULL;
    char *state = dir ? bend_path_join(dir, "state.json") : NULL;
    if (!model || !optim || !state) {
        free(dir), free(model), free(optim), free(state);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    int n = 0;
    bend_param *p = bend_net_params(net, &n);
    bend_status st = load_tensors(model, p, n, false, NULL, err);
    if (!st && opt) st = load_tensors(optim, p, n, true, opt, err);
    json_error_t jerr;
    json_t *root = st ? NULL : json_load_file(state, 0, &jerr);
    if (!st && !root)
        st = bend_fail(err, BEND_ERR_PARSE, "%s:%d: %s", state, jerr.line, jerr.text);
    json_t *hist = root ? json_object_get(root, "history") : NULL;
    const char *seed_text = root ? json_string_value(json_object_get(root, "seed")) : NULL;
    if (!st && (!json_is_array(hist) || !seed_text || !json_is_integer(json_object_get(root, "adamw_step"))))
        st = bend_fail(err, BEND_ERR_PARSE, "%s: not a bend train checkpoint state", state);
    if (!st) {
        *seed = strtoull(seed_text, NULL, 10);
        if (opt) *bend_adamw_step_count(opt) = json_integer_value(json_object_get(root, "adamw_step"));
        size_t m = json_array_size(hist);
        *history = calloc(m ? m : 1, sizeof **history);
        if (!*history) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < m; i++) {
            json_t *r = json_array_get(hist, i);
            (*history)[i] = (bend_epoch_record){json_integer_value(json_object_get(r, "epoch")),
                                                real_of(json_object_get(r, "train_loss")),
                                                real_of(json_object_get(r, "val_loss")),
                                                real_of(json_object_get(r, "val_metric"))};
        }
        *n_history = m;
    }
    json_decref(root);
    free(dir);
    free(model);
    free(optim);
    free(state);
    return st;
}

static void csv_number(bend_strbuf *sb, double v)
{
    char buf[40];
    bend_format_double(v, buf, sizeof buf);
    bend_strbuf_append(sb, buf, strlen(buf));
}

static void csv_row(bend_strbuf *sb, const bend_epoch_record *r)
{
    bend_strbuf_printf(sb, "%lld,", (long long)r->epoch);
    csv_number(sb, r->train_loss);
    bend_strbuf_append(sb, ",", 1);
    csv_number(sb, r->val_loss);
    bend_strbuf_append(sb, ",", 1);
    csv_number(sb, r->val_metric);
}

static bend_status write_csv(const char *output_dir, const char *file, bend_strbuf *sb,
                             bend_error *err)
{
    char *path = bend_path_join(output_dir, file);
    bend_status st = !path || sb->failed ? bend_fail(err, BEND_ERR_NOMEM, "out of memory")
                                         : write_text_atomic(path, bend_strbuf_cstr(sb), err);
    free(path);
    bend_strbuf_free(sb);
    return st;
}

bend_status bend_train_write_config(const char *output_dir, const char *yaml, bend_error *err)
{
    char *path = bend_path_join(output_dir, "config.yaml");
    bend_status st = path ? write_text_atomic(path, yaml, err)
                          : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    free(path);
    return st;
}

bend_status bend_train_write_losses(const char *output_dir, const char *metric_name,
                                    const bend_epoch_record *history, size_t n, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb, "Epoch,train_loss,val_loss,val_%s\n", metric_name);
    for (size_t i = 0; i < n; i++) {
        csv_row(&sb, &history[i]);
        bend_strbuf_append(&sb, "\n", 1);
    }
    return write_csv(output_dir, "losses.csv", &sb, err);
}

bend_status bend_train_write_best_metrics(const char *output_dir, const char *metric_name,
                                          const bend_epoch_record *best, char *const *columns,
                                          const double *values, size_t n_values, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb, "Epoch,train_loss,val_loss,val_%s", metric_name);
    for (size_t i = 0; i < n_values; i++) bend_strbuf_printf(&sb, ",%s", columns[i]);
    bend_strbuf_append(&sb, "\n", 1);
    csv_row(&sb, best);
    for (size_t i = 0; i < n_values; i++) {
        bend_strbuf_append(&sb, ",", 1);
        csv_number(&sb, values[i]);
    }
    bend_strbuf_append(&sb, "\n", 1);
    return write_csv(output_dir, "best_model_metrics.csv", &sb, err);
}

static bend_status write_dataset(hid_t f, const char *name, hid_t file_type, hid_t mem_type,
                                 size_t rows, size_t width, const void *data, bend_error *err)
{
    hsize_t dims[2] = {rows, width};
    hid_t sp = H5Screate_simple(width ? 2 : 1, dims, NULL);
    hid_t d = H5Dcreate2(f, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bend_status st = BEND_OK;
    if (d < 0 || (rows && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        st = bend_h5_fail(err, "cannot write dataset %s", name);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    return st;
}

bend_status bend_train_write_predictions(const char *output_dir, const int64_t *y_true,
                                         const double *y_pred, bool pred_is_class, size_t rows,
                                         size_t width, const char *metric_name, int64_t epoch,
                                         bend_error *err)
{
    bend_h5_quiet();
    char *path = bend_path_join(output_dir, "test_predictions.h5");
    bend_strbuf tmp = BEND_STRBUF_INIT;
    if (path) bend_strbuf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!path || tmp.failed) {
        free(path);
        bend_strbuf_free(&tmp);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    size_t n = rows * (width ? width : 1);
    int64_t *classes = NULL;
    bend_status st = BEND_OK;
    if (pred_is_class && !(classes = malloc((n ? n : 1) * sizeof *classes)))
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    for (size_t i = 0; classes && i < n; i++) classes[i] = (int64_t)y_pred[i];
    hid_t f = st ? -1 : H5Fcreate(bend_strbuf_cstr(&tmp), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (!st && f < 0) st = bend_h5_fail(err, "cannot create %s", bend_strbuf_cstr(&tmp));
    if (!st) st = write_dataset(f, "y_true", H5T_STD_I64LE, H5T_NATIVE_INT64, rows, width, y_true, err);
    if (!st)
        st = pred_is_class ? write_dataset(f, "y_pred", H5T_STD_I64LE, H5T_NATIVE_INT64, rows, width, classes, err)
                           : write_dataset(f, "y_pred", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rows, width, y_pred, err);
    if (!st) st = bend_h5_write_attr_str(f, "metric", metric_name, err);
    if (!st) st = bend_h5_write_attr_i64(f, "epoch", epoch, err);
    if (f >= 0 && H5Fclose(f) < 0 && !st) st = bend_h5_fail(err, "cannot close %s", bend_strbuf_cstr(&tmp));
    if (!st && rename(bend_strbuf_cstr(&tmp), path) != 0)
        st = bend_fail(err, BEND_ERR_IO, "cannot rename %s to %s: %s", bend_strbuf_cstr(&tmp), path,
                       strerror(errno));
    if (st) unlink(bend_strbuf_cstr(&tmp));
    free(classes);
    free(path);
    bend_strbuf_free(&tmp);
    return st;
}
