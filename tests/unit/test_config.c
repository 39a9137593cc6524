/* Unit tests of the config module (src/io/config*.c): YAML parsing, the built-in configs and a
 * user config directory, overrides, interpolation, typed getters, sweeps and YAML output.
 * Every expected value is written out by hand from configs/ and the documented semantics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/config.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static bend_config *parse(const char *yaml)
{
    bend_config *cfg = NULL;
    bend_error err = {0};
    bend_status s = bend_config_from_yaml(yaml, "test.yaml", &cfg, &err);
    if (s) fail_msg("parsing failed: %s", err.msg);
    return cfg;
}

static bend_config *defaults(void)
{
    bend_config *cfg = NULL;
    bend_error err = {0};
    if (bend_config_load_defaults(NULL, &cfg, &err)) fail_msg("defaults failed: %s", err.msg);
    return cfg;
}

static void override_ok(bend_config *cfg, const char *arg)
{
    bend_error err = {0};
    if (bend_config_apply_override(cfg, arg, &err)) fail_msg("override '%s': %s", arg, err.msg);
}

/* Applies an override that must fail with `status` and a message containing `part`. */
static void override_fails(bend_config *cfg, const char *arg, bend_status status, const char *part)
{
    bend_error err = {0};
    bend_status s = bend_config_apply_override(cfg, arg, &err);
    if (s != status) fail_msg("override '%s': status %d, expected %d (%s)", arg, s, status, err.msg);
    if (!strstr(err.msg, part)) fail_msg("override '%s': message '%s' lacks '%s'", arg, err.msg, part);
}

static void expect_str(const bend_config *cfg, const char *path, const char *expected)
{
    char *s = NULL;
    bend_error err = {0};
    if (bend_config_get_str(cfg, path, &s, &err)) fail_msg("get_str '%s': %s", path, err.msg);
    if (!s) fail_msg("get_str '%s': null, expected '%s'", path, expected);
    assert_string_equal(s, expected);
    free(s);
}

static void expect_int(const bend_config *cfg, const char *path, int64_t expected)
{
    int64_t v = 0;
    bend_error err = {0};
    if (bend_config_get_int(cfg, path, &v, &err)) fail_msg("get_int '%s': %s", path, err.msg);
    assert_int_equal(v, expected);
}

