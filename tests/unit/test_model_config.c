/* Unit tests of the typed model configs (src/models/model_config*.c): every fixture checkpoint's
 * config.json under $BEND_TEST_FIXTURES/models (written by tools/reference/make_model_fixtures.py
 * with the families' real field names) loads with the values written out here by hand from those
 * files, family detection picks the right family, the configs of families without a fixture
 * (NT v2, Caduceus, GPN) parse from text, and malformed configs fail with messages that name the
 * file and the key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "models/model_config.h"
#include "test_helpers.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static const char *fixture(const char *name)
{
    static char path[4096];
    const char *base = getenv("BEND_TEST_FIXTURES");
    if (!base || !*base) return NULL;
    snprintf(path, sizeof path, "%s/models/%s", base, name);
    return path;
}

/* Loads a fixture (family detected unless given); skips the test when fixtures are not set. */
static void load_fixture(const char *name, const char *family, bend_model_config *c)
{
    const char *dir = fixture(name);
    if (!dir) skip();
    bend_error err = {0};
    bend_status st = bend_model_config_load(dir, family, c, &err);
    if (st) fail_msg("%s: %s", name, err.msg);
}

static void parse_ok(const char *json, const char *family, bend_model_config *c)
{
    bend_error err = {0};
    bend_status st = bend_model_config_parse(json, "mem/config.json", NULL, family, c, &err);
    if (st) fail_msg("parse failed: %s\n%s", err.msg, json);
}

/* Parsing must fail with `status` and a message containing every one of the NULL-terminated
 * fragments. */
static void parse_fails(const char *json, const char *family, bend_status status, ...)
{
    bend_model_config c;
    bend_error err = {0};
    bend_status st = bend_model_config_parse(json, "mem/config.json", NULL, family, &c, &err);
    if (st != status) fail_msg("status %d, expected %d (%s) for\n%s", st, status, err.msg, json);
    va_list ap;
    va_start(ap, status);
    for (const char *part; (part = va_arg(ap, const char *));)
        if (!strstr(err.msg, part)) fail_msg("message '%s' lacks '%s'", err.msg, part);
    va_end(ap);
}

static void assert_close(double got, double want)
{
    if (fabs(got - want) > 1e-12 * fmax(1.0, fabs(want))) fail_msg("got %.17g, expected %.17g", got, want);
}

/* ---- fixtures: the transformer families -------------------------------------------------------- */

static void test_dnabert6(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("dnabert6", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_DNABERT);
    assert_int_equal(c.arch, BEND_ARCH_BERT);
    assert_int_equal(c.version, 6); /* vocab 4101 = 4^6 + 5 */
    assert_string_equal(c.model_type, "bert");
    assert_string_equal(c.architecture, "BertForMaskedLM");
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 2);
    assert_int_equal(c.head_dim, 8);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 4101);
    assert_int_equal(c.embedding_rows, 4101);
    assert_int_equal(c.max_positions, 128);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.position, BEND_POS_ABSOLUTE);
    assert_int_equal(c.position_offset, 0);
    assert_int_equal(c.norm_placement, BEND_NORM_POST);
    assert_int_equal(c.norm_kind, BEND_NORM_LAYERNORM);
    assert_close(c.layer_norm_eps, 1e-12); /* the key is absent, as in DNABERT's config: HF default */
    assert_true(c.embedding_layer_norm);
    assert_false(c.final_layer_norm);
    assert_int_equal(c.activation, BEND_ACT_GELU);
    assert_false(c.qkv_fused);
    assert_true(c.attention_bias);
    assert_false(c.token_dropout);
    assert_close(c.token_dropout_scale, 1.0);
    assert_int_equal(c.pad_token_id, 0);
    assert_int_equal(c.mask_token_id, -1);
    assert_non_null(strstr(c.config_path, "dnabert6/config.json"));
}

static void test_grover(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("grover", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_GROVER);
    assert_int_equal(c.arch, BEND_ARCH_BERT);
    assert_string_equal(c.architecture, "BertModel");
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 4);
    assert_int_equal(c.head_dim, 4);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 48);
    assert_int_equal(c.max_positions, 128);
    assert_int_equal(c.norm_placement, BEND_NORM_POST);
    assert_close(c.layer_norm_eps, 1e-12);
    assert_int_equal(c.activation, BEND_ACT_GELU);
    assert_int_equal(c.version, 0);
}

