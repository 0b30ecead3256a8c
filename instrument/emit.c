/*
 * emit.c: the edits that instrument one reaching function: its frame and
 * resume dispatch, a registration point per CKPT_SAVE, and the labels and
 * site numbers of its safe points, including the split statements and the
 * loop transformations of sites in loop conditions and increments.  Every
 * edit keeps the user's newlines, so the lines stay where they were.
 */
#include "rewrite_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void emit_site_prefix_sep(struct rw *rw, struct sbuf *b, struct site *s,
                                 struct pragma **pr, int npr, const char *sep)
{
    sb_printf(b, "ckpt__fr.site = %d%s", s->k, sep);
    for (int i = 0; i < npr; i++) {
        struct pragma *p = pr[i];
        for (int j = 0; j < p->nitems; j++)
            if (p->items[j].count && covers(p, j, s))
                sb_printf(b, "ckpt__v[%d].count = (size_t)(%s)%s", p->first_var + j,
                          p->items[j].count, sep);
    }
}

static void emit_site_prefix(struct rw *rw, struct sbuf *b, struct site *s, struct pragma **pr,
                             int npr)
{
    emit_site_prefix_sep(rw, b, s, pr, npr, "; ");
}

static void emit_binds(struct sbuf *b, struct pragma *p)
{
    sb_printf(b, "ckpt__reg%d: ", p->reg);
    for (int it = 0; it < p->nitems; it++) {
        struct item *x = &p->items[it];
        sb_printf(b, "ckpt_bind(&ckpt__fr, %d, %d, &%s, sizeof (%s), %s, %s%s%s, %s, \"%s\"); ",
                  p->first_var + it, p->reg, x->expr, x->expr,
                  x->kind == CKPT_KIND_POINTER ? "sizeof (void *)" : x->elem, x->count ? "(size_t)(" : "",
                  x->count ? x->count : "0", x->count ? ")" : "", kind_name(x->kind), x->name);
    }
    sb_printf(b, "if (ckpt__fr.resume) goto ckpt__dispatch;");
}

/* text of [s,e) on one line with the hoisted calls of group g inside it replaced by their
 * temporaries (all but the last call of the group) */
static char *subst_calls(struct rw *rw, uint32_t s, uint32_t e, struct site *g, int nh)
{
    struct sbuf b = {0};
    uint32_t cur = s;
    sb_add(&b, "", 0);
    for (;;) {
        int best = -1;
        for (int i = 0; i < nh; i++) {
            struct node *c = &rw->nodes[g[i].call];
            if (c->start >= cur && c->end <= e && !(c->start == s && c->end == e) &&
                (best < 0 || c->start < rw->nodes[g[best].call].start ||
                 (c->start == rw->nodes[g[best].call].start &&
                  c->end > rw->nodes[g[best].call].end)))
                best = i;
        }
        if (best < 0)
            break;
        struct node *c = &rw->nodes[g[best].call];
        char *t = flat(rw, cur, c->start);
        sb_printf(&b, "%sckpt__h%d", t, g[best].k);
        free(t);
        cur = c->end;
    }
    char *t = flat(rw, cur, e);
    sb_printf(&b, "%s", t);
    free(t);
    return b.s;
}

/* A loop condition or increment [es,ee) holding the sites of group g (or the single site
 * g when g->group < 0): the statements that go before it (temporaries, their
 * registration, hoisted calls with their sites, the labels) and the expression to
 * evaluate after them, both on one line. */