/* Runs a getter expected to fail and checks its message contains `part`. */
#define EXPECT_FAIL(call, status, part)                                                           \
    do {                                                                                          \
        bend_error err_ = {0};                                                                    \
        bend_status s_ = (call);                                                                  \
        if (s_ != (status)) fail_msg("%s: status %d, expected %d (%s)", #call, s_, status, err_.msg); \
        if (!strstr(err_.msg, (part))) fail_msg("%s: message '%s' lacks '%s'", #call, err_.msg, part); \
    } while (0)
#define ERR (&err_)

static void expect_parse_error(const char *yaml, const char *part1, const char *part2)
{
    bend_config *cfg = NULL;
    bend_error err = {0};
    bend_status s = bend_config_from_yaml(yaml, "bad.yaml", &cfg, &err);
    assert_int_equal(s, BEND_ERR_PARSE);
    assert_null(cfg);
    if (!strstr(err.msg, part1)) fail_msg("message '%s' lacks '%s'", err.msg, part1);
    if (part2 && !strstr(err.msg, part2)) fail_msg("message '%s' lacks '%s'", err.msg, part2);
}

/* ---- parsing --------------------------------------------------------------------------------- */

static void test_parse_nested_maps_and_flow_lists(void **state)
{
    (void)state;
    bend_config *cfg = parse("# a comment\n"
                             "a:\n"
                             "  b:\n"
                             "    c: 1   # trailing comment\n"
                             "  list: [x, 'y z', \"3\"]\n"
                             "  block:\n"
                             "    - 4\n"
                             "    - -5\n"
                             "flow: {k: v, n: 2}\n"
                             "top: hello world\n");
    expect_int(cfg, "a.b.c", 1);
    expect_str(cfg, "top", "hello world");
    expect_str(cfg, "flow.k", "v");
    expect_int(cfg, "flow.n", 2);
    char **list = NULL;
    size_t n = 0;
    bend_error err = {0};
    assert_int_equal(bend_config_get_str_list(cfg, "a.list", &list, &n, &err), BEND_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0], "x");
    assert_string_equal(list[1], "y z");
    assert_string_equal(list[2], "3");
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
    int64_t *ints = NULL;
    assert_int_equal(bend_config_get_int_list(cfg, "a.block", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ints[0], 4);
    assert_int_equal(ints[1], -5);
    free(ints);
    expect_int(cfg, "a.block.1", -5); /* list elements by index */
    assert_true(bend_config_has(cfg, "a.b"));
    assert_false(bend_config_has(cfg, "a.b.d"));
    assert_false(bend_config_has(cfg, "top.x"));
    bend_config_free(cfg);
}

static void test_quoted_scalars_stay_strings(void **state)
{
    (void)state;
    bend_config *cfg = parse("q1: 'null'\n"
                             "q2: \"true\"\n"
                             "q3: '12'\n"
                             "p: null\n"
                             "t: ~\n"
                             "u: NULL\n"
                             "e:\n"
                             "b1: TRUE\n"
                             "b2: yes\n"
                             "b3: Off\n");
    assert_false(bend_config_is_null(cfg, "q1"));
    expect_str(cfg, "q1", "null");
    bool b = false;
    EXPECT_FAIL(bend_config_get_bool(cfg, "q2", &b, ERR), BEND_ERR_INVALID,
                "config key 'q2': expected true or false, got the quoted string 'true' (test.yaml:2)");
    int64_t v = 0;
    EXPECT_FAIL(bend_config_get_int(cfg, "q3", &v, ERR), BEND_ERR_INVALID, "quoted string '12'");
    assert_true(bend_config_is_null(cfg, "p"));
    assert_true(bend_config_is_null(cfg, "t"));
    assert_true(bend_config_is_null(cfg, "u"));
    assert_true(bend_config_is_null(cfg, "e"));
    assert_true(bend_config_is_null(cfg, "missing"));
    assert_true(bend_config_has(cfg, "e"));
    char *s = (char *)"sentinel";
    bend_error err = {0};
    assert_int_equal(bend_config_get_str(cfg, "p", &s, &err), BEND_OK);
    assert_null(s);
    assert_int_equal(bend_config_get_bool(cfg, "b1", &b, &err), BEND_OK);
    assert_true(b);
    b = false;
    assert_int_equal(bend_config_get_bool(cfg, "b2", &b, &err), BEND_OK);
    assert_true(b);
    assert_int_equal(bend_config_get_bool(cfg, "b3", &b, &err), BEND_OK);
    assert_false(b);
    bend_config_free(cfg);
}

static void test_origin_line_in_messages(void **state)
{
    (void)state;
    bend_config *cfg = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_from_yaml("a: 1\n\nchunk_size: abc\n", "my.yaml", &cfg, &err),
                     BEND_OK);
    int64_t v = 0;
    assert_int_equal(bend_config_get_int(cfg, "chunk_size", &v, &err), BEND_ERR_INVALID);
    assert_string_equal(err.msg, "config key 'chunk_size': expected an integer, got 'abc' (my.yaml:3)");
    bend_config_free(cfg);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_parse_error("x: 1\ny: 2\nx: 3\n", "bad.yaml:3: duplicate key 'x'",
                       "first at line 1, again at line 3");
    expect_parse_error("m:\n  k: 1\n  j: 2\n  k: 3\n", "bad.yaml:4: duplicate key 'k'", "line 2");
}

static void test_malformed_yaml(void **state)
{
    (void)state;
    expect_parse_error("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml:", "flow sequence");
    expect_parse_error("a: b: c\n", "bad.yaml:1:", "mapping values are not allowed");
    expect_parse_error("a: 1\n  b: 2\n", "bad.yaml:2:", "mapping values are not allowed");
    expect_parse_error("- a\n- b\n", "bad.yaml:1", "top level must be a mapping");
}

static void test_unsupported_yaml_features(void **state)
{
    (void)state;
    expect_parse_error("a: 1\nb: &x 2\n", "bad.yaml:2:", "anchors");
    expect_parse_error("a: 1\nb: *x\n", "bad.yaml:2:", "aliases");
    expect_parse_error("a: !!str 1\n", "bad.yaml:1:", "tags");
    expect_parse_error("a: 1\n---\nb: 2\n", "bad.yaml:2:", "second YAML document");
}

static void test_empty_document_is_empty_map(void **state)
{
    (void)state;
    bend_config *cfg = parse("# nothing but a comment\n");
    assert_false(bend_config_has(cfg, "a"));
    char *yaml = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_to_yaml(cfg, NULL, false, &yaml, &err), BEND_OK);
    assert_string_equal(yaml, "{}\n");
    free(yaml);
    bend_config_free(cfg);
}

/* ---- built-in configs ------------------------------------------------------------------------ */

