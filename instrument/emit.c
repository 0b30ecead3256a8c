/*
 * emit.c: the edits that instrument one reaching function: its frame and
 * resume dispatch, a registration point per CKPT_SAVE, and the labels and
 * site numbers of its safe points, including the split statements and the
 * loop transformations of sites in loop conditions and increments.  Every
 * edit keeps the user's newlines, so the lines stay where they were.
 */
#include "rewrite_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the edits of one function share: its sites (contiguous in rw->sites, which
 * collect_sites sorted by function) and its registrations, numbered from 1.  Each
 * registration binds at least one variable, so there are at most MAX_VARS + 1 of
 * them when the count of variables is checked. */
struct fn {
    int fi;
    struct site *sites;
    int nsites;
    struct pragma *regs[MAX_VARS + 1];
    int nregs, nvars;
    struct vla *vlas;       /* see collect_vlas */
    int nvlas;
};

/* A declaration of a variably modified local (a VLA, a pointer to one) with safe
 * points in its scope.  C forbids a jump into that scope, so a resume reaches what
 * is inside it in steps: the dispatch jumps to a label just before the declaration
 * (ckpt__vlaN), the declaration runs with its sizes restored, and a dispatch of
 * its own after it (ckpt__vdispN) goes on with the code the first one took
 * (ckpt__code); registration points inside return there.  Registrations are
 * numbered in text order, so a resume meets outer ones before inner ones. */
struct vla {
    uint32_t pre, after;    /* its declaration statement: start, end */
    uint32_t decl, end;     /* its scope: from its (first) name to the end */
    int up;                 /* the one whose scope holds it, or -1 */
};

/* the innermost VLA scope holding offset off, or -1 */
static int vla_at(const struct fn *F, uint32_t off)
{
    int best = -1;
    for (int i = 0; i < F->nvlas; i++)
        if (off > F->vlas[i].decl && off < F->vlas[i].end &&
            (best < 0 || F->vlas[i].decl > F->vlas[best].decl))
            best = i;
    return best;
}

/* goto text of the dispatch of VLA scope `from` (-1: the top one) for an item in
 * scope `in` whose own label is `label`: its label, or the next step into it */
static void vla_goto(const struct fn *F, struct sbuf *b, int from, int in, const char *label)
{
    int step = in;
    while (step >= 0 && F->vlas[step].up != from)
        step = F->vlas[step].up;
    if (in == from || step < 0)
        sb_printf(b, "goto %s; ", label);
    else
        sb_printf(b, "goto ckpt__vla%d; ", step + 1);
}

/* ckpt__fr.site = K, and the current counts of the p[n] blocks saved at site s, each
 * followed by sep (a statement or an operand of a comma expression) */
static void emit_site_prefix_sep(struct fn *F, struct sbuf *b, struct site *s, const char *sep)
{
    sb_printf(b, "ckpt__fr.site = %d%s", s->k, sep);
    for (int i = 0; i < F->nregs; i++) {
        struct pragma *p = F->regs[i];
        for (int j = 0; j < p->nitems; j++)
            if (p->items[j].count && covers(p, j, s))
                sb_printf(b, "ckpt__v[%d].count = (size_t)(%s)%s", p->first_var + j,
                          p->items[j].count, sep);
    }
}

static void emit_site_prefix(struct fn *F, struct sbuf *b, struct site *s)
{
    emit_site_prefix_sep(F, b, s, "; ");
}

/* the call of site s noting its site itself: (ckpt__fr.site = K, call), for a call
 * evaluated conditionally or again on every turn of a loop */
static void note_site_in_place(struct rw *rw, struct fn *F, struct site *s, uint32_t start,
                               uint32_t end)
{
    struct sbuf w = {0};
    sb_printf(&w, "(");
    emit_site_prefix_sep(F, &w, s, ", ");
    insert(rw, start, 1, w.s);
    free(w.s);
    insert(rw, end, 0, ")");
}

