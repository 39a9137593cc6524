/* The forward-pass openers of each architecture, dispatched by bend_lm_open (lm.c). Each lives
 * with its architecture's code; they share bend_lm_open's contract (lm.h). */
#ifndef BEND_MODELS_LM_FAMILIES_H
#define BEND_MODELS_LM_FAMILIES_H

#include "models/lm.h"

/* BERT (DNABERT, GROVER, GENA-LM BERT), MosaicBERT (DNABERT-2), ESM (NT v1/v2), BigBird. */
bend_status bend_transformer_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                     const bend_device *dev, bend_lm **out, bend_error *err);
bend_status bend_hyena_lm_open(const bend_model_config *cfg, const bend_weights *w,
                               const bend_device *dev, bend_lm **out, bend_error *err);
bend_status bend_awdlstm_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                 const bend_device *dev, bend_lm **out, bend_error *err);
/* BEND's dilated ResNet-LM (and GPN's ConvNet where only configuration differs). */
bend_status bend_convnet_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                 const bend_device *dev, bend_lm **out, bend_error *err);

/* Caduceus (BiMamba, RCPS or not); CPU only. */
bend_status bend_caduceus_lm_open(const bend_model_config *cfg, const bend_weights *w,
                                  const bend_device *dev, bend_lm **out, bend_error *err);

#endif
