/*
 * sites.c: the safe-point sites.  Each reaching call gets an anchor, the
 * statement a restarted task re-executes (or the loop whose condition or
 * increment holds it), and each CKPT_CHECKPOINT a site of its own; sites are
 * numbered per function in text order.  Several reaching calls re-executed
 * by one statement form a group whose calls are hoisted into temporaries.
 * What cannot be resumed correctly is an error here: a reaching call in a
 * loop a macro expands to, or after code a re-run would repeat.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

/* a do { } while (0) */
static int is_do_once(struct rw *rw, int x)
{
    if (rw->nodes[x].kind != CXCursor_DoStmt)
        return 0;
    int last = -1;
    for (int i = x + 1; i < rw->nnodes && rw->nodes[i].start != NOPOS &&
                        rw->nodes[i].start <= rw->nodes[x].end; i++)
        if (rw->nodes[i].parent == x)
            last = i;
    if (last < 0 || rw->nodes[last].kind != CXCursor_IntegerLiteral)
        return 0;
    CXEvalResult r = clang_Cursor_Evaluate(rw->nodes[last].c);
    int zero = r && clang_EvalResult_getKind(r) == CXEval_Int && clang_EvalResult_getAsInt(r) == 0;
    if (r)
        clang_EvalResult_dispose(r);
    return zero;
}

static int anchor_of(struct rw *rw, int node, enum role *how, int *macro_loop)
{
    *macro_loop = 0;
    /* no jumping into a GNU statement expression: anchor outside the outermost one */
    for (int x = node; x >= 0; x = rw->nodes[x].parent)
        if (rw->nodes[x].kind == CXCursor_StmtExpr)
            node = x;
    for (int x = node; x >= 0; x = rw->nodes[x].parent) {
        struct node *n = &rw->nodes[x];
        switch (n->role) {
        case R_STMT:
        case R_BODY:
            /* a statement that starts where its parent statement starts comes from a
             * macro expanding to both: the whole expansion is the statement to re-run */
            for (int p = n->parent; p >= 0 && rw->nodes[p].start == rw->nodes[x].start &&
                                    (rw->nodes[p].role == R_STMT || rw->nodes[p].role == R_BODY);
                 p = rw->nodes[p].parent) {
                enum CXCursorKind k = rw->nodes[p].kind;
                if ((k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt) &&
                    !is_do_once(rw, p))
                    *macro_loop = 1;
                x = p;
            }
            *how = rw->nodes[x].role;
            return x;
        case R_FOR_COND:
        case R_FOR_INC:
        case R_DO_COND:
            *how = n->role;
            return n->parent;
        case R_ROOT:
            return -1;
        default:
            break;
        }
    }
    return -1;
}

static int site_cmp(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    if (x->func != y->func)
        return x->func - y->func;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    /* calls of one statement: inner (and left) calls first, their evaluation order */
    uint32_t xe = x->call >= 0 ? x->end : 0, ye = y->call >= 0 ? y->end : 0;
    return xe < ye ? -1 : xe > ye;
}

/* is item it of pragma p saved at site s? */
int covers(struct pragma *p, int it, struct site *s)
{
    if (p->func != s->func)
        return 0;
    if (p->synthetic)
        return s->k > p->items[it].klo && s->k <= p->items[it].khi;
    if (p->autoreg) /* inserted before a site labelled at the same offset */
        return s->at >= p->hash && s->at < p->send;
    return s->at > p->hash && s->at < p->send;
}

/* end of a statement node, including a following ';' */
/* 1 when call may not be evaluated every time the anchor statement runs */
static int conditional_path(struct rw *rw, int call, int anchor)
{
    for (int x = call; x >= 0 && x != anchor; x = rw->nodes[x].parent) {
        int p = rw->nodes[x].parent;
        if (p < 0)
            break;
        struct node *pn = &rw->nodes[p];
        int ci = child_index(rw, x);
        if (pn->kind == CXCursor_ConditionalOperator && ci > 0)
            return 1;
        if (pn->kind == CXCursor_BinaryOperator && ci == 1) {
            int lhs = -1;
            for (int i = p + 1; i < x; i++)
                if (rw->nodes[i].parent == p) {
                    lhs = i;
                    break;
                }
            if (lhs >= 0) {
                int t = tok_at(rw, rw->nodes[lhs].end);
                if (tok_is(rw, t, "&&") || tok_is(rw, t, "||"))
                    return 1;
            }
        }
    }
    return 0;
}

