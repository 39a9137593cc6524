/* What was written and planted, for people (README.txt, the command's summary) and for programs
 * (demo_truth.tsv: task, label, motif). */
#include <stdio.h>

#include "demo/demo_internal.h"

static const char *const fasta38 = "genomes/GRCh38.primary_assembly.genome.fa";
static const char *const fasta37 = "genomes/GRCh37.no-chr.fa";

void demo_format_summary(const demo_ctx *ctx, const char *out_dir, bend_strbuf *sb)
{
    const demo_genome *g = &ctx->genome;
    if (out_dir) /* README.txt (NULL) states seed and scale itself and names no path */
        bend_strbuf_printf(sb, "wrote %s (seed %llu, scale %g)\n", out_dir,
                           (unsigned long long)ctx->seed, ctx->scale);
    bend_strbuf_printf(sb,
                       "genome: %d chromosomes, %llu nt (%llu N, %.1f%% soft-masked, %u IUPAC "
                       "letters)\n  %s\n  %s (same sequences, chromosomes named 1..%d)\n",
                       DEMO_NCHROM, (unsigned long long)g->len, (unsigned long long)g->n_bases,
                       g->len ? 100.0 * (double)g->masked_bases / (double)g->len : 0.0, g->iupac,
                       fasta38, fasta37, DEMO_NCHROM);
    bend_strbuf_puts(sb, "tasks (samples: per split):\n");
    for (int id = 0; id < DEMO_NTASKS; id++) {
        const demo_task *t = &ctx->task[id];
        const demo_task_spec *spec = t->spec;
        bend_strbuf_printf(sb, "  %-24s %6zu:", spec->name, t->n);
        unsigned nsplit = demo_split_count(spec->splits);
        bool even = spec->splits == DEMO_SPLIT_FOLDS;
        for (unsigned k = 1; k < nsplit; k++) even = even && t->split_count[k] == t->split_count[0];
        if (even) /* folds of equal size */
            bend_strbuf_printf(sb, " %s..%s %zu each", demo_split_name(spec->splits, 0),
                               demo_split_name(spec->splits, nsplit - 1), t->split_count[0]);
        for (unsigned k = 0; k < nsplit && !even; k++)
            bend_strbuf_printf(sb, "%s %s %zu", k ? "," : "", demo_split_name(spec->splits, k),
                               t->split_count[k]);
        bend_strbuf_printf(sb, "\n  %-24s         %s/%s.bed", "", spec->name, spec->name);
        if (spec->has_hdf5) bend_strbuf_printf(sb, ", %s/%s.hdf5", spec->name, spec->name);
        bend_strbuf_puts(sb, "\n");
    }
    bend_strbuf_puts(sb, "also: README.txt (what was planted), demo_truth.tsv (task, label, motif)\n");
}