static void test_nt_v1(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("nt_v1", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_NT);
    assert_int_equal(c.arch, BEND_ARCH_ESM);
    assert_int_equal(c.version, 1);
    assert_string_equal(c.model_type, "esm");
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 2);
    assert_int_equal(c.head_dim, 8);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 4105);
    assert_int_equal(c.type_vocab_size, 0);
    /* learned positions from pad_token_id + 1 = 2; a 130-row table leaves 128 tokens */
    assert_int_equal(c.position, BEND_POS_ABSOLUTE);
    assert_int_equal(c.position_offset, 2);
    assert_int_equal(c.max_positions, 128);
    assert_int_equal(c.norm_placement, BEND_NORM_PRE);
    assert_close(c.layer_norm_eps, 1e-12);
    assert_false(c.embedding_layer_norm); /* emb_layer_norm_before: false */
    assert_true(c.final_layer_norm);      /* emb_layer_norm_after */
    assert_int_equal(c.activation, BEND_ACT_GELU);
    assert_true(c.ffn_bias);
    assert_true(c.token_dropout);
    assert_close(c.token_dropout_mask_ratio, 0.15 * 0.8);
    assert_close(c.token_dropout_scale, 0.88);
    assert_int_equal(c.pad_token_id, 1);
    assert_int_equal(c.mask_token_id, 2);
}

static void test_dnabert2(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("dnabert2", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_DNABERT2);
    assert_int_equal(c.arch, BEND_ARCH_MOSAIC_BERT);
    assert_int_equal(c.hidden_size, 24);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 3);
    assert_int_equal(c.head_dim, 8);
    assert_int_equal(c.intermediate_size, 48); /* gated_layers is 2 x 48 wide */
    assert_int_equal(c.vocab_size, 64);
    assert_int_equal(c.type_vocab_size, 2);
    assert_int_equal(c.position, BEND_POS_ALIBI);
    assert_int_equal(c.alibi_starting_size, 512);
    assert_int_equal(c.max_positions, 0); /* max_position_embeddings 512 is unused */
    assert_int_equal(c.norm_placement, BEND_NORM_POST);
    assert_close(c.layer_norm_eps, 1e-12);
    assert_int_equal(c.activation, BEND_ACT_GEGLU);
    assert_true(c.qkv_fused);
    assert_false(c.ffn_bias);
    assert_true(c.embedding_layer_norm);
    assert_false(c.final_layer_norm);
}

static void test_gena_bert(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("gena_lm_bert", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_GENA_LM);
    assert_int_equal(c.arch, BEND_ARCH_BERT);
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 4);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 64);
    assert_int_equal(c.max_positions, 128);
    assert_int_equal(c.norm_placement, BEND_NORM_PRE); /* pre_layer_norm: true */
    assert_close(c.layer_norm_eps, 1e-5);
    assert_false(c.final_layer_norm);
    assert_true(c.embedding_layer_norm);
    assert_int_equal(c.activation, BEND_ACT_GELU);
    assert_int_equal(c.pad_token_id, 3);
}

static void test_gena_bigbird(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("gena_lm_bigbird", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_GENA_LM);
    assert_int_equal(c.arch, BEND_ARCH_BIGBIRD);
    assert_string_equal(c.model_type, "big_bird");
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 2);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 64);
    assert_int_equal(c.max_positions, 1024);
    assert_int_equal(c.norm_placement, BEND_NORM_POST);
    assert_close(c.layer_norm_eps, 1e-12);
    assert_int_equal(c.activation, BEND_ACT_GELU_TANH); /* gelu_new */
    assert_int_equal(c.pad_token_id, 3);
    assert_string_equal(c.bigbird.attention_type, "block_sparse");
    assert_int_equal(c.bigbird.block_size, 64);
    assert_int_equal(c.bigbird.num_random_blocks, 3);
    assert_false(c.bigbird.rescale_embeddings);
    assert_true(c.bigbird.use_bias);
}

/* ---- fixtures: HyenaDNA, AWD-LSTM, ResNet-LM ------------------------------------------------------ */