static int is_macro_loc(CXSourceLocation l)
{
    CXFile f1, f2;
    unsigned o1, o2;
    clang_getExpansionLocation(l, &f1, NULL, NULL, &o1);
    clang_getFileLocation(l, &f2, NULL, NULL, &o2);
    return o1 != o2 || !f1 || !f2 || !clang_File_isEqual(f1, f2);
}

/* can the text of this call be moved and replaced?  Not when a macro hides it */
static int call_editable(struct rw *rw, int call, int anchor)
{
    struct node *c = &rw->nodes[call], *a = &rw->nodes[anchor];
    if (c->start == NOPOS || c->start >= c->end)
        return 0;
    CXSourceRange r = clang_getCursorExtent(c->c);
    if (is_macro_loc(clang_getRangeStart(r)) || is_macro_loc(clang_getRangeEnd(r)))
        return 0;
    if (!clang_isExpression(a->kind) && c->start <= a->start && c->end >= a->end)
        return 0; /* the call spans a whole statement: a macro expanding to more */
    for (int x = call; x >= 0 && x != anchor; x = rw->nodes[x].parent)
        if (rw->nodes[x].kind == CXCursor_StmtExpr)
            return 0; /* inside ({ ... }): its locals are out of reach */
    return 1;
}

/* can never both run: they sit in different arms of one ?: */
static int exclusive(struct rw *rw, int x, int y)
{
    for (int cx = x; cx >= 0; cx = rw->nodes[cx].parent) {
        int lca = rw->nodes[cx].parent;
        if (lca < 0)
            break;
        for (int cy = y; cy >= 0; cy = rw->nodes[cy].parent) {
            if (rw->nodes[cy].parent != lca)
                continue;
            return cx != cy && rw->nodes[lca].kind == CXCursor_ConditionalOperator &&
                   child_index(rw, cx) > 0 && child_index(rw, cy) > 0;
        }
    }
    return 0;
}

/* why the statement holding group g cannot be split, from its kind alone, or NULL */
static const char *stmt_refusal(struct rw *rw, const struct site *g)
{
    int a = g->anchor;
    enum CXCursorKind ak = rw->nodes[a].kind;
    if (g->how != R_STMT && g->how != R_BODY)
        return NULL; /* a loop condition or increment: split inside the loop transformation */
    if (ak == CXCursor_ForStmt || ak == CXCursor_DoStmt)
        return "in a for statement's initialization";
    if (ak == CXCursor_WhileStmt && !tok_is(rw, tok_at(rw, rw->nodes[a].start), "while"))
        return "in a loop that a macro expands to";
    if (ak == CXCursor_DeclStmt) {
        int vars = 0;
        for (int i = a + 1; i < rw->nnodes && rw->nodes[i].start < rw->nodes[a].end; i++)
            vars += rw->nodes[i].parent == a;
        if (vars > 1)
            return "in a declaration of several variables";
    }
    return NULL;
}

/* marks the conditional calls of the n sites of g; their count, *cond_start the first
 * one's start (NOPOS without any) */
static int mark_conditional(struct rw *rw, struct site *g, int n, uint32_t *cond_start)
{
    int ncond = 0;
    *cond_start = NOPOS;
    for (int i = 0; i < n; i++) {
        g[i].cond = conditional_path(rw, g[i].call, g->anchor);
        if (g[i].cond) {
            ncond++;
            if (rw->nodes[g[i].call].start < *cond_start)
                *cond_start = rw->nodes[g[i].call].start;
        }
    }
    return ncond;
}