static void describe_task(bend_strbuf *sb, const demo_task *t)
{
    const demo_task_spec *spec = t->spec;
    bend_strbuf_printf(sb, "\n%s\n", spec->name);
    switch (spec->kind) {
    case DEMO_KIND_GENES:
        bend_strbuf_printf(sb,
            "  One gene per row (%d-%d nt with non-coding flanks of 100-300 nt), strand + or -,\n"
            "  2-5 exons (65%% G/C) and introns (35%% G/C). gene_finding.hdf5 `labels`: one\n"
            "  variable-length int64 array per row, length end-start, classes in forward order:\n"
            "    0 exon (+)  1 donor (+, intron's first 2 nt, GT)  2 intron (+)\n"
            "    3 acceptor (+, intron's last 2 nt, AG)\n"
            "    4 exon (-)  5 donor (-, intron's right end, forward AC)  6 intron (-)\n"
            "    7 acceptor (-, intron's left end, forward CT)  8 non-coding\n",
            DEMO_GENE_MIN, DEMO_GENE_MAX);
        return;
    case DEMO_KIND_ENHANCER:
        bend_strbuf_printf(sb,
            "  %d-nt windows of %d bins of %d nt, folds part1..part10. Each bin is an enhancer\n"
            "  with probability %.2f (at least one per window); an enhancer bin holds %d copies\n"
            "  of the motif %s (forward strand); it occurs nowhere else in the window, in either\n"
            "  orientation. enhancer_annotation.hdf5 `labels`: int64 [rows, %d], 1 = enhancer.\n",
            DEMO_ENH_WINDOW, DEMO_ENH_BINS, DEMO_ENH_BIN, spec->prob, DEMO_COPIES, t->motif[0],
            DEMO_ENH_BINS);
        return;
    case DEMO_KIND_VARIANT:
        bend_strbuf_printf(sb,
            "  start == end == the 0-based variant position; ref is the genome base there.\n"
            "  Label 1 variants (half) lie inside a planted copy of the motif %s (forward\n"
            "  strand), which the alt allele breaks; label 0 variants lie in background. Within\n"
            "  %d nt either side the motif occurs nowhere else, in either orientation.\n",
            t->motif[0], DEMO_VAR_FLANK);
        return;
    case DEMO_KIND_MULTILABEL:
        bend_strbuf_printf(sb,
            "  %d-nt windows, %u labels, each present with probability %.2f. A present label\n"
            "  puts %d copies of its motif into the sequence as read (the reverse complement of\n"
            "  the genome for '-' rows); no absent label's motif occurs in the read sequence.\n"
            "  Genome: %s.\n",
            DEMO_WINDOW, spec->depth, spec->prob, DEMO_COPIES,
            spec->grch37 ? "GRCh37.no-chr.fa (chromosomes 1..K)" : "GRCh38 file");
        for (unsigned j = 0; j < t->nmotif; j++)
            bend_strbuf_printf(sb, "    label %3u  %s\n", j, t->motif[j]);
        return;
    }
}

bend_status demo_write_readme(const demo_ctx *ctx, const char *path, const char *summary,
                              bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb,
        "Synthetic BEND data written by `bend demo-data` (seed %llu, scale %g).\n"
        "Same seed and scale give byte-identical files. This directory is a BEND data_dir:\n"
        "  bend embed task=histone_modification model=onehot data_dir=<this directory>\n\n",
        (unsigned long long)ctx->seed, ctx->scale);
    bend_strbuf_puts(&sb, summary);
    bend_strbuf_printf(&sb,
        "\nGenome\n"
        "  chr1..chr%d: uniform random A/C/G/T background, N runs of %d nt at both ends of each\n"
        "  chromosome and internal N gaps of %d-%d nt, about 10%% soft-masked (lower case) in\n"
        "  runs of 50-500 nt, and a few IUPAC letters (R Y K M S W), some inside task windows.\n"
        "  Every sample of every task has its own interval, disjoint from all others and from\n"
        "  the N runs. Planted bases (motifs, splice sites, variant positions) are upper case.\n"
        "  Sequences read with non-ACGT letters as N and upper-cased match the labels exactly.\n",
        DEMO_NCHROM, DEMO_TELOMERE, DEMO_GAP_MIN, DEMO_GAP_MAX);
    for (int id = 0; id < DEMO_NTASKS; id++) describe_task(&sb, &ctx->task[id]);
    bend_status st = sb.failed ? bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path)
                               : demo_write_text_file(path, sb.data, sb.len, err);
    bend_strbuf_free(&sb);
    return st;
}

bend_status demo_write_truth(const demo_ctx *ctx, const char *path, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_puts(&sb, "task\tlabel\tmotif\n");
    for (int id = 0; id < DEMO_NTASKS; id++) {
        const demo_task *t = &ctx->task[id];
        /* Multi-label: the motif of label j; enhancer / variant: the motif of the positive class. */
        for (unsigned j = 0; j < t->nmotif; j++)
            bend_strbuf_printf(&sb, "%s\t%u\t%s\n", t->spec->name,
                               t->spec->kind == DEMO_KIND_MULTILABEL ? j : 1u, t->motif[j]);
    }
    bend_status st = sb.failed ? bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path)
                               : demo_write_text_file(path, sb.data, sb.len, err);
    bend_strbuf_free(&sb);
    return st;
}
