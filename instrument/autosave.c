/*
 * autosave.c: what is saved without a pragma, and CKPT_NOSAVE.
 *
 *   - every local of a reaching function in scope at one of its safe points
 *     gets a registration point: right after its declaration, or, for the
 *     parameters and the body's leading declarations, after the frame's entry;
 *   - every static local registers itself the first time its declaration is
 *     reached (ckpt_static);
 *   - every file-scope variable the file defines is registered by the file's
 *     constructor (auto_globals, called by output.c).
 *
 * A restarted task gets its addresses back (libckpt's layout.c), so all of
 * these are saved as bytes: a pointer needs neither a type nor a translation,
 * wherever it points.  CKPT_NOSAVE(x) leaves x out; for a pointer, the heap
 * block it points to when the pragma is reached (or, at file scope, whenever
 * a checkpoint is taken) is left out instead and the pointer kept.
 * --ckpt-explicit turns the automatic part off.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

static int is_pointer(CXType t)
{
    return clang_getCanonicalType(t).kind == CXType_Pointer;
}

/* a const object (or an array of them): never written, so never restored */
static int is_const_object(CXType t)
{
    for (;;) {
        if (clang_isConstQualifiedType(t) || clang_isConstQualifiedType(clang_getCanonicalType(t)))
            return 1;
        CXType c = clang_getCanonicalType(t);
        if (c.kind != CXType_ConstantArray && c.kind != CXType_IncompleteArray)
            return 0;
        t = clang_getArrayElementType(t.kind == c.kind ? t : c);
    }
}

/* does a CKPT_NOSAVE of scope func (-1: file scope) name var vi, or global name? */
static int nosaved(struct rw *rw, int func, int vi, const char *name)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (!p->nosave || p->func != func)
            continue;
        for (int it = 0; it < p->nitems; it++)
            if (func >= 0 ? p->items[it].var == vi : !strcmp(p->items[it].name, name))
                return 1;
    }
    return 0;
}

/* A local left out by CKPT_NOSAVE; a pointer is kept (its block is what goes). */
static int left_out(struct rw *rw, int vi)
{
    struct var *v = &rw->vars[vi];
    return nosaved(rw, v->func, vi, NULL) && !is_pointer(v->type);
}

/* is off inside text a macro wrote?  Then it cannot be edited there. */
static int from_macro(struct rw *rw, int node)
{
    CXSourceLocation l = clang_getRangeStart(clang_getCursorExtent(rw->nodes[node].c));
    CXFile f;
    unsigned off;
    clang_getSpellingLocation(l, &f, NULL, NULL, &off);
    return !f || !clang_File_isEqual(f, rw->file) || off != rw->nodes[node].start;
}

static int in_kind(struct rw *rw, int node, enum CXCursorKind k)
{
    for (int x = node; x >= 0; x = rw->nodes[x].parent)
        if (rw->nodes[x].kind == k)
            return 1;
    return 0;
}

/* Is v in scope at a site?  A site in a loop's condition or increment is
 * labelled at the loop's start, but its call sees what the loop declares. */
static int in_scope_at_a_site(struct rw *rw, const struct var *v)
{
    for (int i = 0; i < rw->nsites; i++) {
        const struct site *s = &rw->sites[i];
        int in_header = s->how == R_FOR_COND || s->how == R_FOR_INC || s->how == R_DO_COND;
        uint32_t at = in_header ? rw->nodes[s->call].start : s->at;
        if (s->func == v->func && at > v->decl && at < v->send)
            return 1;
    }
    return 0;
}

/* the registration point at offset at of function fi covering [at, send) */
static struct pragma *reg_at(struct rw *rw, int fi, uint32_t at, uint32_t send)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->autoreg && p->func == fi && p->hash == at)
            return p;
    }
    GROW(rw->prags, rw->nprags, rw->capprags);
    struct pragma *p = &rw->prags[rw->nprags++];
    memset(p, 0, sizeof *p);
    p->is_save = 1;
    p->autoreg = 1;
    p->func = fi;
    p->hash = p->end = p->kw = p->sstart = at;
    p->send = send;
    return p;
}

static void add_to(struct pragma *p, struct var *v, int vi)
{
    GROW(p->items, p->nitems, p->capitems);
    struct item *it = &p->items[p->nitems++];
    memset(it, 0, sizeof *it);
    it->expr = strdup(v->name);
    it->name = strdup(v->name);
    it->var = vi;
    it->elem = elem_expr(v->type, v->name, &it->kind);
    it->kind = CKPT_KIND_DATA;
}

