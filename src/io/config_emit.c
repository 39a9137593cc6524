/* Config tree -> block YAML text. The output must parse back into the same tree, so a scalar is
 * written plain only when YAML would read the very same plain text back; quoted scalars stay
 * quoted, since quoting is what makes '12' or 'null' a string. */
#include "io/config_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct emitter {
    const bend_config *cfg;
    bool resolve;
    cfg_stack stack;
    bend_strbuf *sb;
    bend_error *err;
} emitter;

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return true;
    return false;
}

/* Would YAML read `s`, written plain in block context, back as the same plain string? */
static bool plain_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || cfg_is_null_text(s) || has_control(s)) return false;
    if (s[0] == ' ' || s[len - 1] == ' ') return false;
    if (strchr("[]{},#&*!|>'\"%@`", s[0])) return false;
    if (strchr("-?:", s[0]) && (s[1] == '\0' || s[1] == ' ')) return false;
    if (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0) return false;
    if (strstr(s, ": ") || strstr(s, " #") || s[len - 1] == ':') return false;
    return true;
}

static void emit_double_quoted(bend_strbuf *sb, const char *s)
{
    bend_strbuf_puts(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            bend_strbuf_printf(sb, "\\%c", *p);
        else if (*p == '\n')
            bend_strbuf_puts(sb, "\\n");
        else if (*p == '\t')
            bend_strbuf_puts(sb, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            bend_strbuf_printf(sb, "\\x%02x", *p);
        else
            bend_strbuf_append(sb, (const char *)p, 1);
    }
    bend_strbuf_puts(sb, "\"");
}

/* Single quotes need no escapes but '' for ', and cannot hold control characters faithfully
 * (line breaks fold), hence double quotes for those. */
static void emit_text(bend_strbuf *sb, const char *s, bool quoted)
{
    if (!quoted && plain_ok(s)) {
        bend_strbuf_puts(sb, s);
        return;
    }
    if (has_control(s)) {
        emit_double_quoted(sb, s);
        return;
    }
    bend_strbuf_puts(sb, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            bend_strbuf_puts(sb, "''");
        else
            bend_strbuf_append(sb, p, 1);
    }
    bend_strbuf_puts(sb, "'");
}

/* Scalars, null and empty collections fit on the line of their key or dash. */
static bool is_inline(const cfg_node *n)
{
    return n->kind == CFG_SCALAR || n->kind == CFG_NULL || n->n == 0;
}

static void emit_inline(bend_strbuf *sb, const cfg_node *n)
{
    if (n->kind == CFG_SCALAR)
        emit_text(sb, n->text, n->quoted);
    else if (n->kind == CFG_NULL)
        bend_strbuf_puts(sb, "null");
    else
        bend_strbuf_puts(sb, n->kind == CFG_MAP ? "{}" : "[]");
}

static bend_status emit_block(emitter *em, const cfg_value *v, int indent, bool skip_indent);

/* Writes *v after "key:" or "-"; in a sequence a block value starts on the dash's line. A list
 * under a key is not indented, as OmegaConf.to_yaml (PyYAML) writes it. */
static bend_status emit_tail(emitter *em, const cfg_value *v, int indent, bool after_dash)
{
    if (is_inline(v->node)) {
        bend_strbuf_puts(em->sb, " ");
        emit_inline(em->sb, v->node);
        bend_strbuf_puts(em->sb, "\n");
        return BEND_OK;
    }
    bend_strbuf_puts(em->sb, after_dash ? " " : "\n");
    bool same_indent = !after_dash && v->node->kind == CFG_SEQ;
    return emit_block(em, v, same_indent ? indent : indent + 2, after_dash);
}

/* Emits a child, first replacing it by its interpolated value when resolving. Its path stays on
 * the stack while the value's own children are written, so `a: {b: ${a}}` is a cycle. */
static bend_status emit_child(emitter *em, cfg_value *child, int indent, bool after_dash)
{
    if (!em->resolve || child->owned || !cfg_has_interp(child->node))
        return emit_tail(em, child, indent, after_dash);
    bend_status s = cfg_stack_push(&em->stack, child->path, em->err);
    if (s) return s;
    s = cfg_interpolate(em->cfg, child, &em->stack, em->err);
    if (s == BEND_OK) s = emit_tail(em, child, indent, after_dash);
    cfg_stack_pop(&em->stack);
    return s;
}

static void put_indent(emitter *em, int indent)
{
    for (int i = 0; i < indent; i++) bend_strbuf_puts(em->sb, " ");
}

/* One map entry or sequence element, as a value with its path. */
static bend_status emit_element(emitter *em, const cfg_value *parent, size_t i, int indent,
                                bool skip_indent)
{
    const cfg_node *n = parent->node;
    char index[32];
    snprintf(index, sizeof index, "%zu", i);
    const char *comp = n->kind == CFG_MAP ? n->entries[i].key : index;
    cfg_value child = {n->kind == CFG_MAP ? n->entries[i].value : n->items[i], NULL,
                       cfg_path_join(parent->path, comp)};
    if (!child.path) return bend_fail(em->err, BEND_ERR_NOMEM, "out of memory writing YAML");
    if (!skip_indent) put_indent(em, indent);
    if (n->kind == CFG_MAP) {
        emit_text(em->sb, comp, false);
        bend_strbuf_puts(em->sb, ":");
    } else {
        bend_strbuf_puts(em->sb, "-");
    }
    bend_status s = emit_child(em, &child, indent, n->kind == CFG_SEQ);
    cfg_value_release(&child);
    return s;
}

/* A non-empty map or sequence, one element per line at `indent`; the first line's indentation
 * is left out when it continues a "- " line. */
static bend_status emit_block(emitter *em, const cfg_value *v, int indent, bool skip_indent)
{
    for (size_t i = 0; i < v->node->n; i++) {
        bend_status s = emit_element(em, v, i, indent, skip_indent && i == 0);
        if (s) return s;
    }
    return BEND_OK;
}

static bend_status emit_top(emitter *em, const cfg_value *v)
{
    if (!is_inline(v->node)) return emit_block(em, v, 0, false);
    emit_inline(em->sb, v->node);
    bend_strbuf_puts(em->sb, "\n");
    return BEND_OK;
}

bend_status cfg_emit(const bend_config *cfg, const cfg_value *v, bool resolve, bend_strbuf *sb,
                     bend_error *err)
{
    emitter em = {cfg, resolve, {0}, sb, err};
    cfg_value top = {v->node, NULL, strdup(v->path ? v->path : "")};
    bend_status s = top.path ? BEND_OK : bend_fail(err, BEND_ERR_NOMEM, "out of memory");
    bool pushed = false;
    if (s == BEND_OK && resolve && !v->owned && cfg_has_interp(top.node)) {
        s = cfg_stack_push(&em.stack, top.path, err);
        pushed = s == BEND_OK;
        if (s == BEND_OK) s = cfg_interpolate(cfg, &top, &em.stack, err);
    }
    if (s == BEND_OK) s = emit_top(&em, &top);
    if (pushed) cfg_stack_pop(&em.stack);
    cfg_value_release(&top);
    cfg_stack_free(&em.stack);
    if (s == BEND_OK && sb->failed) s = bend_fail(err, BEND_ERR_NOMEM, "out of memory writing YAML");
    return s;
}
