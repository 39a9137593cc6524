#include "io/bed.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/strmap.h"

/* pandas' default NA strings: a label field holding one of these is a missing label, which BEND
 * turns into an all-zero multi-hot. */
static const char *const pandas_na[] = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN",
                                        "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
                                        "NULL", "NaN", "None", "n/a", "nan", "null", NULL};

typedef struct {
    char *s;
    size_t len;
} field;

typedef struct {
    bend_bed *bed;
    size_t cap_rows;
    size_t n_ids, cap_ids;
    bend_strmap *chroms, *splits;
    const bend_bed_options *opts;
} bed_builder;

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void trim(field *f)
{
    while (f->len && isspace((unsigned char)f->s[0])) f->s++, f->len--;
    while (f->len && isspace((unsigned char)f->s[f->len - 1])) f->len--;
}

/* Splits line in place on tabs; returns the field count (fields beyond max are counted only). */
static size_t split_tabs(char *line, size_t len, field *fields, size_t max)
{
    size_t n = 0;
    char *p = line, *end = line + len;
    for (;;) {
        char *tab = memchr(p, '\t', (size_t)(end - p));
        char *stop = tab ? tab : end;
        if (n < max) fields[n] = (field){p, (size_t)(stop - p)};
        n++;
        if (!tab) break;
        p = tab + 1;
    }
    return n;
}

static bend_status parse_coord(const bend_bed *bed, int64_t line, const char *what, field f,
                               int64_t *out, bend_error *err)
{
    trim(&f);
    char buf[64];
    if (f.len == 0 || f.len >= sizeof buf)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%lld: %s coordinate '%.*s' is not an integer",
                         bed->path, (long long)line, what, (int)(f.len < 40 ? f.len : 40), f.s);
    memcpy(buf, f.s, f.len);
    buf[f.len] = '\0';
    const char *p = buf;
    if (*p == '-' || *p == '+') p++;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return bend_fail(err, BEND_ERR_PARSE,
                             "%s:%lld: %s coordinate '%s' is not a non-negative integer",
                             bed->path, (long long)line, what, buf);
    if (!*p)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%lld: %s coordinate '%s' is not an integer",
                         bed->path, (long long)line, what, buf);
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%lld: %s coordinate '%s' is too large",
                         bed->path, (long long)line, what, buf);
    if (v < 0)
        return bend_fail(err, BEND_ERR_PARSE,
                         "%s:%lld: %s coordinate %lld is negative (BED coordinates are 0-based, "
                         "non-negative)", bed->path, (long long)line, what, v);
    *out = v;
    return BEND_OK;
}

static bool is_pandas_na(const field *f)
{
    for (size_t i = 0; pandas_na[i]; i++)
        if (strlen(pandas_na[i]) == f->len && !memcmp(pandas_na[i], f->s, f->len)) return true;
    return false;
}

static bend_status push_label_id(bed_builder *b, int32_t id)
{
    if (b->n_ids == b->cap_ids) {
        size_t cap = b->cap_ids ? b->cap_ids * 2 : 1024;
        int32_t *ids = realloc(b->bed->label_ids, cap * sizeof *ids);
        if (!ids) return BEND_ERR_NOMEM;
        b->bed->label_ids = ids;
        b->cap_ids = cap;
    }
    b->bed->label_ids[b->n_ids++] = id;
    return BEND_OK;
}

/* "1,4,5" -> ids, as BEND's `list(map(int, labels.split(',')))` reads it (int() accepts
 * surrounding spaces); missing values give no ids. Unlike BEND, negative ids (which numpy would
 * wrap around) and ids >= label_depth (an IndexError there) are errors naming the line. */
static bend_status parse_labels(bed_builder *b, int64_t line, field f, bend_error *err)
{
    const bend_bed *bed = b->bed;
    field t = f;
    trim(&t);
    if (is_pandas_na(&t)) return BEND_OK;
    const char *p = t.s, *end = t.s + t.len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        field item = {(char *)p, (size_t)((comma ? comma : end) - p)};
        trim(&item);
        long long v = 0;
        bool ok = item.len > 0 && item.len < 10;
        for (size_t i = 0; ok && i < item.len; i++) {
            if (!isdigit((unsigned char)item.s[i])) ok = false;
            v = v * 10 + (item.s[i] - '0');
        }
        if (!ok)
            return bend_fail(err, BEND_ERR_PARSE,
                             "%s:%lld: label '%.*s' is not a comma-separated list of label ids "
                             "(bad item '%.*s')", bed->path, (long long)line,
                             (int)(t.len < 60 ? t.len : 60), t.s, (int)(item.len < 20 ? item.len : 20),
                             item.s);
        if (v >= b->opts->label_depth)
            return bend_fail(err, BEND_ERR_INVALID,
                             "%s:%lld: label id %lld is out of range: label_depth is %d (ids 0..%d)",
                             bed->path, (long long)line, v, b->opts->label_depth,
                             b->opts->label_depth - 1);
        if (push_label_id(b, (int32_t)v)) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        if (!comma) break;
        p = comma + 1;
    }
    return BEND_OK;
}