/* A `register` local has no address: the keyword goes (the compiler allocates
 * registers without it anyway). */
static void drop_register(struct rw *rw, struct var *v)
{
    struct node *d = &rw->nodes[v->stmt];
    for (int t = tok_at(rw, d->start); t < rw->ntoks && rw->toks[t].off < v->decl; t++)
        if (tok_is(rw, t, "register")) {
            edit(rw, rw->toks[t].off, rw->toks[t].off + rw->toks[t].len, 1, strdup(""));
            return;
        }
}

/* for (int i = 0; ...): registered at the start of the body, which gets braces
 * if it has none; a safe point in the condition or the increment cannot have i
 * registered before it. */
static struct pragma *for_init_reg(struct rw *rw, struct var *v)
{
    int loop = rw->nodes[v->stmt].parent, body = -1;
    for (int i = loop + 1; i < rw->nnodes && rw->nodes[i].start < rw->nodes[loop].end; i++)
        if (rw->nodes[i].parent == loop)
            body = i;
    for (int i = 0; i < rw->nsites; i++) {
        struct site *s = &rw->sites[i];
        if (s->anchor == loop && (s->how == R_FOR_COND || s->how == R_FOR_INC)) {
            diag(rw, v->decl, "error",
                 "'%s' is declared in a for statement whose condition or increment holds a "
                 "safe point, where ckpt-cc cannot save it; declare it before the loop",
                 v->name);
            return NULL;
        }
    }
    if (body < 0 || rw->nodes[body].start == NOPOS || from_macro(rw, body)) {
        diag(rw, v->decl, "error",
             "'%s' is declared in a for statement whose body a macro writes, where ckpt-cc "
             "cannot save it; declare it before the loop",
             v->name);
        return NULL;
    }
    struct node *b = &rw->nodes[body];
    if (b->kind == CXCursor_CompoundStmt)
        return reg_at(rw, v->func, b->start + 1, rw->nodes[loop].end);
    struct pragma *p = reg_at(rw, v->func, b->start, rw->nodes[loop].end);
    if (!p->nitems) {
        insert(rw, b->start, 0, "{ ");
        insert(rw, stmt_end(rw, body), END_PRIO(b->start, -1), " }");
    }
    return p;
}

/* the registration point a saved local goes to, or NULL when it needs none */
static struct pragma *place_local(struct rw *rw, int vi, uint32_t entry)
{
    struct var *v = &rw->vars[vi];
    uint32_t body_end = rw->nodes[rw->funcs[v->func].body].end;
    if (v->is_param || v->decl < entry)
        return reg_at(rw, v->func, entry, body_end);
    /* what a re-run statement (a macro's, a ({ })) declares is declared again */
    if (v->stmt < 0 || from_macro(rw, v->stmt) || in_kind(rw, v->stmt, CXCursor_StmtExpr))
        return NULL;
    int up = rw->nodes[v->stmt].parent;
    if (up >= 0 && rw->nodes[up].kind == CXCursor_ForStmt)
        return for_init_reg(rw, v);
    return reg_at(rw, v->func, stmt_end(rw, v->stmt), v->send);
}

static void auto_locals(struct rw *rw, int fi)
{
    uint32_t entry = dispatch_pos(rw, fi);
    for (int vi = 0; vi < rw->nvars; vi++) {
        struct var *v = &rw->vars[vi];
        if (v->func != fi || v->is_static || left_out(rw, vi) ||
            !in_scope_at_a_site(rw, v))
            continue;
        struct pragma *p = place_local(rw, vi, entry);
        if (!p)
            continue;
        if (v->is_register)
            drop_register(rw, v);
        add_to(p, v, vi);
    }
}

/* static int n; -> static int n; static char ckpt__oK; char ckpt__sK = ckpt__oK ||
 * ckpt_static(&ckpt__oK, "file.c:func:n:K", &n, sizeof (n), elem); */
