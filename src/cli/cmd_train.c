/* bend train [--config-dir DIR] key=value ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/sweep_runner.h"
#include "core/log.h"
#include "io/config.h"
#include "train/trainer.h"

static const char usage_text[] =
    "usage: bend train [--config-dir DIR] [key=value ...]\n"
    "\n"
    "Trains BEND's downstream CNN on a store written by bend embed, tests the epoch with the best\n"
    "validation metric, and writes BEND's files to output_dir (default\n"
    "./downstream_tasks/{task}/{embedder}/): checkpoints/epoch_N/, losses.csv,\n"
    "best_model_metrics.csv, and test_predictions.h5. Run it alone or under mpirun / srun: ranks\n"
    "share each batch (data parallel). Keys are BEND's (conf/supervised_tasks/<task>.yaml), e.g.\n"
    "  bend train task=histone_modification embedder=onehot data_dir=data\n"
    "  bend train task=gene_finding embedder=onehot params.epochs=10 data.batch_size=32 seed=1\n"
    "  bend train task=enhancer_annotation embedder=onehot data.cross_validation=3\n"
    "  bend train task=cpg_methylation embedder=onehot,resnet-supervised   (a sweep, as Hydra)\n"
    "  bend train ... params.load_checkpoint=true    (resume from the last complete epoch)\n"
    "Other keys: output_dir, model.hidden_size, optimizer.lr, params.criterion, params.metric,\n"
    "params.class_weights, params.early_stopping, params.mode=test, data.shuffle, seed, device.\n"
    "--config-dir DIR adds or replaces configs (DIR/train.yaml, DIR/supervised_tasks/<task>.yaml).\n";

/* The value of the last task=... override (the task picks which file is merged in). */
static const char *task_override(char **overrides)
{
    const char *task = NULL;
    for (size_t i = 0; overrides[i]; i++) {
        const char *a = overrides[i];
        a += strspn(a, "+");
        if (!strncmp(a, "task=", 5)) task = a + 5;
    }
    return task;
}

static int run_one(char **overrides, const char *config_dir, const bend_world *w)
{
    bend_error err;
    bend_error_clear(&err);
    bend_config *cfg = NULL;
    bend_status st = bend_config_load_train(config_dir, task_override(overrides), &cfg, &err);
    for (size_t i = 0; !st && overrides[i]; i++) st = bend_config_apply_override(cfg, overrides[i], &err);
    bend_train_result res;
    if (!st) st = bend_train_run(cfg, w, &res, &err);
    bend_config_free(cfg);
    if (st) {
        if (err.msg[0] && (w->rank == 0 || err.status == BEND_ERR_IO || err.status == BEND_ERR_HDF5 ||
                           err.status == BEND_ERR_NOMEM))
            bend_report_error(&err);
        return bend_status_exit_code(st);
    }
    if (w->rank == 0) {
        printf("%s: best epoch %lld, test loss %.6g, test metric %.6g\n", res.output_dir,
               (long long)res.best_epoch, res.test_loss, res.test_metric);
        fflush(stdout);
    }
    return 0;
}

int bend_cmd_train(int argc, char **argv)
{
    return bend_cli_run_sweeps(argc, argv, usage_text, run_one);
}
