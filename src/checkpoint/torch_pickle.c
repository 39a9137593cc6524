/* A symbolic interpreter for the pickle subset torch.save writes (protocols 2-5 binary opcodes).
 * Nothing is ever called: a GLOBAL becomes a name, REDUCE of an allow-listed name builds the
 * object it stands for (an OrderedDict, a tensor view of a storage), REDUCE/NEWOBJ of any other
 * tolerated name an opaque placeholder. Names that only code-execution payloads use are refused
 * outright. Every read is bounds-checked, the memo is bounded by the input size, the stack and
 * mark depth are bounded, and nothing recurses. */
#include "checkpoint/checkpoint_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_STACK = 1 << 20, MAX_MARKS = 1 << 16, MAX_NAME = 256 };

enum {
    G_FOREIGN = 0,
    G_ORDEREDDICT,
    G_REBUILD_V2,
    G_REBUILD_V1,
    G_PARAM,
    G_PARAM_STATE,
    G_SIZE,
    G_STORAGE,
};

struct ckpt_pickle {
    ckpt_pk **objs;
    size_t nobjs, cap;
    const ckpt_pk **storages;
    size_t nst, stcap;
    const ckpt_pk *foreign;
};

typedef struct vm {
    const uint8_t *b;
    size_t len, pos, op_pos;
    const char *what;
    bend_error *err;
    ckpt_pickle *p;
    ckpt_pk **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    ckpt_pk **memo;
    size_t memo_cap, memo_count;
} vm;

static const struct {
    const char *name;
    bend_dtype dt;
} storage_classes[] = {
    {"FloatStorage", BEND_DT_F32}, {"HalfStorage", BEND_DT_F16}, {"BFloat16Storage", BEND_DT_BF16},
    {"DoubleStorage", BEND_DT_F64}, {"LongStorage", BEND_DT_I64}, {"IntStorage", BEND_DT_I32},
    {"ShortStorage", BEND_DT_I16}, {"CharStorage", BEND_DT_I8}, {"ByteStorage", BEND_DT_U8},
    {"BoolStorage", BEND_DT_BOOL},
};