/* why the n calls of group g cannot be split with the first nhoist hoisted, or NULL */
static const char *calls_refusal(struct rw *rw, const struct site *g, int n, int nhoist,
                                 int ncond, uint32_t cond_start)
{
    for (int i = 0; i < n; i++) {
        const struct site *s = &g[i];
        uint32_t ss = rw->nodes[s->call].start, se = rw->nodes[s->call].end;
        for (int j = 0; j < n; j++) {
            const struct site *t = &g[j];
            uint32_t ts = rw->nodes[t->call].start, te = rw->nodes[t->call].end;
            if (i != j && ((ss == ts && se == te) || (ss < ts && se > ts && se < te)))
                return "that come from one macro expansion";
            if (i < j && s->cond && t->cond && !exclusive(rw, s->call, t->call))
                return "where both are evaluated conditionally but may both run";
        }
        if (!s->cond && ncond && se > cond_start)
            return "where a conditional call runs before one that always runs";
        if (ncond && (i < nhoist) != !s->cond)
            return "where a conditional call runs before one that always runs";
        if (i < nhoist &&
            clang_getCanonicalType(clang_getCursorType(rw->nodes[s->call].c)).kind == CXType_Void)
            return "where a call whose result must be kept returns void";
    }
    return NULL;
}

/* the synthetic registration of the temporaries of the sites [first, first+n), and
 * each site's place in the group */
static void add_group_pragma(struct rw *rw, int first, int n, int nhoist)
{
    struct site *g = &rw->sites[first];
    GROW(rw->prags, rw->nprags, rw->capprags);
    int pi = rw->nprags++;
    struct pragma *p = &rw->prags[pi];
    memset(p, 0, sizeof *p);
    p->is_save = 1;
    p->synthetic = 1;
    p->func = g->func;
    p->hash = p->end = p->kw = rw->nodes[g->anchor].start;
    p->sstart = p->send = rw->nodes[g->anchor].start;
    p->nhoist = nhoist;
    for (int i = 0; i < n; i++) {
        struct site *s = &g[i];
        s->group = pi;
        s->gpos = i;
        s->gcount = n;
        if (i >= nhoist)
            continue;
        GROW(p->items, p->nitems, p->capitems);
        struct item *it = &p->items[p->nitems++];
        memset(it, 0, sizeof *it);
        struct sbuf b = {0};
        sb_printf(&b, "ckpt__h%d", s->k);
        it->expr = b.s;
        it->name = strdup(b.s);
        it->var = -1;
        it->elem = elem_expr(clang_getCursorType(rw->nodes[s->call].c), it->expr, &it->kind);
        it->klo = s->k;
        it->khi = g[n - 1].k;
    }
}

/* The sites [first, first+n) share one statement: their calls but the last are hoisted
 * into temporaries, saved by a synthetic registration (see emit_split_stmt).
 * Calls evaluated every time are hoisted (all but the last one, which stays in place,
 * when no call is conditional).  Conditional calls (an arm of ?:, the right of && or
 * ||) stay in place and set their site number themselves; at most one of them may run
 * per execution and the hoisted ones must come first. */
static void make_group(struct rw *rw, int first, int n)
{
    struct site *g = &rw->sites[first];
    const char *why = stmt_refusal(rw, g);
    uint32_t cond_start;
    int ncond = mark_conditional(rw, g, n, &cond_start);
    int nhoist = ncond ? n - ncond : n - 1;
    unsigned l0, c0;
    off_linecol(rw, rw->nodes[g->call].start, &l0, &c0);
    int hidden = 0;
    for (int i = 0; i < n && !hidden; i++)
        hidden = !call_editable(rw, g[i].call, g->anchor);
    if (hidden && !why) {
        /* a macro hides them: a label before the statement would re-run them all */
        diag(rw, rw->nodes[g[1].call].start, "error",
             "this call and the one at column %u can both reach a safe point in one statement "
             "that a macro or a ({ }) hides from ckpt-cc: a task restarted at the second would "
             "make the first again; write the calls in statements of their own",
             c0);
        return;
    }
    if (!why)
        why = calls_refusal(rw, g, n, nhoist, ncond, cond_start);
    if (why) {
        diag(rw, rw->nodes[g[1].call].start, "error",
             "this call and the one at column %u can both reach a safe point, %s: ckpt-cc "
             "cannot split this statement; assign each result in its own statement",
             c0, why);
        return;
    }
    add_group_pragma(rw, first, n, nhoist);
}

/* The tokens of cursor c as spelled, from its first one: in a macro's expansion they
 * come from the #define (and run on past the expression's end, which libclang cannot
 * map back).  Returns the count; *toks must be disposed. */
static unsigned spelled_tokens(struct rw *rw, CXCursor c, CXToken **toks)
{
    unsigned n = 0;
    clang_tokenize(rw->tu, clang_getCursorExtent(c), toks, &n);
    return n;
}

