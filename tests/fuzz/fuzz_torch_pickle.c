// FUZZ-SOURCES: src/checkpoint/weights.c src/checkpoint/safetensors.c src/checkpoint/torch_zip.c src/checkpoint/torch_legacy.c src/checkpoint/torch_pickle.c src/core/error.c src/core/strbuf.c src/core/half.c src/core/path.c
// FUZZ-PKGS: jansson
/* The pickle machine two ways: the bytes as one state-dict pickle whose storages are zero
 * buffers of the size their persistent ids claim (up to a bound), and as a whole legacy
 * checkpoint (pickles back to back, then raw storages). */
#include <stdint.h>
#include <stdlib.h>

#include "checkpoint/checkpoint_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t zeros[1 << 14];

static bend_status fake_storage(void *ctx, const ckpt_pk *s, const uint8_t **data, int64_t *numel,
                                bend_error *err)
{
    (void)ctx;
    if (s->numel > (int64_t)(sizeof zeros / bend_dtype_size(s->dtype)))
        return bend_fail(err, BEND_ERR_PARSE, "storage too large for the fuzz target");
    *data = (const uint8_t *)zeros;
    *numel = s->numel;
    return BEND_OK;
}

static void convert_all(bend_weights *w)
{
    bend_error err;
    for (size_t i = 0; i < bend_weights_count(w); i++) {
        const bend_tensor_ref *r = bend_weights_at(w, i);
        float *v = NULL;
        if (!bend_weights_get_f32(w, r->name, r->ndim, r->shape, &v, &err)) free(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bend_error err;
    bool lightning;
    bend_weights *w = ckpt_new();
    ckpt_pickle *p = NULL;
    const ckpt_pk *top;
    if (w && !ckpt_pickle_run(data, size, 0, "fuzz.pkl", &p, &top, NULL, &err) &&
        !ckpt_collect(w, p, top, "fuzz.pkl", "fuzz.pkl", fake_storage, NULL, &lightning, &err) &&
        !ckpt_finalize(w, "torch-zip", &err))
        convert_all(w);
    ckpt_pickle_free(p);
    bend_weights_close(w);

    w = ckpt_new();
    if (w && !ckpt_torch_legacy_parse(w, data, size, "fuzz.pt", &lightning, &err) &&
        !ckpt_finalize(w, "torch-legacy", &err))
        convert_all(w);
    bend_weights_close(w);
    return 0;
}
