// FUZZ-SOURCES: src/models/model_config.c src/models/model_config_families.c src/models/model_config_json.c src/core/error.c src/core/strbuf.c src/core/path.c
// FUZZ-PKGS: jansson
/* config.json from untrusted bytes: parsed with family detection and with every family forced,
 * and what parses is turned back into JSON. Nothing may crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const families[] = {NULL, "dnabert", "nucleotide_transformer", "dnabert2", "gena_lm",
                                       "grover", "hyenadna", "awdlstm", "resnetlm", "gpn", "caduceus"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        bend_model_config cfg;
        bend_error err;
        if (bend_model_config_parse(text, "fuzz/config.json", NULL, families[f], &cfg, &err) != BEND_OK)
            continue;
        char *json = NULL;
        if (bend_model_config_to_json(&cfg, &json) == BEND_OK) free(json);
        if (cfg.convnet.dilation_max > 0) (void)bend_convnet_dilation(&cfg, 7);
    }
    free(text);
    return 0;
}
