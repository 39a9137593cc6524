/* FASTA output (60 bases a line, built in a large buffer and written in big blocks) and the
 * whole-file writer the text outputs share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

enum { FASTA_BUFFER = 1 << 22 };

static bend_status write_block(FILE *f, const char *path, const char *buf, size_t n, bend_error *err)
{
    if (n && fwrite(buf, 1, n, f) != n)
        return bend_fail(err, BEND_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return BEND_OK;
}

static bend_status close_file(FILE *f, const char *path, bend_status st, bend_error *err)
{
    if (fclose(f) != 0 && st == BEND_OK)
        return bend_fail(err, BEND_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return st;
}

bend_status demo_write_fasta(const demo_genome *g, const char *path, bool grch37, bend_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return bend_fail(err, BEND_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    char *buf = malloc(FASTA_BUFFER);
    if (!buf) {
        fclose(f);
        return bend_fail(err, BEND_ERR_NOMEM, "writing '%s': out of memory", path);
    }
    bend_status st = BEND_OK;
    size_t used = 0;
    for (unsigned c = 0; c < DEMO_NCHROM && st == BEND_OK; c++) {
        char name[32];
        demo_chrom_name(name, sizeof name, c, grch37);
        used += (size_t)snprintf(buf + used, FASTA_BUFFER - used, ">%s\n", name);
        const char *seq = g->seq + g->chrom[c].offset;
        for (uint64_t at = 0; at < g->chrom[c].length && st == BEND_OK; at += DEMO_FASTA_WIDTH) {
            uint64_t n = g->chrom[c].length - at;
            if (n > DEMO_FASTA_WIDTH) n = DEMO_FASTA_WIDTH;
            if (used + DEMO_FASTA_WIDTH + 64 > FASTA_BUFFER) {
                st = write_block(f, path, buf, used, err);
                used = 0;
            }
            memcpy(buf + used, seq + at, n);
            used += n;
            buf[used++] = '\n';
        }
        if (used + 64 > FASTA_BUFFER && st == BEND_OK) {
            st = write_block(f, path, buf, used, err);
            used = 0;
        }
    }
    if (st == BEND_OK) st = write_block(f, path, buf, used, err);
    free(buf);
    return close_file(f, path, st, err);
}

bend_status demo_write_text_file(const char *path, const char *text, size_t len, bend_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f) return bend_fail(err, BEND_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    bend_status st = write_block(f, path, text, len, err);
    return close_file(f, path, st, err);
}
