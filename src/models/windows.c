#include "models/windows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable arrays ------------------------------------------------------------------- */

typedef struct {
    int64_t *v;
    size_t n, cap;
} i64vec;

static bool i64_push(i64vec *a, int64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        int64_t *p = realloc(a->v, cap * sizeof *p);
        if (!p) return false;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

typedef struct {
    bend_window_plan *p;
    size_t cap_windows, cap_ids;
    bool failed;
} plan_builder;

/* Appends one window; returns the output index of its first token. */
static int64_t add_window(plan_builder *b, const int32_t *ids, size_t n)
{
    bend_window_plan *p = b->p;
    if (p->n_windows + 2 > b->cap_windows) {
        size_t cap = b->cap_windows ? b->cap_windows * 2 : 16;
        size_t *q = realloc(p->window_start, cap * sizeof *q);
        if (!q) { b->failed = true; return 0; }
        p->window_start = q;
        b->cap_windows = cap;
    }
    size_t used = p->n_windows ? p->window_start[p->n_windows] : 0;
    if (used + n > b->cap_ids) {
        size_t cap = b->cap_ids ? b->cap_ids : 256;
        while (cap < used + n) cap *= 2;
        int32_t *q = realloc(p->ids, cap * sizeof *q);
        if (!q) { b->failed = true; return 0; }
        p->ids = q;
        b->cap_ids = cap;
    }
    if (p->n_windows == 0) p->window_start[0] = 0;
    memcpy(p->ids + used, ids, n * sizeof *ids);
    p->window_start[++p->n_windows] = used + n;
    int64_t base = p->n_outputs;
    p->n_outputs += (int64_t)n;
    return base;
}

/* Appends the window [CLS] tokens[0..m) [SEP] (win has room for m + 2 ids); returns the output
 * index of its CLS. */
static int64_t add_wrapped_window(plan_builder *b, int32_t *win, int32_t cls, const int32_t *tokens,
                                  size_t m, int32_t sep)
{
    win[0] = cls;
    memcpy(win + 1, tokens, m * sizeof *win);
    win[m + 1] = sep;
    return add_window(b, win, m + 2);
}

/* Rows a token stands for when upsampling: len(token string), with [UNK] counted once where
 * BEND's code says so. */
static int64_t repeats(bend_tokenizer *t, int32_t id, bool unk_once)
{
    if (unk_once && id == bend_tokenizer_special(t, "unk")) return 1;
    const char *s = bend_tokenizer_token(t, id);
    return s ? (int64_t)strlen(s) : 1;
}

static bend_status encode(bend_tokenizer *t, const char *seq, size_t len, bool specials,
                          bend_token_seq *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    return bend_tokenizer_encode(t, seq, len, specials, out, err);
}

static int32_t special_or_fail(bend_tokenizer *t, const char *role, bend_error *err, bend_status *st)
{
    int32_t id = bend_tokenizer_special(t, role);
    if (id < 0) *st = bend_fail(err, BEND_ERR_INVALID, "the tokenizer has no %s token, which BEND's windowing for this model adds", role);
    return id;
}

/* ---- schemes ----------------------------------------------------------------------------- */

static bend_status plan_dnabert(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                                size_t len, plan_builder *b, i64vec *rows, bend_error *err)
{
    if ((int64_t)len < r->kmer) {
        snprintf(b->p->skip, sizeof b->p->skip, "the sequence (%zu nt) is shorter than DNABERT's k=%d", len, r->kmer);
        return BEND_OK;
    }
    bend_token_seq tk;
    bend_status st = encode(t, seq, len, true, &tk, err); /* [CLS] k-mers [SEP] */
    if (st) return st;
    for (size_t a = 0; a < tk.n; a += (size_t)r->max_tokens) /* torch.split(ids, 512) */
        add_window(b, tk.ids + a, tk.n - a < (size_t)r->max_tokens ? tk.n - a : (size_t)r->max_tokens);
    int64_t last = (int64_t)tk.n - 1, n_kmers = (int64_t)tk.n - 2;
    bend_token_seq_free(&tk);
    bool ok = true;
    if (!r->remove_special_tokens) ok &= i64_push(rows, 0);
    if (r->upsample) {
        int64_t first = 1, final = n_kmers; /* e0 and e(n-1) */
        ok &= i64_push(rows, first);
        for (int64_t i = 1; i <= n_kmers; i++) ok &= i64_push(rows, i);
        if (r->kmer >= 5) ok &= i64_push(rows, first);
        for (int k = 0; k < (r->kmer == 3 ? 1 : r->kmer == 4 ? 2 : 3) - (r->kmer == 5 ? 1 : 0); k++)
            ok &= i64_push(rows, final);
    } else {
        for (int64_t i = 1; i <= n_kmers; i++) ok &= i64_push(rows, i);
    }
    if (!r->remove_special_tokens) ok &= i64_push(rows, last);
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

static bend_status plan_nt(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                           size_t len, plan_builder *b, i64vec *rows, bend_error *err)
{
    bool ok = true;
    for (size_t a = 0; a < len; a += (size_t)r->piece_nucleotides) {
        size_t m = len - a < (size_t)r->piece_nucleotides ? len - a : (size_t)r->piece_nucleotides;
        bend_token_seq tk;
        bend_status st = encode(t, seq + a, m, true, &tk, err); /* <cls> tokens (no eos) */
        if (st) return st;
        int64_t base = b->p->n_outputs;
        for (size_t w = 0; w < tk.n; w += (size_t)r->max_tokens)
            add_window(b, tk.ids + w, tk.n - w < (size_t)r->max_tokens ? tk.n - w : (size_t)r->max_tokens);
        for (size_t i = r->remove_special_tokens ? 1 : 0; i < tk.n; i++) {
            int64_t reps = r->upsample && i > 0 ? repeats(t, tk.ids[i], false) : 1;
            for (int64_t k = 0; k < reps; k++) ok &= i64_push(rows, base + (int64_t)i);
        }
        bend_token_seq_free(&tk);
    }
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

/* Drops rows of window-joined pieces as BEND does between pieces: the first keeps its CLS, the
 * last its SEP, inner boundaries lose both. `piece_rows` are one piece's rows (CLS row first and
 * SEP row last). */
static bool join_piece(i64vec *rows, const i64vec *piece_rows, size_t piece, size_t n_pieces)
{
    size_t from = 0, to = piece_rows->n;
    if (n_pieces > 1) {
        if (piece > 0) from = 1;
        if (piece + 1 < n_pieces) to--;
    }
    bool ok = true;
    for (size_t i = from; i < to; i++) ok &= i64_push(rows, piece_rows->v[i]);
    return ok;
}

/* Rows of one [CLS] tokens [SEP] window, upsampled or not. */
static bool window_rows(bend_tokenizer *t, const int32_t *ids, size_t n, int64_t base, bool upsample,
                        bool unk_once, i64vec *out)
{
    bool ok = true;
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t reps = upsample && i > 0 && i + 1 < n ? repeats(t, ids[i], unk_once) : 1;
        for (int64_t k = 0; k < reps; k++) ok &= i64_push(out, base + (int64_t)i);
    }
    return ok;
}

static void drop_ends(i64vec *rows)
{
    if (rows->n >= 2) {
        memmove(rows->v, rows->v + 1, (rows->n - 2) * sizeof *rows->v);
        rows->n -= 2;
    } else {
        rows->n = 0;
    }
}

static bend_status plan_dnabert2(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                                 size_t len, plan_builder *b, i64vec *rows, bend_error *err)
{
    size_t n_pieces = len ? (len + (size_t)r->piece_nucleotides - 1) / (size_t)r->piece_nucleotides : 0;
    i64vec piece = {0};
    bool ok = true;
    for (size_t k = 0; k < n_pieces; k++) {
        size_t a = k * (size_t)r->piece_nucleotides;
        size_t m = len - a < (size_t)r->piece_nucleotides ? len - a : (size_t)r->piece_nucleotides;
        bend_token_seq tk;
        bend_status st = encode(t, seq + a, m, true, &tk, err);
        if (st) {
            free(piece.v);
            return st;
        }
        int64_t base = add_window(b, tk.ids, tk.n);
        ok &= window_rows(t, tk.ids, tk.n, base, r->upsample, true, &piece);
        ok &= join_piece(rows, &piece, k, n_pieces);
        bend_token_seq_free(&tk);
    }
    free(piece.v);
    if (r->remove_special_tokens) drop_ends(rows);
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

static bend_status plan_gena(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                             size_t len, plan_builder *b, i64vec *rows, bend_error *err)
{
    bend_status st = BEND_OK;
    int32_t cls = special_or_fail(t, "cls", err, &st), sep = special_or_fail(t, "sep", err, &st);
    if (st) return st;
    bend_token_seq tk;
    if ((st = encode(t, seq, len, true, &tk, err))) return st; /* [CLS] tokens [SEP] */
    size_t inner = tk.n >= 2 ? tk.n - 2 : 0, chunk = (size_t)r->max_tokens;
    size_t n_chunks = (inner + chunk - 1) / chunk;
    int32_t *win = malloc((chunk + 2) * sizeof *win);
    int64_t *assembled = malloc((tk.n ? tk.n : 1) * sizeof *assembled); /* output index per token */
    bool ok = win && assembled;
    size_t j = 0;
    for (size_t c = 0; ok && c < n_chunks; c++) {
        size_t a = c * chunk, m = inner - a < chunk ? inner - a : chunk;
        int64_t base = add_wrapped_window(b, win, cls, tk.ids + 1 + a, m, sep);
        if (c == 0) assembled[j++] = base;                                  /* the CLS */
        for (size_t i = 0; i < m; i++) assembled[j++] = base + 1 + (int64_t)i;
        if (c + 1 == n_chunks) assembled[j++] = base + 1 + (int64_t)m;      /* the SEP */
    }
    /* Upsampling over the whole token list: ends once, everything else len(token) times. */
    for (size_t i = 0; ok && i < j; i++) {
        if (r->remove_special_tokens && (i == 0 || i + 1 == j)) continue;
        int64_t reps = r->upsample && i > 0 && i + 1 < j ? repeats(t, tk.ids[i], false) : 1;
        for (int64_t k = 0; k < reps; k++) ok &= i64_push(rows, assembled[i]);
    }
    free(win);
    free(assembled);
    bend_token_seq_free(&tk);
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

static bend_status plan_grover(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                               size_t len, plan_builder *b, i64vec *rows, bend_error *err)
{
    bend_status st = BEND_OK;
    int32_t cls = special_or_fail(t, "cls", err, &st), sep = special_or_fail(t, "sep", err, &st);
    if (st) return st;
    bend_token_seq tk;
    if ((st = encode(t, seq, len, false, &tk, err))) return st; /* MaxMatch tokens */
    size_t chunk = (size_t)r->max_tokens, n_chunks = (tk.n + chunk - 1) / chunk;
    int32_t *win = malloc((chunk + 2) * sizeof *win);
    i64vec piece = {0};
    bool ok = win != NULL;
    for (size_t c = 0; ok && c < n_chunks; c++) {
        size_t a = c * chunk, m = tk.n - a < chunk ? tk.n - a : chunk;
        int64_t base = add_wrapped_window(b, win, cls, tk.ids + a, m, sep);
        ok &= window_rows(t, win, m + 2, base, r->upsample, true, &piece);
        ok &= join_piece(rows, &piece, c, n_chunks);
    }
    free(win);
    free(piece.v);
    bend_token_seq_free(&tk);
    if (r->remove_special_tokens) drop_ends(rows);
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

/* HyenaDNA (specials per piece, dropped per piece), Caduceus (none), whole (one piece). */
static bend_status plan_pieces(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                               size_t len, bool specials, plan_builder *b, i64vec *rows,
                               bend_error *err)
{
    size_t piece = r->piece_nucleotides > 0 ? (size_t)r->piece_nucleotides : (len ? len : 1);
    bool ok = true;
    for (size_t a = 0; a < len; a += piece) {
        size_t m = len - a < piece ? len - a : piece;
        bend_token_seq tk;
        bend_status st = encode(t, seq + a, m, specials, &tk, err);
        if (st) return st;
        int64_t base = add_window(b, tk.ids, tk.n);
        size_t from = 0, to = tk.n;
        if (specials && r->remove_special_tokens && tk.n >= 2) from = 1, to = tk.n - 1;
        for (size_t i = from; i < to; i++) ok &= i64_push(rows, base + (int64_t)i);
        bend_token_seq_free(&tk);
    }
    return ok ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
}

bend_status bend_window_plan_make(const bend_window_rules *r, bend_tokenizer *t, const char *seq,
                                  size_t len, bend_window_plan *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    plan_builder b = {.p = out};
    i64vec rows = {0};
    bend_status st;
    switch (r->scheme) {
    case BEND_SCHEME_DNABERT: st = plan_dnabert(r, t, seq, len, &b, &rows, err); break;
    case BEND_SCHEME_NT: st = plan_nt(r, t, seq, len, &b, &rows, err); break;
    case BEND_SCHEME_DNABERT2: st = plan_dnabert2(r, t, seq, len, &b, &rows, err); break;
    case BEND_SCHEME_GENA: st = plan_gena(r, t, seq, len, &b, &rows, err); break;
    case BEND_SCHEME_GROVER: st = plan_grover(r, t, seq, len, &b, &rows, err); break;
    case BEND_SCHEME_HYENADNA: st = plan_pieces(r, t, seq, len, true, &b, &rows, err); break;
    case BEND_SCHEME_CADUCEUS: st = plan_pieces(r, t, seq, len, false, &b, &rows, err); break;
    case BEND_SCHEME_WHOLE: {
        bend_window_rules whole = *r;
        whole.piece_nucleotides = 0;
        st = plan_pieces(&whole, t, seq, len, false, &b, &rows, err);
        break;
    }
    default: st = bend_fail(err, BEND_ERR_INTERNAL, "unknown window scheme %d", (int)r->scheme);
    }
    if (!st && b.failed) st = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (st) {
        free(rows.v);
        bend_window_plan_free(out);
        return st;
    }
    out->row_src = rows.v;
    out->n_rows = (int64_t)rows.n;
    /* embed_from_bed's rule: an embedding whose length is not the sequence's is not stored. */
    if (!out->skip[0] && r->upsample && r->remove_special_tokens && out->n_rows != (int64_t)len)
        snprintf(out->skip, sizeof out->skip, "its upsampled embedding has %lld rows for %zu nucleotides "
                 "(a token's text length does not match what it covers, e.g. an unknown token)",
                 (long long)out->n_rows, len);
    return BEND_OK;
}

void bend_window_plan_free(bend_window_plan *p)
{
    free(p->window_start);
    free(p->ids);
    free(p->row_src);
    memset(p, 0, sizeof *p);
}

void bend_window_gather(const bend_window_plan *p, const float *outputs, int64_t dim, float *rows)
{
    for (int64_t r = 0; r < p->n_rows; r++)
        memcpy(rows + r * dim, outputs + p->row_src[r] * dim, (size_t)dim * sizeof *rows);
}

bend_status bend_window_rules_for_family(const char *family, bend_window_rules *out, bend_error *err)
{
    memset(out, 0, sizeof *out);
    out->upsample = true;
    out->remove_special_tokens = true;
    static const struct {
        const char *family;
        bend_window_scheme scheme;
        int64_t piece, max_tokens;
    } table[] = {
        {"dnabert", BEND_SCHEME_DNABERT, 0, 512},
        {"nucleotide_transformer", BEND_SCHEME_NT, 5994, 1000}, /* v2: 12282, 2048 */
        {"dnabert2", BEND_SCHEME_DNABERT2, 10000, 0},
        {"gena_lm", BEND_SCHEME_GENA, 0, 510},                  /* BigBird: 4094 */
        {"grover", BEND_SCHEME_GROVER, 0, 510},
        {"hyenadna", BEND_SCHEME_HYENADNA, 1024, 0},            /* max_length of the size */
        {"caduceus", BEND_SCHEME_CADUCEUS, 131072, 0},
        {"awdlstm", BEND_SCHEME_WHOLE, 0, 0},
        {"resnetlm", BEND_SCHEME_WHOLE, 0, 0},
        {"gpn", BEND_SCHEME_WHOLE, 0, 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(table[i].family, family)) continue;
        out->scheme = table[i].scheme;
        out->piece_nucleotides = table[i].piece;
        out->max_tokens = table[i].max_tokens;
        out->kmer = 6;
        /* BEND's configs upsample the multi-nucleotide tokenizers only. */
        out->upsample = out->scheme <= BEND_SCHEME_GROVER;
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_INVALID, "no BEND windowing rules for model family '%s'", family);
}
