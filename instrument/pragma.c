/*
 * pragma.c: the CKPT pragmas.  They have no cursor, so `#pragma CKPT_SAVE` and
 * `#pragma CKPT_CHECKPOINT` are found in the main file's tokens, and
 * `_Pragma("CKPT_CHECKPOINT")`, written out or as the whole body of a macro,
 * among the code and the macro expansions.  Each CKPT_SAVE list is parsed and
 * its names resolved to locals or globals, with the diagnostics for whatever
 * cannot be saved.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

/* the pragma being parsed, for messages: CKPT_SAVE or CKPT_NOSAVE */
static const char *pname = "CKPT_SAVE";

static void add_op_pragma(struct rw *rw, uint32_t s, uint32_t e)
{
    for (int i = 0; i < rw->nprags; i++)
        if (rw->prags[i].hash == s)
            return;
    GROW(rw->prags, rw->nprags, rw->capprags);
    struct pragma *p = &rw->prags[rw->nprags++];
    memset(p, 0, sizeof *p);
    p->op = 1;
    p->hash = p->kw = s;
    p->end = e;
    int blk = block_at(rw, s, &p->func);
    if (blk >= 0) {
        p->sstart = rw->nodes[blk].start;
        p->send = rw->nodes[blk].end;
    }
}

static int is_checkpoint_macro(struct rw *rw, CXCursor def)
{
    CXToken *toks;
    unsigned n;
    int ok = 0;
    clang_tokenize(rw->tu, clang_getCursorExtent(def), &toks, &n);
    unsigned i = 1; /* after the name */
    if (clang_Cursor_isMacroFunctionLike(def)) {
        while (i < n) {
            char *sp = cxstr(clang_getTokenSpelling(rw->tu, toks[i++]));
            int close = !strcmp(sp, ")");
            free(sp);
            if (close)
                break;
        }
    }
    if (n == i + 4) {
        static const char *const want[] = {"_Pragma", "(", "\"CKPT_CHECKPOINT\"", ")"};
        ok = 1;
        for (unsigned j = 0; j < 4; j++) {
            char *sp = cxstr(clang_getTokenSpelling(rw->tu, toks[i + j]));
            ok &= !strcmp(sp, want[j]);
            free(sp);
        }
    }
    clang_disposeTokens(rw->tu, toks, n);
    return ok;
}

static enum CXChildVisitResult macro_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct rw *rw = d;
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_MacroExpansion)
        return CXChildVisit_Continue;
    uint32_t s, e;
    cursor_range(rw, c, &s, &e);
    if (s == NOPOS || in_skipped(rw, s))
        return CXChildVisit_Continue;
    CXCursor def = clang_getCursorReferenced(c);
    if (clang_Cursor_isNull(def) || !is_checkpoint_macro(rw, def))
        return CXChildVisit_Continue;
    add_op_pragma(rw, s, e);
    return CXChildVisit_Continue;
}

void find_pragmas(struct rw *rw)
{
    for (int t = 0; t + 2 < rw->ntoks; t++) {
        if (!tok_is(rw, t, "#") || !tok_is(rw, t + 1, "pragma"))
            continue;
        uint32_t h = rw->toks[t].off;
        if (!first_on_line(rw, h) || in_skipped(rw, h))
            continue;
        int save = tok_is(rw, t + 2, "CKPT_SAVE"), nosave = tok_is(rw, t + 2, "CKPT_NOSAVE");
        if (!save && !nosave && !tok_is(rw, t + 2, "CKPT_CHECKPOINT"))
            continue;
        GROW(rw->prags, rw->nprags, rw->capprags);
        struct pragma *p = &rw->prags[rw->nprags++];
        memset(p, 0, sizeof *p);
        p->is_save = save;
        p->nosave = nosave;
        p->hash = h;
        p->kw = rw->toks[t + 2].off;
        p->end = line_end(rw, h);
        int blk = block_at(rw, h, &p->func);
        if (blk >= 0) {
            p->sstart = rw->nodes[blk].start;
            p->send = rw->nodes[blk].end;
        }
    }
    /* _Pragma("CKPT_CHECKPOINT") written in the code */
    for (int t = 0; t + 3 < rw->ntoks; t++) {
        if (!tok_is(rw, t, "_Pragma") || !tok_is(rw, t + 1, "(") ||
            !tok_is(rw, t + 2, "\"CKPT_CHECKPOINT\"") || !tok_is(rw, t + 3, ")"))
            continue;
        uint32_t ls = rw->toks[t].off;
        while (ls > 0 && rw->text[ls - 1] != '\n')
            ls--;
        while (rw->text[ls] == ' ' || rw->text[ls] == '\t')
            ls++;
        if (rw->text[ls] == '#' || in_skipped(rw, rw->toks[t].off))
            continue; /* in a #define: see the macro expansions below */
        add_op_pragma(rw, rw->toks[t].off, rw->toks[t + 3].off + 1);
    }
    /* macros whose whole body is _Pragma("CKPT_CHECKPOINT"), used in the main file */
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), macro_visit, rw);
}