static void emit_binds(struct fn *F, struct sbuf *b, struct pragma *p)
{
    sb_printf(b, "ckpt__reg%d: ", p->reg);
    for (int it = 0; it < p->nitems; it++) {
        struct item *x = &p->items[it];
        sb_printf(b, "ckpt_bind(&ckpt__fr, %d, %d, &%s, sizeof (%s), %s, %s%s%s, %s, \"%s\"); ",
                  p->first_var + it, p->reg, x->expr, x->expr,
                  x->kind == CKPT_KIND_POINTER ? "sizeof (void *)" : x->elem,
                  x->count ? "(size_t)(" : "", x->count ? x->count : "0", x->count ? ")" : "",
                  kind_name(x->kind), x->name);
    }
    int v = vla_at(F, p->hash);
    if (v < 0)
        sb_printf(b, "if (ckpt__fr.resume) goto ckpt__dispatch;");
    else
        sb_printf(b, "if (ckpt__fr.resume) { ckpt__code = ckpt_resume_next(&ckpt__fr); goto ckpt__vdisp%d; }",
                  v + 1);
}

/* Of the n calls of group g, those hoisted (the first nh) or conditional: the first one
 * within [cur, e) but one spanning [s, e), the outermost at equal starts, or -1. */
static int next_call(struct rw *rw, struct site *g, int n, int nh, uint32_t s, uint32_t cur,
                     uint32_t e)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        struct node *c = &rw->nodes[g[i].call];
        if ((i >= nh && !g[i].cond) || c->start < cur || c->end > e ||
            (c->start == s && c->end == e))
            continue;
        if (best < 0 || c->start < rw->nodes[g[best].call].start ||
            (c->start == rw->nodes[g[best].call].start && c->end > rw->nodes[g[best].call].end))
            best = i;
    }
    return best;
}

/* Text of [s,e) on one line with the calls of group g (n sites, the first nh hoisted)
 * inside it: a hoisted call replaced by its temporary, a conditional one noting its
 * site in place, (ckpt__fr.site = K, call).  A call spanning [s,e) exactly is the one
 * being written out. */
static char *subst_calls(struct rw *rw, struct fn *F, uint32_t s, uint32_t e, struct site *g,
                         int n, int nh)
{
    struct sbuf b = {0};
    uint32_t cur = s;
    sb_add(&b, "", 0);
    for (;;) {
        int best = next_call(rw, g, n, nh, s, cur, e);
        if (best < 0)
            break;
        struct node *c = &rw->nodes[g[best].call];
        char *t = flat(rw, cur, c->start);
        sb_printf(&b, "%s", t);
        free(t);
        if (best < nh) {
            sb_printf(&b, "ckpt__h%d", g[best].k);
        } else {
            char *ct = flat(rw, c->start, c->end);
            sb_printf(&b, "(");
            emit_site_prefix_sep(F, &b, &g[best], ", ");
            sb_printf(&b, "%s)", ct);
            free(ct);
        }
        cur = c->end;
    }
    char *t = flat(rw, cur, e);
    sb_printf(&b, "%s", t);
    free(t);
    return b.s;
}

/* The statements before a split statement or loop part holding the sites of group g:
 * the temporaries, their registration, and each site's label with its hoisted call
 *   T1 ckpt__hK1; ... regR: bind...; site K1: ckpt__hK1 = call1; ... site Kn: */
static void emit_group_head(struct rw *rw, struct fn *F, struct site *g, struct sbuf *b)
{
    struct pragma *p = &rw->prags[g->group];
    int nh = p->nhoist;
    for (int i = 0; i < nh; i++) {
        struct node *c = &rw->nodes[g[i].call];
        char *txt = subst_calls(rw, F, c->start, c->end, g, nh, nh);
        sb_printf(b, "__typeof__(%s) ckpt__h%d; ", txt, g[i].k);
        free(txt);
    }
    if (p->nitems) {
        emit_binds(F, b, p);
        sb_printf(b, " ");
    }
    for (int i = 0; i < g->gcount; i++) {
        if (!g[i].cond)
            emit_site_prefix(F, b, &g[i]);
        sb_printf(b, "ckpt__site%d: ", g[i].k);
        if (i < nh) {
            struct node *c = &rw->nodes[g[i].call];
            char *txt = subst_calls(rw, F, c->start, c->end, g, nh, nh);
            sb_printf(b, "ckpt__h%d = %s; ", g[i].k, txt);
            free(txt);
        }
    }
}

