/* The default config: the built-in files (configs/ compiled in) with a user config directory's
 * files of the same layout on top. Files are collected first, replacing by relative path, and
 * only then parsed, so a user file that replaces a broken built-in one is all that is read. */
#include "io/config_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/builtin_configs.h"
#include "core/path.h"

typedef struct cfg_file {
    char *rel;    /* "embed.yaml", "tasks/<t>.yaml", "models/<m>.yaml", "train.yaml" or
                     "supervised_tasks/<t>.yaml" */
    char *text;
    char *origin; /* for messages: "configs/<rel>" or "<config_dir>/<rel>" */
} cfg_file;

typedef struct file_set {
    cfg_file *f;
    size_t n, cap;
} file_set;

static void file_set_free(file_set *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->f[i].rel);
        free(fs->f[i].text);
        free(fs->f[i].origin);
    }
    free(fs->f);
}


/* Adds a file or replaces the one with the same relative path; takes ownership of all three
 * strings (which may be NULL after a failed allocation, reported here). */
static bend_status file_set_put(file_set *fs, char *rel, char *text, char *origin, bend_error *err)
{
    cfg_file nf = {rel, text, origin};
    if (!rel || !text || !origin) goto nomem;
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->f[i].rel, rel) != 0) continue;
        free(fs->f[i].rel);
        free(fs->f[i].text);
        free(fs->f[i].origin);
        fs->f[i] = nf;
        return BEND_OK;
    }
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 32;
        cfg_file *p = realloc(fs->f, cap * sizeof *p);
        if (!p) goto nomem;
        fs->f = p;
        fs->cap = cap;
    }
    fs->f[fs->n++] = nf;
    return BEND_OK;
nomem:
    free(rel);
    free(text);
    free(origin);
    return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
}

static bend_status add_builtins(file_set *fs, bend_error *err)
{
    for (const bend_builtin_file *b = bend_builtin_configs; b->path; b++) {
        bend_status s = file_set_put(fs, strdup(b->path), strdup(b->text),
                                     bend_path_join("configs", b->path), err);
        if (s) return s;
    }
    return BEND_OK;
}

static bend_status read_text(const char *path, char **out, bend_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return bend_fail(err, BEND_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    bend_strbuf sb = BEND_STRBUF_INIT;
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) bend_strbuf_append(&sb, buf, got);
    bool bad = ferror(f);
    fclose(f);
    bend_status s = BEND_OK;
    if (bad)
        s = bend_fail(err, BEND_ERR_IO, "cannot read %s", path);
    else if (sb.failed)
        s = bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", path);
    else if (strlen(bend_strbuf_cstr(&sb)) != sb.len)
        s = bend_fail(err, BEND_ERR_PARSE, "%s holds a NUL byte; is it really YAML?", path);
    if (s) {
        bend_strbuf_free(&sb);
        return s;
    }
    *out = bend_strbuf_take(&sb);
    return *out ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory reading %s", path);
}

static bend_status put_user_file(file_set *fs, const char *dir, const char *rel, bend_error *err)
{
    char *path = bend_path_join(dir, rel);
    if (!path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    char *text = NULL;
    bend_status s = read_text(path, &text, err);
    if (s) {
        free(path);
        return s;
    }
    return file_set_put(fs, strdup(rel), text, path, err);
}

static bool is_regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool has_yaml_suffix(const char *name)
{
    size_t len = strlen(name);
    return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".yaml") == 0;
}

/* Every <sub>/NAME.yaml under dir; a missing <sub> is fine (a directory may hold only models). */
static bend_status scan_subdir(file_set *fs, const char *dir, const char *sub, bend_error *err)
{
    char *subdir = bend_path_join(dir, sub);
    if (!subdir) return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    DIR *d = opendir(subdir);
    if (!d) {
        bend_status s = errno == ENOENT || errno == ENOTDIR
                            ? BEND_OK
                            : bend_fail(err, BEND_ERR_IO, "cannot list %s: %s", subdir,
                                        strerror(errno));
        free(subdir);
        return s;
    }
    bend_status s = BEND_OK;
    struct dirent *e;
    while (s == BEND_OK && (e = readdir(d)) != NULL) {
        if (!has_yaml_suffix(e->d_name)) continue;
        char *rel = bend_path_join(sub, e->d_name), *full = rel ? bend_path_join(dir, rel) : NULL;
        if (!rel || !full)
            s = bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
        else if (is_regular(full))
            s = put_user_file(fs, dir, rel, err);
        free(rel);
        free(full);
    }
    closedir(d);
    free(subdir);
    return s;
}