/* the local var visible by name at off in func (innermost), or -1 */
static int lookup_local(struct rw *rw, int func, const char *name, uint32_t off)
{
    int best = -1;
    for (int i = 0; i < rw->nvars; i++) {
        struct var *v = &rw->vars[i];
        if (v->func != func || strcmp(v->name, name) || v->decl >= off || off < v->sstart ||
            off >= v->send)
            continue;
        if (best < 0 || v->decl > rw->vars[best].decl)
            best = i;
    }
    return best;
}

struct global_lookup {
    const char *name;
    CXCursor found;
    int kind; /* 0 none, 1 var, 2 other (function, enum constant, typedef) */
};

static enum CXChildVisitResult global_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct global_lookup *g = d;
    enum CXCursorKind k = clang_getCursorKind(c);
    (void)parent;
    if (k == CXCursor_EnumDecl)
        return CXChildVisit_Recurse;
    if (k != CXCursor_VarDecl && k != CXCursor_FunctionDecl && k != CXCursor_EnumConstantDecl &&
        k != CXCursor_TypedefDecl)
        return CXChildVisit_Continue;
    char *n = cxstr(clang_getCursorSpelling(c));
    if (!strcmp(n, g->name)) {
        if (k == CXCursor_VarDecl) {
            g->kind = 1;
            g->found = c;
        } else if (g->kind == 0) {
            g->kind = 2;
            g->found = c;
        }
    }
    free(n);
    return CXChildVisit_Continue;
}

static int lookup_global(struct rw *rw, const char *name, CXCursor *out)
{
    struct global_lookup g = {name, clang_getNullCursor(), 0};
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), global_visit, &g);
    *out = g.found;
    return g.kind;
}

struct field_lookup {
    const char *name;
    CXCursor found;
    int ok;
};

static enum CXVisitorResult field_visit(CXCursor c, CXClientData d)
{
    struct field_lookup *f = d;
    char *n = cxstr(clang_getCursorSpelling(c));
    int hit = !strcmp(n, f->name);
    free(n);
    if (hit) {
        f->found = c;
        f->ok = 1;
        return CXVisit_Break;
    }
    return CXVisit_Continue;
}

/* element size expression for an object of type t written as expr */
char *elem_expr(CXType t, const char *expr, enum ckpt_kind *kind)
{
    struct sbuf b = {0};
    int depth = 0;
    t = clang_getCanonicalType(t);
    *kind = t.kind == CXType_Pointer ? CKPT_KIND_POINTER : CKPT_KIND_DATA;
    while (t.kind == CXType_ConstantArray || t.kind == CXType_VariableArray ||
           t.kind == CXType_IncompleteArray) {
        depth++;
        t = clang_getCanonicalType(clang_getArrayElementType(t));
    }
    if (t.kind == CXType_Record || t.kind == CXType_Elaborated) {
        sb_printf(&b, "1");
        return b.s;
    }
    sb_printf(&b, "sizeof (%s)", expr);
    for (int i = 0; i < depth; i++)
        sb_printf(&b, "[0]");
    return b.s;
}

/* the local base of an item of a block-scope CKPT_SAVE: its variable and type; 0 or -1 */
static int resolve_local(struct rw *rw, struct pragma *p, const char *base, uint32_t ioff,
                         int *var, CXType *type)
{
    *var = lookup_local(rw, p->func, base, p->hash);
    if (*var < 0) {
        CXCursor g;
        int k = lookup_global(rw, base, &g);
        if (k == 1)
            diag(rw, ioff, "error",
                 "'%s' in #pragma %s is a global variable: save globals with a "
                 "#pragma %s at file scope",
                 base, pname, pname);
        else if (k == 2)
            diag(rw, ioff, "error", "'%s' in #pragma %s is not an object", base, pname);
        else
            diag(rw, ioff, "error", "unknown name '%s' in #pragma %s", base, pname);
        return -1;
    }
    if (rw->vars[*var].is_register) {
        diag(rw, ioff, "error",
             "'%s' in #pragma %s is a register variable, which has no address", base, pname);
        return -1;
    }
    *type = rw->vars[*var].type;
    return 0;
}