static void test_hyenadna(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("hyenadna", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_HYENADNA);
    assert_int_equal(c.arch, BEND_ARCH_HYENA);
    assert_string_equal(c.model_type, "");
    assert_int_equal(c.hidden_size, 32);
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.num_heads, 0);
    assert_int_equal(c.intermediate_size, 64);
    assert_int_equal(c.vocab_size, 12);
    assert_int_equal(c.embedding_rows, 16); /* padded to a multiple of 8 */
    assert_int_equal(c.max_positions, 66);
    assert_int_equal(c.position, BEND_POS_NONE);
    assert_int_equal(c.norm_placement, BEND_NORM_PRE);
    assert_close(c.layer_norm_eps, 1e-5);
    assert_true(c.final_layer_norm);
    assert_int_equal(c.activation, BEND_ACT_GELU_TANH);
    assert_int_equal(c.hyena.d_inner, 64);
    assert_int_equal(c.hyena.l_max, 66);
    assert_int_equal(c.hyena.order, 2);
    assert_int_equal(c.hyena.filter_order, 16);
    assert_int_equal(c.hyena.emb_dim, 5);
    assert_int_equal(c.hyena.short_filter_order, 3);
    assert_int_equal(c.hyena.local_order, 3);
    assert_int_equal(c.hyena.pad_vocab_size_multiple, 8);
    assert_close(c.hyena.w, 10.0);
    assert_close(c.hyena.modulation_shift, 0.05);
    assert_true(c.hyena.modulate);
    assert_true(c.hyena.checkpoint_mixer);
    assert_false(c.hyena.checkpoint_mlp);
    assert_true(c.hyena.residual_in_fp32);
}

static void test_awdlstm(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("awdlstm", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_AWDLSTM);
    assert_int_equal(c.arch, BEND_ARCH_AWD_LSTM);
    assert_string_equal(c.model_type, "AWDLSTM");
    assert_int_equal(c.vocab_size, 7);
    assert_int_equal(c.hidden_size, 16); /* the last layer returns input_size */
    assert_int_equal(c.num_layers, 2);
    assert_int_equal(c.awdlstm.input_size, 16);
    assert_int_equal(c.awdlstm.hidden_size, 32);
    assert_int_equal(c.awdlstm.num_layers, 2);
    assert_false(c.awdlstm.bidirectional);
    assert_int_equal(c.awdlstm.reset_token_id, -1); /* null */
    assert_true(c.awdlstm.weight_drop);
    assert_int_equal(c.norm_placement, BEND_NORM_NONE);
    assert_int_equal(c.position, BEND_POS_NONE);
}

static void test_resnetlm(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("resnetlm", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_RESNETLM);
    assert_int_equal(c.arch, BEND_ARCH_CONVNET);
    assert_string_equal(c.model_type, "ConvNet");
    assert_int_equal(c.vocab_size, 7);
    assert_int_equal(c.hidden_size, 16);
    assert_int_equal(c.num_layers, 4);
    assert_int_equal(c.convnet.kernel_size, 9);
    assert_int_equal(c.convnet.dilation_double_every, 1);
    assert_int_equal(c.convnet.dilation_max, 4);
    assert_int_equal(c.convnet.dilation_cycle, 3);
    assert_int_equal(c.convnet.dilation_base, 2);
    const int64_t want[] = {1, 2, 4, 1};
    for (int i = 0; i < 4; i++) assert_int_equal(bend_convnet_dilation(&c, i), want[i]);
    assert_int_equal(c.norm_placement, BEND_NORM_BRANCH);
    assert_close(c.layer_norm_eps, 1e-5);
    assert_int_equal(c.activation, BEND_ACT_GELU);
}