static bend_status add_user_dir(file_set *fs, const char *dir, bend_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return bend_fail(err, BEND_ERR_IO, "config directory '%s' does not exist: %s", dir,
                         strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return bend_fail(err, BEND_ERR_IO, "config directory '%s' is not a directory", dir);
    bend_status s = BEND_OK;
    static const char *const roots[] = {"embed.yaml", "train.yaml"};
    for (size_t i = 0; s == BEND_OK && i < sizeof roots / sizeof *roots; i++) {
        char *path = bend_path_join(dir, roots[i]);
        if (!path) return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
        if (is_regular(path)) s = put_user_file(fs, dir, roots[i], err);
        free(path);
    }
    static const char *const subdirs[] = {"tasks", "models", "supervised_tasks"};
    for (size_t i = 0; s == BEND_OK && i < sizeof subdirs / sizeof *subdirs; i++)
        s = scan_subdir(fs, dir, subdirs[i], err);
    return s;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const cfg_file *)a)->rel, ((const cfg_file *)b)->rel);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "tasks/<name>.yaml" -> "<name>" (malloc'd) when rel is in dir `sub`; NULL otherwise. */
static char *name_in(const char *rel, const char *sub)
{
    size_t sl = strlen(sub);
    if (strncmp(rel, sub, sl) != 0 || rel[sl] != '/' || strchr(rel + sl + 1, '/')) return NULL;
    return strndup(rel + sl + 1, strlen(rel + sl + 1) - 5);
}

static bool in_list(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

/* A task or model name becomes a root key: it must be reachable by dotted paths and unique. */
static bend_status check_name(const bend_config *cfg, const char *kind, const char *name,
                              const cfg_file *f, bend_error *err)
{
    if (strchr(name, '.'))
        return bend_fail(err, BEND_ERR_INVALID, "%s: the %s name '%s' has a '.', which config keys "
                         "cannot hold; rename the file", f->origin, kind, name);
    if (in_list(cfg->tasks, cfg->n_tasks, name) || in_list(cfg->models, cfg->n_models, name))
        return bend_fail(err, BEND_ERR_INVALID, "%s: %s '%s' has the name of a task or model "
                         "loaded before it; task and model names must differ", f->origin, kind,
                         name);
    const cfg_node *clash = cfg_map_get(cfg->root, name);
    if (clash)
        return bend_fail(err, BEND_ERR_INVALID, "%s: %s '%s' has the name of the key '%s' of "
                         "embed.yaml (%s); rename one of them", f->origin, kind, name, name,
                         cfg_node_where(clash).s);
    return BEND_OK;
}

static bend_status add_name(char ***names, size_t *n, char *name, bend_error *err)
{
    char **p = realloc(*names, (*n + 1) * sizeof *p);
    if (!p) {
        free(name);
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    }
    *names = p;
    p[(*n)++] = name;
    return BEND_OK;
}

/* Parses a task or model file and hangs it under its name. Takes ownership of name. */
static bend_status graft(bend_config *cfg, const cfg_file *f, char *name, bool is_task,
                         bend_error *err)
{
    const char *kind = is_task ? "task" : "model";
    bend_status s = check_name(cfg, kind, name, f, err);
    cfg_node *tree = NULL;
    const char *origin = s ? NULL : cfg_pool_intern(&cfg->origins, f->origin);
    if (s == BEND_OK && !origin) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    if (s == BEND_OK) s = cfg_parse_document(f->text, origin, &tree, err);
    char *key = s ? NULL : strdup(name);
    if (s == BEND_OK && (!key || !cfg_map_append(cfg->root, key, 0, tree)))
        s = bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    if (s) {
        free(key);
        cfg_node_free(tree);
        free(name);
        return s;
    }
    return is_task ? add_name(&cfg->tasks, &cfg->n_tasks, name, err)
                   : add_name(&cfg->models, &cfg->n_models, name, err);
}

static bend_status build(bend_config *cfg, const file_set *fs, bend_error *err)
{
    const cfg_file *embed = NULL;
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].rel, "embed.yaml") == 0) embed = &fs->f[i];
    if (!embed) return bend_fail(err, BEND_ERR_INTERNAL, "no built-in embed.yaml");
    const char *origin = cfg_pool_intern(&cfg->origins, embed->origin);
    if (!origin) return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    bend_status s = cfg_parse_document(embed->text, origin, &cfg->root, err);
    for (size_t i = 0; s == BEND_OK && i < fs->n; i++) {
        char *name = name_in(fs->f[i].rel, "tasks");
        bool is_task = name != NULL;
        if (!name) name = name_in(fs->f[i].rel, "models");
        if (name) s = graft(cfg, &fs->f[i], name, is_task, err);
    }
    if (s == BEND_OK) {
        if (cfg->n_tasks) qsort(cfg->tasks, cfg->n_tasks, sizeof *cfg->tasks, str_cmp);
        if (cfg->n_models) qsort(cfg->models, cfg->n_models, sizeof *cfg->models, str_cmp);
    }
    return s;
}