/* the global base of an item of a file-scope CKPT_SAVE: its type; 0 or -1 */
static int resolve_global(struct rw *rw, const char *base, uint32_t ioff, CXType *type)
{
    CXCursor g;
    int k = lookup_global(rw, base, &g);
    if (k == 0) {
        int local = 0;
        for (int i = 0; i < rw->nvars; i++)
            local |= !strcmp(rw->vars[i].name, base);
        if (local)
            diag(rw, ioff, "error",
                 "'%s' in #pragma %s at file scope is not a global variable "
                 "(save locals with a #pragma %s inside their block)",
                 base, pname, pname);
        else
            diag(rw, ioff, "error", "unknown name '%s' in #pragma %s", base, pname);
        return -1;
    }
    if (k == 2) {
        diag(rw, ioff, "error", "'%s' in #pragma %s is not an object", base, pname);
        return -1;
    }
    *type = clang_getCursorType(g);
    return 0;
}

/* `[count]` after the pointer base at token *t: the count's text; NULL after an error */
static char *parse_count(struct rw *rw, int *t, int close, const char *base, uint32_t ioff,
                         CXType type)
{
    int rb = tok_match(rw, *t);
    if (rb < 0 || rb > close || rb == *t + 1) {
        diag(rw, ioff, "error", "malformed #pragma %s: expected 'name[count]' with a count", pname);
        return NULL;
    }
    if (clang_getCanonicalType(type).kind != CXType_Pointer) {
        diag(rw, ioff, "error",
             "'%s' in #pragma %s(%s[...]) is not a pointer: 'name[count]' saves "
             "count elements behind a pointer", base, pname, base);
        return NULL;
    }
    char *count = flat(rw, rw->toks[*t + 1].off, rw->toks[rb].off);
    *t = rb + 1;
    return count;
}

/* `.field` chain from token *t, appended to expr and name, *type the last field's;
 * 0 or -1 */
static int parse_fields(struct rw *rw, int *t, int close, uint32_t ioff, CXType *type,
                        struct sbuf *expr, struct sbuf *name)
{
    while (*t < close && tok_is(rw, *t, ".")) {
        CXType ct = clang_getCanonicalType(*type);
        if (!tok_ident(rw, *t + 1) || *t + 1 >= close) {
            diag(rw, rw->toks[*t].off, "error",
                 "malformed #pragma %s: expected a field name after '.'", pname);
            return -1;
        }
        char *fname = tok_str(rw, *t + 1);
        if (ct.kind != CXType_Record) {
            diag(rw, ioff, "error",
                 "'%s' in #pragma %s is not a struct or union, it has no field '%s'", name->s,
                 pname, fname);
            return -1;
        }
        struct field_lookup fl = {fname, clang_getNullCursor(), 0};
        clang_Type_visitFields(ct, field_visit, &fl);
        if (!fl.ok) {
            diag(rw, ioff, "error", "'%s' in #pragma %s has no field '%s'", name->s, pname, fname);
            return -1;
        }
        sb_printf(expr, ".%s", fname);
        sb_printf(name, ".%s", fname);
        if (clang_Cursor_isBitField(fl.found)) {
            diag(rw, ioff, "error",
                 "'%s' in #pragma %s is a bit-field, which has no address", name->s, pname);
            return -1;
        }
        *type = clang_getCursorType(fl.found);
        free(fname);
        *t += 2;
    }
    return 0;
}

/* after an item at token *t: its ',' or the list's end; 0 or -1 */
static int parse_separator(struct rw *rw, int *t, int close)
{
    if (*t < close && !tok_is(rw, *t, ",")) {
        diag(rw, rw->toks[*t].off, "error",
             "malformed #pragma %s: '%.*s' is not allowed here (an item is 'name', "
             "'name[count]' or 'name.field')",
             pname, (int)rw->toks[*t].len, rw->text + rw->toks[*t].off);
        return -1;
    }
    if (*t < close && ++*t == close) {
        diag(rw, rw->toks[*t].off, "error", "malformed #pragma %s: expected a name after ','", pname);
        return -1;
    }
    return 0;
}

