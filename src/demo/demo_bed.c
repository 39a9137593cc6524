/* The tasks' BED files, in BEND's column layout: a header line, then one tab-separated row per
 * sample in sample order (which is random with respect to genome position). */
#include <stdio.h>

#include "demo/demo_internal.h"

static void label_list(bend_strbuf *sb, const uint64_t labels[2], unsigned depth)
{
    bool first = true;
    for (unsigned j = 0; j < depth; j++)
        if ((labels[j >> 6] >> (j & 63)) & 1u) {
            bend_strbuf_printf(sb, first ? "%u" : ",%u", j);
            first = false;
        }
}

static void bed_row(bend_strbuf *sb, const demo_task *t, const demo_sample *s)
{
    const demo_task_spec *spec = t->spec;
    char chrom[32];
    demo_chrom_name(chrom, sizeof chrom, s->chrom, spec->grch37);
    const char *split = demo_split_name(spec->splits, s->split);
    unsigned long long start = (unsigned long long)s->start, end = start + s->len;
    switch (spec->kind) {
    case DEMO_KIND_GENES:
        bend_strbuf_printf(sb, "%s\t%llu\t%llu\t%c\t%s\n", chrom, start, end, s->strand, split);
        break;
    case DEMO_KIND_ENHANCER:
        bend_strbuf_printf(sb, "%s\t%llu\t%llu\t%s\n", chrom, start, end, split);
        break;
    case DEMO_KIND_MULTILABEL:
        bend_strbuf_printf(sb, "%s\t%llu\t%llu\t%c\t", chrom, start, end, s->strand);
        label_list(sb, s->labels, spec->depth);
        bend_strbuf_printf(sb, "\t%s\n", split);
        break;
    case DEMO_KIND_VARIANT: {
        unsigned long long pos = start + DEMO_VAR_FLANK; /* BEND: start == end == the variant */
        bend_strbuf_printf(sb, "%s\t%llu\t%llu\t%c\t%c\t%d\t%s\n", chrom, pos, pos, s->ref, s->alt,
                           (int)(s->labels[0] & 1), split);
        break;
    }
    }
}

bend_status demo_write_bed(const demo_task *t, const char *path, bend_error *err)
{
    bend_strbuf sb = BEND_STRBUF_INIT;
    bend_strbuf_printf(&sb, "%s\n", t->spec->bed_header);
    for (size_t i = 0; i < t->n; i++) bed_row(&sb, t, &t->s[i]);
    bend_status st = sb.failed ? bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path)
                               : demo_write_text_file(path, sb.data, sb.len, err);
    bend_strbuf_free(&sb);
    return st;
}
