/* bend_lm_open: one entry point, dispatched on the architecture the config.json describes. */
#include "models/lm.h"

#include "models/lm_families.h"

bend_status bend_lm_open(const bend_model_config *cfg, const bend_weights *w,
                         const bend_device *dev, bend_lm **out, bend_error *err)
{
    *out = NULL;
    switch (cfg->arch) {
    case BEND_ARCH_BERT:
    case BEND_ARCH_MOSAIC_BERT:
    case BEND_ARCH_BIGBIRD:
    case BEND_ARCH_ESM:
        return bend_transformer_lm_open(cfg, w, dev, out, err);
    case BEND_ARCH_HYENA:
        return bend_hyena_lm_open(cfg, w, dev, out, err);
    case BEND_ARCH_AWD_LSTM:
        return bend_awdlstm_lm_open(cfg, w, dev, out, err);
    case BEND_ARCH_CONVNET:
        return bend_convnet_lm_open(cfg, w, dev, out, err);
    case BEND_ARCH_MAMBA:
        return bend_caduceus_lm_open(cfg, w, dev, out, err);
    default:
        return bend_fail(err, BEND_ERR_UNSUPPORTED,
                         "%s: no forward pass for family %s (architecture %s) in this build",
                         cfg->config_path, bend_model_family_name(cfg->family),
                         bend_model_arch_name(cfg->arch));
    }
}