const char *ckpt_pk_kind_name(ckpt_pk_kind k)
{
    static const char *const names[] = {"None", "bool", "int", "int", "float", "str", "tuple",
                                        "list", "dict", "set", "global", "object", "storage",
                                        "tensor"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

bool ckpt_pk_is_str(const ckpt_pk *o, const char *s)
{
    return o && o->kind == PK_STR && o->len == strlen(s) && !memcmp(o->s, s, o->len);
}

const ckpt_pk *ckpt_pk_dict_get(const ckpt_pk *dict, const char *key)
{
    if (!dict || dict->kind != PK_DICT) return NULL;
    const ckpt_pk *found = NULL; /* the last assignment wins, as in Python */
    for (size_t i = 0; i + 1 < dict->n; i += 2)
        if (ckpt_pk_is_str(dict->items[i], key)) found = dict->items[i + 1];
    return found;
}

size_t ckpt_pickle_storage_count(const ckpt_pickle *p) { return p ? p->nst : 0; }
const ckpt_pk *ckpt_pickle_storage_at(const ckpt_pickle *p, size_t i) { return p->storages[i]; }
const ckpt_pk *ckpt_pickle_first_foreign(const ckpt_pickle *p) { return p ? p->foreign : NULL; }

void ckpt_pickle_free(ckpt_pickle *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nobjs; i++) {
        free(p->objs[i]->items);
        free(p->objs[i]->name);
        free(p->objs[i]);
    }
    free(p->objs);
    free(p->storages);
    free(p);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static bend_status vm_fail(vm *m, bend_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bend_status vm_fail(vm *m, bend_status st, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    uint8_t op = m->b[m->op_pos];
    char opc[8] = "";
    if (op >= 0x20 && op < 0x7f) snprintf(opc, sizeof opc, " '%c'", op);
    return bend_fail(m->err, st, "%s, byte %zu (opcode 0x%02x%s): %s", m->what, m->op_pos, op,
                     opc, what);
}
#define FAIL(m, ...) vm_fail((m), BEND_ERR_PARSE, __VA_ARGS__)

static ckpt_pk *new_obj(vm *m, ckpt_pk_kind kind)
{
    ckpt_pickle *p = m->p;
    if (p->nobjs == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        ckpt_pk **o = realloc(p->objs, cap * sizeof *o);
        if (!o) return NULL;
        p->objs = o;
        p->cap = cap;
    }
    ckpt_pk *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->kind = kind;
    o->pos = m->op_pos;
    p->objs[p->nobjs++] = o;
    return o;
}

static bool obj_append(ckpt_pk *o, ckpt_pk *item)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4;
        ckpt_pk **it = realloc(o->items, cap * sizeof *it);
        if (!it) return false;
        o->items = it;
        o->cap = cap;
    }
    o->items[o->n++] = item;
    return true;
}

static bend_status nomem(vm *m) { return vm_fail(m, BEND_ERR_NOMEM, "out of memory"); }

static bend_status push(vm *m, ckpt_pk *o)
{
    if (!o) return nomem(m);
    if (m->sp == m->scap) {
        if (m->scap >= MAX_STACK) return FAIL(m, "stack deeper than %d entries", MAX_STACK);
        size_t cap = m->scap ? m->scap * 2 : 64;
        ckpt_pk **s = realloc(m->stack, cap * sizeof *s);
        if (!s) return nomem(m);
        m->stack = s;
        m->scap = cap;
    }
    m->stack[m->sp++] = o;
    return BEND_OK;
}

static size_t stack_base(const vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static bend_status pop(vm *m, ckpt_pk **o)
{
    *o = NULL;
    if (m->sp <= stack_base(m)) return FAIL(m, "stack underflow");
    *o = m->stack[--m->sp];
    return BEND_OK;
}

static bend_status top(vm *m, ckpt_pk **o)
{
    *o = NULL;
    if (m->sp <= stack_base(m)) return FAIL(m, "stack underflow");
    *o = m->stack[m->sp - 1];
    return BEND_OK;
}

/* Pops back to the last MARK: the items are m->stack[*first .. m->sp) until the next push. */
static bend_status pop_mark(vm *m, size_t *first)
{
    *first = 0;
    if (!m->nmarks) return FAIL(m, "no MARK on the stack");
    *first = m->marks[--m->nmarks];
    return BEND_OK;
}

static bend_status need(vm *m, size_t n, const uint8_t **p)
{
    *p = NULL;
    if (n > m->len - m->pos) return FAIL(m, "argument of %zu bytes runs past the end of the pickle", n);
    *p = m->b + m->pos;
    m->pos += n;
    return BEND_OK;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* ---- globals ------------------------------------------------------------------------------- */

static bool name_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && !memcmp(s, lit, n);
}

static bool module_in(const char *mod, size_t ml, const char *const *list)
{
    for (; *list; list++) {
        size_t l = strlen(*list);
        if (ml >= l && !memcmp(mod, *list, l) && (ml == l || mod[l] == '.')) return true;
    }
    return false;
}

/* Names that only appear in payloads meant to run code when unpickled. */
static bool denied(const char *mod, size_t ml, const char *name, size_t nl)
{
    static const char *const bad_modules[] = {
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "importlib", "runpy",
        "shutil", "socket", "pty", "code", "codeop", "ctypes", "pickle", "_pickle", "marshal",
        "webbrowser", "commands", "multiprocessing", "signal", "operator", "io", "_io", "types",
        "torch.hub", "torch.jit", "torch.package", "torch.ops", "torch.serialization",
        "numpy.testing", NULL};
    static const char *const builtin_types[] = {
        "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
        "bytearray", "bool", "object", "slice", "range", NULL};
    if (module_in(mod, ml, bad_modules)) return true;
    if (name_is(mod, ml, "builtins") || name_is(mod, ml, "__builtin__")) {
        for (const char *const *t = builtin_types; *t; t++)
            if (name_is(name, nl, *t)) return false;
        return true;
    }
    if (name_is(mod, ml, "torch") && name_is(name, nl, "load")) return true;
    return false;
}

static bend_status make_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
    if (!ml || !nl || ml > MAX_NAME || nl > MAX_NAME) return FAIL(m, "GLOBAL with an empty or over-long name");
    char full[2 * MAX_NAME + 2];
    snprintf(full, sizeof full, "%.*s.%.*s", (int)ml, mod, (int)nl, name);
    if (strlen(full) != ml + nl + 1) return FAIL(m, "GLOBAL name contains a NUL byte");
    if (denied(mod, ml, name, nl))
        return FAIL(m, "GLOBAL '%s' is refused: a checkpoint never needs it (it would run code in Python)",
                    full);
    ckpt_pk *g = new_obj(m, PK_GLOBAL);
    if (!g || !(g->name = strdup(full))) return nomem(m);
    g->i = G_FOREIGN;
    if (name_is(mod, ml, "collections") && name_is(name, nl, "OrderedDict")) g->i = G_ORDEREDDICT;
    if (name_is(mod, ml, "torch._utils")) {
        if (name_is(name, nl, "_rebuild_tensor_v2")) g->i = G_REBUILD_V2;
        if (name_is(name, nl, "_rebuild_tensor")) g->i = G_REBUILD_V1;
        if (name_is(name, nl, "_rebuild_parameter")) g->i = G_PARAM;
        if (name_is(name, nl, "_rebuild_parameter_with_state")) g->i = G_PARAM_STATE;
    }
    if (name_is(mod, ml, "torch")) {
        if (name_is(name, nl, "Size")) g->i = G_SIZE;
        for (size_t k = 0; k < sizeof storage_classes / sizeof storage_classes[0]; k++)
            if (name_is(name, nl, storage_classes[k].name)) {
                g->i = G_STORAGE;
                g->dtype = storage_classes[k].dt;
            }
    }
    if (g->i == G_FOREIGN && !m->p->foreign) m->p->foreign = g;
    return push(m, g);
}

static bend_status op_global(vm *m)
{
    const uint8_t *start = m->b + m->pos, *end = m->b + m->len;
    const uint8_t *nl1 = memchr(start, '\n', (size_t)(end - start));
    if (!nl1) return FAIL(m, "GLOBAL module name is not terminated by a newline");
    const uint8_t *nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
    if (!nl2) return FAIL(m, "GLOBAL attribute name is not terminated by a newline");
    m->pos = (size_t)(nl2 + 1 - m->b);
    return make_global(m, (const char *)start, (size_t)(nl1 - start), (const char *)nl1 + 1,
                       (size_t)(nl2 - nl1 - 1));
}

static bend_status op_stack_global(vm *m)
{
    ckpt_pk *name, *mod;
    bend_status st;
    if ((st = pop(m, &name)) || (st = pop(m, &mod))) return st;
    if (mod->kind != PK_STR || name->kind != PK_STR) return FAIL(m, "STACK_GLOBAL needs two strings");
    return make_global(m, mod->s, mod->len, name->s, name->len);
}

/* ---- tensors and storages ------------------------------------------------------------------ */

static bool int_tuple(const ckpt_pk *t, int64_t *out, int *n)
{
    if (!t || t->kind != PK_TUPLE || t->n > BEND_MAX_DIMS) return false;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != PK_INT || t->items[i]->i < 0) return false;
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return true;
}

