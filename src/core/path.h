/* File paths: joining a directory and a name, the one way every module does it. */
#ifndef BEND_CORE_PATH_H
#define BEND_CORE_PATH_H

/* "dir/name", with trailing slashes of dir folded into one ("./data/" + "x" -> "./data/x");
 * malloc'd, NULL when out of memory. */
char *bend_path_join(const char *dir, const char *name);

#endif