/* A loop condition or increment [es,ee) holding the sites of group g (or the single site
 * g when g->group < 0): the statements that go before it (temporaries, their
 * registration, hoisted calls with their sites, the labels) and the expression to
 * evaluate after them, both on one line. */
static void loop_part(struct rw *rw, struct fn *F, struct site *g, uint32_t es, uint32_t ee,
                      struct sbuf *pre, char **expr)
{
    if (g->group < 0) {
        emit_site_prefix(F, pre, g);
        sb_printf(pre, "ckpt__site%d: ", g->k);
        *expr = flat(rw, es, ee);
        return;
    }
    int n = g->gcount, nh = rw->prags[g->group].nhoist;
    emit_group_head(rw, F, g, pre);
    /* the expression: hoisted calls replaced, conditional ones noting their site */
    *expr = subst_calls(rw, F, es, ee, g, n, nh);
}

/* F's sites and registrations; -1 after an error (too many variables) */
static int fn_init(struct rw *rw, int fi, struct fn *F)
{
    memset(F, 0, sizeof *F);
    F->fi = fi;
    for (int i = 0; i < rw->nsites; i++)
        if (rw->sites[i].func == fi) {
            if (!F->sites)
                F->sites = &rw->sites[i];
            F->nsites++;
        }
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->func != fi || !p->is_save || (p->synthetic && !p->nitems))
            continue;
        F->regs[F->nregs++] = p;
        F->nvars += p->nitems;
        if (F->nvars > MAX_VARS) {
            diag(rw, p->hash, "error", "too many variables saved in '%s': at most %d per function",
                 rw->funcs[fi].name, MAX_VARS);
            return -1;
        }
    }
    /* in text order (insertion sort: stable, and the lists are short) */
    for (int i = 1; i < F->nregs; i++)
        for (int j = i; j > 0 && F->regs[j - 1]->hash > F->regs[j]->hash; j--) {
            struct pragma *t = F->regs[j];
            F->regs[j] = F->regs[j - 1];
            F->regs[j - 1] = t;
        }
    for (int i = 0, nv = 0; i < F->nregs; nv += F->regs[i++]->nitems) {
        F->regs[i]->reg = i + 1;
        F->regs[i]->first_var = nv;
    }
    return 0;
}

static uint32_t site_pos(struct rw *rw, const struct site *s)
{
    int in_header = s->how == R_FOR_COND || s->how == R_FOR_INC || s->how == R_DO_COND;
    return in_header ? rw->nodes[s->call].start : s->at;
}

/* The VLA scopes of F that hold a site (see struct vla). */
static void collect_vlas(struct rw *rw, struct fn *F)
{
    for (int i = 0; i < rw->nvars; i++) {
        struct var *v = &rw->vars[i];
        if (v->func != F->fi || !v->is_vla || v->stmt < 0)
            continue;
        int any = 0;
        for (int j = 0; j < F->nsites && !any; j++)
            any = site_pos(rw, &F->sites[j]) > v->decl && site_pos(rw, &F->sites[j]) < v->send;
        uint32_t pre = rw->nodes[v->stmt].start;
        for (int j = 0; j < F->nvlas && any; j++)
            any = F->vlas[j].pre != pre; /* a second VLA of the same declaration */
        if (!any)
            continue;
        F->vlas = xrealloc(F->vlas, (size_t)(F->nvlas + 1) * sizeof *F->vlas);
        F->vlas[F->nvlas++] = (struct vla){pre, stmt_end(rw, v->stmt), v->decl, v->send, -1};
    }
    for (int i = 0; i < F->nvlas; i++)
        F->vlas[i].up = vla_at(F, F->vlas[i].pre);
}