/* A weights file as MODEL_DIR: config.json is read from its directory. */
static void test_load_from_weights_file(void **state)
{
    (void)state;
    const char *dir = fixture("dnabert6");
    if (!dir) skip();
    char path[4200];
    snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
    bend_model_config c;
    bend_error err = {0};
    if (bend_model_config_load(path, NULL, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c.family, BEND_FAMILY_DNABERT);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (bend_model_config_load(path, NULL, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c.hidden_size, 16);
}

/* An explicit family overrides detection; onehot needs no directory. */
static void test_explicit_family(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("dnabert6", "grover", &c);
    assert_int_equal(c.family, BEND_FAMILY_GROVER);
    assert_int_equal(c.version, 0);
    load_fixture("gena_lm_bert", "gena_lm", &c);
    assert_int_equal(c.norm_placement, BEND_NORM_PRE);

    bend_error err = {0};
    assert_int_equal(bend_model_config_load("/nonexistent/model", "onehot", &c, &err), BEND_OK);
    assert_int_equal(c.family, BEND_FAMILY_ONEHOT);
    assert_int_equal(c.arch, BEND_ARCH_NONE);
    assert_int_equal(c.hidden_size, 5);

    /* a family whose required keys the file lacks: the error names the key */
    const char *dir = fixture("nt_v1");
    assert_int_equal(bend_model_config_load(dir, "hyenadna", &c, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'d_model'"));
    assert_non_null(strstr(err.msg, "nt_v1/config.json"));
    assert_int_equal(bend_model_config_load(dir, "bert", &c, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown model family 'bert'"));
}

/* ---- families without a fixture, and detection rules ---------------------------------------------- */

static void test_nt_v2(void **state)
{
    (void)state;
    /* InstaDeepAI/nucleotide-transformer-v2-500m-multi-species (spec section 3.1) */
    const char *json =
        "{\"add_bias_fnn\": false, \"architectures\": [\"EsmForMaskedLM\"],"
        " \"auto_map\": {\"AutoConfig\": \"esm_config.EsmConfig\","
        "  \"AutoModelForMaskedLM\": \"modeling_esm.EsmForMaskedLM\"},"
        " \"emb_layer_norm_before\": false, \"hidden_size\": 1024, \"intermediate_size\": 4096,"
        " \"layer_norm_eps\": 1e-12, \"mask_token_id\": 2, \"max_position_embeddings\": 2050,"
        " \"model_type\": \"esm\", \"num_attention_heads\": 16, \"num_hidden_layers\": 29,"
        " \"pad_token_id\": 1, \"position_embedding_type\": \"rotary\", \"tie_word_embeddings\": false,"
        " \"token_dropout\": false, \"vocab_size\": 4107, \"esmfold_config\": null}";
    bend_model_config c;
    parse_ok(json, NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_NT);
    assert_int_equal(c.version, 2);
    assert_int_equal(c.position, BEND_POS_ROTARY);
    assert_close(c.rotary_base, 10000.0);
    assert_int_equal(c.max_positions, 0);
    assert_int_equal(c.activation, BEND_ACT_SWIGLU);
    assert_false(c.ffn_bias);
    assert_true(c.attention_bias);
    assert_false(c.token_dropout);
    assert_close(c.token_dropout_scale, 1.0);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.num_layers, 29);
    assert_int_equal(c.vocab_size, 4107);
}

static void test_caduceus(void **state)
{
    (void)state;
    /* kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16 (spec section 4.1) */
    const char *json =
        "{\"model_type\": \"caduceus\", \"architectures\": [\"CaduceusForMaskedLM\"],"
        " \"d_model\": 256, \"n_layer\": 16, \"vocab_size\": 12, \"pad_vocab_size_multiple\": 8,"
        " \"rms_norm\": true, \"fused_add_norm\": true, \"residual_in_fp32\": false,"
        " \"norm_epsilon\": 1e-05, \"bidirectional\": true, \"bidirectional_strategy\": \"add\","
        " \"bidirectional_weight_tie\": true, \"rcps\": true,"
        " \"complement_map\": {\"0\": 0, \"1\": 1, \"2\": 2, \"3\": 3, \"4\": 4, \"5\": 5, \"6\": 6,"
        "  \"7\": 10, \"8\": 9, \"9\": 8, \"10\": 7, \"11\": 11, \"12\": 12, \"13\": 13,"
        "  \"14\": 14, \"15\": 15},"
        " \"ssm_cfg\": {\"d_state\": 16, \"d_conv\": 4, \"expand\": 2, \"dt_rank\": \"auto\","
        "  \"dt_min\": 0.001, \"conv_bias\": true, \"bias\": false}}";
    bend_model_config c;
    parse_ok(json, NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_CADUCEUS);
    assert_int_equal(c.arch, BEND_ARCH_MAMBA);
    assert_int_equal(c.caduceus.d_model, 256);
    assert_int_equal(c.hidden_size, 512); /* RCPS: forward and reverse-complement halves */
    assert_int_equal(c.num_layers, 16);
    assert_int_equal(c.embedding_rows, 16);
    assert_int_equal(c.caduceus.d_state, 16);
    assert_int_equal(c.caduceus.d_conv, 4);
    assert_int_equal(c.caduceus.expand, 2);
    assert_int_equal(c.caduceus.dt_rank, 16); /* ceil(256 / 16) */
    assert_true(c.caduceus.rcps);
    assert_string_equal(c.caduceus.bidirectional_strategy, "add");
    assert_true(c.caduceus.bidirectional_weight_tie);
    assert_false(c.caduceus.residual_in_fp32);
    assert_int_equal(c.caduceus.n_complement, 16);
    assert_int_equal(c.caduceus.complement_map[7], 10);
    assert_int_equal(c.caduceus.complement_map[9], 8);
    assert_int_equal(c.norm_kind, BEND_NORM_RMSNORM);
    assert_close(c.layer_norm_eps, 1e-5);
    assert_int_equal(c.activation, BEND_ACT_SILU);

    parse_fails("{\"model_type\": \"caduceus\", \"d_model\": 256, \"n_layer\": 4,"
                " \"vocab_size\": 12, \"rcps\": true}",
                NULL, BEND_ERR_INVALID, "'complement_map'", "missing", NULL);
}

static void test_convnet_and_gpn(void **state)
{
    (void)state;
    bend_model_config c;
    /* GPN's ConvNetConfig has dilation_base and the auxiliary-feature keys */
    parse_ok("{\"model_type\": \"ConvNet\", \"hidden_size\": 512, \"n_layers\": 25,"
             " \"dilation_base\": 2, \"n_aux_features\": 0, \"aux_features_vocab_size\": 5,"
             " \"vocab_size\": 7}", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_GPN);
    assert_int_equal(c.arch, BEND_ARCH_CONVNET);
    assert_int_equal(c.num_layers, 25);
    /* BEND's ConvNetConfig defaults: 30 layers of 512, dilations 1..32 cycling every 6 */
    parse_ok("{\"model_type\": \"ConvNet\"}", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_RESNETLM);
    assert_int_equal(c.num_layers, 30);
    assert_int_equal(c.hidden_size, 512);
    const int64_t want[] = {1, 2, 4, 8, 16, 32, 1, 2};
    for (int i = 0; i < 8; i++) assert_int_equal(bend_convnet_dilation(&c, i), want[i]);
    assert_int_equal(bend_convnet_dilation(&c, 29), 32);
    /* the one-hot embedding needs a channel per token */
    parse_fails("{\"model_type\": \"ConvNet\", \"hidden_size\": 4, \"vocab_size\": 7}", NULL,
                BEND_ERR_INVALID, "'hidden_size'", "channel per token", NULL);
    parse_fails("{\"model_type\": \"GPNRoFormer\", \"hidden_size\": 512}", NULL,
                BEND_ERR_UNSUPPORTED, "GPNRoFormer", NULL);
}

static void test_detection_rules(void **state)
{
    (void)state;
    bend_model_family f;
    bend_error err = {0};
#define DETECT(json, want)                                                                   \
    do {                                                                                     \
        if (bend_model_config_detect(json, "mem/config.json", NULL, &f, &err))               \
            fail_msg("detect: %s", err.msg);                                                 \
        if (f != (want))                                                                     \
            fail_msg("%s: detected %s, expected %s", json, bend_model_family_name(f),        \
                     bend_model_family_name(want));                                          \
    } while (0)
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 69}", BEND_FAMILY_DNABERT); /* k = 3 */
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 4101}", BEND_FAMILY_DNABERT);
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 609}", BEND_FAMILY_GROVER);
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 4096, \"alibi_starting_size\": 512}",
           BEND_FAMILY_DNABERT2);
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 4096, \"auto_map\":"
           " {\"AutoModel\": \"bert_layers.BertModel\"}}", BEND_FAMILY_DNABERT2);
    DETECT("{\"model_type\": \"bert\", \"vocab_size\": 32000, \"pre_layer_norm\": true}",
           BEND_FAMILY_GENA_LM);
    DETECT("{\"model_type\": \"big_bird\"}", BEND_FAMILY_GENA_LM);
    DETECT("{\"model_type\": \"esm\"}", BEND_FAMILY_NT);
    DETECT("{\"model_type\": \"AWDLSTM\"}", BEND_FAMILY_AWDLSTM);
    DETECT("{\"model_type\": \"caduceus\"}", BEND_FAMILY_CADUCEUS);
    DETECT("{\"d_model\": 128, \"n_layer\": 2, \"layer\": {\"_name_\": \"hyena\"}}",
           BEND_FAMILY_HYENADNA);
    /* no model_type: architectures[0] */
    DETECT("{\"architectures\": [\"BertForMaskedLM\"], \"vocab_size\": 1029}", BEND_FAMILY_DNABERT);
    DETECT("{\"architectures\": [\"EsmForMaskedLM\"]}", BEND_FAMILY_NT);
    DETECT("{\"architectures\": [\"ConvNetForMaskedLM\"]}", BEND_FAMILY_RESNETLM);
#undef DETECT

    /* file layout: a HyenaDNA config without its `layer` name, next to weights.ckpt */
    const char *dir = test_scratch_dir("model_config");
    test_write_file(dir, "weights.ckpt", "not read");
    const char *cfg = test_write_file(dir, "config.json",
                                      "{\"d_model\": 8, \"n_layer\": 1, \"d_inner\": 16,"
                                      " \"vocab_size\": 12, \"layer\": {\"l_max\": 10}}");
    bend_model_config c;
    if (bend_model_config_load(dir, NULL, &c, &err)) fail_msg("%s", err.msg);
    assert_int_equal(c.family, BEND_FAMILY_HYENADNA);
    assert_int_equal(c.hyena.emb_dim, 3);         /* HyenaFilter's default */
    assert_int_equal(c.hyena.filter_order, 64);   /* HyenaOperator's default */
    assert_int_equal(c.embedding_rows, 12);       /* pad_vocab_size_multiple 1 */
    remove(cfg);

    /* unknown model_type: a clear error asking for the family */
    assert_int_equal(bend_model_config_detect("{\"model_type\": \"llama\"}", "x/config.json", NULL,
                                              &f, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "x/config.json"));
    assert_non_null(strstr(err.msg, "'llama'"));
    assert_non_null(strstr(err.msg, "family"));
    /* the HF port of HyenaDNA is not what BEND uses */
    parse_fails("{\"model_type\": \"hyenadna\", \"d_model\": 128, \"n_layer\": 2,"
                " \"d_inner\": 512, \"vocab_size\": 12}",
                NULL, BEND_ERR_INVALID, "'layer'", "missing", NULL);
}