static bend_status rebuild_tensor(vm *m, const ckpt_pk *args, ckpt_pk **out)
{
    if (args->n < 4)
        return FAIL(m, "_rebuild_tensor needs (storage, offset, size, stride, ...), got %zu arguments", args->n);
    const ckpt_pk *stg = args->items[0], *off = args->items[1];
    if (stg->kind != PK_STORAGE)
        return FAIL(m, "_rebuild_tensor: argument 1 is a %s, expected a storage (persistent id)",
                    ckpt_pk_kind_name(stg->kind));
    if (off->kind != PK_INT || off->i < 0) return FAIL(m, "_rebuild_tensor: storage offset is not a non-negative int");
    ckpt_pk *t = new_obj(m, PK_TENSOR);
    if (!t) return nomem(m);
    int nd_size = 0, nd_stride = 0;
    if (!int_tuple(args->items[2], t->shape, &nd_size))
        return FAIL(m, "_rebuild_tensor: size is not a tuple of at most %d non-negative ints", BEND_MAX_DIMS);
    if (!int_tuple(args->items[3], t->stride, &nd_stride))
        return FAIL(m, "_rebuild_tensor: stride is not a tuple of at most %d non-negative ints", BEND_MAX_DIMS);
    if (nd_size != nd_stride) return FAIL(m, "_rebuild_tensor: size has %d dims but stride %d", nd_size, nd_stride);
    t->storage = stg;
    t->offset = off->i;
    t->ndim = nd_size;
    *out = t;
    return BEND_OK;
}