/* is VLA scope `from` (-1: the function's body) on the way to scope in? */
static int on_way(const struct fn *F, int from, int in)
{
    if (from < 0)
        return 1;
    for (int up = in; up >= 0; up = F->vlas[up].up)
        if (up == from)
            return 1;
    return 0;
}

/* The cases of the dispatch of VLA scope `from` (-1: the top one): each
 * registration point (-R) and site (K) reached through it. */
static void dispatch_cases(struct rw *rw, const struct fn *F, struct sbuf *b, int from)
{
    char label[32];
    for (int q = 0; q < F->nregs; q++) {
        int in = vla_at(F, F->regs[q]->hash);
        if (!on_way(F, from, in))
            continue;
        snprintf(label, sizeof label, "ckpt__reg%d", q + 1);
        sb_printf(b, "case -%d: ", q + 1);
        vla_goto(F, b, from, in, label);
    }
    for (int j = 0; j < F->nsites; j++) {
        int in = vla_at(F, site_pos(rw, &F->sites[j]));
        if (!on_way(F, from, in))
            continue;
        snprintf(label, sizeof label, "ckpt__site%d", j + 1);
        sb_printf(b, "case %d: ", j + 1);
        vla_goto(F, b, from, in, label);
    }
}

/* The label before each VLA declaration, and the dispatch after it: the items
 * of its scope, each by its label or the next VLA on its way. */
static void emit_vla_dispatches(struct rw *rw, struct fn *F)
{
    for (int i = 0; i < F->nvlas; i++) {
        struct sbuf b = {0}, l = {0};
        sb_printf(&l, "ckpt__vla%d: ; ", i + 1);
        insert(rw, F->vlas[i].pre, 2, l.s);   /* after a registration point there */
        free(l.s);
        sb_printf(&b, "if (ckpt__fr.resume) { ckpt__vdisp%d: switch (ckpt__code) { ", i + 1);
        dispatch_cases(rw, F, &b, i);
        sb_printf(&b, "default: ckpt_resume_lost(&ckpt__fr); } } ");
        insert(rw, F->vlas[i].after, 0, b.s);
        free(b.s);
    }
}

/* after the body's '{': the frame, the variables, and per site its live mask of
 * (nvars + 63) / 64 words (at least one), bit i for variable i (see ckpt.h) */
static void emit_frame(struct rw *rw, struct fn *F, struct node *body)
{
    struct sbuf b = {0};
    int words = F->nvars > 64 ? (F->nvars + 63) / 64 : 1;
    uint64_t *mask = xrealloc(NULL, (size_t)words * sizeof *mask);
    sb_printf(&b, " struct ckpt_frame ckpt__fr __attribute__((cleanup(ckpt_leave))); "
                  "struct ckpt_var ckpt__v[%d]; %sstatic const uint64_t ckpt__live[] = {0",
              F->nvars ? F->nvars : 1, F->nvlas ? "int ckpt__code; " : "");
    for (int w = 1; w < words; w++)
        sb_printf(&b, ", 0");
    for (int j = 0; j < F->nsites; j++) {
        memset(mask, 0, (size_t)words * sizeof *mask);
        for (int q = 0; q < F->nregs; q++)
            for (int it = 0; it < F->regs[q]->nitems; it++)
                if (covers(F->regs[q], it, &F->sites[j])) {
                    int v = F->regs[q]->first_var + it;
                    mask[v / 64] |= (uint64_t)1 << (v % 64);
                }
        for (int w = 0; w < words; w++)
            sb_printf(&b, ", 0x%llx", (unsigned long long)mask[w]);
    }
    sb_printf(&b, "};");
    insert(rw, body->start + 1, 0, b.s);
    free(mask);
    free(b.s);
}


