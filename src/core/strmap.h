/* Interning of strings to dense indices (0, 1, 2, ... in order of first insertion): chromosome
 * and split names of a BED file, and anything else that is looked up by name many times. */
#ifndef BEND_CORE_STRMAP_H
#define BEND_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct bend_strmap bend_strmap;

bend_strmap *bend_strmap_new(void);
void bend_strmap_free(bend_strmap *map);
/* Index of key, inserting it if new; -1 on allocation failure. */
int32_t bend_strmap_intern(bend_strmap *map, const char *key, size_t len);
/* Index of key or -1. */
int32_t bend_strmap_find(const bend_strmap *map, const char *key);
size_t bend_strmap_size(const bend_strmap *map);
/* Moves the names out (array of malloc'd strings in index order); the map keeps nothing. */
char **bend_strmap_take_names(bend_strmap *map, size_t *n);

#endif
