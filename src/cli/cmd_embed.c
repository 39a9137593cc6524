/* bend embed [--config-dir DIR] key=value ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/sweep_runner.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/strbuf.h"
#include "dist/world.h"
#include "embed/embed_job.h"
#include "io/config.h"
#include "store/store.h"

static const char usage_text[] =
    "usage: bend embed [--config-dir DIR] [key=value ...]\n"
    "\n"
    "Embeds a BEND task's sequences with a model into {data_dir}/{task}/{model}/embeddings.h5.\n"
    "Run it alone, under `mpirun -np N`, or `srun --mpi=pmix`: rank 0 hands out the work and\n"
    "every rank writes into the one store. Run the same command again to finish an interrupted\n"
    "run. Keys are BEND's (conf/embedding/embed.yaml), e.g.\n"
    "  bend embed task=histone_modification model=onehot data_dir=data\n"
    "  bend embed task=gene_finding model=onehot chunk=[0,2] splits=[train,valid]\n"
    "  bend embed task=histone_modification histone_modification.bed=my.bed model=onehot\n"
    "  bend embed task=cpg_methylation,histone_modification model=onehot   (a sweep, as Hydra)\n"
    "Other keys: chunk_size, dtype=float32|float16, device=auto|cpu|cuda, overwrite=true,\n"
    "progress_interval, work_nucleotides; +key=value adds a key. --config-dir DIR adds or replaces\n"
    "configs (DIR/embed.yaml, DIR/tasks/<task>.yaml, DIR/models/<model>.yaml).\n";

static int run_one(char **overrides, const char *config_dir, const bend_world *w)
{
    bend_error err;
    bend_error_clear(&err);
    bend_config *cfg = NULL;
    bend_status st = bend_config_load_defaults(config_dir, &cfg, &err);
    for (size_t i = 0; !st && overrides[i]; i++) st = bend_config_apply_override(cfg, overrides[i], &err);
    bend_embed_result res;
    if (!st) st = bend_embed_run(cfg, w, NULL, &res, &err);
    int64_t chunk_size = 50000;
    if (!st && bend_config_get_int(cfg, "chunk_size", &chunk_size, NULL)) chunk_size = 50000;
    bend_config_free(cfg);
    /* Errors every rank shares (bad configuration, bad input) are reported once, by rank 0;
     * a rank's own failure by that rank. */
    if (st) {
        if (err.msg[0] && (w->rank == 0 || err.status == BEND_ERR_IO || err.status == BEND_ERR_HDF5 ||
                           err.status == BEND_ERR_DEVICE || err.status == BEND_ERR_NOMEM))
            bend_report_error(&err);
        return bend_status_exit_code(st);
    }
    if (w->rank == 0) {
        bend_strbuf sb = BEND_STRBUF_INIT;
        if (bend_store_describe(res.store_path, chunk_size, &sb, &err)) {
            bend_report_error(&err);
            bend_strbuf_free(&sb);
            return 1;
        }
        char rate[32] = "", took[32];
        bend_format_duration(res.seconds, took, sizeof took);
        if (res.seconds > 0) bend_format_rate((double)res.nucleotides / res.seconds, rate, sizeof rate);
        printf("%s", bend_strbuf_cstr(&sb));
        printf("  this run: %lld samples, %lld nt in %s%s%s\n", (long long)res.samples,
               (long long)res.nucleotides, took, res.samples ? ", " : "", res.samples ? rate : "");
        fflush(stdout);
        bend_strbuf_free(&sb);
    }
    return 0;
}

int bend_cmd_embed(int argc, char **argv)
{
    return bend_cli_run_sweeps(argc, argv, usage_text, run_one);
}