/* ckpt_enter, and in a resume the switch to each registration point and site */
static void emit_dispatch(struct rw *rw, struct fn *F, struct node *body)
{
    struct sbuf b = {0};
    sb_printf(&b, "ckpt_enter(&ckpt__fr, \"%s\", ckpt__v, %d, ckpt__live); if (ckpt__fr.resume) { ",
              rw->funcs[F->fi].name, F->nvars);
    if (F->nregs)
        sb_printf(&b, "ckpt__dispatch: ");
    sb_printf(&b, "switch (%sckpt_resume_next(&ckpt__fr)) { ", F->nvlas ? "ckpt__code = " : "");
    dispatch_cases(rw, F, &b, -1);
    sb_printf(&b, "default: ckpt_resume_lost(&ckpt__fr); } } ");
    insert(rw, dispatch_pos(rw, F->fi), 0, b.s);
    free(b.s);
}

/* each user CKPT_SAVE becomes its registration point */
static void emit_registrations(struct rw *rw, struct fn *F)
{
    for (int q = 0; q < F->nregs; q++) {
        struct pragma *p = F->regs[q];
        if (p->synthetic)
            continue;
        struct sbuf b = {0};
        emit_binds(F, &b, p);
        if (p->autoreg)
            sb_printf(&b, " ");
        edit(rw, p->hash, p->end, 1, b.s);
    }
}

/* CKPT_CHECKPOINT: the pragma becomes the site and a call of ckpt_checkpoint */
static void emit_checkpoint_site(struct rw *rw, struct fn *F, struct site *s)
{
    struct pragma *p = &rw->prags[s->pragma];
    struct sbuf pre = {0}, t = {0};
    emit_site_prefix(F, &pre, s);
    if (p->poll) {
        sb_printf(&t, "if (__builtin_expect(ckpt_requested, 0)) { %sckpt__site%d: ckpt_checkpoint(); } ",
                  pre.s, s->k);
        edit(rw, p->hash, p->end, 1, t.s);
        free(pre.s);
        return;
    }
    /* the operator form may be the body of an if: one statement, that takes the
     * ';' written after it, if any */
    int semi = p->op && tok_is(rw, tok_at(rw, p->end), ";");
    sb_printf(&t, "%s%sckpt__site%d: ckpt_checkpoint();%s", semi ? "do { " : p->op ? "{ " : "",
              pre.s, s->k, semi ? " } while (0)" : p->op ? " }" : "");
    edit(rw, p->hash, p->end, 1, t.s);
    free(pre.s);
}

/* A statement holding several reaching calls, from its first site g:
 *   { T1 ckpt__hK1; ... regR: bind...; site K1: ckpt__hK1 = call1; ...
 *     site Kn: statement with call1..n-1 replaced by their temporaries }
 * and while (C) B  ->  for (;;) { temporaries, sites; if (!(C)) break; B } */