static void test_defaults_load_builtin_tasks_and_models(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    size_t n = 0;
    const char *const *tasks = bend_config_task_names(cfg, &n);
    assert_int_equal(n, 6);
    assert_string_equal(tasks[0], "chromatin_accessibility");
    assert_string_equal(tasks[1], "cpg_methylation");
    assert_string_equal(tasks[2], "enhancer_annotation");
    assert_string_equal(tasks[3], "gene_finding");
    assert_string_equal(tasks[4], "histone_modification");
    assert_string_equal(tasks[5], "variant_effects");
    const char *const *models = bend_config_model_names(cfg, &n);
    assert_int_equal(n, 21);
    assert_string_equal(models[0], "awdlstm");
    assert_string_equal(models[15], "nt_transformer_1000g");
    assert_string_equal(models[17], "nt_transformer_ms");
    assert_string_equal(models[19], "onehot");
    assert_string_equal(models[20], "resnetlm");
    expect_int(cfg, "histone_modification.label_depth", 18);
    expect_int(cfg, "chromatin_accessibility.label_depth", 125);
    expect_int(cfg, "onehot.embedding_dim", 5);
    expect_int(cfg, "chunk_size", 50000);
    expect_str(cfg, "task", "gene_finding");
    expect_str(cfg, "model", "nt_transformer_1000g");
    assert_true(bend_config_is_null(cfg, "chunk"));
    assert_true(bend_config_is_null(cfg, "histone_modification.hdf5_file"));
    bool b = false;
    bend_error err = {0};
    assert_int_equal(bend_config_get_bool(cfg, "histone_modification.read_strand", &b, &err), BEND_OK);
    assert_true(b);
    expect_str(cfg, "chromatin_accessibility.reference_fasta", "./data//genomes/GRCh37.no-chr.fa");
    expect_str(cfg, "dnabert2.model_name", "./pretrained_models//DNABERT-2-117M");
    bend_config_free(cfg);
}

static void test_override_data_dir_reaches_interpolations(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_ok(cfg, "data_dir=out");
    expect_str(cfg, "chromatin_accessibility.reference_fasta", "out/genomes/GRCh37.no-chr.fa");
    expect_str(cfg, "histone_modification.bed", "out/histone_modification/histone_modification.bed");
    override_ok(cfg, "histone_modification.bed=/abs/my.bed");
    expect_str(cfg, "histone_modification.bed", "/abs/my.bed");
    bend_config_free(cfg);
}

/* ---- overrides ------------------------------------------------------------------------------- */

