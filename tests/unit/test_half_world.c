/* float16 conversion against known bit patterns, and the local-rank rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "core/half.h"
#include "dist/world.h"
#include "gpu/device.h"

static void test_half_known_values(void **state)
{
    (void)state;
    /* Expected bit patterns from the IEEE 754 binary16 definition (numpy agrees). */
    assert_int_equal(bend_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(bend_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(bend_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(bend_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(bend_f32_to_f16(0.5f), 0x3800);
    assert_int_equal(bend_f32_to_f16(65504.0f), 0x7bff);      /* largest finite */
    assert_int_equal(bend_f32_to_f16(65520.0f), 0x7c00);      /* rounds up to inf */
    assert_int_equal(bend_f32_to_f16(1e6f), 0x7c00);
    assert_int_equal(bend_f32_to_f16(0.1f), 0x2e66);
    assert_int_equal(bend_f32_to_f16(1.0f / 3.0f), 0x3555);
    assert_int_equal(bend_f32_to_f16(ldexpf(1, -14)), 0x0400); /* smallest normal */
    assert_int_equal(bend_f32_to_f16(ldexpf(1, -24)), 0x0001); /* smallest subnormal */
    assert_int_equal(bend_f32_to_f16(ldexpf(1, -25)), 0x0000); /* tie -> even (0) */
    assert_int_equal(bend_f32_to_f16(ldexpf(3, -25)), 0x0002); /* tie 1.5 ulp -> even (2) */
    assert_int_equal(bend_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00); /* tie -> even */
    assert_int_equal(bend_f32_to_f16(1.0f + ldexpf(3, -11)), 0x3c02); /* tie -> even (up) */
    assert_int_equal(bend_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(bend_f32_to_f16(-INFINITY), 0xfc00);
    assert_int_equal(bend_f32_to_f16(NAN) & 0x7c00, 0x7c00);
    assert_int_not_equal(bend_f32_to_f16(NAN) & 0x03ff, 0);
}

static void test_half_round_trip(void **state)
{
    (void)state;
    /* Every finite half converts to float and back to itself. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(bend_f32_to_f16(bend_f16_to_f32((uint16_t)h)), h);
    }
    assert_true(bend_f16_to_f32(0x3c00) == 1.0f);
    assert_true(bend_f16_to_f32(0x0001) == ldexpf(1, -24));
    uint16_t out[3];
    const float in[3] = {1.0f, -2.0f, 0.5f};
    bend_f32_to_f16_array(in, out, 3);
    assert_int_equal(out[0], 0x3c00);
    assert_int_equal(out[1], 0xc000);
    assert_int_equal(out[2], 0x3800);
}

static const char *fake_env[16][2];
static const char *fake_getenv(const char *name)
{
    for (int i = 0; fake_env[i][0]; i++)
        if (!strcmp(fake_env[i][0], name)) return fake_env[i][1];
    return NULL;
}
static void set_env(const char *a, const char *av, const char *b, const char *bv, const char *c, const char *cv)
{
    memset(fake_env, 0, sizeof fake_env);
    fake_env[0][0] = a, fake_env[0][1] = av;
    fake_env[1][0] = b, fake_env[1][1] = bv;
    fake_env[2][0] = c, fake_env[2][1] = cv;
}

static void test_local_rank_sources(void **state)
{
    (void)state;
    const char *src;
    set_env("OMPI_COMM_WORLD_LOCAL_RANK", "3", "SLURM_LOCALID", "0", "SLURM_STEP_NUM_TASKS", "8");
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 8, &src), 3);
    assert_string_equal(src, "OMPI_COMM_WORLD_LOCAL_RANK");
    set_env("MPI_LOCALRANKID", "2", NULL, NULL, NULL, NULL);
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 4, &src), 2);
    assert_string_equal(src, "MPI_LOCALRANKID");
    /* srun --mpi=pmix: the step has as many tasks as the world */
    set_env("SLURM_LOCALID", "5", "SLURM_STEP_NUM_TASKS", "8", NULL, NULL);
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 8, &src), 5);
    assert_string_equal(src, "SLURM_LOCALID");
    /* mpirun inside a batch step: the step's SLURM_LOCALID is not this rank's */
    set_env("SLURM_LOCALID", "0", "SLURM_STEP_NUM_TASKS", "1", NULL, NULL);
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 4, &src), -1);
    assert_null(src);
    set_env("OMPI_COMM_WORLD_LOCAL_RANK", "x", NULL, NULL, NULL, NULL);
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 4, &src), -1);
    set_env(NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(bend_local_rank_from_env(fake_getenv, 1, &src), -1);
}

static void test_gpu_for_local_rank(void **state)
{
    (void)state;
    assert_int_equal(bend_gpu_for_local_rank(0, 4), 0);
    assert_int_equal(bend_gpu_for_local_rank(3, 4), 3);
    assert_int_equal(bend_gpu_for_local_rank(5, 4), 1);  /* more ranks than GPUs share */
    assert_int_equal(bend_gpu_for_local_rank(2, 1), 0);
    assert_int_equal(bend_gpu_for_local_rank(2, 0), -1); /* no GPU */
}

static void test_device_choice_without_gpu(void **state)
{
    (void)state;
    /* CI has no GPU: auto falls back to the CPU, cuda is an error, anything else is refused. */
    bend_device dev;
    bend_error err;
    assert_int_equal(bend_device_choose("cpu", 0, &dev, &err), BEND_OK);
    assert_int_equal(dev.kind, BEND_DEVICE_CPU);
    assert_int_equal(bend_device_choose("gpu0", 0, &dev, &err), BEND_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'device'"));
    char why[256];
    if (bend_cuda_device_count(why, sizeof why) > 0) skip();
    assert_int_equal(bend_device_choose("auto", 0, &dev, &err), BEND_OK);
    assert_int_equal(dev.kind, BEND_DEVICE_CPU);
    assert_int_equal(bend_device_choose("cuda", 0, &dev, &err), BEND_ERR_DEVICE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_known_values),
        cmocka_unit_test(test_half_round_trip),
        cmocka_unit_test(test_local_rank_sources),
        cmocka_unit_test(test_gpu_for_local_rank),
        cmocka_unit_test(test_device_choice_without_gpu),
    };
    return cmocka_run_group_tests_name("half_world", tests, NULL, NULL);
}