static void emit_split_stmt(struct rw *rw, struct fn *F, struct site *g)
{
    struct node *a = &rw->nodes[g->anchor];
    int nh = rw->prags[g->group].nhoist;
    int decl = a->kind == CXCursor_DeclStmt && g->how == R_STMT;
    int loop = a->kind == CXCursor_WhileStmt;
    struct sbuf t = {0};
    if (loop)
        sb_printf(&t, "for (;;) { ");
    else if (!decl)
        sb_printf(&t, "{ ");
    emit_group_head(rw, F, g, &t);
    if (decl)
        sb_printf(&t, "; ");
    if (loop) {
        int wt = tok_at(rw, a->start), rp = tok_match(rw, wt + 1);
        int body = -1;
        for (int i = g->anchor + 1; i < rw->nnodes && rw->nodes[i].start < a->end; i++)
            if (rw->nodes[i].parent == g->anchor)
                body = i;
        sb_printf(&t, "if (!");
        edit(rw, a->start, a->start + 5, 1, strdup(t.s));
        insert(rw, rw->toks[rp].off + 1, 0, ") break;");
        insert(rw, stmt_end(rw, body), END_PRIO(a->start, 1), " }");
    } else {
        insert(rw, a->start, 1, t.s);
    }
    free(t.s);
    /* the outermost hoisted calls in the statement become their temporaries */
    for (int i = 0; i < nh; i++) {
        struct node *c = &rw->nodes[g[i].call];
        int inner = 0;
        for (int j = 0; j < nh; j++) {
            struct node *o = &rw->nodes[g[j].call];
            if (j != i && o->start <= c->start && o->end >= c->end)
                inner = 1;
        }
        if (inner)
            continue;
        char *nl = newlines_of(rw, c->start, c->end);
        struct sbuf r = {0};
        sb_printf(&r, "ckpt__h%d%s", g[i].k, nl);
        free(nl);
        edit(rw, c->start, c->end, 1, r.s);
    }
    /* conditional calls note their site themselves */
    for (int i = nh; i < g->gcount; i++)
        if (g[i].cond)
            note_site_in_place(rw, F, &g[i], rw->nodes[g[i].call].start, rw->nodes[g[i].call].end);
    if (!decl && !loop)
        insert(rw, stmt_end(rw, g->anchor), END_PRIO(a->start, 0), " }");
}

/* a statement with one reaching call: its label, braces when it is a body */
static void emit_stmt_site(struct rw *rw, struct fn *F, struct site *s)
{
    struct node *a = &rw->nodes[s->anchor];
    struct sbuf pre = {0}, t = {0};
    if (s->how == R_BODY)
        sb_printf(&t, "{ ");
    if (a->kind == CXCursor_WhileStmt) {
        /* The condition runs again on every turn, after other sites of the
         * body: it notes its site itself, (ckpt__fr.site = K, cond). */
        int lp = tok_at(rw, a->start) + 1, rp = tok_match(rw, lp);
        note_site_in_place(rw, F, s, rw->toks[lp].off + 1, rw->toks[rp].off);
        sb_add(&pre, "", 0);
    } else {
        emit_site_prefix(F, &pre, s);
    }
    sb_printf(&t, "%sckpt__site%d: %s", pre.s, s->k, a->kind == CXCursor_DeclStmt ? "; " : "");
    insert(rw, a->start, 1, t.s);
    free(t.s);
    free(pre.s);
    if (s->how == R_BODY)
        insert(rw, stmt_end(rw, s->anchor), END_PRIO(a->start, 0), " }");
}

/* for (init; cond; inc) body with sites in cond or inc, from the first of them s
 * (see emit_loop_site); be is the end of the body */
static void emit_for_sites(struct rw *rw, struct fn *F, struct site *s, uint32_t be)
{
    struct node *a = &rw->nodes[s->anchor];
    /* a call in the condition and one in the increment: one transformation */
    struct site *sc = NULL, *si = NULL;
    for (int q = 0; q < F->nsites; q++) {
        struct site *x = &F->sites[q];
        if (x->anchor != s->anchor)
            continue;
        if (x->how == R_FOR_COND && !sc)
            sc = x;
        if (x->how == R_FOR_INC && !si)
            si = x;
    }
    if (s != (sc ? sc : si))
        return;
    int lp, s1, s2, rp;
    for_header(rw, a->start, &lp, &s1, &s2, &rp);
    uint32_t cs = rw->toks[s1].off + 1, ce = rw->toks[s2].off;
    uint32_t is = rw->toks[s2].off + 1, ie = rw->toks[rp].off;
    struct sbuf pc = {0}, pi = {0}, head = {0}, tail = {0};
    char *cond = NULL, *inc = NULL;
    if (sc)
        loop_part(rw, F, sc, cs, ce, &pc, &cond);
    else
        cond = flat(rw, cs, ce);
    if (si)
        loop_part(rw, F, si, is, ie, &pi, &inc);
    else
        inc = flat(rw, is, ie);
    int has_cond = 0;
    for (char *c = cond; *c; c++)
        has_cond |= !isspace((unsigned char)*c);
    char *nl = newlines_of(rw, cs, rw->toks[rp].off + 1);
    sb_printf(&head, "%s;) { int ckpt__b%d; ", nl, s->k);
    free(nl);
    if (sc)
        sb_printf(&head, "%s", pc.s);
    if (has_cond)
        sb_printf(&head, "if (!(%s)) break; ", cond);
    sb_printf(&head, "for (ckpt__b%d = 1; ckpt__b%d; ckpt__b%d = 0) ", s->k, s->k, s->k);
    edit(rw, cs, rw->toks[rp].off + 1, 1, head.s);
    sb_printf(&tail, " if (ckpt__b%d) break; ", s->k);
    if (si)
        sb_printf(&tail, "%s", pi.s);
    sb_printf(&tail, "%s; }", inc);
    insert(rw, be, END_PRIO(a->start, 1), tail.s);
    free(tail.s);
    free(pc.s);
    free(pi.s);
    free(cond);
    free(inc);
}

