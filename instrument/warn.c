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

/* the references to local v of function fi, by matching the referenced declaration's
 * location: their offsets, and whether each is the target of a plain '=' (not a use) */
struct refs {
    uint32_t *off;
    char *write;
    int n, cap, capw;
};

static void find_refs(struct rw *rw, int fi, const struct var *v, struct refs *r)
{
    int nw = 0;
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (n->func != fi || n->kind != CXCursor_DeclRefExpr || n->start == NOPOS)
            continue;
        CXCursor ref = clang_getCursorReferenced(n->c);
        if (clang_getCursorKind(ref) != CXCursor_VarDecl ||
            loc_off(rw, clang_getCursorLocation(ref)) != v->decl)
            continue;
        GROW(r->off, r->n, r->cap);
        GROW(r->write, nw, r->capw);
        r->write[nw++] = n->parent >= 0 && rw->nodes[n->parent].kind == CXCursor_BinaryOperator &&
                         child_index(rw, i) == 0 && tok_is(rw, tok_at(rw, n->end), "=");
        r->off[r->n++] = n->start;
    }
}

/* does a user CKPT_SAVE of the function save local vi, as a whole, at site s? */
static int saved_at(struct rw *rw, int fi, int vi, const struct site *s)
{
    for (int q = 0; q < rw->nprags; q++) {
        struct pragma *p = &rw->prags[q];
        if (p->func != fi || !p->is_save || !(s->at > p->hash && s->at < p->send))
            continue;
        for (int it = 0; it < p->nitems; it++)
            if (p->items[it].var == vi && !strchr(p->items[it].name, '.'))
                return 1;
    }
    return 0;
}

static int is_loop(enum CXCursorKind k)
{
    return k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt;
}

/* the outermost loop around site s that carries v from turn to turn: [*ls, *le), or
 * *ls = NOPOS; a reference anywhere in it comes after the site too */
static void loop_around(struct rw *rw, int fi, const struct site *s, const struct var *v,
                        uint32_t *ls, uint32_t *le)
{
    *ls = NOPOS;
    *le = 0;
    for (int x = s->call; x >= 0; x = rw->nodes[x].parent)
        if (is_loop(rw->nodes[x].kind) && loop_carries(rw, x, v)) {
            *ls = rw->nodes[x].start;
            *le = rw->nodes[x].end;
        }
    if (s->call >= 0)
        return;
    for (int i = 0; i < rw->nnodes; i++) { /* a pragma: find loops by extent */
        struct node *n = &rw->nodes[i];
        if (n->func == fi && is_loop(n->kind) && n->start < s->at && n->end > s->at &&
            loop_carries(rw, i, v) && (*ls == NOPOS || n->start < *ls)) {
            *ls = n->start;
            *le = n->end;
        }
    }
}

/* is local vi referenced before site s and used at or after it (or in a loop around it)? */
static int live_across(struct rw *rw, int fi, int vi, const struct refs *r, const struct site *s)
{
    const struct var *v = &rw->vars[vi];
    uint32_t at = site_pos(rw, s), ls, le;
    loop_around(rw, fi, s, v, &ls, &le);
    int before = v->has_init, after = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->off[i] < at)
            before = 1;
        if (!r->write[i] && (r->off[i] >= at || (ls != NOPOS && r->off[i] >= ls && r->off[i] < le)))
            after = 1;
    }
    return before && after;
}

void warn_unsaved(struct rw *rw, int fi)
{
    for (int vi = 0; vi < rw->nvars; vi++) {
        struct var *v = &rw->vars[vi];
        if (v->func != fi || v->is_param || v->is_static)
            continue;
        struct refs r = {0};
        find_refs(rw, fi, v, &r);
        for (int si = 0; si < rw->nsites; si++) {
            struct site *s = &rw->sites[si];
            uint32_t at = site_pos(rw, s);
            if (s->func != fi || at < v->decl || at >= v->send || saved_at(rw, fi, vi, s) ||
                !live_across(rw, fi, vi, &r, s))
                continue;
            unsigned line, col;
            uint32_t off = s->call >= 0 ? rw->nodes[s->call].start : s->at;
            off_linecol(rw, off, &line, &col);
            diag(rw, v->decl, rw->o->werror_unsaved ? "error" : "warning",
                 "'%s' is live across the safe point at line %u but not saved by #pragma "
                 "CKPT_SAVE: its value is lost on restart [-Wckpt-unsaved]",
                 v->name, line);
            break;
        }
        free(r.off);
        free(r.write);
    }
}
