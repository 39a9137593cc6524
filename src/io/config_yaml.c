/* YAML text -> config tree, with libyaml's event parser. Only the part of YAML that configs need
 * is accepted: maps, sequences and scalars in block or flow style. Anchors, aliases, tags and
 * multi-document streams are rejected with a message, since Hydra configs never need them and
 * silently mishandling them would be worse. */
#include "io/config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 128 }; /* nesting beyond this is surely a mistake; it also bounds recursion */

typedef struct yparse {
    yaml_parser_t parser;
    const char *origin;
    bool value_mode; /* an override's value: no lines, since it is one command-line word */
    bend_error *err;
} yparse;

static int mark_line(const yparse *yp, yaml_mark_t mark)
{
    return yp->value_mode ? 0 : (int)mark.line + 1;
}

/* "origin:line: " for files; nothing for an override value (the caller names the argument). */
static void where_prefix(const yparse *yp, yaml_mark_t mark, char *buf, size_t size)
{
    if (yp->value_mode)
        buf[0] = '\0';
    else
        snprintf(buf, size, "%s:%d: ", yp->origin, mark_line(yp, mark));
}

static bend_status fail_at(yparse *yp, yaml_mark_t mark, const char *what)
{
    char where[600];
    where_prefix(yp, mark, where, sizeof where);
    return bend_fail(yp->err, BEND_ERR_PARSE, "%s%s", where, what);
}

static bend_status next_event(yparse *yp, yaml_event_t *ev)
{
    if (yaml_parser_parse(&yp->parser, ev)) return BEND_OK;
    yaml_parser_t *p = &yp->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return bend_fail(yp->err, BEND_ERR_NOMEM, "out of memory parsing %s", yp->origin);
    char where[600];
    where_prefix(yp, p->problem_mark, where, sizeof where);
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        return bend_fail(yp->err, BEND_ERR_PARSE, "%s%s (%s)", where, problem, p->context);
    if (yp->value_mode)
        return bend_fail(yp->err, BEND_ERR_PARSE, "%s at column %zu", problem,
                         p->problem_mark.column + 1);
    return bend_fail(yp->err, BEND_ERR_PARSE, "%s%s", where, problem);
}

/* Anchors and tags are refused where they appear rather than ignored. */
static bend_status check_plain_node(yparse *yp, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (ev->type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else if (ev->type == YAML_ALIAS_EVENT) {
        return fail_at(yp, ev->start_mark, "aliases (*name) are not supported in bend configs");
    }
    if (anchor)
        return fail_at(yp, ev->start_mark, "anchors (&name) are not supported in bend configs");
    if (tag) return fail_at(yp, ev->start_mark, "tags (!name) are not supported in bend configs");
    return BEND_OK;
}

static bend_status nomem(yparse *yp)
{
    return bend_fail(yp->err, BEND_ERR_NOMEM, "out of memory parsing %s", yp->origin);
}

static bend_status parse_node(yparse *yp, yaml_event_t *ev, int depth, cfg_node **out);

/* In an override's value `a: b` or `- a` is far more likely a mistake than a wish for a block. */
static bool is_block(const yaml_event_t *ev)
{
    if (ev->type == YAML_MAPPING_START_EVENT)
        return ev->data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE;
    return ev->data.sequence_start.style == YAML_BLOCK_SEQUENCE_STYLE;
}

static bend_status parse_scalar(yparse *yp, const yaml_event_t *ev, cfg_node **out)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int line = mark_line(yp, ev->start_mark);
    /* A NUL inside a quoted scalar would silently cut the string everywhere else. */
    if (strlen(text) != len) return fail_at(yp, ev->start_mark, "a string holds a NUL character");
    if (plain && cfg_is_null_text(text))
        *out = cfg_node_new(CFG_NULL, yp->origin, line);
    else
        *out = cfg_scalar_new(text, len, !plain, yp->origin, line);
    return *out ? BEND_OK : nomem(yp);
}

static bend_status parse_seq(yparse *yp, cfg_node *seq, int depth)
{
    for (;;) {
        yaml_event_t ev;
        bend_status st = next_event(yp, &ev);
        if (st) return st;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return BEND_OK;
        }
        cfg_node *item = NULL;
        st = parse_node(yp, &ev, depth + 1, &item);
        yaml_event_delete(&ev);
        if (st) return st;
        if (!cfg_seq_append(seq, item)) {
            cfg_node_free(item);
            return nomem(yp);
        }
    }
}

/* Reads one key event; keys must be plain text, as dotted paths can name nothing else. */
static bend_status parse_key(yparse *yp, const yaml_event_t *ev, const cfg_node *map, char **key)
{
    bend_status st = check_plain_node(yp, ev);
    if (st) return st;
    if (ev->type != YAML_SCALAR_EVENT)
        return fail_at(yp, ev->start_mark, "a key must be a plain string, not a list or mapping");
    const char *text = (const char *)ev->data.scalar.value;
    const cfg_entry *dup = cfg_map_find(map, text);
    if (dup) {
        char what[1024];
        if (yp->value_mode)
            snprintf(what, sizeof what, "duplicate key '%.200s'", text);
        else
            snprintf(what, sizeof what, "duplicate key '%.200s' (first at line %d, again at line %d)",
                     text, dup->key_line, mark_line(yp, ev->start_mark));
        return fail_at(yp, ev->start_mark, what);
    }
    *key = strdup(text);
    return *key ? BEND_OK : nomem(yp);
}