static bend_status grow_rows(bed_builder *b, bend_error *err)
{
    bend_bed *bed = b->bed;
    if (bed->n_rows < b->cap_rows) return BEND_OK;
    size_t cap = b->cap_rows ? b->cap_rows * 2 : 4096;
#define GROW(field_)                                                                  \
    do {                                                                              \
        void *p_ = realloc(bed->field_, cap * sizeof *bed->field_);                   \
        if (!p_) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", bed->path); \
        bed->field_ = p_;                                                             \
    } while (0)
    GROW(chrom);
    GROW(start);
    GROW(end);
    GROW(strand);
    GROW(split);
    GROW(line);
    if (b->opts->label_depth > 0) {
        void *p = realloc(bed->label_off, (cap + 1) * sizeof *bed->label_off);
        if (!p) return bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", bed->path);
        bed->label_off = p;
    }
#undef GROW
    b->cap_rows = cap;
    return BEND_OK;
}

static bend_status parse_header(bed_builder *b, char *line, size_t len, bend_error *err)
{
    bend_bed *bed = b->bed;
    size_t n = split_tabs(line, len, NULL, 0);
    if (n < 4)
        return bend_fail(err, BEND_ERR_PARSE,
                         "%s:1: the header has %zu tab-separated column%s; BEND's BED files need "
                         "at least chromosome, start, end and split (the last column)",
                         bed->path, n, n == 1 ? "" : "s");
    field *f = calloc(n, sizeof *f);
    bed->col_names = calloc(n, sizeof *bed->col_names);
    if (!f || !bed->col_names) {
        free(f);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    }
    split_tabs(line, len, f, n);
    bed->n_cols = n;
    bed->strand_col = bed->label_col = -1;
    for (size_t i = 0; i < n; i++) {
        trim(&f[i]);
        if (!(bed->col_names[i] = dup_n(f[i].s, f[i].len))) {
            free(f);
            return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        }
        if (!strcmp(bed->col_names[i], "strand") && bed->strand_col < 0) bed->strand_col = (int)i;
        if (!strcmp(bed->col_names[i], "label") && bed->label_col < 0) bed->label_col = (int)i;
    }
    free(f);
    /* BEND's fallbacks when no column has the name: strand = column 3, label = column 6. */
    if (b->opts->need_strand && bed->strand_col < 0) bed->strand_col = 3;
    if (b->opts->label_depth > 0 && bed->label_col < 0) {
        if (n > 6) {
            bed->label_col = 6;
        } else {
            return bend_fail(err, BEND_ERR_PARSE,
                             "%s:1: no column is named 'label' (and there is no 7th column, which "
                             "BEND would read instead), but this task takes its labels from the "
                             "BED file (label_depth %d, no hdf5_file)",
                             bed->path, b->opts->label_depth);
        }
    }
    if (b->opts->label_depth <= 0) bed->label_col = -1;
    return BEND_OK;
}

static bool looks_numeric(const field *f)
{
    if (!f->len) return false;
    for (size_t i = 0; i < f->len; i++)
        if (!isdigit((unsigned char)f->s[i])) return false;
    return true;
}

static bend_status parse_row(bed_builder *b, char *text, size_t len, int64_t line_no,
                             field *fields, bend_error *err)
{
    bend_bed *bed = b->bed;
    size_t n = split_tabs(text, len, fields, bed->n_cols);
    if (n != bed->n_cols)
        return bend_fail(err, BEND_ERR_PARSE,
                         "%s:%lld: expected %zu tab-separated columns (as in the header), found %zu",
                         bed->path, (long long)line_no, bed->n_cols, n);
    bend_status st = grow_rows(b, err);
    if (st) return st;
    size_t r = bed->n_rows;
    field chrom = fields[0];
    trim(&chrom);
    if (!chrom.len)
        return bend_fail(err, BEND_ERR_PARSE, "%s:%lld: the chromosome name is empty", bed->path,
                         (long long)line_no);
    if ((st = parse_coord(bed, line_no, "start", fields[1], &bed->start[r], err))) return st;
    if ((st = parse_coord(bed, line_no, "end", fields[2], &bed->end[r], err))) return st;
    if (bed->start[r] > bed->end[r])
        return bend_fail(err, BEND_ERR_INVALID, "%s:%lld: start %lld is greater than end %lld",
                         bed->path, (long long)line_no, (long long)bed->start[r],
                         (long long)bed->end[r]);
    bed->strand[r] = '+';
    if (b->opts->need_strand) {
        field s = fields[bed->strand_col];
        trim(&s);
        if (s.len != 1 || (s.s[0] != '+' && s.s[0] != '-')) {
            bool named = !strcmp(bed->col_names[bed->strand_col], "strand");
            return bend_fail(err, BEND_ERR_PARSE,
                             "%s:%lld: strand must be '+' or '-', got '%.*s'%s", bed->path,
                             (long long)line_no, (int)(s.len < 30 ? s.len : 30), s.s,
                             named ? "" : " (no column is named 'strand', so column 4 is read as "
                                          "the strand, as BEND does)");
        }
        bed->strand[r] = s.s[0];
    }
    field split = fields[bed->n_cols - 1];
    trim(&split);
    int32_t ci = bend_strmap_intern(b->chroms, chrom.s, chrom.len);
    int32_t si = bend_strmap_intern(b->splits, split.s, split.len);
    if (ci < 0 || si < 0) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bed->chrom[r] = ci;
    bed->split[r] = si;
    bed->line[r] = line_no;
    if (b->opts->label_depth > 0) {
        bed->label_off[r] = b->n_ids;
        if ((st = parse_labels(b, line_no, fields[bed->label_col], err))) return st;
        bed->label_off[r + 1] = b->n_ids;
    }
    bed->n_rows++;
    return BEND_OK;
}

bend_status bend_bed_read(const char *path, const bend_bed_options *opts, bend_bed **out,
                          bend_error *err)
{
    *out = NULL;
    static const bend_bed_options defaults = {false, 0};
    if (!opts) opts = &defaults;
    FILE *fp = fopen(path, "r");
    if (!fp) return bend_fail(err, BEND_ERR_IO, "cannot open BED file %s: %s", path, strerror(errno));
    bed_builder b = {.opts = opts};
    b.bed = calloc(1, sizeof *b.bed);
    b.chroms = bend_strmap_new();
    b.splits = bend_strmap_new();
    bend_status st = BEND_OK;
    char *line = NULL;
    size_t cap = 0;
    field *fields = NULL;
    if (!b.bed || !b.chroms || !b.splits || !(b.bed->path = strdup(path))) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t line_no = 0;
    bool have_header = false;
    ssize_t got;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        line_no++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        line[len] = '\0';
        if (memchr(line, '\0', len)) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s:%lld: contains a NUL byte; is this a text "
                           "BED file?", path, (long long)line_no);
            goto done;
        }
        if (!have_header) {
            if ((st = parse_header(&b, line, len, err))) goto done;
            if (!(fields = calloc(b.bed->n_cols, sizeof *fields))) {
                st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
                goto done;
            }
            have_header = true;
            /* A header made of coordinates means the file has none: BEND would silently lose
             * this row, so say so. */
            field hf[3];
            char *copy = dup_n(line, len);
            if (copy && split_tabs(copy, len, hf, 3) >= 3 && looks_numeric(&hf[1]) && looks_numeric(&hf[2]))
                bend_warn("%s:1 looks like a data row, but BEND's BED files start with a header "
                          "row; it is read as the header, as BEND reads it", path);
            free(copy);
            continue;
        }
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++) blank = isspace((unsigned char)line[i]);
        if (blank) continue; /* pandas skips blank lines */
        if ((st = parse_row(&b, line, len, line_no, fields, err))) goto done;
    }
    if (ferror(fp)) {
        st = bend_fail(err, BEND_ERR_IO, "error reading %s: %s", path, strerror(errno));
        goto done;
    }
    if (!have_header) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s is empty: expected a header row and data rows", path);
        goto done;
    }
    if (b.bed->label_off && b.bed->n_rows == 0) b.bed->label_off[0] = 0;
    if (opts->label_depth > 0 && !b.bed->label_off &&
        !(b.bed->label_off = calloc(1, sizeof *b.bed->label_off))) {
        st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
        goto done;
    }
    b.bed->chrom_names = bend_strmap_take_names(b.chroms, &b.bed->n_chroms);
    b.bed->split_names = bend_strmap_take_names(b.splits, &b.bed->n_splits);
