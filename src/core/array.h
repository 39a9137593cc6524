/* Growing a malloc'd array: the one reserve every module's buffers use. */
#ifndef BEND_CORE_ARRAY_H
#define BEND_CORE_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* Makes *p hold at least `need` elements of `elem` bytes, growing to exactly `need` (buffers
 * reused across calls, such as a training batch, which may be gigabytes: no slack). Contents
 * are kept. false when out of memory (*p and *cap unchanged). */
static inline bool bend_reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && *p) return true;
    void *q = realloc(*p, (need ? need : 1) * elem);
    if (!q) return false;
    *p = q;
    *cap = need;
    return true;
}

/* Room for element n of an array being appended to: doubles (from 16), so n appends cost O(n). */
static inline bool bend_reserve_append(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    return bend_reserve(p, cap, *cap ? *cap * 2 : 16, elem);
}

#endif
