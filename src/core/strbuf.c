#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool strbuf_reserve(bend_strbuf *sb, size_t extra)
{
    if (sb->failed) return false;
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return true;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap *= 2;
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->failed = true;
        return false;
    }
    sb->data = p;
    sb->cap = cap;
    return true;
}

void bend_strbuf_append(bend_strbuf *sb, const char *s, size_t n)
{
    if (!strbuf_reserve(sb, n)) return;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void bend_strbuf_puts(bend_strbuf *sb, const char *s) { bend_strbuf_append(sb, s, strlen(s)); }

void bend_strbuf_printf(bend_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && strbuf_reserve(sb, (size_t)n)) {
        vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
        sb->len += (size_t)n;
    }
    va_end(ap2);
}

void bend_strbuf_join(bend_strbuf *sb, const char *const *names, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++) {
        if (i) bend_strbuf_puts(sb, sep);
        bend_strbuf_puts(sb, names[i]);
    }
}

const char *bend_strbuf_cstr(const bend_strbuf *sb) { return sb->data ? sb->data : ""; }

char *bend_strbuf_take(bend_strbuf *sb)
{
    char *p = sb->data;
    if (!p && !sb->failed) p = calloc(1, 1);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = false;
    return p;
}

void bend_strbuf_free(bend_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = false;
}