/* do body while (cond); with sites in cond, from the first of them s */
static void emit_do_sites(struct rw *rw, struct fn *F, struct site *s, uint32_t be)
{
    int t0 = tok_at(rw, rw->nodes[s->anchor].start);
    int wt = tok_at(rw, be);
    int lp = wt + 1, rp = tok_match(rw, lp);
    if (!tok_is(rw, wt, "while") || rp < 0) {
        diag(rw, rw->nodes[s->call].start, "error", "cannot instrument this do loop");
        return;
    }
    if (s->gpos != 0)
        return;
    char *cond = NULL;
    struct sbuf pd = {0}, head = {0}, tail = {0};
    loop_part(rw, F, s, rw->toks[lp].off + 1, rw->toks[rp].off, &pd, &cond);
    sb_printf(&head, "for (;;) { int ckpt__b%d; for (ckpt__b%d = 1; ckpt__b%d; ckpt__b%d = 0)",
              s->k, s->k, s->k, s->k);
    edit(rw, rw->toks[t0].off, rw->toks[t0].off + 2, 1, head.s);
    char *nl = newlines_of(rw, rw->toks[wt].off, rw->toks[rp].off + 1);
    sb_printf(&tail, "%s if (ckpt__b%d) break; %sif (!(%s)) break; }", nl, s->k, pd.s, cond);
    free(nl);
    free(pd.s);
    edit(rw, rw->toks[wt].off, rw->toks[rp].off + 1, 1, tail.s);
    free(cond);
}

/* A call in a for condition/increment or a do-while condition: the loop becomes
 *   for (init;;) { int ckpt__bK; [site: if (!(cond)) break;]
 *       for (ckpt__bK = 1; ckpt__bK; ckpt__bK = 0) body
 *       if (ckpt__bK) break; [site:] inc; }
 * so that continue still runs the increment and break still leaves the loop. */
static void emit_loop_site(struct rw *rw, struct fn *F, struct site *s)
{
    struct node *a = &rw->nodes[s->anchor];
    struct kids k = {0};
    clang_visitChildren(a->c, collect, &k);
    int body = k.n ? (a->kind == CXCursor_DoStmt ? 0 : k.n - 1) : -1;
    uint32_t bs = 0, be = 0;
    if (body >= 0)
        cursor_range(rw, k.v[body], &bs, &be);
    free(k.v);
    if (body < 0 || bs == NOPOS) {
        diag(rw, rw->nodes[s->call].start, "error",
             "cannot instrument this loop (its body comes from a macro)");
        return;
    }
    /* the body's end including its ';' */
    int bt = tok_at(rw, be);
    if (tok_is(rw, bt, ";"))
        be = rw->toks[bt].off + 1;
    if (a->kind == CXCursor_ForStmt)
        emit_for_sites(rw, F, s, be);
    else
        emit_do_sites(rw, F, s, be);
}