static void loop_part(struct rw *rw, struct site *g, struct pragma **pr, int npr, uint32_t es,
                      uint32_t ee, struct sbuf *pre, char **expr)
{
    if (g->group < 0) {
        emit_site_prefix(rw, pre, g, pr, npr);
        sb_printf(pre, "ckpt__site%d: ", g->k);
        *expr = flat(rw, es, ee);
        return;
    }
    struct pragma *p = &rw->prags[g->group];
    int n = g->gcount, nh = p->nhoist;
    for (int i = 0; i < nh; i++) {
        struct node *c = &rw->nodes[g[i].call];
        char *txt = subst_calls(rw, c->start, c->end, g, nh);
        sb_printf(pre, "__typeof__(%s) ckpt__h%d; ", txt, g[i].k);
        free(txt);
    }
    if (p->nitems) {
        emit_binds(pre, p);
        sb_printf(pre, " ");
    }
    for (int i = 0; i < n; i++) {
        if (!g[i].cond)
            emit_site_prefix(rw, pre, &g[i], pr, npr);
        sb_printf(pre, "ckpt__site%d: ", g[i].k);
        if (i < nh) {
            struct node *c = &rw->nodes[g[i].call];
            char *txt = subst_calls(rw, c->start, c->end, g, nh);
            sb_printf(pre, "ckpt__h%d = %s; ", g[i].k, txt);
            free(txt);
        }
    }
    /* the expression: hoisted calls replaced, conditional ones noting their site */
    struct sbuf x = {0};
    uint32_t cur = es;
    sb_add(&x, "", 0);
    for (;;) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            struct node *c = &rw->nodes[g[i].call];
            if (i >= nh && !g[i].cond)
                continue;
            if (c->start < cur || c->end > ee)
                continue;
            if (best < 0 || c->start < rw->nodes[g[best].call].start ||
                (c->start == rw->nodes[g[best].call].start &&
                 c->end > rw->nodes[g[best].call].end))
                best = i;
        }
        if (best < 0)
            break;
        struct node *c = &rw->nodes[g[best].call];
        char *t = flat(rw, cur, c->start);
        sb_printf(&x, "%s", t);
        free(t);
        if (best < nh) {
            sb_printf(&x, "ckpt__h%d", g[best].k);
        } else {
            char *ct = flat(rw, c->start, c->end);
            sb_printf(&x, "(");
            emit_site_prefix_sep(rw, &x, &g[best], pr, npr, ", ");
            sb_printf(&x, "%s)", ct);
            free(ct);
        }
        cur = c->end;
    }
    char *t = flat(rw, cur, ee);
    sb_printf(&x, "%s", t);
    free(t);
    *expr = x.s;
}

static int is_decl_stmt(struct rw *rw, int node)
{
    return rw->nodes[node].kind == CXCursor_DeclStmt;
}

