// FUZZ-SOURCES: src/checkpoint/weights.c src/checkpoint/safetensors.c src/checkpoint/torch_zip.c src/checkpoint/torch_legacy.c src/checkpoint/torch_pickle.c src/core/error.c src/core/strbuf.c src/core/half.c src/core/path.c
// FUZZ-PKGS: jansson
/* PyTorch zip checkpoints from memory: EOCD / ZIP64 records, central directory, local headers,
 * data.pkl through the pickle machine, storages; then every tensor converted to float32. */
#include <stdint.h>
#include <stdlib.h>

#include "checkpoint/checkpoint_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bend_weights *w = ckpt_new();
    bend_error err;
    bool lightning;
    if (w && !ckpt_torch_zip_parse(w, data, size, "fuzz.bin", &lightning, &err) &&
        !ckpt_finalize(w, lightning ? "lightning" : "torch-zip", &err)) {
        for (size_t i = 0; i < bend_weights_count(w); i++) {
            const bend_tensor_ref *r = bend_weights_at(w, i);
            float *v = NULL;
            if (!bend_weights_get_f32(w, r->name, r->ndim, r->shape, &v, &err)) free(v);
        }
        (void)bend_weights_parameter_count(w);
    }
    bend_weights_close(w);
    return 0;
}