static void emit_site(struct rw *rw, struct fn *F, struct site *s)
{
    if (s->how == R_ROOT)
        emit_checkpoint_site(rw, F, s);
    else if (s->how != R_STMT && s->how != R_BODY)
        emit_loop_site(rw, F, s);
    else if (s->group < 0)
        emit_stmt_site(rw, F, s);
    else if (s->gpos == 0)
        emit_split_stmt(rw, F, s); /* the group's other sites with it */
}

/* Does node x's subtree change something: a call, an assignment, ++ or --? */
static int has_effects(struct rw *rw, int x)
{
    for (int i = x; i < rw->nnodes && (i == x || is_below(rw, i, x)); i++) {
        enum CXCursorKind k = rw->nodes[i].kind;
        if (k == CXCursor_CallExpr || k == CXCursor_CompoundAssignOperator || k == CXCursor_StmtExpr)
            return 1;
        if (k != CXCursor_BinaryOperator && k != CXCursor_UnaryOperator)
            continue;
        for (int t = tok_at(rw, rw->nodes[i].start);
             t < rw->ntoks && rw->toks[t].off < rw->nodes[i].end; t++)
            if (tok_is(rw, t, "=") || tok_is(rw, t, "++") || tok_is(rw, t, "--"))
                return 1;
    }
    return 0;
}

/* The declarations before the dispatch run again when a restarted task
 * enters the function to rebuild its frame; an initializer with an effect
 * (a malloc, a rand(), a strtok) must not:
 *   T x = init;  ->  T x = ckpt_rebuilding("f") ? (__typeof__(init)){0} : (init);
 * (x itself is restored from the image).  A braced initializer is left. */
static void guard_leading_inits(struct rw *rw, struct fn *F)
{
    uint32_t entry = dispatch_pos(rw, F->fi);
    for (int vi = 0; vi < rw->nvars; vi++) {
        struct var *v = &rw->vars[vi];
        if (v->func != F->fi || v->is_param || v->is_static || v->stmt < 0 || !v->has_init ||
            v->decl >= entry)
            continue;
        int init = -1;
        for (int i = v->stmt + 1; i < rw->nnodes && is_below(rw, i, v->stmt); i++)
            if (rw->nodes[i].parent >= 0 && rw->nodes[rw->nodes[i].parent].kind == CXCursor_VarDecl &&
                rw->nodes[i].start != NOPOS && rw->nodes[i].start > v->decl &&
                clang_isExpression(rw->nodes[i].kind) &&
                loc_off(rw, clang_getCursorLocation(rw->nodes[rw->nodes[i].parent].c)) == v->decl)
                init = i;
        if (init < 0 || rw->nodes[init].kind == CXCursor_InitListExpr || !has_effects(rw, init))
            continue;
        char *text = flat(rw, rw->nodes[init].start, rw->nodes[init].end);
        struct sbuf b = {0};
        sb_printf(&b, "ckpt_rebuilding(\"%s\") ? (__typeof__(%s)){0} : (", rw->funcs[F->fi].name,
                  text);
        insert(rw, rw->nodes[init].start, 1, b.s);
        insert(rw, rw->nodes[init].end, END_PRIO(rw->nodes[init].start, 1), ")");
        free(b.s);
        free(text);
    }
}

void instrument_func(struct rw *rw, int fi)
{
    struct fn F;
    struct node *body = &rw->nodes[rw->funcs[fi].body];
    if (fn_init(rw, fi, &F) < 0)
        return;
    collect_vlas(rw, &F);
    emit_frame(rw, &F, body);
    emit_dispatch(rw, &F, body);
    emit_vla_dispatches(rw, &F);
    emit_registrations(rw, &F);
    guard_leading_inits(rw, &F);
    for (int j = 0; j < F.nsites; j++)
        emit_site(rw, &F, &F.sites[j]);
    free(F.vlas);
}
