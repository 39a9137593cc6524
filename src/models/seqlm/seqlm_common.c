/* Helpers shared by the non-transformer LM families. */
#include "models/seqlm/seqlm_common.h"

#include <stdio.h>

bend_status seqlm_get(const bend_weights *w, const char *prefix, const char *name, int ndim,
                      const int64_t *shape, float **out, bend_error *err)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return bend_weights_get_f32(w, full, ndim, shape, out, err);
}

bend_status seqlm_check_device(const bend_model_config *cfg, const bend_device *dev,
                               bend_error *err)
{
    if (dev && dev->kind == BEND_DEVICE_CUDA)
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: the %s forward pass has no CUDA path built yet (use device=cpu)",
                         cfg->config_path, bend_model_family_name(cfg->family));
    return BEND_OK;
}

bend_status seqlm_check_args(const char *what, int n_windows, const int64_t *offsets,
                             const int32_t *ids, int64_t vocab_rows, int layer, int n_layers,
                             int64_t max_len, bend_error *err)
{
    if (n_windows < 0 || offsets[0] != 0)
        return bend_fail(err, BEND_ERR_INVALID, "%s: window offsets must start at 0", what);
    if (layer < -1 || layer > n_layers)
        return bend_fail(err, BEND_ERR_INVALID,
                         "%s: layer %d does not exist (valid: -1 and 0..%d)", what, layer,
                         n_layers);
    for (int w = 0; w < n_windows; w++) {
        int64_t L = offsets[w + 1] - offsets[w];
        if (L < 0)
            return bend_fail(err, BEND_ERR_INVALID, "%s: window %d has negative length %lld",
                             what, w, (long long)L);
        if (max_len > 0 && L > max_len)
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s: window %d has %lld tokens, more than the model's %lld", what,
                             w, (long long)L, (long long)max_len);
        for (int64_t r = offsets[w]; r < offsets[w + 1]; r++)
            if (ids[r] < 0 || ids[r] >= vocab_rows)
                return bend_fail(err, BEND_ERR_INVALID,
                                 "%s: token id %d at position %lld of window %d is outside the "
                                 "model's %lld ids",
                                 what, (int)ids[r], (long long)(r - offsets[w]), w,
                                 (long long)vocab_rows);
    }
    return BEND_OK;
}