static void test_override_lists(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    bend_error err = {0};
    int64_t *ints = NULL;
    size_t n = 99;
    assert_int_equal(bend_config_get_int_list(cfg, "chunk", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 0);
    assert_null(ints);

    override_ok(cfg, "chunk=[0,2]");
    assert_int_equal(bend_config_get_int_list(cfg, "chunk", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ints[0], 0);
    assert_int_equal(ints[1], 2);
    free(ints);

    override_ok(cfg, "chunk.1=5"); /* an element of an existing list */
    assert_int_equal(bend_config_get_int_list(cfg, "chunk", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ints[1], 5);
    free(ints);

    override_ok(cfg, "chunk=3");
    assert_int_equal(bend_config_get_int_list(cfg, "chunk", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ints[0], 3);
    free(ints);

    override_ok(cfg, "chunk=[1,x]");
    EXPECT_FAIL(bend_config_get_int_list(cfg, "chunk", &ints, &n, ERR), BEND_ERR_INVALID,
                "config key 'chunk.1': expected an integer, got 'x' (command line)");

    override_ok(cfg, "splits=[train,valid]");
    char **strs = NULL;
    assert_int_equal(bend_config_get_str_list(cfg, "splits", &strs, &n, &err), BEND_OK);
    assert_int_equal(n, 2);
    assert_string_equal(strs[0], "train");
    assert_string_equal(strs[1], "valid");
    for (size_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
    bend_config_free(cfg);
}

static void test_override_value_forms(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_ok(cfg, "dtype='float16'");
    expect_str(cfg, "dtype", "float16");
    override_ok(cfg, "data_dir=/path/with/slashes");
    expect_str(cfg, "data_dir", "/path/with/slashes");
    override_ok(cfg, "+spaced=a b");
    expect_str(cfg, "spaced", "a b");
    override_ok(cfg, "+empty=");
    assert_false(bend_config_is_null(cfg, "empty"));
    expect_str(cfg, "empty", "");
    override_ok(cfg, "+qnull='null'");
    assert_false(bend_config_is_null(cfg, "qnull"));
    expect_str(cfg, "qnull", "null");
    override_ok(cfg, "device=null");
    assert_true(bend_config_is_null(cfg, "device"));
    override_ok(cfg, "+ratio=1.5");
    double d = 0;
    bend_error err = {0};
    assert_int_equal(bend_config_get_double(cfg, "ratio", &d, &err), BEND_OK);
    assert_true(d == 1.5);
    override_fails(cfg, "+bad=[1,2", BEND_ERR_PARSE, "override '+bad=[1,2'");
    override_fails(cfg, "+blk=a: b", BEND_ERR_PARSE, "block mapping");
    override_fails(cfg, "+al=*x", BEND_ERR_PARSE, "aliases");
    override_fails(cfg, "+c=#x", BEND_ERR_PARSE, "only a YAML comment");
    override_fails(cfg, "+i=[${a},1]", BEND_ERR_PARSE, "quote interpolations");
    bend_config_free(cfg);
}

static void test_unknown_key_suggestions(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    bend_error err = {0};
    assert_int_equal(bend_config_apply_override(cfg, "histone_modification.bedd=x", &err),
                     BEND_ERR_INVALID);
    assert_string_equal(err.msg, "unknown config key 'histone_modification.bedd'; did you mean "
                                 "'histone_modification.bed'?");
    /* Same last component; the selected task (gene_finding) comes first. */
    override_fails(cfg, "bed=x", BEND_ERR_INVALID,
                   "unknown config key 'bed'; did you mean 'gene_finding.bed', ");
    override_fails(cfg, "chunk_sise=1", BEND_ERR_INVALID, "did you mean 'chunk_size'");
    override_fails(cfg, "histone_modificaton.bed=x", BEND_ERR_INVALID,
                   "did you mean 'histone_modification.bed'");
    override_fails(cfg, "zzzzzzzzzz=1", BEND_ERR_INVALID, "write '+zzzzzzzzzz=1'");
    bend_config_free(cfg);
}

static void test_add_and_force_keys(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_ok(cfg, "+new.key=5");
    expect_int(cfg, "new.key", 5);
    override_fails(cfg, "+new.key=6", BEND_ERR_INVALID, "config key 'new.key': it already exists");
    override_fails(cfg, "new2=5", BEND_ERR_INVALID, "unknown config key 'new2'");
    assert_false(bend_config_has(cfg, "new2"));
    override_ok(cfg, "++new2=7");
    expect_int(cfg, "new2", 7);
    override_ok(cfg, "++chunk_size=10");
    expect_int(cfg, "chunk_size", 10);
    override_ok(cfg, "~new2");
    assert_false(bend_config_has(cfg, "new2"));
    override_fails(cfg, "~new2", BEND_ERR_INVALID, "unknown config key 'new2'");
    bend_config_free(cfg);
}

static void test_malformed_overrides(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_fails(cfg, "chunk_size", BEND_ERR_PARSE, "malformed override 'chunk_size'");
    override_fails(cfg, "=5", BEND_ERR_PARSE, "malformed override '=5'");
    override_fails(cfg, "a..b=1", BEND_ERR_PARSE, "a..b");
    override_fails(cfg, "task.x=1", BEND_ERR_INVALID,
                   "cannot set config key 'task.x': 'task' is a string");
    override_fails(cfg, "+task.x=1", BEND_ERR_INVALID, "'task' is a string");
    override_fails(cfg, "gene_finding=5", BEND_ERR_INVALID,
                   "config key 'gene_finding' is a mapping");
    override_fails(cfg, "chunk_size={a: 1}", BEND_ERR_INVALID, "cannot be replaced by a mapping");
    bend_config_free(cfg);
}

static void test_mapping_override_merges(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_ok(cfg, "histone_modification={label_depth: 3, extra: x}");
    expect_int(cfg, "histone_modification.label_depth", 3);
    expect_str(cfg, "histone_modification.extra", "x");
    expect_str(cfg, "histone_modification.bed", "./data//histone_modification/histone_modification.bed");
    bend_config_free(cfg);
}

/* ---- getters --------------------------------------------------------------------------------- */

static void test_type_errors(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    int64_t v = 0;
    double d = 0;
    bool b = false;
    char *s = NULL;
    override_ok(cfg, "chunk_size=abc");
    EXPECT_FAIL(bend_config_get_int(cfg, "chunk_size", &v, ERR), BEND_ERR_INVALID,
                "config key 'chunk_size': expected an integer, got 'abc' (command line)");
    override_ok(cfg, "overwrite=maybe");
    EXPECT_FAIL(bend_config_get_bool(cfg, "overwrite", &b, ERR), BEND_ERR_INVALID,
                "config key 'overwrite': expected true or false, got 'maybe' (command line)");
    EXPECT_FAIL(bend_config_get_double(cfg, "overwrite", &d, ERR), BEND_ERR_INVALID,
                "expected a number, got 'maybe'");
    EXPECT_FAIL(bend_config_get_str(cfg, "gene_finding", &s, ERR), BEND_ERR_INVALID,
                "config key 'gene_finding': expected a string, got a mapping (configs/tasks/gene_finding.yaml:3)");
    EXPECT_FAIL(bend_config_get_int(cfg, "chunk", &v, ERR), BEND_ERR_INVALID,
                "expected an integer, got null (configs/embed.yaml:11)");
    EXPECT_FAIL(bend_config_get_int(cfg, "nope", &v, ERR), BEND_ERR_INVALID,
                "config key 'nope' is not set");
    EXPECT_FAIL(bend_config_get_int(cfg, "task.sub", &v, ERR), BEND_ERR_INVALID,
                "config key 'task.sub' is not set");
    override_ok(cfg, "chunk_size=9223372036854775808");
    EXPECT_FAIL(bend_config_get_int(cfg, "chunk_size", &v, ERR), BEND_ERR_INVALID, "an integer");
    override_ok(cfg, "chunk_size=1e3");
    EXPECT_FAIL(bend_config_get_int(cfg, "chunk_size", &v, ERR), BEND_ERR_INVALID, "an integer");
    bend_error err = {0};
    assert_int_equal(bend_config_get_double(cfg, "chunk_size", &d, &err), BEND_OK);
    assert_true(d == 1000.0);
    override_ok(cfg, "chunk_size=-9223372036854775808");
    expect_int(cfg, "chunk_size", INT64_MIN);
    override_ok(cfg, "chunk_size=+12");
    expect_int(cfg, "chunk_size", 12);
    bend_config_free(cfg);
}

/* ---- interpolation --------------------------------------------------------------------------- */

static void test_interpolation_keeps_type(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    override_ok(cfg, "+a=${histone_modification.label_depth}");
    expect_int(cfg, "a", 18);
    override_ok(cfg, "histone_modification.label_depth=20"); /* resolved when read */
    expect_int(cfg, "a", 20);
    override_ok(cfg, "+m=${histone_modification}");
    expect_int(cfg, "m.label_depth", 20);
    char *s = NULL;
    EXPECT_FAIL(bend_config_get_str(cfg, "m", &s, ERR), BEND_ERR_INVALID, "got a mapping");
    override_ok(cfg, "+text=n${histone_modification.label_depth}");
    expect_str(cfg, "text", "n20");
    bend_config_free(cfg);
}

static void test_interpolation_cycles(void **state)
{
    (void)state;
    bend_config *cfg = parse("a: ${b}\nb: ${c}\nc: ${a}\ns: x${s}\nok: 1\n");
    char *s = NULL;
    EXPECT_FAIL(bend_config_get_str(cfg, "a", &s, ERR), BEND_ERR_INVALID,
                "config key 'a': interpolation cycle: a -> b -> c -> a");
    EXPECT_FAIL(bend_config_get_str(cfg, "s", &s, ERR), BEND_ERR_INVALID,
                "interpolation cycle: s -> s");
    expect_int(cfg, "ok", 1);
    bend_config_free(cfg);
}

static void test_interpolation_missing_reference(void **state)
{
    (void)state;
    bend_config *cfg = parse("a: ${b}\nb: ${nope.x}/y\n");
    char *s = NULL;
    EXPECT_FAIL(bend_config_get_str(cfg, "a", &s, ERR), BEND_ERR_INVALID,
                "config key 'a': 'b' (test.yaml:2) refers to '${nope.x}', but 'nope.x' is not set");
    assert_false(bend_config_is_null(cfg, "a"));
    assert_true(bend_config_has(cfg, "a"));
    bend_config_free(cfg);
}

static void test_interpolation_escapes_relative_and_nested(void **state)
{
    (void)state;
    bend_config *cfg = parse("data_dir: d\n"
                             "e: \\${data_dir}/x\n"
                             "m: ${data_dir}-\\${x}\n"
                             "t:\n"
                             "  x: 1\n"
                             "  y: ${.x}\n"
                             "  u:\n"
                             "    v: ${..x}\n"
                             "sel: x\n"
                             "z: ${t.${sel}}\n"
                             "q: '${t.x}'\n"
                             "list: ['${t.x}', 2]\n"); /* flow plain scalars cannot hold '{' */
    expect_str(cfg, "e", "${data_dir}/x");
    expect_str(cfg, "m", "d-${x}");
    expect_int(cfg, "t.y", 1);
    expect_int(cfg, "t.u.v", 1);
    expect_int(cfg, "z", 1);
    expect_int(cfg, "q", 1); /* quoting does not stop interpolation, and the type is kept */
    int64_t *ints = NULL;
    size_t n = 0;
    bend_error err = {0};
    assert_int_equal(bend_config_get_int_list(cfg, "list", &ints, &n, &err), BEND_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ints[0], 1);
    assert_int_equal(ints[1], 2);
    free(ints);
    bend_config_free(cfg);
}

/* ---- sweeps ---------------------------------------------------------------------------------- */

static void expect_run(char **run, const char *a, const char *b, const char *c)
{
    assert_string_equal(run[0], a);
    assert_string_equal(run[1], b);
    assert_string_equal(run[2], c);
    assert_null(run[3]);
}

static void test_sweeps_cartesian_product(void **state)
{
    (void)state;
    char *argv[] = {"model=a,b", "task=x,y", "chunk=[1,2]"};
    char ***runs = NULL;
    size_t n = 0;
    bend_error err = {0};
    assert_int_equal(bend_config_expand_sweeps(3, argv, &runs, &n, &err), BEND_OK);
    assert_int_equal(n, 4);
    expect_run(runs[0], "model=a", "task=x", "chunk=[1,2]");
    expect_run(runs[1], "model=a", "task=y", "chunk=[1,2]");
    expect_run(runs[2], "model=b", "task=x", "chunk=[1,2]");
    expect_run(runs[3], "model=b", "task=y", "chunk=[1,2]");
    bend_config_free_sweeps(runs, n);
}

static void test_sweeps_special_forms(void **state)
{
    (void)state;
    char *argv[] = {"--flag", "k='a,b'", "+s=1, 2 ,3", "x={a: 1, b: 2}"};
    char ***runs = NULL;
    size_t n = 0;
    bend_error err = {0};
    assert_int_equal(bend_config_expand_sweeps(4, argv, &runs, &n, &err), BEND_OK);
    assert_int_equal(n, 3);
    for (size_t r = 0; r < 3; r++) {
        assert_string_equal(runs[r][0], "--flag");
        assert_string_equal(runs[r][1], "k='a,b'");
        assert_string_equal(runs[r][3], "x={a: 1, b: 2}");
        assert_null(runs[r][4]);
    }
    assert_string_equal(runs[0][2], "+s=1");
    assert_string_equal(runs[1][2], "+s=2");
    assert_string_equal(runs[2][2], "+s=3");
    bend_config_free_sweeps(runs, n);

    assert_int_equal(bend_config_expand_sweeps(0, NULL, &runs, &n, &err), BEND_OK);
    assert_int_equal(n, 1);
    assert_null(runs[0][0]);
    bend_config_free_sweeps(runs, n);

    char *empty[] = {"k=a,,b"};
    EXPECT_FAIL(bend_config_expand_sweeps(1, empty, &runs, &n, ERR), BEND_ERR_PARSE,
                "sweep 'k=a,,b' has an empty value");
    assert_null(runs);
    char *twice[] = {"k=a,b", "+k=c,d"};
    EXPECT_FAIL(bend_config_expand_sweeps(2, twice, &runs, &n, ERR), BEND_ERR_INVALID,
                "'k' is swept twice");
}

/* ---- YAML output ----------------------------------------------------------------------------- */

static void test_to_yaml_exact_output(void **state)
{
    (void)state;
    bend_config *cfg = parse("b: 1\n"
                             "a:\n"
                             "  s: 'x: y'\n"
                             "  l: [1, {k: v, j: [2]}, [3, 4]]\n"
                             "  e: []\n"
                             "  m: {}\n"
                             "n: null\n"
                             "q: '12'\n");
    char *yaml = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_to_yaml(cfg, NULL, false, &yaml, &err), BEND_OK);
    assert_string_equal(yaml, "b: 1\n"
                              "a:\n"
                              "  s: 'x: y'\n"
                              "  l:\n"
                              "  - 1\n"
                              "  - k: v\n"
                              "    j:\n"
                              "    - 2\n"
                              "  - - 3\n"
                              "    - 4\n"
                              "  e: []\n"
                              "  m: {}\n"
                              "n: null\n"
                              "q: '12'\n");
    free(yaml);
    assert_int_equal(bend_config_to_yaml(cfg, "a.s", false, &yaml, &err), BEND_OK);
    assert_string_equal(yaml, "'x: y'\n");
    free(yaml);
    bend_config_free(cfg);
}

static void test_to_yaml_round_trip(void **state)
{
    (void)state;
    bend_config *cfg = parse("colon: 'a: b'\n"
                             "hash: '#x'\n"
                             "inner_hash: 'x #y'\n"
                             "lead: '  lead'\n"
                             "empty: ''\n"
                             "qnull: 'null'\n"
                             "qtilde: '~'\n"
                             "qint: '12'\n"
                             "int: 12\n"
                             "neg: -3\n"
                             "dash: '-'\n"
                             "dashsp: '- x'\n"
                             "quote: \"it's\"\n"
                             "nl: \"a\\nb\\tc\"\n"
                             "interp: ${int}/x\n"
                             "'key: odd': 1\n"
                             "url: http://x.org/a#b\n"
                             "doc: '---'\n"
                             "list: [{a: 1}, [x, 'y,z'], null, '']\n");
    char *once = NULL, *twice = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_to_yaml(cfg, "", false, &once, &err), BEND_OK);
    bend_config *again = parse(once);
    assert_int_equal(bend_config_to_yaml(again, "", false, &twice, &err), BEND_OK);
    assert_string_equal(once, twice);
    expect_str(again, "colon", "a: b");
    expect_str(again, "hash", "#x");
    expect_str(again, "inner_hash", "x #y");
    expect_str(again, "lead", "  lead");
    expect_str(again, "empty", "");
    assert_false(bend_config_is_null(again, "empty"));
    assert_false(bend_config_is_null(again, "qnull"));
    assert_false(bend_config_is_null(again, "qtilde"));
    int64_t v = 0;
    EXPECT_FAIL(bend_config_get_int(again, "qint", &v, ERR), BEND_ERR_INVALID, "quoted");
    expect_int(again, "int", 12);
    expect_int(again, "neg", -3);
    expect_str(again, "dash", "-");
    expect_str(again, "dashsp", "- x");
    expect_str(again, "quote", "it's");
    expect_str(again, "nl", "a\nb\tc");
    expect_str(again, "interp", "12/x");
    expect_int(again, "key: odd", 1);
    expect_str(again, "url", "http://x.org/a#b");
    expect_str(again, "doc", "---");
    expect_int(again, "list.0.a", 1);
    expect_str(again, "list.1.1", "y,z");
    assert_true(bend_config_is_null(again, "list.2"));
    expect_str(again, "list.3", "");
    free(once);
    free(twice);
    bend_config_free(again);
    bend_config_free(cfg);
}

static void test_to_yaml_resolve(void **state)
{
    (void)state;
    bend_config *cfg = defaults();
    char *yaml = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_to_yaml(cfg, "chromatin_accessibility", true, &yaml, &err), BEND_OK);
    assert_string_equal(yaml, "bed: ./data//chromatin_accessibility/chromatin_accessibility.bed\n"
                              "reference_fasta: ./data//genomes/GRCh37.no-chr.fa\n"
                              "hdf5_file: null\n"
                              "read_strand: true\n"
                              "label_depth: 125\n");
    free(yaml);
    assert_int_equal(bend_config_to_yaml(cfg, "chromatin_accessibility", false, &yaml, &err), BEND_OK);
    assert_non_null(strstr(yaml, "reference_fasta: ${data_dir}/genomes/GRCh37.no-chr.fa\n"));
    free(yaml);
    bend_config_free(cfg);

    cfg = parse("a:\n  b: ${a}\nc: ${d}\nd: {x: 1}\n");
    EXPECT_FAIL(bend_config_to_yaml(cfg, "a", true, &yaml, ERR), BEND_ERR_INVALID,
                "interpolation cycle: a.b -> a.b");
    assert_int_equal(bend_config_to_yaml(cfg, "c", true, &yaml, &err), BEND_OK);
    assert_string_equal(yaml, "x: 1\n");
    free(yaml);
    bend_config_free(cfg);
}

/* ---- a user config directory ----------------------------------------------------------------- */

static char tmpdir[PATH_MAX];

static void write_file(const char *rel, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *rel)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    unlink(path);
}

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("BEND_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s/config-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) return -1;
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/tasks", tmpdir);
    if (mkdir(sub, 0700)) return -1;
    snprintf(sub, sizeof sub, "%s/models", tmpdir);
    return mkdir(sub, 0700);
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/tasks", tmpdir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/models", tmpdir);
    rmdir(sub);
    return rmdir(tmpdir);
}