/* The built-in files with config_dir's on top, sorted by relative path. */
static bend_status collect_files(const char *config_dir, file_set *fs, bend_error *err)
{
    bend_status s = add_builtins(fs, err);
    if (s == BEND_OK && config_dir) s = add_user_dir(fs, config_dir, err);
    if (s == BEND_OK) qsort(fs->f, fs->n, sizeof *fs->f, file_cmp);
    return s;
}

static const cfg_file *find_file(const file_set *fs, const char *rel)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].rel, rel) == 0) return &fs->f[i];
    return NULL;
}

/* Parses one collected file into a tree whose origins live in cfg. */
static bend_status parse_file(bend_config *cfg, const cfg_file *f, cfg_node **tree, bend_error *err)
{
    const char *origin = cfg_pool_intern(&cfg->origins, f->origin);
    if (!origin) return bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    return cfg_parse_document(f->text, origin, tree, err);
}

/* "unknown task 'x'; the tasks are a, b, c" from the supervised_tasks/ files collected. */
static bend_status unknown_supervised_task(const file_set *fs, const char *task, bend_error *err)
{
    bend_strbuf names = BEND_STRBUF_INIT;
    for (size_t i = 0; i < fs->n; i++) {
        char *name = name_in(fs->f[i].rel, "supervised_tasks");
        if (name) bend_strbuf_printf(&names, "%s%s", names.len ? ", " : "", name);
        free(name);
    }
    bend_status s = bend_fail(err, BEND_ERR_INVALID,
                              "unknown task '%s' for bend train: there is no "
                              "supervised_tasks/%s.yaml; the tasks are %s", task, task,
                              names.len ? bend_strbuf_cstr(&names) : "(none)");
    bend_strbuf_free(&names);
    return s;
}

bend_status bend_config_load_train(const char *config_dir, const char *task, bend_config **out,
                                   bend_error *err)
{
    *out = NULL;
    file_set fs = {0};
    bend_status s = collect_files(config_dir, &fs, err);
    const cfg_file *root = s ? NULL : find_file(&fs, "train.yaml");
    if (s == BEND_OK && !root) s = bend_fail(err, BEND_ERR_INTERNAL, "no built-in train.yaml");
    bend_config *cfg = s ? NULL : calloc(1, sizeof *cfg);
    if (s == BEND_OK && !cfg) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    if (s == BEND_OK) s = parse_file(cfg, root, &cfg->root, err);
    char *chosen = NULL;
    if (s == BEND_OK && !task) {
        s = bend_config_get_str(cfg, "task", &chosen, err);
        if (s == BEND_OK && !chosen)
            s = bend_fail(err, BEND_ERR_INVALID, "%s: no task is set; give task=NAME",
                          root->origin);
        task = chosen;
    }
    bend_strbuf rel = BEND_STRBUF_INIT;
    if (s == BEND_OK) bend_strbuf_printf(&rel, "supervised_tasks/%s.yaml", task);
    if (s == BEND_OK && rel.failed) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    const cfg_file *task_file = s ? NULL : find_file(&fs, bend_strbuf_cstr(&rel));
    if (s == BEND_OK && !task_file) s = unknown_supervised_task(&fs, task, err);
    cfg_node *tree = NULL;
    if (s == BEND_OK) s = parse_file(cfg, task_file, &tree, err);
    if (s == BEND_OK) s = cfg_merge_document(cfg, tree, err);
    bend_strbuf_free(&rel);
    free(chosen);
    file_set_free(&fs);
    if (s) {
        bend_config_free(cfg);
        return s;
    }
    *out = cfg;
    return BEND_OK;
}

bend_status bend_config_load_defaults(const char *config_dir, bend_config **out, bend_error *err)
{
    *out = NULL;
    file_set fs = {0};
    bend_status s = collect_files(config_dir, &fs, err);
    bend_config *cfg = s ? NULL : calloc(1, sizeof *cfg);
    if (s == BEND_OK && !cfg) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory loading configs");
    if (s == BEND_OK) s = build(cfg, &fs, err);
    file_set_free(&fs);
    if (s) {
        bend_config_free(cfg);
        return s;
    }
    *out = cfg;
    return BEND_OK;
}