void instrument_func(struct rw *rw, int fi)
{
    struct func *f = &rw->funcs[fi];
    struct node *body = &rw->nodes[f->body];
    struct pragma *pr[256];
    int npr = 0, nv = 0;
    struct site *first = NULL;
    int nsite = 0;

    for (int i = 0; i < rw->nsites; i++)
        if (rw->sites[i].func == fi) {
            if (!first)
                first = &rw->sites[i];
            nsite++;
        }
    for (int i = 0; i < rw->nprags && npr < 256; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->func != fi || !p->is_save || (p->synthetic && !p->nitems))
            continue;
        p->reg = npr + 1;
        p->first_var = nv;
        pr[npr++] = p;
        nv += p->nitems;
        if (nv > MAX_VARS) {
            diag(rw, p->hash, "error",
                 "too many variables saved in '%s': at most %d per function", f->name, MAX_VARS);
            return;
        }
    }
    /* VLAs: a jump from the dispatch into their scope is not allowed */
    for (int i = 0; i < rw->nvars; i++) {
        struct var *v = &rw->vars[i];
        if (v->func != fi || !v->is_vla)
            continue;
        for (int j = 0; j < nsite; j++) {
            struct site *s = &first[j];
            if (s->at > v->decl && s->at < v->send) {
                uint32_t off = s->call >= 0 ? rw->nodes[s->call].start : s->at;
                diag(rw, off, "error",
                     "safe point in the scope of variable-length array '%s': resuming here "
                     "would jump into its scope",
                     v->name);
                return;
            }
        }
        for (int j = 0; j < npr; j++)
            if (!pr[j]->synthetic && pr[j]->hash > v->decl && pr[j]->hash < v->send) {
                diag(rw, pr[j]->hash, "error",
                     "#pragma CKPT_SAVE in the scope of variable-length array '%s': resuming "
                     "here would jump into its scope",
                     v->name);
                return;
            }
    }

    /* prologue: declarations after '{', enter+dispatch before the first statement */
    struct sbuf b = {0};
    sb_printf(&b, " struct ckpt_frame ckpt__fr __attribute__((cleanup(ckpt_leave))); "
                  "struct ckpt_var ckpt__v[%d]; static const uint64_t ckpt__live[] = {0",
              nv ? nv : 1);
    for (int j = 0; j < nsite; j++) {
        uint64_t mask = 0;
        for (int q = 0; q < npr; q++)
            for (int it = 0; it < pr[q]->nitems; it++)
                if (covers(pr[q], it, &first[j]))
                    mask |= (uint64_t)1 << (pr[q]->first_var + it);
        sb_printf(&b, ", 0x%llx", (unsigned long long)mask);
    }
    sb_printf(&b, "};");
    insert(rw, body->start + 1, 0, b.s);
    free(b.s);
    memset(&b, 0, sizeof b);

    uint32_t pos = body->end - 1; /* the '}' */
    {
        struct kids k = {0};
        clang_visitChildren(body->c, collect, &k);
        for (int i = 0; i < k.n; i++) {
            uint32_t s, e;
            cursor_range(rw, k.v[i], &s, &e);
            if (s == NOPOS)
                continue;
            int leading = clang_getCursorKind(k.v[i]) == CXCursor_DeclStmt;
            for (int j = 0; leading && j < nsite; j++)
                if (first[j].at >= s && first[j].at < e)
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
        for (int q = 0; q < npr; q++)
            if (pr[q]->hash < pos)
                pos = pr[q]->hash;
        for (int i = 0; i < rw->nprags; i++)
            if (rw->prags[i].func == fi && rw->prags[i].hash < pos)
                pos = rw->prags[i].hash;
    }
    sb_printf(&b, "ckpt_enter(&ckpt__fr, \"%s\", ckpt__v, %d, ckpt__live); if (ckpt__fr.resume) { ",
              f->name, nv);
    if (npr)
        sb_printf(&b, "ckpt__dispatch: ");
    sb_printf(&b, "switch (ckpt_resume_next(&ckpt__fr)) { ");
    for (int q = 0; q < npr; q++)
        sb_printf(&b, "case -%d: goto ckpt__reg%d; ", q + 1, q + 1);
    for (int j = 0; j < nsite; j++)
        sb_printf(&b, "case %d: goto ckpt__site%d; ", j + 1, j + 1);
    sb_printf(&b, "default: ckpt_resume_lost(&ckpt__fr); } } ");
    insert(rw, pos, 0, b.s);
    free(b.s);
    b.s = NULL;
    b.n = b.cap = 0;

    /* registration points */
    for (int q = 0; q < npr; q++) {
        struct pragma *p = pr[q];
        if (p->synthetic)
            continue;
        emit_binds(&b, p);
        edit(rw, p->hash, p->end, 1, b.s);
        b.s = NULL;
        b.n = b.cap = 0;
    }

    /* sites */
    for (int j = 0; j < nsite; j++) {
        struct site *s = &first[j];
        struct sbuf pre = {0};
        emit_site_prefix(rw, &pre, s, pr, npr);
        if (s->how == R_ROOT) { /* CKPT_CHECKPOINT */
            struct pragma *p = &rw->prags[s->pragma];
            struct sbuf t = {0};
            /* the operator form may be the body of an if: one statement, that takes the
             * ';' written after it, if any */
            int semi = p->op && tok_is(rw, tok_at(rw, p->end), ";");
            sb_printf(&t, "%s%sckpt__site%d: ckpt_checkpoint();%s",
                      semi ? "do { " : p->op ? "{ " : "", pre.s, s->k,
                      semi ? " } while (0)" : p->op ? " }" : "");
            edit(rw, p->hash, p->end, 1, t.s);
            free(pre.s);
            continue;
        }
        struct node *a = &rw->nodes[s->anchor];
        if (s->group >= 0 && (s->how == R_STMT || s->how == R_BODY)) {
            if (s->gpos != 0) {
                free(pre.s);
                continue;
            }
            /* { T1 ckpt__hK1; ... regR: bind...; site K1: ckpt__hK1 = call1; ...
             *   site Kn: statement with call1..n-1 replaced by their temporaries } */
            struct pragma *p = &rw->prags[s->group];
            int decl = is_decl_stmt(rw, s->anchor) && s->how == R_STMT;
            /* while (C) B  ->  for (;;) { temporaries, sites; if (!(C)) break; B } */
            int loop = a->kind == CXCursor_WhileStmt;
            struct sbuf t = {0};
            if (loop)
                sb_printf(&t, "for (;;) { ");
            else if (!decl)
                sb_printf(&t, "{ ");
            int nh = p->nhoist;
            for (int i = 0; i < nh; i++) {
                struct node *c = &rw->nodes[s[i].call];
                char *txt = subst_calls(rw, c->start, c->end, s, nh);
                sb_printf(&t, "__typeof__(%s) ckpt__h%d; ", txt, s[i].k);
                free(txt);
            }
            if (p->nitems) {
                emit_binds(&t, p);
                sb_printf(&t, " ");
            }
            for (int i = 0; i < s->gcount; i++) {
                struct sbuf pi = {0};
                if (!s[i].cond)
                    emit_site_prefix(rw, &pi, &s[i], pr, npr);
                sb_printf(&t, "%sckpt__site%d: ", pi.s ? pi.s : "", s[i].k);
                free(pi.s);
                if (i < nh) {
                    struct node *c = &rw->nodes[s[i].call];
                    char *txt = subst_calls(rw, c->start, c->end, s, nh);
                    sb_printf(&t, "ckpt__h%d = %s; ", s[i].k, txt);
                    free(txt);
                }
            }
            if (decl)
                sb_printf(&t, "; ");
            if (loop) {
                int wt = tok_at(rw, a->start), rp = tok_match(rw, wt + 1);
                int body = -1;
                for (int i = s->anchor + 1; i < rw->nnodes && rw->nodes[i].start < a->end; i++)
                    if (rw->nodes[i].parent == s->anchor)
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
                struct node *c = &rw->nodes[s[i].call];
                int inner = 0;
                for (int j = 0; j < nh; j++) {
                    struct node *o = &rw->nodes[s[j].call];
                    if (j != i && o->start <= c->start && o->end >= c->end)
                        inner = 1;
                }
                if (inner)
                    continue;
                char *nl = newlines_of(rw, c->start, c->end);
                struct sbuf r = {0};
                sb_printf(&r, "ckpt__h%d%s", s[i].k, nl);
                free(nl);
                edit(rw, c->start, c->end, 1, r.s);
            }
            /* conditional calls note their site themselves: (ckpt__fr.site = K, call) */
            for (int i = nh; i < s->gcount; i++) {
                if (!s[i].cond)
                    continue;
                struct node *c = &rw->nodes[s[i].call];
                struct sbuf w = {0};
                sb_printf(&w, "(");
                emit_site_prefix_sep(rw, &w, &s[i], pr, npr, ", ");
                insert(rw, c->start, 1, w.s);
                free(w.s);
                insert(rw, c->end, 0, ")");
            }
            if (!decl && !loop)
                insert(rw, stmt_end(rw, s->anchor), END_PRIO(a->start, 0), " }");
            free(pre.s);
            continue;
        }
        if (s->how == R_STMT || s->how == R_BODY) {
            struct sbuf t = {0};
            if (s->how == R_BODY)
                sb_printf(&t, "{ ");
            if (a->kind == CXCursor_WhileStmt) {
                /* The condition runs again on every turn, after other sites of the
                 * body: it notes its site itself, (ckpt__fr.site = K, cond). */
                int lp = tok_at(rw, a->start) + 1, rp = tok_match(rw, lp);
                struct sbuf w = {0};
                sb_printf(&w, "(");
                emit_site_prefix_sep(rw, &w, s, pr, npr, ", ");
                insert(rw, rw->toks[lp].off + 1, 1, w.s);
                free(w.s);
                insert(rw, rw->toks[rp].off, 0, ")");
                pre.s[0] = '\0';
            }
            sb_printf(&t, "%sckpt__site%d: %s", pre.s, s->k, is_decl_stmt(rw, s->anchor) ? "; " : "");
            insert(rw, a->start, 1, t.s);
            free(t.s);
            if (s->how == R_BODY)
                insert(rw, stmt_end(rw, s->anchor), END_PRIO(a->start, 0), " }");
            free(pre.s);
            continue;
        }
        /* a call in a for condition/increment or a do-while condition: the loop becomes
         *   for (init;;) { int ckpt__bK; [site: if (!(cond)) break;]
         *       for (ckpt__bK = 1; ckpt__bK; ckpt__bK = 0) body
         *       if (ckpt__bK) break; [site:] inc; }
         * so that continue still runs the increment and break still leaves the loop. */
        struct sbuf head = {0}, tail = {0};
        int t0 = tok_at(rw, a->start);
        int body = -1;
        {
            struct kids k = {0};
            clang_visitChildren(a->c, collect, &k);
            if (k.n)
                body = a->kind == CXCursor_DoStmt ? 0 : k.n - 1;
            uint32_t bs = 0, be = 0;
            if (body >= 0)
                cursor_range(rw, k.v[body], &bs, &be);
            free(k.v);
            if (body < 0 || bs == NOPOS) {
                diag(rw, rw->nodes[s->call].start, "error",
                     "cannot instrument this loop (its body comes from a macro)");
                free(pre.s);
                continue;
            }
            /* the body's end including its ';' */
            int bt = tok_at(rw, be);
            if (tok_is(rw, bt, ";"))
                be = rw->toks[bt].off + 1;
            if (a->kind == CXCursor_ForStmt) {
                /* a call in the condition and one in the increment: one transformation */
                struct site *sc = NULL, *si = NULL;
                for (int q = 0; q < nsite; q++) {
                    if (first[q].anchor != s->anchor)
                        continue;
                    if (first[q].how == R_FOR_COND && !sc)
                        sc = &first[q];
                    if (first[q].how == R_FOR_INC && !si)
                        si = &first[q];
                }
                if (s != (sc ? sc : si)) {
                    free(pre.s);
                    continue;
                }
                struct sbuf pc = {0}, pi = {0};
                int lp = t0 + 1, rp = tok_match(rw, lp), s1 = -1, s2 = -1, depth = 0;
                for (int i = lp + 1; i < rp; i++) {
                    if (tok_is(rw, i, "(") || tok_is(rw, i, "[") || tok_is(rw, i, "{"))
                        depth++;
                    else if (tok_is(rw, i, ")") || tok_is(rw, i, "]") || tok_is(rw, i, "}"))
                        depth--;
                    else if (!depth && tok_is(rw, i, ";"))
                        s1 < 0 ? (s1 = i) : (s2 = i);
                }
                uint32_t cs = rw->toks[s1].off + 1, ce = rw->toks[s2].off;
                uint32_t is = rw->toks[s2].off + 1, ie = rw->toks[rp].off;
                char *cond = NULL, *inc = NULL;
                if (sc)
                    loop_part(rw, sc, pr, npr, cs, ce, &pc, &cond);
                else
                    cond = flat(rw, cs, ce);
                if (si)
                    loop_part(rw, si, pr, npr, is, ie, &pi, &inc);
                else
                    inc = flat(rw, is, ie);
                int has_cond = 0;
                for (char *c = cond; *c; c++)
                    has_cond |= !isspace((unsigned char)*c);
                sb_printf(&head, "%s;) { int ckpt__b%d; ", newlines_of(rw, cs, rp + 1 <= rw->ntoks ? rw->toks[rp].off + 1 : ie), s->k);
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
                free(pc.s);
                free(pi.s);
                insert(rw, be, END_PRIO(a->start, 1), tail.s);
                free(cond);
                free(inc);
            } else { /* do body while (cond); */
                int wt = tok_at(rw, be);
                int lp = wt + 1, rp = tok_match(rw, lp);
                if (!tok_is(rw, wt, "while") || rp < 0) {
                    diag(rw, rw->nodes[s->call].start, "error", "cannot instrument this do loop");
                    free(pre.s);
                    continue;
                }
                if (s->gpos != 0) {
                    free(pre.s);
                    continue;
                }
                char *cond = NULL;
                struct sbuf pd = {0};
                loop_part(rw, s, pr, npr, rw->toks[lp].off + 1, rw->toks[rp].off, &pd, &cond);
                sb_printf(&head, "for (;;) { int ckpt__b%d; for (ckpt__b%d = 1; ckpt__b%d; ckpt__b%d = 0)",
                          s->k, s->k, s->k, s->k);
                edit(rw, rw->toks[t0].off, rw->toks[t0].off + 2, 1, head.s);
                sb_printf(&tail, "%s if (ckpt__b%d) break; %sif (!(%s)) break; }",
                          newlines_of(rw, rw->toks[wt].off, rw->toks[rp].off + 1), s->k, pd.s,
                          cond);
                free(pd.s);
                edit(rw, rw->toks[wt].off, rw->toks[rp].off + 1, 1, tail.s);
                free(cond);
            }
        }
        free(pre.s);
    }
}