static void add_item(struct pragma *p, struct sbuf *expr, struct sbuf *name, char *count,
                     int var, CXType type)
{
    GROW(p->items, p->nitems, p->capitems);
    struct item *it = &p->items[p->nitems++];
    it->expr = expr->s;
    it->name = name->s;
    it->count = count;
    it->var = var;
    if (count) {
        it->kind = CKPT_KIND_BLOCK;
        struct sbuf b = {0};
        sb_printf(&b, "sizeof *(%s)", expr->s);
        it->elem = b.s;
    } else {
        it->elem = elem_expr(type, expr->s, &it->kind);
    }
}

/* one item `name`, `name[count]` or `name.field...` from token *t, resolved; 0 or -1 */
static int parse_item(struct rw *rw, struct pragma *p, int *t, int close)
{
    uint32_t ioff = rw->toks[*t].off;
    if (!tok_ident(rw, *t)) {
        diag(rw, ioff, "error",
             "malformed #pragma %s: expected a variable name, 'name[count]' or "
             "'name.field'", pname);
        return -1;
    }
    char *base = tok_str(rw, *t);
    struct sbuf expr = {0}, name = {0};
    char *count = NULL;
    sb_printf(&expr, "%s", base);
    sb_printf(&name, "%s", base);
    CXType type;
    int var = -1;
    (*t)++;
    if (p->func >= 0 ? resolve_local(rw, p, base, ioff, &var, &type)
                     : resolve_global(rw, base, ioff, &type))
        return -1;
    if (*t < close && tok_is(rw, *t, "[")) {
        count = parse_count(rw, t, close, base, ioff, type);
        if (!count)
            return -1;
    } else if (parse_fields(rw, t, close, ioff, &type, &expr, &name) < 0) {
        return -1;
    }
    if (parse_separator(rw, t, close) < 0)
        return -1;
    add_item(p, &expr, &name, count, var, type);
    free(base);
    return 0;
}

/* parse and resolve the items of a CKPT_SAVE pragma; 0 ok */
static int parse_save(struct rw *rw, struct pragma *p)
{
    int t = tok_at(rw, p->kw) + 1;
    int last = tok_at(rw, p->end); /* first token after the directive */
    if (t >= last || !tok_is(rw, t, "(")) {
        diag(rw, p->hash, "error",
             "malformed #pragma %s: expected '(' and a list of names", pname);
        return -1;
    }
    int close = tok_match(rw, t);
    if (close < 0 || close >= last || close + 1 != last) {
        diag(rw, p->hash, "error",
             "malformed #pragma %s: expected 'name', 'name[count]' or 'name.field' items "
             "separated by ',' and a closing ')'", pname);
        return -1;
    }
    t++;
    if (t == close) {
        diag(rw, p->hash, "error", "malformed #pragma %s: empty list", pname);
        return -1;
    }
    while (t < close)
        if (parse_item(rw, p, &t, close) < 0)
            return -1;
    return 0;
}

/* CKPT_NOSAVE(a, b): names only, resolved like CKPT_SAVE's; 0 ok */
static int parse_nosave(struct rw *rw, struct pragma *p)
{
    pname = "CKPT_NOSAVE";
    int bad = parse_save(rw, p);
    pname = "CKPT_SAVE";
    if (bad < 0)
        return -1;
    for (int i = 0; i < p->nitems; i++)
        if (p->items[i].count || strchr(p->items[i].name, '.')) {
            diag(rw, p->kw, "error",
                 "'%s' in #pragma CKPT_NOSAVE: it takes variable names (a pointer's name "
                 "leaves out the heap block it points to)",
                 p->items[i].name);
            return -1;
        }
    return 0;
}

/* Parses every CKPT_SAVE list and checks every CKPT_CHECKPOINT; errors are counted
 * in rw->errors. */
void parse_pragmas(struct rw *rw)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save)
            parse_save(rw, p);
        else if (p->nosave)
            parse_nosave(rw, p);
        else if (p->func < 0)
            diag(rw, p->hash, "error",
                 "#pragma CKPT_CHECKPOINT outside a function: it marks a safe point in a "
                 "function body");
        else if (!p->op && tok_at(rw, p->end) != tok_at(rw, p->kw) + 1)
            diag(rw, p->hash, "error", "malformed #pragma CKPT_CHECKPOINT: it takes no arguments");
    }
}
