/*
 * warn.c: the warnings about a restart that would give a different answer:
 * -Wckpt-unsaved, a local live across a safe point that no CKPT_SAVE covers,
 * and -Wckpt-reeval, an argument of a re-made call that changes a variable.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

static int changes_a_variable(struct rw *rw, int t)
{
    static const char *const ops[] = {"++", "--", "=", "+=", "-=", "*=", "/=", "%=",
                                      "&=", "|=", "^=", "<<=", ">>=", NULL};
    for (int i = 0; ops[i]; i++)
        if (tok_is(rw, t, ops[i]))
            return 1;
    return 0;
}

/* A call that can reach a safe point is made again when a restarted task
 * rebuilds its call chain, and its arguments are evaluated again: a change
 * of a variable in them (next++, x = ...) happens twice. */
void warn_reeval(struct rw *rw, int fi)
{
    for (int si = 0; si < rw->nsites; si++) {
        struct site *s = &rw->sites[si];
        if (s->func != fi || s->call < 0 || rw->nodes[s->call].start == NOPOS)
            continue;
        const struct node *c = &rw->nodes[s->call];
        int open = tok_at(rw, c->start), close = -1;
        while (open < rw->ntoks && rw->toks[open].off < c->end &&
               !(tok_is(rw, open, "(") && (close = tok_match(rw, open)) >= 0 &&
                 rw->toks[close].off + 1 == c->end))
            open++;
        for (int t = open + 1; close >= 0 && t < close; t++)
            if (changes_a_variable(rw, t)) {
                diag(rw, rw->toks[t].off, rw->o->werror_unsaved ? "error" : "warning",
                     "an argument of a call that can reach a safe point changes a variable: a "
                     "task restarted inside the call makes it again and the change happens "
                     "twice; make the change in a statement of its own [-Wckpt-reeval]");
                break;
            }
    }
}

/* Does loop node x carry v's value from one turn to the next?  Yes when v is declared
 * before the loop, and when it is declared in the loop's own for-init (its scope is the
 * for statement, which starts before it); one declared in the body is new every turn. */
static int loop_carries(struct rw *rw, int x, const struct var *v)
{
    const struct node *n = &rw->nodes[x];
    return n->start > v->decl || (n->kind == CXCursor_ForStmt && v->sstart == n->start);
}

/* Where site s is, for scopes and uses: its label, except for a call in a loop's
 * condition or increment, labelled at the loop's start (before a for-init declaration
 * that is in scope at the call). */
static uint32_t site_pos(struct rw *rw, const struct site *s)
{
    if (s->how == R_FOR_COND || s->how == R_FOR_INC || s->how == R_DO_COND)
        return rw->nodes[s->call].start;
    return s->at;
}

void warn_unsaved(struct rw *rw, int fi)
{
    /* references per var, by matching the referenced declaration's location */
    for (int vi = 0; vi < rw->nvars; vi++) {
        struct var *v = &rw->vars[vi];
        if (v->func != fi || v->is_param || v->is_static)
            continue;
        uint32_t *refs = NULL;
        int nrefs = 0, cap = 0, capw = 0, nw = 0;
        char *write = NULL; /* refs[i] is the target of a plain '=' (not a use) */
        for (int i = 0; i < rw->nnodes; i++) {
            struct node *n = &rw->nodes[i];
            if (n->func != fi || n->kind != CXCursor_DeclRefExpr || n->start == NOPOS)
                continue;
            CXCursor r = clang_getCursorReferenced(n->c);
            if (clang_getCursorKind(r) != CXCursor_VarDecl ||
                loc_off(rw, clang_getCursorLocation(r)) != v->decl)
                continue;
            GROW(refs, nrefs, cap);
            GROW(write, nw, capw);
            write[nw++] = n->parent >= 0 && rw->nodes[n->parent].kind == CXCursor_BinaryOperator &&
                          child_index(rw, i) == 0 && tok_is(rw, tok_at(rw, n->end), "=");
            refs[nrefs++] = n->start;
        }
        for (int si = 0; si < rw->nsites; si++) {
            struct site *s = &rw->sites[si];
            uint32_t at = site_pos(rw, s);
            if (s->func != fi || at < v->decl || at >= v->send)
                continue;
            /* saved at this site? */
            int saved = 0;
            for (int q = 0; q < rw->nprags && !saved; q++) {
                struct pragma *p = &rw->prags[q];
                if (p->func != fi || !p->is_save || !(s->at > p->hash && s->at < p->send))
                    continue;
                for (int it = 0; it < p->nitems; it++)
                    if (p->items[it].var == vi && !strchr(p->items[it].name, '.'))
                        saved = 1;
            }
            if (saved)
                continue;
            /* loops around the site: a reference anywhere in them comes after it too */
            uint32_t ls = NOPOS, le = 0;
            int from = s->call >= 0 ? s->call : -1;
            for (int x = from; x >= 0; x = rw->nodes[x].parent) {
                enum CXCursorKind k = rw->nodes[x].kind;
                if ((k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt) &&
                    loop_carries(rw, x, v)) {
                    ls = rw->nodes[x].start;
                    le = rw->nodes[x].end;
                }
            }
            if (s->call < 0) { /* a pragma: find loops by extent */
                for (int i = 0; i < rw->nnodes; i++) {
                    struct node *n = &rw->nodes[i];
                    if (n->func == fi &&
                        (n->kind == CXCursor_ForStmt || n->kind == CXCursor_WhileStmt ||
                         n->kind == CXCursor_DoStmt) &&
                        n->start < s->at && n->end > s->at && loop_carries(rw, i, v) &&
                        (ls == NOPOS || n->start < ls)) {
                        ls = n->start;
                        le = n->end;
                    }
                }
            }
            int before = v->has_init, after = 0;
            for (int r = 0; r < nrefs; r++) {
                if (refs[r] < at)
                    before = 1;
                if (!write[r] && (refs[r] >= at || (ls != NOPOS && refs[r] >= ls && refs[r] < le)))
                    after = 1;
            }
            if (before && after) {
                unsigned line, col;
                uint32_t off = s->call >= 0 ? rw->nodes[s->call].start : s->at;
                off_linecol(rw, off, &line, &col);
                diag(rw, v->decl, rw->o->werror_unsaved ? "error" : "warning",
                     "'%s' is live across the safe point at line %u but not saved by #pragma "
                     "CKPT_SAVE: its value is lost on restart [-Wckpt-unsaved]",
                     v->name, line);
                break;
            }
        }
        free(refs);
        free(write);
    }
}