/* pid = ('storage', StorageClass, key, location, numel[, view_metadata]) */
static bend_status op_binpersid(vm *m)
{
    ckpt_pk *pid;
    bend_status st = pop(m, &pid);
    if (st) return st;
    if (pid->kind != PK_TUPLE || pid->n < 5 || pid->n > 6 || !ckpt_pk_is_str(pid->items[0], "storage"))
        return FAIL(m, "persistent id is not ('storage', class, key, location, numel[, view])");
    const ckpt_pk *cls = pid->items[1], *key = pid->items[2], *numel = pid->items[4];
    if (cls->kind != PK_GLOBAL || cls->i != G_STORAGE)
        return FAIL(m, "persistent id names '%s', not a torch storage class (FloatStorage, HalfStorage, ...)",
                    cls->kind == PK_GLOBAL ? cls->name : ckpt_pk_kind_name(cls->kind));
    if (key->kind != PK_STR || !key->len || memchr(key->s, '\0', key->len) || key->len > MAX_NAME)
        return FAIL(m, "storage key is not a non-empty string");
    if (numel->kind != PK_INT || numel->i < 0) return FAIL(m, "storage size is not a non-negative int");
    ckpt_pk *s = new_obj(m, PK_STORAGE);
    if (!s) return nomem(m);
    s->dtype = cls->dtype;
    s->s = key->s;
    s->len = key->len;
    s->numel = numel->i;
    if (pid->n == 6 && pid->items[5]->kind != PK_NONE) { /* legacy (view_key, offset, view_size) */
        const ckpt_pk *v = pid->items[5];
        if (v->kind != PK_TUPLE || v->n != 3 || v->items[1]->kind != PK_INT ||
            v->items[2]->kind != PK_INT || v->items[1]->i < 0 || v->items[2]->i < 0)
            return FAIL(m, "storage view metadata is not (key, offset, size)");
        s->is_view = true;
        s->view_offset = v->items[1]->i;
        s->numel = v->items[2]->i;
    }
    ckpt_pickle *p = m->p;
    if (p->nst == p->stcap) {
        size_t cap = p->stcap ? p->stcap * 2 : 64;
        const ckpt_pk **a = realloc(p->storages, cap * sizeof *a);
        if (!a) return nomem(m);
        p->storages = a;
        p->stcap = cap;
    }
    p->storages[p->nst++] = s;
    return push(m, s);
}

static ckpt_pk *opaque(vm *m, const ckpt_pk *cls)
{
    ckpt_pk *o = new_obj(m, PK_OPAQUE);
    if (o && !(o->name = strdup(cls->kind == PK_GLOBAL || cls->kind == PK_OPAQUE ? cls->name : "?")))
        return NULL;
    return o;
}

/* REDUCE and NEWOBJ: callable(*args) for the allow-list, a placeholder for tolerated names. */
static bend_status call(vm *m, ckpt_pk *fn, ckpt_pk *args, bool newobj)
{
    if (fn->kind == PK_OPAQUE || (fn->kind == PK_GLOBAL && fn->i == G_FOREIGN))
        return push(m, opaque(m, fn));
    if (fn->kind != PK_GLOBAL)
        return FAIL(m, "%s of a %s (only globals can be called)", newobj ? "NEWOBJ" : "REDUCE",
                    ckpt_pk_kind_name(fn->kind));
    if (args->kind != PK_TUPLE)
        return FAIL(m, "arguments of '%s' are a %s, expected a tuple", fn->name, ckpt_pk_kind_name(args->kind));
    ckpt_pk *r = NULL;
    bend_status st;
    switch (fn->i) {
    case G_ORDEREDDICT:
        if (args->n) return FAIL(m, "collections.OrderedDict called with %zu arguments (expected none)", args->n);
        return push(m, new_obj(m, PK_DICT));
    case G_REBUILD_V2:
    case G_REBUILD_V1:
        if (newobj) break;
        if ((st = rebuild_tensor(m, args, &r))) return st;
        return push(m, r);
    case G_PARAM:
    case G_PARAM_STATE:
        if (newobj) break;
        if (!args->n || args->items[0]->kind != PK_TENSOR)
            return FAIL(m, "%s: first argument is not a tensor", fn->name);
        return push(m, args->items[0]);
    case G_SIZE:
        if (args->n == 1 && args->items[0]->kind == PK_TUPLE) return push(m, args->items[0]);
        if (!args->n) return push(m, new_obj(m, PK_TUPLE));
        return FAIL(m, "torch.Size called with something other than a tuple");
    default: break;
    }
    return FAIL(m, "'%s' cannot be %s", fn->name, newobj ? "instantiated with NEWOBJ" : "called with REDUCE");
}