static void test_config_dir_replaces_and_adds(void **state)
{
    (void)state;
    write_file("tasks/gene_finding.yaml", "bed: my.bed\nlabel_depth: 3\n");
    write_file("models/mymodel.yaml", "family: onehot\nembedding_dim: 4\n");
    write_file("models/notes.txt", "not a config\n");
    bend_config *cfg = NULL;
    bend_error err = {0};
    assert_int_equal(bend_config_load_defaults(tmpdir, &cfg, &err), BEND_OK);
    expect_str(cfg, "gene_finding.bed", "my.bed");
    expect_int(cfg, "gene_finding.label_depth", 3);
    assert_false(bend_config_has(cfg, "gene_finding.hdf5_file")); /* replaced, not merged */
    expect_int(cfg, "histone_modification.label_depth", 18);    /* others untouched */
    expect_int(cfg, "mymodel.embedding_dim", 4);
    size_t n = 0;
    const char *const *models = bend_config_model_names(cfg, &n);
    assert_int_equal(n, 22);
    assert_string_equal(models[15], "mymodel");
    assert_string_equal(models[20], "onehot");
    bend_config_task_names(cfg, &n);
    assert_int_equal(n, 6);
    int64_t v = 0;
    char where[PATH_MAX + 64];
    snprintf(where, sizeof where, "(%s/tasks/gene_finding.yaml:1)", tmpdir);
    EXPECT_FAIL(bend_config_get_int(cfg, "gene_finding.bed", &v, ERR), BEND_ERR_INVALID, where);
    bend_config_free(cfg);
    remove_file("tasks/gene_finding.yaml");
    remove_file("models/mymodel.yaml");
    remove_file("models/notes.txt");
}