static void auto_statics(struct rw *rw)
{
    int k = 0;
    for (int vi = 0; vi < rw->nvars; vi++) {
        struct var *v = &rw->vars[vi];
        if (v->func < 0 || !rw->funcs[v->func].in_main || v->stmt < 0 ||
            clang_Cursor_getStorageClass(v->c) != CX_SC_Static || is_const_object(v->type) ||
            nosaved(rw, v->func, vi, NULL) || from_macro(rw, v->stmt))
            continue;
        enum ckpt_kind kind;
        char *elem = elem_expr(v->type, v->name, &kind);
        struct sbuf b = {0};
        k++;
        sb_printf(&b, " static char ckpt__o%d; char ckpt__s%d = ckpt__o%d || ckpt_static(&ckpt__o%d, "
                      "\"%s:%s:%s:%d\", (void *)&%s, sizeof (%s), %s);",
                  k, k, k, k, rw->o->key, rw->funcs[v->func].name, v->name, k, v->name, v->name,
                  elem);
        insert(rw, stmt_end(rw, v->stmt), 0, b.s);
        free(b.s);
        free(elem);
    }
}

void add_auto_saves(struct rw *rw)
{
    if (rw->o->explicit_state)
        return;
    for (int i = 0; i < rw->nfuncs; i++)
        if (rw->funcs[i].in_main && rw->funcs[i].reach)
            auto_locals(rw, i);
    auto_statics(rw);
}

/* A block-scope CKPT_NOSAVE of a pointer: the block it points to now is left
 * out (ckpt_nosave); of anything else, the line just goes. */
void emit_nosaves(struct rw *rw)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (!p->nosave)
            continue;
        struct sbuf b = {0};
        sb_add(&b, "", 0);
        for (int it = 0; p->func >= 0 && it < p->nitems; it++)
            if (is_pointer(rw->vars[p->items[it].var].type))
                sb_printf(&b, "ckpt_nosave(%s); ", p->items[it].expr);
        edit(rw, p->hash, p->end, 1, b.s);
    }
}

/* is global name saved by a user's file-scope CKPT_SAVE (which keeps its own line)? */
static int user_saved(struct rw *rw, const char *name)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        for (int it = 0; p->is_save && !p->autoreg && p->func < 0 && it < p->nitems; it++) {
            const char *n = p->items[it].name;
            size_t l = strlen(name);
            if (!strncmp(n, name, l) && (n[l] == '\0' || n[l] == '.'))
                return 1;
        }
    }
    return 0;
}

struct globals_visit {
    struct rw *rw;
    struct sbuf *fn;
    char **seen;
    int nseen, capseen;
};

static void auto_global(struct globals_visit *g, CXCursor c)
{
    struct rw *rw = g->rw;
    CXType t = clang_getCursorType(c);
    char *name = cxstr(clang_getCursorSpelling(c));
    char *usr = cxstr(clang_getCursorUSR(c));
    int dup = 0;
    for (int i = 0; i < g->nseen; i++)
        dup |= !strcmp(g->seen[i], usr);
    if (dup || clang_Type_getSizeOf(t) < 0 || is_const_object(t) || user_saved(rw, name)) {
        free(name);
        free(usr);
        return;
    }
    GROW(g->seen, g->nseen, g->capseen);
    g->seen[g->nseen++] = usr;
    enum ckpt_kind kind;
    char *elem = elem_expr(t, name, &kind);
    if (nosaved(rw, -1, -1, name)) {
        if (is_pointer(t))
            sb_printf(g->fn, "    ckpt_nosave_global(\"%s:%s\", (void **)&%s);\n", rw->o->key,
                      name, name);
        else
            elem[0] = '\0';
    }
    if (elem[0])
        sb_printf(g->fn, "    ckpt_global(\"%s:%s\", (void *)&%s, sizeof (%s), %s, %s);\n",
                  rw->o->key, name, name, name, elem, kind_name(CKPT_KIND_DATA));
    free(elem);
    free(name);
}

static enum CXChildVisitResult global_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    (void)parent;
    /* a tentative definition (int n;) is no "definition" to libclang, but it is one */
    if (clang_getCursorKind(c) == CXCursor_VarDecl &&
        clang_Cursor_getStorageClass(c) != CX_SC_Extern &&
        !clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        auto_global(d, c);
    return CXChildVisit_Continue;
}

/* The registrations of the file's globals, for the constructor output.c writes. */
void auto_globals(struct rw *rw)
{
    struct sbuf fn = {0};
    struct globals_visit g = {rw, &fn, NULL, 0, 0};
    if (rw->o->explicit_state)
        return;
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), global_visit, &g);
    rw->globals = fn.s;
    for (int i = 0; i < g.nseen; i++)
        free(g.seen[i]);
    free(g.seen);
}
