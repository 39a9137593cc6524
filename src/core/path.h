/* File paths: joining a directory and a name, and creating a directory with its parents, the one
 * way every module does it. */
#ifndef BEND_CORE_PATH_H
#define BEND_CORE_PATH_H

#include "core/error.h"

/* "dir/name", with trailing slashes of dir folded into one ("./data/" + "x" -> "./data/x");
 * malloc'd, NULL when out of memory. */
char *bend_path_join(const char *dir, const char *name);

/* mkdir -p. Existing directories are fine; a failure is BEND_ERR_IO "cannot create <what>
 * <component>: <reason>" naming the component that failed (a file in its place included). */
bend_status bend_mkdir_p(const char *path, const char *what, bend_error *err);

#endif
