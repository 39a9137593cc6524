/* Internals of `bend demo-data`, shared by the files of src/demo/. Not part of the public API.
 *
 * Pipeline (demo_data.c drives it): tasks are sized and split (demo_tasks.c), motifs drawn
 * (demo_motif.c), every sample gets its own disjoint genome interval and the genome is filled
 * with background and N runs (demo_layout.c), each task plants its signal into its intervals
 * (demo_multilabel.c, demo_genes.c, demo_enhancer.c, demo_variants.c, all through the window
 * editor of demo_window.c), the genome is soft-masked and given IUPAC letters (demo_genome.c),
 * then everything is written (demo_fasta.c, demo_bed.c, demo_hdf5.c, demo_readme.c). */
#ifndef BEND_DEMO_DEMO_INTERNAL_H
#define BEND_DEMO_DEMO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "demo/demo_data.h"
#include "demo/demo_report.h"

/* ---- fixed geometry -------------------------------------------------------------------- */
enum {
    DEMO_NCHROM = 4,             /* chr1..chr4 at every scale */
    DEMO_TELOMERE = 10000,       /* N run at each chromosome end */
    DEMO_GAP_MIN = 1000,         /* internal N gaps */
    DEMO_GAP_MAX = 5000,
    DEMO_SPACER_MIN = 10,        /* background between two samples' intervals */
    DEMO_SPACER_MAX = 200,
    DEMO_FASTA_WIDTH = 60,
    DEMO_WINDOW = 512,           /* histone / chromatin / cpg */
    DEMO_ENH_BIN = 128,
    DEMO_ENH_BINS = 782,
    DEMO_ENH_WINDOW = DEMO_ENH_BIN * DEMO_ENH_BINS, /* 100096 */
    DEMO_ENH_MOTIF_LEN = 10,
    DEMO_MOTIF_LEN = 8,
    DEMO_COPIES = 3,             /* copies of a motif per present label / positive bin */
    DEMO_VAR_FLANK = 300,        /* a variant's interval is pos +- 300 */
    DEMO_GENE_MIN = 1000,
    DEMO_GENE_MAX = 4000,
    DEMO_MAX_LABELS = 128,
    DEMO_MAX_SPLITS = 10,
};

/* Gene-finding classes (BEND's order). */
enum {
    DEMO_EXON_F = 0, DEMO_DONOR_F = 1, DEMO_INTRON_F = 2, DEMO_ACCEPTOR_F = 3,
    DEMO_EXON_R = 4, DEMO_DONOR_R = 5, DEMO_INTRON_R = 6, DEMO_ACCEPTOR_R = 7,
    DEMO_NONCODING = 8,
};

/* ---- random numbers (demo_rng.c): xoshiro256** seeded through splitmix64 ---------------- */
typedef struct demo_rng {
    uint64_t s[4];
} demo_rng;

/* Independent streams for independent concerns, so one concern's draws never shift another's. */
enum {
    DEMO_STREAM_MOTIFS = 1,
    DEMO_STREAM_LAYOUT,
    DEMO_STREAM_BACKGROUND,
    DEMO_STREAM_DECORATE,
    DEMO_STREAM_TASK_INIT = 100,  /* + task id */
    DEMO_STREAM_TASK_PLANT = 200, /* + task id */
};

void demo_rng_init(demo_rng *r, uint64_t seed, uint64_t stream);
uint64_t demo_rng_next(demo_rng *r);
uint64_t demo_rng_below(demo_rng *r, uint64_t n);            /* uniform in [0, n), n > 0 */
uint64_t demo_rng_range(demo_rng *r, uint64_t lo, uint64_t hi); /* uniform in [lo, hi] */
double demo_rng_unit(demo_rng *r);                             /* uniform in [0, 1) */
void demo_rng_shuffle(demo_rng *r, uint32_t *v, size_t n);
char demo_rng_base(demo_rng *r);                /* A/C/G/T uniformly */
char demo_rng_base_gc(demo_rng *r, double gc);  /* G or C with probability gc */
char demo_rng_other_base(demo_rng *r, char b);  /* one of the three bases other than b */

