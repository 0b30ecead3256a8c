/*
 * callgraph.c: which functions can reach a safe point.  Every call in a body
 * is classified (a safe point of the PVM call table, another function of the
 * file, a library function, something unknown: conservatively reaching) and a
 * fixpoint marks the reaching functions.  Also the setjmp family, which no
 * reaching function may use.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

/* The PVM calls of the table, and whether the runtime may checkpoint in them */
static const struct {
    const char *name;
    int safe;
} pvm_calls[] = {
#define CKPT_PVM_CALL(name, ret, params, safe) {"pvm_" #name, safe},
#include "ckpt_pvm_calls.h"
#undef CKPT_PVM_CALL
};

static int is_safe_point(const char *name)
{
    for (size_t i = 0; i < sizeof pvm_calls / sizeof *pvm_calls; i++)
        if (pvm_calls[i].safe && !strcmp(name, pvm_calls[i].name))
            return 1;
    return 0;
}

static void add_call(struct rw *rw, int node, int callee, int fixed)
{
    GROW(rw->calls, rw->ncalls, rw->capcalls);
    rw->calls[rw->ncalls].node = node;
    rw->calls[rw->ncalls].func = rw->nodes[node].func;
    rw->calls[rw->ncalls].callee = callee;
    rw->calls[rw->ncalls].reach_fixed = fixed;
    rw->ncalls++;
}

/* A call to a library function (qsort, signal, pvm_addmhf...) whose arguments name one
 * of the program's functions can run it: it reaches what that function reaches. */
static void callback_args(struct rw *rw, int call)
{
    int callee_expr = -1;
    for (int j = call + 1; j < rw->nnodes; j++) {
        /* descendants of call, outside its first child (the callee expression) */
        int x = j, below = -1;
        while (x >= 0 && x != call) {
            below = x;
            x = rw->nodes[x].parent;
        }
        if (x != call)
            break; /* nodes are in preorder: the subtree is over */
        if (callee_expr < 0)
            callee_expr = below;
        if (below == callee_expr || rw->nodes[j].kind != CXCursor_DeclRefExpr)
            continue;
        CXCursor ref = clang_getCursorReferenced(rw->nodes[j].c);
        if (clang_getCursorKind(ref) != CXCursor_FunctionDecl)
            continue;
        char *usr = cxstr(clang_getCursorUSR(ref));
        int f = find_func(rw, usr);
        free(usr);
        if (f >= 0)
            add_call(rw, call, f, 0);
        else if (!clang_Location_isInSystemHeader(clang_getCursorLocation(ref)))
            add_call(rw, call, -1, 1);
    }
}

void find_calls(struct rw *rw)
{
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (n->kind != CXCursor_CallExpr)
            continue;
        CXCursor ref = clang_getCursorReferenced(n->c);
        int fixed = 1, callee = -1;
        if (!clang_Cursor_isNull(ref) && clang_getCursorKind(ref) == CXCursor_FunctionDecl) {
            char *name = cxstr(clang_getCursorSpelling(ref));
            if (is_safe_point(name)) {
                fixed = 1;
            } else if (!strncmp(name, "pvm_", 4) || !strncmp(name, "__builtin", 9) ||
                       !strncmp(name, "ckpt_", 5)) {
                fixed = 0;
            } else {
                char *usr = cxstr(clang_getCursorUSR(ref));
                callee = find_func(rw, usr);
                free(usr);
                if (callee >= 0)
                    fixed = 0;
                else if (clang_Location_isInSystemHeader(clang_getCursorLocation(ref)))
                    fixed = 0;
            }
            free(name);
        }
        if (!fixed && callee < 0) {
            callback_args(rw, i);
            continue;
        }
        add_call(rw, i, callee, fixed);
    }
}

int call_reaches(struct rw *rw, struct call *c)
{
    return c->reach_fixed || (c->callee >= 0 && rw->funcs[c->callee].reach);
}

void fixpoint(struct rw *rw)
{
    for (int i = 0; i < rw->nprags; i++)
        if (!rw->prags[i].is_save && !rw->prags[i].nosave && rw->prags[i].func >= 0)
            rw->funcs[rw->prags[i].func].reach = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < rw->ncalls; i++) {
            struct call *c = &rw->calls[i];
            if (!rw->funcs[c->func].reach && call_reaches(rw, c)) {
                rw->funcs[c->func].reach = 1;
                changed = 1;
            }
        }
    }
}

static const char *const jump_funcs[] = {
    "setjmp", "_setjmp", "__setjmp", "sigsetjmp", "__sigsetjmp", "longjmp", "_longjmp",
    "siglongjmp", "__builtin_setjmp", "__builtin_longjmp", "getcontext", "setcontext",
    "swapcontext", NULL,
};

void check_jumps(struct rw *rw)
{
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (n->kind != CXCursor_CallExpr || n->start == NOPOS || !rw->funcs[n->func].reach)
            continue;
        CXCursor ref = clang_getCursorReferenced(n->c);
        if (clang_Cursor_isNull(ref))
            continue;
        char *name = cxstr(clang_getCursorSpelling(ref));
        for (int j = 0; jump_funcs[j]; j++) {
            if (strcmp(name, jump_funcs[j]))
                continue;
            int t = tok_at(rw, n->start); /* the name as written: setjmp is a macro */
            diag(rw, n->start, "error",
                 "'%.*s' in '%s', which can reach a safe point: a jmp_buf holds stack and code "
                 "addresses that a restarted task does not have, and a jump out of a function "
                 "leaves its checkpoint frame behind; ckpt-cc cannot resume such a program "
                 "(keep setjmp and longjmp out of functions that reach PVM calls or "
                 "CKPT_CHECKPOINT)",
                 (int)rw->toks[t].len, rw->text + rw->toks[t].off, rw->funcs[n->func].name);
            break;
        }
        free(name);
    }
}
