// FUZZ-SOURCES: src/checkpoint/weights.c src/checkpoint/safetensors.c src/checkpoint/torch_zip.c src/checkpoint/torch_legacy.c src/checkpoint/torch_pickle.c src/core/error.c src/core/strbuf.c src/core/half.c src/core/path.c
// FUZZ-PKGS: jansson
/* safetensors from memory: header length, JSON header, every offset pair; then every tensor
 * converted to float32 and a few lookups. */
#include <stdint.h>
#include <stdlib.h>

#include "checkpoint/checkpoint_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bend_weights *w = ckpt_new();
    bend_error err;
    if (w && !ckpt_safetensors_parse(w, data, size, "fuzz.safetensors", &err) &&
        !ckpt_finalize(w, "safetensors", &err)) {
        for (size_t i = 0; i < bend_weights_count(w); i++) {
            const bend_tensor_ref *r = bend_weights_at(w, i);
            float *v = NULL;
            if (!bend_weights_get_f32(w, r->name, r->ndim, r->shape, &v, &err)) free(v);
        }
        int64_t shape[1] = {-1};
        float *v = NULL;
        if (!bend_weights_get_f32(w, "encoder.layer.0.weight", 1, shape, &v, &err)) free(v);
        (void)bend_weights_parameter_count(w);
    }
    bend_weights_close(w);
    return 0;
}