/* Keys absent from a config get the Python class's default; unknown keys are ignored. */
static void test_defaults_and_extra_keys(void **state)
{
    (void)state;
    bend_model_config c;
    parse_ok("{\"model_type\": \"bert\", \"hidden_size\": 12, \"num_hidden_layers\": 1,"
             " \"num_attention_heads\": 3, \"intermediate_size\": 24, \"vocab_size\": 69,"
             " \"id2label\": {\"0\": \"LABEL_0\"}, \"future_key\": [1, {\"x\": null}],"
             " \"classifier_dropout\": null, \"pad_token_id\": null}", NULL, &c);
    assert_int_equal(c.family, BEND_FAMILY_DNABERT);
    assert_int_equal(c.version, 3);
    assert_int_equal(c.max_positions, 512);
    assert_int_equal(c.type_vocab_size, 2);
    assert_close(c.layer_norm_eps, 1e-12);
    assert_int_equal(c.activation, BEND_ACT_GELU);
    assert_int_equal(c.pad_token_id, 0); /* null: BertConfig's default */
    assert_int_equal(c.head_dim, 4);

    parse_ok("{\"model_type\": \"big_bird\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
             " \"num_attention_heads\": 2, \"intermediate_size\": 16, \"vocab_size\": 32}",
             NULL, &c);
    assert_int_equal(c.arch, BEND_ARCH_BIGBIRD);
    assert_int_equal(c.activation, BEND_ACT_GELU_TANH);
    assert_int_equal(c.max_positions, 4096);
    assert_string_equal(c.bigbird.attention_type, "block_sparse");

    parse_ok("{\"model_type\": \"AWDLSTM\", \"bidirectional\": true, \"reset_token_id\": 1}",
             NULL, &c);
    assert_int_equal(c.awdlstm.input_size, 64);
    assert_int_equal(c.awdlstm.hidden_size, 512);
    assert_int_equal(c.hidden_size, 128); /* both directions concatenated */
    assert_int_equal(c.awdlstm.reset_token_id, 1);
    assert_true(c.awdlstm.weight_drop);
}