static void token_pos(struct rw *rw, CXToken t, CXFile *f, unsigned *off)
{
    clang_getSpellingLocation(clang_getTokenLocation(rw->tu, t), f, NULL, NULL, off);
}

static int token_in(struct rw *rw, CXToken t, const char *const *set)
{
    char *sp = cxstr(clang_getTokenSpelling(rw->tu, t));
    int hit = 0;
    for (int i = 0; set[i] && !hit; i++)
        hit = !strcmp(sp, set[i]);
    free(sp);
    return hit;
}

/* Does operator node n change a variable (=, op=, ++, --)?  libclang 14 tells no
 * operator kinds, so the operator token is read: a postfix operator (one that starts
 * where its operand does) is ++ or --, a prefix one is its first token, a binary one
 * is the last token before its right operand.  When that cannot be told (an operand
 * spelled in a macro's argument, the operator in its body) it counts as a change. */
static int is_write_op(struct rw *rw, int n)
{
    static const char *const incdec[] = {"++", "--", NULL};
    static const char *const assign[] = {"=", "+=", "-=", "*=", "/=", "%=", "&=",
                                         "|=", "^=", "<<=", ">>=", NULL};
    enum CXCursorKind k = rw->nodes[n].kind;
    if (k == CXCursor_CompoundAssignOperator)
        return 1;
    if (k != CXCursor_UnaryOperator && k != CXCursor_BinaryOperator)
        return 0;
    int lhs = n + 1, rhs = -1; /* preorder: the first child is next */
    if (lhs >= rw->nnodes || rw->nodes[lhs].parent != n)
        return 1;
    for (int j = lhs + 1; j < rw->nnodes && is_below(rw, j, n); j++)
        if (rw->nodes[j].parent == n)
            rhs = j;
    CXToken *ot, *ct;
    unsigned on = spelled_tokens(rw, rw->nodes[n].c, &ot);
    unsigned cn = spelled_tokens(rw, rw->nodes[k == CXCursor_UnaryOperator ? lhs : rhs].c, &ct);
    int w = 1;
    if (on && cn) {
        CXFile of, cf;
        unsigned oo, co;
        token_pos(rw, ot[0], &of, &oo);
        token_pos(rw, ct[0], &cf, &co);
        if (k == CXCursor_UnaryOperator) {
            w = (clang_File_isEqual(of, cf) && oo == co) || token_in(rw, ot[0], incdec);
        } else if (rhs >= 0 && clang_File_isEqual(of, cf) && oo < co) {
            /* the last token before the right operand; a ';' or a brace on the way means
             * the operand is a macro argument spelled elsewhere: cannot tell */
            static const char *const apart[] = {";", "{", "}", NULL};
            unsigned op = 0;
            int far = 0;
            for (unsigned i = 0; i < on; i++) {
                CXFile tf;
                unsigned to;
                token_pos(rw, ot[i], &tf, &to);
                if (to >= co)
                    break;
                far |= token_in(rw, ot[i], apart);
                op = i;
            }
            w = far || token_in(rw, ot[op], assign);
        }
    }
    if (on)
        clang_disposeTokens(rw->tu, ot, on);
    if (cn)
        clang_disposeTokens(rw->tu, ct, cn);
    return w;
}

/* The first node of y's subtree whose effect a re-run would repeat: a call (except
 * pvm_initsend and packing, which a re-run redoes from a fresh buffer), or a change
 * of a variable.  -1 if none. */
static int first_effect(struct rw *rw, int y)
{
    for (int j = y; j < rw->nnodes && is_below(rw, j, y); j++) {
        if (rw->nodes[j].kind == CXCursor_CallExpr) {
            CXCursor ref = clang_getCursorReferenced(rw->nodes[j].c);
            char *name = clang_Cursor_isNull(ref) ? strdup("")
                                                  : cxstr(clang_getCursorSpelling(ref));
            int harmless = !strcmp(name, "pvm_initsend") || !strncmp(name, "pvm_pk", 6) ||
                           !strcmp(name, "__builtin_expect");
            free(name);
            if (!harmless)
                return j;
        } else if (is_write_op(rw, j)) {
            return j;
        }
    }
    return -1;
}

/* A call inside a ({ }) or in a statement a macro expands to is resumed by re-running
 * the whole statement around it (anchor): whatever runs there before the call runs
 * twice, and a loop around it starts again from its first turn.  Either gives a wrong
 * answer, so it is an error; 0 if the re-run is harmless. */