static void test_config_dir_errors(void **state)
{
    (void)state;
    bend_config *cfg = NULL;
    write_file("models/data_dir.yaml", "family: onehot\n");
    EXPECT_FAIL(bend_config_load_defaults(tmpdir, &cfg, ERR), BEND_ERR_INVALID,
                "model 'data_dir' has the name of the key 'data_dir' of embed.yaml");
    assert_null(cfg);
    remove_file("models/data_dir.yaml");

    write_file("tasks/onehot.yaml", "bed: x\n");
    EXPECT_FAIL(bend_config_load_defaults(tmpdir, &cfg, ERR), BEND_ERR_INVALID, "'onehot'");
    remove_file("tasks/onehot.yaml");

    write_file("tasks/broken.yaml", "bed: x\nbed: y\n");
    char where[PATH_MAX + 64];
    snprintf(where, sizeof where, "%s/tasks/broken.yaml:2: duplicate key 'bed'", tmpdir);
    EXPECT_FAIL(bend_config_load_defaults(tmpdir, &cfg, ERR), BEND_ERR_PARSE, where);
    remove_file("tasks/broken.yaml");

    EXPECT_FAIL(bend_config_load_defaults("/nonexistent/bend-configs", &cfg, ERR), BEND_ERR_IO,
                "config directory '/nonexistent/bend-configs' does not exist");
    assert_null(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_nested_maps_and_flow_lists),
        cmocka_unit_test(test_quoted_scalars_stay_strings),
        cmocka_unit_test(test_origin_line_in_messages),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_unsupported_yaml_features),
        cmocka_unit_test(test_empty_document_is_empty_map),
        cmocka_unit_test(test_defaults_load_builtin_tasks_and_models),
        cmocka_unit_test(test_override_data_dir_reaches_interpolations),
        cmocka_unit_test(test_override_lists),
        cmocka_unit_test(test_override_value_forms),
        cmocka_unit_test(test_unknown_key_suggestions),
        cmocka_unit_test(test_add_and_force_keys),
        cmocka_unit_test(test_malformed_overrides),
        cmocka_unit_test(test_mapping_override_merges),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_interpolation_keeps_type),
        cmocka_unit_test(test_interpolation_cycles),
        cmocka_unit_test(test_interpolation_missing_reference),
        cmocka_unit_test(test_interpolation_escapes_relative_and_nested),
        cmocka_unit_test(test_sweeps_cartesian_product),
        cmocka_unit_test(test_sweeps_special_forms),
        cmocka_unit_test(test_to_yaml_exact_output),
        cmocka_unit_test(test_to_yaml_round_trip),
        cmocka_unit_test(test_to_yaml_resolve),
        cmocka_unit_test_setup_teardown(test_config_dir_replaces_and_adds, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_config_dir_errors, make_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
