#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

struct bend_strmap {
    char **names;     /* index -> name */
    size_t n, cap;
    int32_t *slots;   /* open addressing: -1 empty, else index into names */
    size_t n_slots;   /* power of two */
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

bend_strmap *bend_strmap_new(void)
{
    bend_strmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_slots = 64;
    m->slots = malloc(m->n_slots * sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    memset(m->slots, 0xff, m->n_slots * sizeof *m->slots);
    return m;
}

void bend_strmap_free(bend_strmap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) free(m->names[i]);
    free(m->names);
    free(m->slots);
    free(m);
}

static size_t slot_of(const bend_strmap *m, const char *key, size_t len)
{
    size_t mask = m->n_slots - 1, i = hash_bytes(key, len) & mask;
    while (m->slots[i] >= 0) {
        const char *name = m->names[m->slots[i]];
        if (strlen(name) == len && !memcmp(name, key, len)) return i;
        i = (i + 1) & mask;
    }
    return i;
}

static int grow(bend_strmap *m)
{
    size_t n_slots = m->n_slots * 2;
    int32_t *slots = malloc(n_slots * sizeof *slots);
    if (!slots) return -1;
    memset(slots, 0xff, n_slots * sizeof *slots);
    for (size_t k = 0; k < m->n; k++) {
        size_t i = hash_bytes(m->names[k], strlen(m->names[k])) & (n_slots - 1);
        while (slots[i] >= 0) i = (i + 1) & (n_slots - 1);
        slots[i] = (int32_t)k;
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    return 0;
}

int32_t bend_strmap_intern(bend_strmap *m, const char *key, size_t len)
{
    size_t i = slot_of(m, key, len);
    if (m->slots[i] >= 0) return m->slots[i];
    if ((m->n + 1) * 2 > m->n_slots) {
        if (grow(m)) return -1;
        i = slot_of(m, key, len);
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        char **names = realloc(m->names, cap * sizeof *names);
        if (!names) return -1;
        m->names = names;
        m->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    m->names[m->n] = copy;
    m->slots[i] = (int32_t)m->n;
    return (int32_t)m->n++;
}

int32_t bend_strmap_find(const bend_strmap *m, const char *key)
{
    return m->slots[slot_of(m, key, strlen(key))];
}

size_t bend_strmap_size(const bend_strmap *m) { return m->n; }

char **bend_strmap_take_names(bend_strmap *m, size_t *n)
{
    char **names = m->names;
    *n = m->n;
    m->names = NULL;
    m->n = m->cap = 0;
    memset(m->slots, 0xff, m->n_slots * sizeof *m->slots);
    return names;
}