/* ---- sequence helpers (demo_window.c) ---------------------------------------------------- */
char demo_complement(char b);
void demo_revcomp(char *dst, const char *src, size_t n); /* dst and src must not overlap */

/* ---- tasks ----------------------------------------------------------------------------- */
typedef enum demo_task_id {
    DEMO_GENE = 0,
    DEMO_ENHANCER,
    DEMO_HISTONE,
    DEMO_CHROMATIN,
    DEMO_CPG,
    DEMO_VARIANT,
    DEMO_NTASKS
} demo_task_id;

typedef enum demo_split_scheme { DEMO_SPLIT_TVT, DEMO_SPLIT_FOLDS, DEMO_SPLIT_TEST } demo_split_scheme;

typedef enum demo_task_kind {
    DEMO_KIND_GENES,
    DEMO_KIND_ENHANCER,
    DEMO_KIND_MULTILABEL,
    DEMO_KIND_VARIANT
} demo_task_kind;

typedef struct demo_task_spec {
    const char *name;
    demo_task_kind kind;
    unsigned base_count;      /* samples at scale 1 */
    unsigned min_count;       /* every split / fold present */
    unsigned window;          /* interval length (0: drawn per gene) */
    unsigned depth;           /* labels of a multi-label task */
    double prob;              /* probability of each label per sample */
    demo_split_scheme splits;
    bool grch37;              /* chromosome names 1..K instead of chr1..chrK */
    const char *bed_header;
    bool has_hdf5;
} demo_task_spec;

extern const demo_task_spec demo_task_specs[DEMO_NTASKS];

typedef struct demo_sample {
    uint32_t chrom;       /* 0-based chromosome index */
    uint64_t start;       /* chromosome-local 0-based start of the allocated interval */
    uint32_t len;         /* interval length */
    char strand;          /* '+' or '-' */
    uint8_t split;        /* index into demo_split_name(scheme, .) */
    uint64_t labels[2];   /* multi-label bitset; variant_effects: bit 0 = label 1 */
    char ref, alt;        /* variant_effects */
    uint8_t *classes;     /* gene_finding: len classes; enhancer: DEMO_ENH_BINS flags */
} demo_sample;

typedef struct demo_task {
    const demo_task_spec *spec;
    size_t n;
    demo_sample *s;
    size_t split_count[DEMO_MAX_SPLITS];
    unsigned nmotif;
    unsigned motif_len;
    char (*motif)[16];    /* NUL-terminated motifs: one per label, or the task's single motif */
} demo_task;

const char *demo_split_name(demo_split_scheme scheme, unsigned i);
unsigned demo_split_count(demo_split_scheme scheme);

/* ---- genome ---------------------------------------------------------------------------- */
typedef struct demo_chrom {
    uint64_t offset;  /* into demo_genome.seq */
    uint64_t length;
} demo_chrom;

typedef struct demo_genome {
    demo_chrom chrom[DEMO_NCHROM];
    char *seq;            /* all chromosomes back to back */
    uint64_t len;
    uint8_t *protect;     /* bitmap: planted bases that masking and IUPAC letters must not touch */
    uint64_t n_bases;     /* statistics, for the summary */
    uint64_t masked_bases;
    unsigned iupac;
} demo_genome;

static inline uint64_t demo_gpos(const demo_genome *g, const demo_sample *s)
{
    return g->chrom[s->chrom].offset + s->start;
}
static inline bool demo_protected(const demo_genome *g, uint64_t pos)
{
    return (g->protect[pos >> 3] >> (pos & 7)) & 1u;
}
static inline void demo_protect(demo_genome *g, uint64_t pos)
{
    g->protect[pos >> 3] |= (uint8_t)(1u << (pos & 7));
}