/* ---- containers ---------------------------------------------------------------------------- */

static bend_status collect_mark(vm *m, ckpt_pk_kind kind)
{
    size_t first;
    bend_status st = pop_mark(m, &first);
    if (st) return st;
    ckpt_pk *o = new_obj(m, kind);
    if (!o) return nomem(m);
    if (kind == PK_DICT && (m->sp - first) % 2) return FAIL(m, "odd number of items for a dict");
    for (size_t i = first; i < m->sp; i++)
        if (!obj_append(o, m->stack[i])) return nomem(m);
    m->sp = first;
    return push(m, o);
}

static bend_status tuple_n(vm *m, size_t n)
{
    if (m->sp - stack_base(m) < n) return FAIL(m, "stack underflow");
    ckpt_pk *o = new_obj(m, PK_TUPLE);
    if (!o) return nomem(m);
    for (size_t i = m->sp - n; i < m->sp; i++)
        if (!obj_append(o, m->stack[i])) return nomem(m);
    m->sp -= n;
    return push(m, o);
}

/* Adds stack[first..sp) to the container below them (APPEND(S), SETITEM(S), ADDITEMS). */
static bend_status add_items(vm *m, size_t first, ckpt_pk_kind want, const char *opname)
{
    if (first <= stack_base(m)) return FAIL(m, "%s with no container below its items", opname);
    ckpt_pk *c = m->stack[first - 1];
    size_t n = m->sp - first;
    if (want == PK_DICT && n % 2) return FAIL(m, "%s with an odd number of items", opname);
    if (c->kind == PK_OPAQUE) { /* e.g. a dict or list subclass made by a tolerated class */
        m->sp = first;
        return BEND_OK;
    }
    if (c->kind != want && !(want == PK_SET && c->kind == PK_SET))
        return FAIL(m, "%s on a %s", opname, ckpt_pk_kind_name(c->kind));
    for (size_t i = first; i < m->sp; i++)
        if (!obj_append(c, m->stack[i])) return nomem(m);
    m->sp = first;
    return BEND_OK;
}

/* ---- memo ---------------------------------------------------------------------------------- */

static bend_status memo_put(vm *m, uint64_t idx)
{
    ckpt_pk *o;
    bend_status st = top(m, &o);
    if (st) return st;
    /* Real pickles number memo entries densely; no honest pickle has more entries than bytes. */
    if (idx > m->len + 256) return FAIL(m, "memo index %" PRIu64 " is out of range", idx);
    if (idx >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        ckpt_pk **a = realloc(m->memo, cap * sizeof *a);
        if (!a) return nomem(m);
        memset(a + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *a);
        m->memo = a;
        m->memo_cap = cap;
    }
    if (!m->memo[idx]) m->memo_count++;
    m->memo[idx] = o;
    return BEND_OK;
}

static bend_status memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_cap || !m->memo[idx]) return FAIL(m, "memo index %" PRIu64 " was never stored", idx);
    return push(m, m->memo[idx]);
}

/* ---- scalars ------------------------------------------------------------------------------- */

static bend_status push_int(vm *m, int64_t v)
{
    ckpt_pk *o = new_obj(m, PK_INT);
    if (o) o->i = v;
    return push(m, o);
}

static bend_status push_str(vm *m, int lenbytes)
{
    const uint8_t *p;
    bend_status st = need(m, (size_t)lenbytes, &p);
    if (st) return st;
    uint64_t n = le(p, lenbytes);
    if (n > m->len - m->pos) return FAIL(m, "string of %" PRIu64 " bytes runs past the end of the pickle", n);
    ckpt_pk *o = new_obj(m, PK_STR);
    if (!o) return nomem(m);
    o->s = (const char *)m->b + m->pos;
    o->len = (size_t)n;
    m->pos += (size_t)n;
    return push(m, o);
}