/* ---- errors ---------------------------------------------------------------------------------------- */

static void test_not_json(void **state)
{
    (void)state;
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16,,}", NULL, BEND_ERR_PARSE,
                "mem/config.json:1:", "not valid JSON", NULL);
    parse_fails("", NULL, BEND_ERR_PARSE, "mem/config.json", "not valid JSON", NULL);
    parse_fails("[1, 2]", NULL, BEND_ERR_PARSE, "mem/config.json", "JSON object", NULL);

    /* the same through a file: the message names the file */
    const char *dir = test_scratch_dir("model_config_bad");
    test_write_file(dir, "config.json", "hidden_size: 16\n");
    bend_model_config c;
    bend_error err = {0};
    assert_int_equal(bend_model_config_load(dir, NULL, &c, &err), BEND_ERR_PARSE);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "config.json:1:"));

    /* no config.json at all */
    const char *empty = test_scratch_dir("model_config_empty");
    assert_int_equal(bend_model_config_load(empty, NULL, &c, &err), BEND_ERR_IO);
    assert_non_null(strstr(err.msg, "config.json"));
    assert_int_equal(bend_model_config_load("/nonexistent/model/dir", NULL, &c, &err), BEND_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/model/dir"));
}

static void test_missing_required(void **state)
{
    (void)state;
    /* BERT-type: the dimensions */
    parse_fails("{\"model_type\": \"bert\", \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
                " \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "mem/config.json", "'hidden_size'", "missing", "dnabert",
                NULL);
    parse_fails("{\"model_type\": \"esm\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"vocab_size\": 4105, \"pad_token_id\": 1}",
                NULL, BEND_ERR_INVALID, "'intermediate_size'", "missing", NULL);
    /* ESM with learned positions needs the pad id (its positions start at pad + 1) */
    parse_fails("{\"model_type\": \"esm\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4105}",
                NULL, BEND_ERR_INVALID, "'pad_token_id'", "missing", NULL);
    /* null counts as missing for a required key */
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": null, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "'hidden_size'", "must be an integer", "null", NULL);
    /* HyenaDNA: d_inner has no default in HyenaDNAModel; layer.l_max none in HyenaOperator */
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"vocab_size\": 12,"
                " \"layer\": {\"_name_\": \"hyena\", \"l_max\": 66}}",
                NULL, BEND_ERR_INVALID, "'d_inner'", "missing", "hyenadna", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"layer\": {\"_name_\": \"hyena\", \"emb_dim\": 5}}",
                NULL, BEND_ERR_INVALID, "'layer.l_max'", "missing", NULL);
}

