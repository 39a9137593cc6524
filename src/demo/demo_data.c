/* `bend demo-data`: generate (tasks, motifs, layout, planting, decoration), then write BEND's
 * data directory. See demo_internal.h for the stages. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/path.h"
#include "demo/demo_internal.h"

enum { DEMO_PATH_MAX = 4096 };
#define DEMO_MAX_SCALE 100.0

static bend_status join(char *buf, const char *dir, const char *a, const char *b, bend_error *err)
{
    int n = b ? snprintf(buf, DEMO_PATH_MAX, "%s/%s/%s", dir, a, b)
              : snprintf(buf, DEMO_PATH_MAX, "%s/%s", dir, a);
    if (n < 0 || n >= DEMO_PATH_MAX)
        return bend_fail(err, BEND_ERR_INVALID, "output path too long under '%s'", dir);
    return BEND_OK;
}

static bend_status generate(demo_ctx *ctx, bend_error *err)
{
    bend_status st = demo_tasks_init(ctx, err);
    if (st == BEND_OK) st = demo_motifs_make(ctx, err);
    if (st == BEND_OK) st = demo_layout(ctx, err);
    for (int id = 0; id < DEMO_NTASKS && st == BEND_OK; id++) {
        demo_task *t = &ctx->task[id];
        switch (t->spec->kind) {
        case DEMO_KIND_GENES: st = demo_plant_genes(ctx, t, err); break;
        case DEMO_KIND_ENHANCER: st = demo_plant_enhancers(ctx, t, err); break;
        case DEMO_KIND_MULTILABEL: st = demo_plant_multilabel(ctx, t, err); break;
        case DEMO_KIND_VARIANT: st = demo_plant_variants(ctx, t, err); break;
        }
    }
    if (st == BEND_OK) demo_genome_decorate(ctx);
    return st;
}

static bend_status write_all(const demo_ctx *ctx, const char *dir, bend_strbuf *summary,
                             bend_error *err)
{
    char path[DEMO_PATH_MAX];
    bend_status st = bend_mkdir_p(dir, "directory", err);
    if (st == BEND_OK) st = join(path, dir, "genomes", NULL, err);
    if (st == BEND_OK) st = bend_mkdir_p(path, "directory", err);
    if (st == BEND_OK) st = join(path, dir, "genomes", "GRCh38.primary_assembly.genome.fa", err);
    if (st == BEND_OK) st = demo_write_fasta(&ctx->genome, path, false, err);
    if (st == BEND_OK) st = join(path, dir, "genomes", "GRCh37.no-chr.fa", err);
    if (st == BEND_OK) st = demo_write_fasta(&ctx->genome, path, true, err);
    for (int id = 0; id < DEMO_NTASKS && st == BEND_OK; id++) {
        const demo_task *t = &ctx->task[id];
        const char *name = t->spec->name;
        char file[256];
        st = join(path, dir, name, NULL, err);
        if (st == BEND_OK) st = bend_mkdir_p(path, "directory", err);
        snprintf(file, sizeof file, "%s.bed", name);
        if (st == BEND_OK) st = join(path, dir, name, file, err);
        if (st == BEND_OK) st = demo_write_bed(t, path, err);
        if (st != BEND_OK || !t->spec->has_hdf5) continue;
        snprintf(file, sizeof file, "%s.hdf5", name);
        st = join(path, dir, name, file, err);
        if (st == BEND_OK)
            st = t->spec->kind == DEMO_KIND_GENES ? demo_write_gene_hdf5(t, path, err)
                                                  : demo_write_enhancer_hdf5(t, path, err);
    }
    /* README.txt names no path, so a seed's files are the same wherever they are written. */
    bend_strbuf text = BEND_STRBUF_INIT;
    demo_format_summary(ctx, NULL, &text);
    if (st == BEND_OK) st = join(path, dir, "README.txt", NULL, err);
    if (st == BEND_OK) st = demo_write_readme(ctx, path, bend_strbuf_cstr(&text), err);
    if (st == BEND_OK) st = join(path, dir, "demo_truth.tsv", NULL, err);
    if (st == BEND_OK) st = demo_write_truth(ctx, path, err);
    bend_strbuf_free(&text);
    if (st == BEND_OK && summary) demo_format_summary(ctx, dir, summary);
    return st;
}

bend_status bend_demo_write_report(const bend_demo_options *opts, bend_strbuf *summary,
                                   bend_error *err)
{
    if (!opts || !opts->out_dir || !opts->out_dir[0])
        return bend_fail(err, BEND_ERR_INVALID, "demo-data: no output directory given");
    if (!isfinite(opts->scale) || opts->scale <= 0 || opts->scale > DEMO_MAX_SCALE)
        return bend_fail(err, BEND_ERR_INVALID, "demo-data: scale %g is out of range (0, %g]",
                         opts->scale, DEMO_MAX_SCALE);
    demo_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.seed = opts->seed;
    ctx.scale = opts->scale;
    bend_status st = generate(&ctx, err);
    if (st == BEND_OK) st = write_all(&ctx, opts->out_dir, summary, err);
    demo_tasks_free(&ctx);
    demo_genome_free(&ctx.genome);
    return st;
}

bend_status bend_demo_write(const bend_demo_options *opts, bend_error *err)
{
    return bend_demo_write_report(opts, NULL, err);
}