static bend_status push_long(vm *m, int lenbytes)
{
    const uint8_t *p;
    bend_status st = need(m, (size_t)lenbytes, &p);
    if (st) return st;
    uint64_t n = le(p, lenbytes);
    if (n > m->len - m->pos) return FAIL(m, "integer of %" PRIu64 " bytes runs past the end of the pickle", n);
    const uint8_t *d = m->b + m->pos;
    m->pos += (size_t)n;
    if (n <= 8) {
        uint64_t v = n ? le(d, (int)n) : 0;
        if (n && n < 8 && (d[n - 1] & 0x80)) v |= ~UINT64_C(0) << (8 * n); /* sign-extend */
        int64_t sv;
        memcpy(&sv, &v, sizeof sv);
        return push_int(m, sv);
    }
    ckpt_pk *o = new_obj(m, PK_BIGINT);
    if (!o) return nomem(m);
    o->s = (const char *)d;
    o->len = (size_t)n;
    return push(m, o);
}

/* ---- the machine --------------------------------------------------------------------------- */

static bend_status step(vm *m, uint8_t op, bool *stop)
{
    const uint8_t *a;
    ckpt_pk *x, *y, *z;
    size_t first;
    bend_status st = BEND_OK;
    switch (op) {
    case 0x80: /* PROTO */
        if ((st = need(m, 1, &a))) return st;
        if (a[0] < 2 || a[0] > 5) return FAIL(m, "pickle protocol %d is not supported (2 to 5 are)", a[0]);
        return BEND_OK;
    case 0x95: /* FRAME: only a read-ahead hint */
        if ((st = need(m, 8, &a))) return st;
        if (le(a, 8) > m->len - m->pos) return FAIL(m, "FRAME runs past the end of the pickle");
        return BEND_OK;
    case '.': *stop = true; return BEND_OK;
    case 'c': return op_global(m);
    case 0x93: return op_stack_global(m);
    case 'Q': return op_binpersid(m);
    case 'R':
        if ((st = pop(m, &y)) || (st = pop(m, &x))) return st;
        return call(m, x, y, false);
    case 0x81: /* NEWOBJ */
        if ((st = pop(m, &y)) || (st = pop(m, &x))) return st;
        return call(m, x, y, true);
    case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
        if ((st = pop(m, &z)) || (st = pop(m, &y)) || (st = pop(m, &x))) return st;
        return call(m, x, y, true);
    case 'b': /* BUILD: object state is never needed */
        if ((st = pop(m, &x))) return st;
        return top(m, &y);
    case '(':
        if (m->nmarks == m->mcap) {
            if (m->mcap >= MAX_MARKS) return FAIL(m, "more than %d nested MARKs", MAX_MARKS);
            size_t cap = m->mcap ? m->mcap * 2 : 16;
            size_t *mk = realloc(m->marks, cap * sizeof *mk);
            if (!mk) return nomem(m);
            m->marks = mk;
            m->mcap = cap;
        }
        m->marks[m->nmarks++] = m->sp;
        return BEND_OK;
    case '0': /* POP (of an empty frame: the MARK) */
        if (m->sp == stack_base(m) && m->nmarks) return pop_mark(m, &first);
        return pop(m, &x);
    case '1': /* POP_MARK */
        if ((st = pop_mark(m, &first))) return st;
        m->sp = first;
        return BEND_OK;
    case '2': /* DUP */
        if ((st = top(m, &x))) return st;
        return push(m, x);
    case 't': return collect_mark(m, PK_TUPLE);
    case 'l': return collect_mark(m, PK_LIST);
    case 'd': return collect_mark(m, PK_DICT);
    case 0x91: return collect_mark(m, PK_SET); /* FROZENSET */
    case ')': return tuple_n(m, 0);
    case 0x85: return tuple_n(m, 1);
    case 0x86: return tuple_n(m, 2);
    case 0x87: return tuple_n(m, 3);
    case '}': return push(m, new_obj(m, PK_DICT));
    case ']': return push(m, new_obj(m, PK_LIST));
    case 0x8f: return push(m, new_obj(m, PK_SET));
    case 'a':
        if (m->sp - stack_base(m) < 2) return FAIL(m, "stack underflow");
        return add_items(m, m->sp - 1, PK_LIST, "APPEND");
    case 's':
        if (m->sp - stack_base(m) < 3) return FAIL(m, "stack underflow");
        return add_items(m, m->sp - 2, PK_DICT, "SETITEM");
    case 'e':
        if ((st = pop_mark(m, &first))) return st;
        return add_items(m, first, PK_LIST, "APPENDS");
    case 'u':
        if ((st = pop_mark(m, &first))) return st;
        return add_items(m, first, PK_DICT, "SETITEMS");
    case 0x90:
        if ((st = pop_mark(m, &first))) return st;
        return add_items(m, first, PK_SET, "ADDITEMS");
    case 'X': return push_str(m, 4);  /* BINUNICODE */
    case 0x8c: return push_str(m, 1); /* SHORT_BINUNICODE */
    case 0x8d: return push_str(m, 8); /* BINUNICODE8 */
    case 'T': return push_str(m, 4);  /* BINSTRING */
    case 'U': return push_str(m, 1);  /* SHORT_BINSTRING */
    case 'B': return push_str(m, 4);  /* BINBYTES */
    case 'C': return push_str(m, 1);  /* SHORT_BINBYTES */
    case 0x8e: return push_str(m, 8); /* BINBYTES8 */
    case 0x96: return push_str(m, 8); /* BYTEARRAY8 */
    case 'J':
        if ((st = need(m, 4, &a))) return st;
        return push_int(m, (int32_t)(uint32_t)le(a, 4));
    case 'K':
        if ((st = need(m, 1, &a))) return st;
        return push_int(m, a[0]);
    case 'M':
        if ((st = need(m, 2, &a))) return st;
        return push_int(m, (int64_t)le(a, 2));
    case 0x8a: return push_long(m, 1);
    case 0x8b: return push_long(m, 4);
    case 'G': {
        if ((st = need(m, 8, &a))) return st;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | a[i]; /* big-endian */
        ckpt_pk *o = new_obj(m, PK_FLOAT);
        if (o) memcpy(&o->f, &bits, sizeof o->f);
        return push(m, o);
    }
    case 'N': return push(m, new_obj(m, PK_NONE));
    case 0x88:
    case 0x89: {
        ckpt_pk *o = new_obj(m, PK_BOOL);
        if (o) o->i = op == 0x88;
        return push(m, o);
    }
    case 'q':
        if ((st = need(m, 1, &a))) return st;
        return memo_put(m, a[0]);
    case 'r':
        if ((st = need(m, 4, &a))) return st;
        return memo_put(m, le(a, 4));
    case 0x94: return memo_put(m, m->memo_count); /* MEMOIZE */
    case 'h':
        if ((st = need(m, 1, &a))) return st;
        return memo_get(m, a[0]);
    case 'j':
        if ((st = need(m, 4, &a))) return st;
        return memo_get(m, le(a, 4));
    default: break;
    }
    return FAIL(m, "unknown or unsupported pickle opcode (not one torch.save writes for a state dict)");
}