static bend_status parse_map(yparse *yp, cfg_node *map, int depth)
{
    for (;;) {
        yaml_event_t ev;
        bend_status st = next_event(yp, &ev);
        if (st) return st;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return BEND_OK;
        }
        char *key = NULL;
        int key_line = mark_line(yp, ev.start_mark);
        st = parse_key(yp, &ev, map, &key);
        yaml_event_delete(&ev);
        if (st) return st;
        cfg_node *value = NULL;
        st = next_event(yp, &ev);
        if (st == BEND_OK) {
            st = parse_node(yp, &ev, depth + 1, &value);
            yaml_event_delete(&ev);
        }
        if (st == BEND_OK && !cfg_map_append(map, key, key_line, value)) st = nomem(yp);
        if (st) {
            free(key);
            cfg_node_free(value);
            return st;
        }
    }
}

/* Builds the node that starts with event *ev (which the caller deletes). */
static bend_status parse_node(yparse *yp, yaml_event_t *ev, int depth, cfg_node **out)
{
    *out = NULL;
    bend_status st = check_plain_node(yp, ev);
    if (st) return st;
    if (depth > MAX_DEPTH) return fail_at(yp, ev->start_mark, "nesting is too deep");
    if (ev->type == YAML_SCALAR_EVENT) return parse_scalar(yp, ev, out);
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (!is_map && ev->type != YAML_SEQUENCE_START_EVENT)
        return fail_at(yp, ev->start_mark, "unexpected YAML event");
    if (yp->value_mode && depth == 0 && is_block(ev))
        return fail_at(yp, ev->start_mark, "the value reads as a YAML block mapping or list; "
                                           "quote it, or write [a, b] or {key: value}");
    cfg_node *node = cfg_node_new(is_map ? CFG_MAP : CFG_SEQ, yp->origin,
                                  mark_line(yp, ev->start_mark));
    if (!node) return nomem(yp);
    st = is_map ? parse_map(yp, node, depth) : parse_seq(yp, node, depth);
    if (st) {
        cfg_node_free(node);
        return st;
    }
    *out = node;
    return BEND_OK;
}

/* After the first document: only the end of the stream may follow. */
static bend_status expect_stream_end(yparse *yp)
{
    yaml_event_t ev;
    bend_status st = next_event(yp, &ev);
    if (st) return st;
    if (ev.type != YAML_STREAM_END_EVENT)
        st = fail_at(yp, ev.start_mark,
                     "a second YAML document ('---') is not supported; one config per file");
    yaml_event_delete(&ev);
    return st;
}

static bend_status check_document_start(yparse *yp, const yaml_event_t *ev)
{
    if (ev->data.document_start.tag_directives.start != ev->data.document_start.tag_directives.end)
        return fail_at(yp, ev->start_mark, "%TAG directives are not supported in bend configs");
    return BEND_OK;
}

/* Parses the single document of the stream; *out = NULL when the stream holds none. */
static bend_status parse_stream(yparse *yp, cfg_node **out)
{
    *out = NULL;
    yaml_event_t ev;
    bend_status st = next_event(yp, &ev); /* stream start */
    if (st) return st;
    yaml_event_delete(&ev);
    if ((st = next_event(yp, &ev))) return st;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return BEND_OK;
    }
    st = check_document_start(yp, &ev);
    yaml_event_delete(&ev);
    if (st || (st = next_event(yp, &ev))) return st;
    cfg_node *root = NULL;
    st = parse_node(yp, &ev, 0, &root);
    yaml_event_delete(&ev);
    if (st == BEND_OK) st = next_event(yp, &ev); /* document end */
    if (st == BEND_OK) {
        yaml_event_delete(&ev);
        st = expect_stream_end(yp);
    }
    if (st) {
        cfg_node_free(root);
        return st;
    }
    *out = root;
    return BEND_OK;
}

static bend_status run_parser(const char *text, const char *origin, bool value_mode,
                              cfg_node **out, bend_error *err)
{
    yparse yp = {.origin = origin, .value_mode = value_mode, .err = err};
    if (!yaml_parser_initialize(&yp.parser))
        return bend_fail(err, BEND_ERR_NOMEM, "out of memory parsing %s", origin);
    yaml_parser_set_input_string(&yp.parser, (const unsigned char *)text, strlen(text));
    bend_status st = parse_stream(&yp, out);
    yaml_parser_delete(&yp.parser);
    return st;
}

bend_status cfg_parse_document(const char *text, const char *origin, cfg_node **out,
                               bend_error *err)
{
    cfg_node *root = NULL;
    bend_status st = run_parser(text, origin, false, &root, err);
    if (st) return st;
    if (!root || root->kind == CFG_NULL) { /* an empty file is an empty mapping */
        int line = root ? root->line : 1;
        cfg_node_free(root);
        root = cfg_node_new(CFG_MAP, origin, line);
        if (!root) return bend_fail(err, BEND_ERR_NOMEM, "out of memory parsing %s", origin);
    }
    if (root->kind != CFG_MAP) {
        st = bend_fail(err, BEND_ERR_PARSE, "%s: the top level must be a mapping of keys to values, "
                       "not %s", cfg_node_where(root).s, cfg_kind_name(root));
        cfg_node_free(root);
        return st;
    }
    *out = root;
    return BEND_OK;
}

bend_status cfg_parse_value(const char *text, const char *origin, cfg_node **out, bend_error *err)
{
    return run_parser(text, origin, true, out, err);
}
