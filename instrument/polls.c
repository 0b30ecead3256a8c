/*
 * polls.c: safe points where the program computes.  A checkpoint is taken at
 * a safe point, and a loop that computes for minutes without a PVM call would
 * keep every checkpoint waiting.  So the outermost loop of each nest that may
 * run long (it holds another loop, or calls a function of the program) tests
 * a flag at the top of its body, and only when the runtime raised it (a
 * checkpoint was asked for) becomes a safe point:
 *
 *   for (...) { if (__builtin_expect(ckpt_requested, 0)) { site: ckpt_checkpoint(); } ... }
 *
 * One load and a branch per turn of an outer loop.  Each poll is a
 * CKPT_CHECKPOINT pragma of its own (p->poll), so the function reaches a safe
 * point, gets a frame, and a restart can resume there like at any site.
 * Functions whose address is taken (callbacks such as qsort's comparator:
 * a restart could not rebuild the library's frames under them) get none,
 * nor does --ckpt-explicit.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

static int is_loop(enum CXCursorKind k)
{
    return k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt;
}

/* does x's subtree hold a loop, or a call of a function not of the system? */
static int may_run_long(struct rw *rw, int x)
{
    for (int i = x + 1; i < rw->nnodes && is_below(rw, i, x); i++)
        if (is_loop(rw->nodes[i].kind))
            return 1;
    for (int i = 0; i < rw->ncalls; i++) {
        const struct call *c = &rw->calls[i];
        if (is_below(rw, c->node, x) && (c->callee >= 0 || c->reach_fixed))
            return 1;
    }
    return 0;
}

static int outermost(struct rw *rw, int x)
{
    for (int p = rw->nodes[x].parent; p >= 0; p = rw->nodes[p].parent)
        if (is_loop(rw->nodes[p].kind) || rw->nodes[p].kind == CXCursor_StmtExpr)
            return 0;
    return 1;
}

/* Is x's text the program's own, not a macro's? */
static int written_here(struct rw *rw, int x)
{
    CXFile f;
    unsigned off;
    clang_getSpellingLocation(clang_getRangeStart(clang_getCursorExtent(rw->nodes[x].c)), &f,
                              NULL, NULL, &off);
    return f && clang_File_isEqual(f, rw->file) && off == rw->nodes[x].start;
}

/* Functions of the file referred to other than by a call: their addresses. */
struct refs {
    struct rw *rw;
    uint32_t *calls, *uses;
    int *use_fn;
    int ncalls, capcalls, nuses, capuses, capfn;
};

static enum CXChildVisitResult ref_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct refs *r = d;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit &&
        clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        return CXChildVisit_Continue;
    if (k == CXCursor_CallExpr || k == CXCursor_DeclRefExpr) {
        uint32_t off = loc_off(r->rw, clang_getCursorLocation(c));
        CXCursor ref = clang_getCursorReferenced(c);
        if (off != NOPOS && k == CXCursor_CallExpr) {
            GROW(r->calls, r->ncalls, r->capcalls);
            r->calls[r->ncalls++] = off;
        } else if (off != NOPOS && clang_getCursorKind(ref) == CXCursor_FunctionDecl) {
            char *usr = cxstr(clang_getCursorUSR(ref));
            int f = find_func(r->rw, usr);
            free(usr);
            if (f >= 0) {
                GROW(r->uses, r->nuses, r->capuses);
                GROW(r->use_fn, r->nuses, r->capfn);
                r->use_fn[r->nuses] = f;
                r->uses[r->nuses++] = off;
            }
        }
    }
    return CXChildVisit_Recurse;
}

/* taken[f]: function f's address is taken somewhere in the file */
static char *addresses_taken(struct rw *rw)
{
    struct refs r = {rw, NULL, NULL, NULL, 0, 0, 0, 0, 0};
    char *taken = xrealloc(NULL, (size_t)rw->nfuncs + 1);
    memset(taken, 0, (size_t)rw->nfuncs + 1);
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), ref_visit, &r);
    for (int i = 0; i < r.nuses; i++) {
        int called = 0;
        for (int j = 0; j < r.ncalls && !called; j++)
            called = r.calls[j] == r.uses[i];
        if (!called)
            taken[r.use_fn[i]] = 1;
    }
    free(r.calls);
    free(r.uses);
    free(r.use_fn);
    return taken;
}

static void add_poll(struct rw *rw, int loop)
{
    int body = -1;
    for (int i = loop + 1; i < rw->nnodes && is_below(rw, i, loop); i++)
        if (rw->nodes[i].parent == loop && rw->nodes[i].role == R_BODY)
            body = i;
    if (body < 0 || rw->nodes[body].start == NOPOS || !written_here(rw, body))
        return;
    struct node *b = &rw->nodes[body];
    uint32_t at = b->kind == CXCursor_CompoundStmt ? b->start + 1 : b->start;
    if (b->kind != CXCursor_CompoundStmt) {
        insert(rw, b->start, 0, "{ ");
        insert(rw, stmt_end(rw, body), END_PRIO(b->start, -1), " }");
    }
    GROW(rw->prags, rw->nprags, rw->capprags);
    struct pragma *p = &rw->prags[rw->nprags++];
    memset(p, 0, sizeof *p);
    p->poll = 1;
    p->func = b->func;
    p->hash = p->end = p->kw = at;
    p->sstart = b->start;
    p->send = b->end;
}

void add_polls(struct rw *rw)
{
    if (rw->o->explicit_state)
        return;
    char *taken = addresses_taken(rw);
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (!is_loop(n->kind) || n->start == NOPOS || !rw->funcs[n->func].in_main ||
            taken[n->func] || !written_here(rw, i) || !outermost(rw, i) || !may_run_long(rw, i))
            continue;
        add_poll(rw, i);
    }
    free(taken);
}