static void test_wrong_types(void **state)
{
    (void)state;
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": \"16\", \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "mem/config.json", "'hidden_size'", "must be an integer",
                "a string", NULL);
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16.5, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "'hidden_size'", "must be an integer", NULL);
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101,"
                " \"layer_norm_eps\": \"1e-12\"}",
                NULL, BEND_ERR_INVALID, "'layer_norm_eps'", "must be a number", NULL);
    parse_fails("{\"model_type\": \"esm\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4105,"
                " \"pad_token_id\": 1, \"token_dropout\": \"yes\"}",
                NULL, BEND_ERR_INVALID, "'token_dropout'", "true or false", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"layer\": {\"_name_\": \"hyena\", \"l_max\": [66]}}",
                NULL, BEND_ERR_INVALID, "'layer.l_max'", "must be an integer", "an array", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"layer\": \"hyena\"}",
                "hyenadna", BEND_ERR_INVALID, "'layer'", "must be an object", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"checkpoint_mixer\": 1, \"layer\": {\"_name_\": \"hyena\", \"l_max\": 66}}",
                NULL, BEND_ERR_INVALID, "'checkpoint_mixer'", "true or false", NULL);
    parse_fails("{\"model_type\": \"AWDLSTM\", \"reset_token_id\": \"<eos>\"}", NULL,
                BEND_ERR_INVALID, "'reset_token_id'", "must be an integer", NULL);
}