done:
    free(line);
    free(fields);
    fclose(fp);
    bend_strmap_free(b.chroms);
    bend_strmap_free(b.splits);
    if (st) {
        bend_bed_free(b.bed);
        return st;
    }
    *out = b.bed;
    return BEND_OK;
}

void bend_bed_free(bend_bed *bed)
{
    if (!bed) return;
    for (size_t i = 0; i < bed->n_cols; i++) free(bed->col_names[i]);
    for (size_t i = 0; i < bed->n_chroms; i++) free(bed->chrom_names[i]);
    for (size_t i = 0; i < bed->n_splits; i++) free(bed->split_names[i]);
    free(bed->col_names);
    free(bed->chrom_names);
    free(bed->split_names);
    free(bed->chrom);
    free(bed->start);
    free(bed->end);
    free(bed->strand);
    free(bed->split);
    free(bed->line);
    free(bed->label_ids);
    free(bed->label_off);
    free(bed->path);
    free(bed);
}

int bend_bed_split_index(const bend_bed *bed, const char *name)
{
    for (size_t i = 0; i < bed->n_splits; i++)
        if (!strcmp(bed->split_names[i], name)) return (int)i;
    return -1;
}

void bend_bed_multi_hot(const bend_bed *bed, size_t row, int depth, int64_t *out)
{
    memset(out, 0, (size_t)depth * sizeof *out);
    if (!bed->label_off) return;
    for (size_t k = bed->label_off[row]; k < bed->label_off[row + 1]; k++)
        if (bed->label_ids[k] < depth) out[bed->label_ids[k]]++;
}