bend_status ckpt_pickle_run(const uint8_t *buf, size_t len, size_t start, const char *what,
                            ckpt_pickle **out, const ckpt_pk **result, size_t *end,
                            bend_error *err)
{
    *out = NULL;
    *result = NULL;
    vm m = {.b = buf, .len = len, .pos = start, .op_pos = start, .what = what, .err = err};
    if (start >= len) return bend_fail(err, BEND_ERR_PARSE, "%s: empty pickle at byte %zu", what, start);
    if (!(m.p = calloc(1, sizeof *m.p))) return bend_fail(err, BEND_ERR_NOMEM, "%s: out of memory", what);
    bend_status st = BEND_OK;
    bool stop = false;
    while (!st && !stop) {
        if (m.pos >= m.len) {
            st = bend_fail(err, BEND_ERR_PARSE, "%s: the pickle ends at byte %zu without STOP", what, m.pos);
            break;
        }
        m.op_pos = m.pos;
        st = step(&m, m.b[m.pos++], &stop);
    }
    ckpt_pk *res = NULL;
    if (!st) st = pop(&m, &res);
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (st) {
        ckpt_pickle_free(m.p);
        return st;
    }
    *out = m.p;
    *result = res;
    if (end) *end = m.pos;
    return BEND_OK;
}
