/* A growable, always NUL-terminated byte string. Used wherever text is built piece by piece
 * (messages, YAML dumps, progress lines) so that no caller guesses buffer sizes. */
#ifndef BEND_CORE_STRBUF_H
#define BEND_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bend_strbuf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    bool failed;  /* an allocation failed: contents are truncated */
} bend_strbuf;

#define BEND_STRBUF_INIT {NULL, 0, 0, false}

void bend_strbuf_append(bend_strbuf *sb, const char *s, size_t n);
void bend_strbuf_puts(bend_strbuf *sb, const char *s);
void bend_strbuf_printf(bend_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends names[0..n) separated by sep ("a, b, c"). */
void bend_strbuf_join(bend_strbuf *sb, const char *const *names, size_t n, const char *sep);
/* Returns the string ("" when empty) and leaves ownership with sb. */
const char *bend_strbuf_cstr(const bend_strbuf *sb);
/* Hands the buffer to the caller (free() it); sb is reset. Never NULL unless allocation failed. */
char *bend_strbuf_take(bend_strbuf *sb);
void bend_strbuf_free(bend_strbuf *sb);

#endif