static int check_rerun(struct rw *rw, int call, int anchor)
{
    for (int x = call; x >= 0 && x != anchor; x = rw->nodes[x].parent) {
        int p = rw->nodes[x].parent;
        if (p < 0)
            break;
        enum CXCursorKind k = rw->nodes[p].kind;
        /* a loop that is the anchor itself: a call in its condition or increment, which
         * the loop transformation resumes in the right turn */
        if ((k == CXCursor_ForStmt || k == CXCursor_WhileStmt || k == CXCursor_DoStmt) &&
            p != anchor && !is_do_once(rw, p)) {
            diag(rw, rw->nodes[call].start, "error",
                 "this call can reach a safe point inside a loop of a ({ }) or of a statement "
                 "a macro expands to: a task restarted in it re-runs that whole statement, and "
                 "the loop would start again from its first turn; write the loop out as plain "
                 "statements");
            return -1;
        }
        if (k != CXCursor_CompoundStmt && k != CXCursor_IfStmt && k != CXCursor_SwitchStmt)
            continue;
        /* what runs before x: earlier statements of a block, an if or switch condition */
        int before = -1;
        for (int j = p + 1; j < x && before < 0; j++)
            if (rw->nodes[j].parent == p && (k == CXCursor_CompoundStmt || j == p + 1))
                before = first_effect(rw, j);
        if (before < 0)
            continue;
        unsigned line, col;
        off_linecol(rw, rw->nodes[before].start, &line, &col);
        diag(rw, rw->nodes[call].start, "error",
             "this call can reach a safe point after %s (at %u:%u) in the same ({ }) or "
             "statement a macro expands to: a task restarted in the call re-runs that whole "
             "statement, and the %s would happen twice; write the code out as plain statements",
             rw->nodes[before].kind == CXCursor_CallExpr ? "another call" : "a change of a variable",
             line, col, rw->nodes[before].kind == CXCursor_CallExpr ? "call" : "change");
        return -1;
    }
    return 0;
}

/* setjmp and its kin save stack and code addresses, which a restarted task does not
 * have; a longjmp out of a function that keeps a frame skips its ckpt_leave. */
/* is offset off of function func inside a GNU statement expression? */
static int in_stmt_expr(struct rw *rw, int func, uint32_t off)
{
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (n->func == func && n->kind == CXCursor_StmtExpr && n->start != NOPOS &&
            off > n->start && off < n->end)
            return 1;
    }
    return 0;
}

/* a site for each reaching call of the main file, with its anchor */
static void add_call_sites(struct rw *rw)
{
    for (int i = 0; i < rw->ncalls; i++) {
        struct call *c = &rw->calls[i];
        if (!call_reaches(rw, c) || !rw->funcs[c->func].in_main)
            continue;
        int dup = 0;
        for (int j = 0; j < rw->nsites && !dup; j++)
            dup = rw->sites[j].call == c->node;
        if (dup)
            continue;
        struct node *n = &rw->nodes[c->node];
        if (n->start == NOPOS)
            continue;
        enum role how = R_STMT;
        int macro_loop = 0;
        int a = anchor_of(rw, c->node, &how, &macro_loop);
        if (a < 0 || rw->nodes[a].start == NOPOS)
            continue;
        int t0 = tok_at(rw, rw->nodes[a].start);
        if (macro_loop || (how == R_FOR_COND && !tok_is(rw, t0, "for")) ||
            (how == R_FOR_INC && !tok_is(rw, t0, "for")) ||
            (how == R_DO_COND && !tok_is(rw, t0, "do"))) {
            diag(rw, n->start, "error",
                 "this call can reach a safe point inside a loop that a macro expands to: "
                 "ckpt-cc cannot resume inside it; write the loop out or make the macro call a "
                 "function");
            continue;
        }
        if (check_rerun(rw, c->node, a) < 0)
            continue;
        GROW(rw->sites, rw->nsites, rw->capsites);
        struct site *s = &rw->sites[rw->nsites++];
        memset(s, 0, sizeof *s);
        s->func = c->func;
        s->call = c->node;
        s->pragma = -1;
        s->anchor = a;
        s->how = how;
        s->at = rw->nodes[a].start; /* calls of one statement then sort by their end */
        s->end = n->end;
        s->group = -1;
    }
}