static void test_invalid_values(void **state)
{
    (void)state;
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 3, \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "'num_attention_heads'", "does not divide", NULL);
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16, \"num_hidden_layers\": 0,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101}",
                NULL, BEND_ERR_INVALID, "'num_hidden_layers'", "positive", NULL);
    parse_fails("{\"model_type\": \"bert\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4101,"
                " \"hidden_act\": \"mish\"}",
                NULL, BEND_ERR_INVALID, "'hidden_act'", "mish", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"layer\": {\"_name_\": \"hyena\", \"l_max\": 66, \"emb_dim\": 4}}",
                NULL, BEND_ERR_INVALID, "'layer.emb_dim'", "odd", NULL);
    parse_fails("{\"d_model\": 32, \"n_layer\": 2, \"d_inner\": 64, \"vocab_size\": 12,"
                " \"layer\": {\"_name_\": \"mha\", \"l_max\": 66}}",
                NULL, BEND_ERR_UNSUPPORTED, "layer._name_", "mha", NULL);
    parse_fails("{\"model_type\": \"esm\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 4105,"
                " \"pad_token_id\": 1, \"position_embedding_type\": \"relative_key\"}",
                NULL, BEND_ERR_UNSUPPORTED, "position_embedding_type", "relative_key", NULL);
    bend_model_family f;
    bend_error err = {0};
    assert_int_equal(bend_model_family_from_name("hyena", &f, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'hyena'"));
    assert_non_null(strstr(err.msg, "hyenadna"));
}

/* ---- JSON output -------------------------------------------------------------------------------------- */

static void test_to_json(void **state)
{
    (void)state;
    bend_model_config c;
    load_fixture("hyenadna", NULL, &c);
    char *s = NULL;
    assert_int_equal(bend_model_config_to_json(&c, &s), BEND_OK);
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    if (!o) fail_msg("not JSON: %s: %s", jerr.text, s);
    assert_string_equal(json_string_value(json_object_get(o, "family")), "hyenadna");
    assert_int_equal(json_integer_value(json_object_get(o, "hidden_size")), 32);
    assert_string_equal(json_string_value(json_object_get(o, "activation")), "gelu_tanh");
    assert_true(json_is_null(json_object_get(o, "pad_token_id")));
    json_t *h = json_object_get(o, "hyenadna");
    assert_non_null(h);
    assert_int_equal(json_integer_value(json_object_get(h, "l_max")), 66);
    assert_true(json_is_true(json_object_get(h, "checkpoint_mixer")));
    json_decref(o);
    free(s);

    load_fixture("nt_v1", NULL, &c);
    assert_int_equal(bend_model_config_to_json(&c, &s), BEND_OK);
    assert_non_null(strstr(s, "\"layer_norm_eps\":1e-12"));
    assert_non_null(strstr(s, "\"token_dropout_scale\":0.88"));
    assert_non_null(strstr(s, "\"position\":\"absolute\""));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dnabert6),
        cmocka_unit_test(test_grover),
        cmocka_unit_test(test_nt_v1),
        cmocka_unit_test(test_dnabert2),
        cmocka_unit_test(test_gena_bert),
        cmocka_unit_test(test_gena_bigbird),
        cmocka_unit_test(test_hyenadna),
        cmocka_unit_test(test_awdlstm),
        cmocka_unit_test(test_resnetlm),
        cmocka_unit_test(test_load_from_weights_file),
        cmocka_unit_test(test_explicit_family),
        cmocka_unit_test(test_nt_v2),
        cmocka_unit_test(test_caduceus),
        cmocka_unit_test(test_convnet_and_gpn),
        cmocka_unit_test(test_detection_rules),
        cmocka_unit_test(test_defaults_and_extra_keys),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