typedef struct demo_ctx {
    uint64_t seed;
    double scale;
    demo_genome genome;
    demo_task task[DEMO_NTASKS];
} demo_ctx;

/* ---- window editor (demo_window.c): a sample's interval in read orientation -------------- */
typedef struct demo_window {
    char *seq;        /* read orientation, upper-case ACGT while planting */
    uint8_t *prot;    /* 1 = planted, keep */
    size_t len, cap;
    uint64_t gstart;
    bool minus;
} demo_window;

/* A set of same-length k-mers (k <= 16), each with an id, searched by binary search. */
typedef struct demo_kmers {
    unsigned k;
    size_t n;
    uint32_t code[2 * DEMO_MAX_LABELS];
    uint16_t id[2 * DEMO_MAX_LABELS];
} demo_kmers;

bool demo_kmers_add(demo_kmers *set, const char *kmer, unsigned id);
void demo_kmers_sort(demo_kmers *set);

bend_status demo_window_load(demo_window *w, const demo_genome *g, uint64_t gstart, size_t len,
                             bool minus, bend_error *err);
void demo_window_store(const demo_window *w, demo_genome *g);
void demo_window_free(demo_window *w);
void demo_window_plant(demo_window *w, size_t pos, const char *motif, size_t mlen);
/* Positions for m non-overlapping copies of a k-mer inside [lo, lo + span), at least one base
 * apart, uniformly spread; ascending. Returns false when they cannot fit. */
bool demo_place_copies(demo_rng *r, size_t lo, size_t span, size_t k, size_t m, size_t *pos);
/* Re-draws unplanted bases until every occurrence of a k-mer of `set` in the window either has
 * an id whose bit is set in allowed[] or starts at one of planted[0..nplanted) (ascending). */
bend_status demo_window_purge(demo_window *w, demo_rng *r, const demo_kmers *set,
                              const uint64_t allowed[2], const size_t *planted, size_t nplanted,
                              bend_error *err);

/* ---- stages ---------------------------------------------------------------------------- */
bend_status demo_tasks_init(demo_ctx *ctx, bend_error *err);
void demo_tasks_free(demo_ctx *ctx);
bend_status demo_motifs_make(demo_ctx *ctx, bend_error *err);
bend_status demo_layout(demo_ctx *ctx, bend_error *err);
void demo_genome_free(demo_genome *g);
bend_status demo_plant_multilabel(demo_ctx *ctx, demo_task *t, bend_error *err);
bend_status demo_plant_genes(demo_ctx *ctx, demo_task *t, bend_error *err);
bend_status demo_plant_enhancers(demo_ctx *ctx, demo_task *t, bend_error *err);
bend_status demo_plant_variants(demo_ctx *ctx, demo_task *t, bend_error *err);
void demo_genome_decorate(demo_ctx *ctx);

/* ---- output ---------------------------------------------------------------------------- */
bend_status demo_write_fasta(const demo_genome *g, const char *path, bool grch37, bend_error *err);
bend_status demo_write_bed(const demo_task *t, const char *path, bend_error *err);
bend_status demo_write_gene_hdf5(const demo_task *t, const char *path, bend_error *err);
bend_status demo_write_enhancer_hdf5(const demo_task *t, const char *path, bend_error *err);
void demo_chrom_name(char *buf, size_t size, unsigned chrom, bool grch37);
/* The summary `bend demo-data` prints; with out_dir NULL (README.txt) no path is named. */
void demo_format_summary(const demo_ctx *ctx, const char *out_dir, bend_strbuf *sb);
bend_status demo_write_readme(const demo_ctx *ctx, const char *path, const char *summary,
                              bend_error *err);
bend_status demo_write_truth(const demo_ctx *ctx, const char *path, bend_error *err);

/* Writes a whole file from memory; the message names the file. */
bend_status demo_write_text_file(const char *path, const char *text, size_t len, bend_error *err);

#endif
