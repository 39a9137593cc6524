#include "core/path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *bend_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    while (a > 1 && dir[a - 1] == '/') a--;
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static bend_status make_one(const char *path, const char *what, bend_error *err)
{
    if (mkdir(path, 0777) == 0) return BEND_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return BEND_OK;
    if (e == EEXIST)
        return bend_fail(err, BEND_ERR_IO, "cannot create %s %s: a file is in the way", what, path);
    return bend_fail(err, BEND_ERR_IO, "cannot create %s %s: %s", what, path, strerror(e));
}

bend_status bend_mkdir_p(const char *path, const char *what, bend_error *err)
{
    char *buf = strdup(path);
    if (!buf) return bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bend_status st = BEND_OK;
    for (size_t i = 1; st == BEND_OK && buf[i]; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/') continue;
        buf[i] = '\0';
        st = make_one(buf, what, err);
        buf[i] = '/';
    }
    if (st == BEND_OK) st = make_one(buf, what, err);
    free(buf);
    return st;
}
