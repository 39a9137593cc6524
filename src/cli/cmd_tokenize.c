/* bend tokenize MODEL_DIR SEQUENCE|- [--kind K] [--kmer K] [--no-special-tokens] [--upper] [--json]
 *
 * Tokenizes with a checkpoint directory's tokenizer (src/tokenize/tokenizer.h) and prints, per
 * token, its id, its token string and the span of input characters it covers. The sequence is
 * tokenized as given (BEND upper-cases sequences before its tokenizers see them: --upper does
 * that here). With "-" the sequences are read from standard input, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "tokenize/tokenizer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bend tokenize MODEL_DIR SEQUENCE|- [--kind K] [--kmer K] [--no-special-tokens]\n"
            "                     [--upper] [--json]\n\n"
            "Tokenizes SEQUENCE (or every line of standard input for -) with the tokenizer of a model\n"
            "checkpoint directory and prints one token per line: id, token and the span [start, end)\n"
            "of input characters it covers (special tokens have the empty span 0 0).\n\n"
            "  --kind K             char, kmer, nt6, bpe or maxmatch (default: detected from the files)\n"
            "  --kmer K             DNABERT's k (default: from vocab.txt)\n"
            "  --no-special-tokens  do not add the model's special tokens (CLS, SEP, ...)\n"
            "  --upper              upper-case the sequence first, as BEND does\n"
            "  --json               print {\"ids\":[...],\"tokens\":[...],\"spans\":[[start,end],...]}\n"
            "                       (one object per line with -)\n");
}

/* A JSON string: escapes quotes, backslashes and control characters; bytes that are not UTF-8
 * become U+FFFD. */
static void json_string_out(FILE *out, const char *s)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            bool ok = len > 0;
            for (size_t k = 1; ok && k < len; k++) ok = (p[k] & 0xC0) == 0x80;
            if (ok) {
                fwrite(p, 1, len, out);
                p += len;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    fputc('"', out);
}

/* A token for the plain listing: tabs, newlines and other control characters escaped. */
static void plain_token_out(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\t') fputs("\\t", out);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p == '\r') fputs("\\r", out);
        else if (*p == '\\') fputs("\\\\", out);
        else if (*p < 0x20 || *p == 0x7f) fprintf(out, "\\x%02x", *p);
        else fputc(*p, out);
    }
}

static void print_seq(const bend_tokenizer *t, const bend_token_seq *s, bool json)
{
    if (json) {
        fputs("{\"ids\":[", stdout);
        for (size_t i = 0; i < s->n; i++) printf("%s%d", i ? "," : "", (int)s->ids[i]);
        fputs("],\"tokens\":[", stdout);
        for (size_t i = 0; i < s->n; i++) {
            if (i) fputc(',', stdout);
            const char *tok = bend_tokenizer_token(t, s->ids[i]);
            if (tok) json_string_out(stdout, tok);
            else fputs("null", stdout);
        }
        fputs("],\"spans\":[", stdout);
        for (size_t i = 0; i < s->n; i++)
            printf("%s[%lld,%lld]", i ? "," : "", (long long)s->span_start[i], (long long)s->span_end[i]);
        fputs("]}\n", stdout);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        const char *tok = bend_tokenizer_token(t, s->ids[i]);
        printf("%d\t", (int)s->ids[i]);
        plain_token_out(stdout, tok ? tok : "?");
        printf("\t%lld\t%lld\n", (long long)s->span_start[i], (long long)s->span_end[i]);
    }
}

static bend_status tokenize_one(bend_tokenizer *t, char *seq, size_t len, bool add_special,
                                bool upper, bool json, bend_error *err)
{
    if (upper)
        for (size_t i = 0; i < len; i++)
            if (seq[i] >= 'a' && seq[i] <= 'z') seq[i] = (char)(seq[i] - 'a' + 'A');
    bend_token_seq s = {0};
    bend_status st = bend_tokenizer_encode(t, seq, len, add_special, &s, err);
    if (!st) print_seq(t, &s, json);
    bend_token_seq_free(&s);
    return st;
}

int bend_cmd_tokenize(int argc, char **argv)
{
    const char *dir = NULL, *seq = NULL;
    bend_tokenizer_options opts = {NULL, 0};
    bool json = false, add_special = true, upper = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--no-special-tokens")) {
            add_special = false;
        } else if (!strcmp(a, "--upper")) {
            upper = true;
        } else if (!strcmp(a, "--kind") && i + 1 < argc) {
            opts.kind = argv[++i];
        } else if (!strcmp(a, "--kmer") && i + 1 < argc) {
            char *end = NULL;
            long k = strtol(argv[++i], &end, 10);
            if (!end || *end || k < 1 || k > 64) {
                fprintf(stderr, "bend tokenize: --kmer expects an integer 1..64, got '%s'\n", argv[i]);
                return 2;
            }
            opts.kmer = (int)k;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "bend tokenize: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!dir) {
            dir = a;
        } else if (!seq) {
            seq = a;
        } else {
            fprintf(stderr, "bend tokenize: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!dir || !seq) {
        usage(stderr);
        return 2;
    }
    bend_error err = {0};
    bend_tokenizer *t = NULL;
    bend_status st = bend_tokenizer_open(dir, &opts, &t, &err);
    if (st) {
        bend_report_error(&err);
        return bend_status_exit_code(st);
    }
    if (strcmp(seq, "-")) {
        size_t len = strlen(seq);
        char *copy = malloc(len + 1);
        if (!copy) {
            st = bend_fail(&err, BEND_ERR_NOMEM, "out of memory");
        } else {
            memcpy(copy, seq, len + 1);
            st = tokenize_one(t, copy, len, add_special, upper, json, &err);
            free(copy);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        long lineno = 0;
        while ((got = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            size_t len = (size_t)got;
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            if (!json && lineno > 1) putchar('\n');
            st = tokenize_one(t, line, len, add_special, upper, json, &err);
            if (st) {
                bend_error_context(&err, "standard input, line %ld", lineno);
                break;
            }
        }
        free(line);
    }
    if (st) bend_report_error(&err);
    bend_tokenizer_close(t);
    if (fflush(stdout) && !st) {
        fprintf(stderr, "bend tokenize: error writing the output\n");
        return 1;
    }
    return bend_status_exit_code(st);
}