/* a site for each CKPT_CHECKPOINT in a function */
static void add_checkpoint_sites(struct rw *rw)
{
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save || p->nosave || p->func < 0)
            continue;
        if (in_stmt_expr(rw, p->func, p->hash)) {
            diag(rw, p->hash, "error",
                 "CKPT_CHECKPOINT inside a ({ }): a restarted task cannot jump into a statement "
                 "expression; move the safe point out of it");
            continue;
        }
        GROW(rw->sites, rw->nsites, rw->capsites);
        struct site *s = &rw->sites[rw->nsites++];
        memset(s, 0, sizeof *s);
        s->func = p->func;
        s->call = -1;
        s->pragma = i;
        s->anchor = -1;
        s->how = R_ROOT;
        s->at = p->hash;
        s->group = -1;
    }
}

/* sites in text order within each function, numbered from 1 */
static void number_sites(struct rw *rw)
{
    qsort(rw->sites, (size_t)rw->nsites, sizeof *rw->sites, site_cmp);
    for (int i = 0, k = 0; i < rw->nsites; i++) {
        k = i > 0 && rw->sites[i - 1].func == rw->sites[i].func ? k + 1 : 1;
        rw->sites[i].k = k;
    }
}

/* a reaching function defined in a header cannot be given a frame */
static void check_header_callees(struct rw *rw)
{
    for (int i = 0; i < rw->ncalls; i++) {
        struct call *c = &rw->calls[i];
        if (c->callee < 0 || !rw->funcs[c->func].in_main || rw->funcs[c->callee].in_main ||
            !rw->funcs[c->callee].reach || rw->nodes[c->node].start == NOPOS)
            continue;
        diag(rw, rw->nodes[c->node].start, "error",
             "'%s' can reach a safe point but is defined in a header or by a macro, where "
             "ckpt-cc cannot instrument it: a task restarted inside it would run it again from "
             "its start, repeating what it did before the safe point; define it in a .c file",
             rw->funcs[c->callee].name);
    }
}

/* several reaching calls re-executed by one statement: split it */
static void split_groups(struct rw *rw)
{
    for (int i = 0; i < rw->nsites;) {
        int j = i + 1;
        while (j < rw->nsites && rw->sites[j].anchor >= 0 &&
               rw->sites[j].anchor == rw->sites[i].anchor && rw->sites[j].how == rw->sites[i].how)
            j++;
        if (j - i > 1)
            make_group(rw, i, j - i);
        i = j;
    }
}

/* the sites of every reaching function: anchored, numbered, grouped */
void collect_sites(struct rw *rw)
{
    add_call_sites(rw);
    add_checkpoint_sites(rw);
    number_sites(rw);
    check_header_callees(rw);
    split_groups(rw);
}

/* Where ckpt_enter and the dispatch go in function fi: before the body's first
 * statement that is not a leading declaration (one holding a site or a VLA is
 * not), and before any user pragma. */
uint32_t dispatch_pos(struct rw *rw, int fi)
{
    struct node *body = &rw->nodes[rw->funcs[fi].body];
    uint32_t pos = body->end - 1; /* the '}' */
    struct kids k = {0};
    clang_visitChildren(body->c, collect, &k);
    for (int i = 0; i < k.n; i++) {
        uint32_t s, e;
        cursor_range(rw, k.v[i], &s, &e);
        if (s == NOPOS)
            continue;
        int leading = clang_getCursorKind(k.v[i]) == CXCursor_DeclStmt;
        for (int j = 0; leading && j < rw->nsites; j++)
            if (rw->sites[j].func == fi && rw->sites[j].at >= s && rw->sites[j].at < e)
                leading = 0;
        for (int j = 0; leading && j < rw->nvars; j++)
            if (rw->vars[j].func == fi && rw->vars[j].is_vla && rw->vars[j].decl >= s &&
                rw->vars[j].decl < e)
                leading = 0;
        if (!leading) {
            pos = s;
            break;
        }
    }
    free(k.v);
    for (int i = 0; i < rw->nprags; i++)
        if (rw->prags[i].func == fi && !rw->prags[i].autoreg && rw->prags[i].hash < pos)
            pos = rw->prags[i].hash;
    return pos;
}
