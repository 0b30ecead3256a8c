/*
 * rewrite.c: the libclang rewriter of ckpt-cc (see rewrite.h and include/ckpt.h).
 *
 * One pass over the translation unit builds a small tree of every function
 * body defined outside system headers (cursor, extent as main-file offsets,
 * parent, and the role the node plays for its parent: statement in a block,
 * body of a control statement, for/do condition...).  From it:
 *
 *   - the call graph and the fixpoint "can reach a safe point";
 *   - for each reaching call, its anchor: the statement a restarted task
 *     re-executes (labelled ckpt__siteK);
 *   - the local variables and their scopes, to resolve CKPT_SAVE names and
 *     compute which saved variables are live at each site.
 *
 * Pragmas have no cursor: they are found in the main file's token stream.
 * The output is the original text plus a list of edits that never add a
 * newline inside the user's code, so one #line directive keeps every line.
 */
#define _GNU_SOURCE
#include "rewrite.h"

#include <clang-c/Index.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VARS 64
#define NOPOS UINT32_MAX

/* ---- small helpers ---------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "ckpt-cc: out of memory\n");
        exit(1);
    }
    return q;
}
#define GROW(arr, n, cap)                                                     \
    do {                                                                      \
        if ((n) >= (cap)) {                                                   \
            (cap) = (cap) ? 2 * (cap) : 16;                                   \
            (arr) = xrealloc((arr), (size_t)(cap) * sizeof *(arr));           \
        }                                                                     \
    } while (0)

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char *tmp = NULL;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "ckpt-cc: out of memory\n");
        exit(1);
    }
    sb_add(b, tmp, (size_t)n);
    free(tmp);
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *cxstr(CXString s)
{
    const char *c = clang_getCString(s);
    char *r = strdup(c ? c : "");
    clang_disposeString(s);
    return r;
}

/* ---- data ------------------------------------------------------------- */

enum role {
    R_ROOT,     /* a function body */
    R_STMT,     /* a statement directly in a block */
    R_BODY,     /* the body of if/else/while/for/do/case/label: braces needed */
    R_EXPR,     /* part of an expression or a condition re-evaluated by re-running its statement */
    R_FOR_INIT,
    R_FOR_COND,
    R_FOR_INC,
    R_DO_COND,
};

struct node {
    CXCursor c;
    enum CXCursorKind kind;
    uint32_t start, end; /* main-file offsets, NOPOS if elsewhere */
    int parent;
    enum role role;
    int func;
};

struct call {
    int node;
    int func;          /* caller */
    int callee;        /* index of a defined function, or -1 */
    int reach_fixed;   /* 1: reaches whatever the callee does (safe point, unknown) */
};

struct func {
    char *name, *usr;
    int body;          /* node index of the body */
    int in_main;
    int reach;
};

struct var {
    char *name;
    int func;
    uint32_t decl;              /* offset of the name */
    uint32_t sstart, send;      /* scope */
    int is_param, is_static, is_register, is_vla, has_init;
    CXCursor c;
    CXType type;
};

struct tok {
    CXTokenKind kind;
    uint32_t off, len;
};

/* a registered object of one CKPT_SAVE item */
struct item {
    char *expr;     /* C lvalue text: a, s.f */
    char *name;     /* as written: a, s.f, p */
    char *count;    /* BLOCK count text or NULL */
    unsigned kind;
    char *elem;     /* C expression for the element size */
    int var;        /* index in vars[] (locals), -1 for globals */
    int klo, khi;   /* hoisted temporaries: live at sites klo < k <= khi */
};

struct pragma {
    int is_save;          /* else CHECKPOINT */
    uint32_t hash, end;   /* offset of '#', end of directive (before newline) */
    uint32_t kw;          /* offset of CKPT_* */
    int func;             /* -1: file scope */
    uint32_t sstart, send;/* scope: the innermost block */
    struct item *items;
    int nitems, capitems;
    int reg;              /* registration number in its function */
    int first_var;        /* index of its first var in the function */
    int synthetic;        /* the temporaries of a split statement, not a user pragma */
    int nhoist;           /* synthetic: the group's first nhoist calls are hoisted */
    int op;               /* _Pragma("CKPT_CHECKPOINT"), written out or from a macro */
};

struct site {
    int func;
    int call;             /* node of the call, -1 for a CKPT_CHECKPOINT pragma */
    int pragma;
    int anchor;           /* statement node re-executed (normal), or for/do node */
    enum role how;        /* R_STMT, R_BODY, R_FOR_COND, R_FOR_INC, R_DO_COND, R_ROOT (pragma) */
    uint32_t at;          /* offset of the label */
    int k;
    int group;            /* split statement: its synthetic pragma, else -1 */
    uint32_t end;         /* end of the call */
    int gpos, gcount;     /* position in the group, group size */
    int cond;             /* in the group: evaluated conditionally, site set in place */
};

struct edit {
    uint32_t start, end;
    int prio, seq;
    char *text;
};

struct rw {
    CXTranslationUnit tu;
    CXFile file;
    const char *src;
    const struct rw_opts *o;
    char *text;
    size_t size;
    struct tok *toks;
    int ntoks;
    struct node *nodes;
    int nnodes, capnodes;
    struct func *funcs;
    int nfuncs, capfuncs;
    struct call *calls;
    int ncalls, capcalls;
    struct var *vars;
    int nvars, capvars;
    struct pragma *prags;
    int nprags, capprags;
    struct site *sites;
    int nsites, capsites;
    struct edit *edits;
    int nedits, capedits;
    uint32_t *skip; /* pairs of skipped ranges */
    int nskip;
    int errors, warnings;
    int cur_func;
};

/* ---- diagnostics ------------------------------------------------------ */

static void off_linecol(struct rw *rw, uint32_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    for (uint32_t i = 0; i < off && i < rw->size; i++) {
        if (rw->text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void diag(struct rw *rw, uint32_t off, const char *sev, const char *fmt, ...)
{
    unsigned line, col;
    va_list ap;
    off_linecol(rw, off, &line, &col);
    fprintf(stderr, "%s:%u:%u: %s: ", rw->o->display, line, col, sev);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (!strcmp(sev, "error"))
        rw->errors++;
    else
        rw->warnings++;
}

/* ---- locations -------------------------------------------------------- */

static uint32_t loc_off(struct rw *rw, CXSourceLocation l)
{
    CXFile f;
    unsigned line, col, off;
    clang_getExpansionLocation(l, &f, &line, &col, &off);
    if (!f || !clang_File_isEqual(f, rw->file))
        return NOPOS;
    return off;
}

static void cursor_range(struct rw *rw, CXCursor c, uint32_t *s, uint32_t *e)
{
    CXSourceRange r = clang_getCursorExtent(c);
    *s = loc_off(rw, clang_getRangeStart(r));
    *e = loc_off(rw, clang_getRangeEnd(r));
    if (*s == NOPOS || *e == NOPOS)
        *s = *e = NOPOS;
}

/* first token at or after offset */
static int tok_at(struct rw *rw, uint32_t off)
{
    int lo = 0, hi = rw->ntoks;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (rw->toks[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int tok_is(struct rw *rw, int t, const char *s)
{
    size_t n = strlen(s);
    return t >= 0 && t < rw->ntoks && rw->toks[t].len == n &&
           !memcmp(rw->text + rw->toks[t].off, s, n);
}

/* index of the ')' matching the '(' at token t, or -1 */
static int tok_match(struct rw *rw, int t)
{
    int depth = 0;
    for (int i = t; i < rw->ntoks; i++) {
        if (tok_is(rw, i, "(") || tok_is(rw, i, "[") || tok_is(rw, i, "{"))
            depth++;
        else if (tok_is(rw, i, ")") || tok_is(rw, i, "]") || tok_is(rw, i, "}")) {
            if (--depth == 0)
                return i;
        }
    }
    return -1;
}

static int in_skipped(struct rw *rw, uint32_t off)
{
    for (int i = 0; i < rw->nskip; i++)
        if (off >= rw->skip[2 * i] && off < rw->skip[2 * i + 1])
            return 1;
    return 0;
}

/* ---- edits ------------------------------------------------------------ */

static void edit(struct rw *rw, uint32_t start, uint32_t end, int prio, char *text)
{
    GROW(rw->edits, rw->nedits, rw->capedits);
    rw->edits[rw->nedits].start = start;
    rw->edits[rw->nedits].end = end;
    rw->edits[rw->nedits].prio = prio;
    rw->edits[rw->nedits].seq = rw->nedits;
    rw->edits[rw->nedits].text = text;
    rw->nedits++;
}

/* insertions at one end offset close the inner construct first: the one starting
 * later, and at equal starts a loop's tail before the braces around the loop */
#define END_PRIO(start, tail) ((1 << 30) - 2 * (int)(start) - (tail))

static void insert(struct rw *rw, uint32_t at, int prio, const char *text)
{
    edit(rw, at, at, prio, strdup(text));
}

static int edit_cmp(const void *a, const void *b)
{
    const struct edit *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if ((x->end == x->start) != (y->end == y->start))
        return x->end == x->start ? -1 : 1; /* inserts before a replacement */
    if (x->prio != y->prio)
        return x->prio - y->prio;
    return x->seq - y->seq;
}

/* source text of [s,e) on one line: newlines become spaces */
static char *flat(struct rw *rw, uint32_t s, uint32_t e)
{
    char *t = xstrndup(rw->text + s, e - s);
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return t;
}

/* the newlines of [s,e), so that removing it keeps the line numbers */
static char *newlines_of(struct rw *rw, uint32_t s, uint32_t e)
{
    struct sbuf b = {0};
    sb_add(&b, "", 0);
    for (uint32_t i = s; i < e; i++)
        if (rw->text[i] == '\n')
            sb_add(&b, "\n", 1);
    return b.s;
}

/* ---- the tree --------------------------------------------------------- */

struct kids {
    CXCursor *v;
    int n, cap;
};

static enum CXChildVisitResult collect(CXCursor c, CXCursor parent, CXClientData d)
{
    struct kids *k = d;
    (void)parent;
    GROW(k->v, k->n, k->cap);
    k->v[k->n++] = c;
    return CXChildVisit_Continue;
}

static int add_node(struct rw *rw, CXCursor c, int parent, enum role role)
{
    GROW(rw->nodes, rw->nnodes, rw->capnodes);
    struct node *n = &rw->nodes[rw->nnodes];
    n->c = c;
    n->kind = clang_getCursorKind(c);
    cursor_range(rw, c, &n->start, &n->end);
    n->parent = parent;
    n->role = role;
    n->func = rw->cur_func;
    return rw->nnodes++;
}

static int is_vla_type(CXType t)
{
    t = clang_getCanonicalType(t);
    while (t.kind == CXType_ConstantArray || t.kind == CXType_VariableArray ||
           t.kind == CXType_IncompleteArray || t.kind == CXType_DependentSizedArray) {
        if (t.kind == CXType_VariableArray)
            return 1;
        t = clang_getCanonicalType(clang_getArrayElementType(t));
    }
    return 0;
}

static void add_var(struct rw *rw, CXCursor c, uint32_t ss, uint32_t se, int is_param)
{
    uint32_t d = loc_off(rw, clang_getCursorLocation(c));
    if (d == NOPOS)
        return;
    GROW(rw->vars, rw->nvars, rw->capvars);
    struct var *v = &rw->vars[rw->nvars++];
    memset(v, 0, sizeof *v);
    v->name = cxstr(clang_getCursorSpelling(c));
    v->func = rw->cur_func;
    v->decl = d;
    v->sstart = ss;
    v->send = se;
    v->is_param = is_param;
    enum CX_StorageClass sc = clang_Cursor_getStorageClass(c);
    v->is_static = sc == CX_SC_Static || sc == CX_SC_Extern;
    v->is_register = sc == CX_SC_Register;
    v->type = clang_getCursorType(c);
    v->is_vla = is_vla_type(v->type);
    v->c = c;
    /* an initializer is an expression child (not a type reference) */
    struct kids k = {0};
    clang_visitChildren(c, collect, &k);
    for (int i = 0; i < k.n; i++) {
        enum CXCursorKind kk = clang_getCursorKind(k.v[i]);
        if (clang_isExpression(kk) || kk == CXCursor_InitListExpr)
            v->has_init = 1;
    }
    free(k.v);
}

static void build(struct rw *rw, CXCursor c, int parent, enum role role);

static void build_kids(struct rw *rw, int idx)
{
    struct kids k = {0};
    struct node n = rw->nodes[idx];
    clang_visitChildren(n.c, collect, &k);
    int semi1 = -1, semi2 = -1, rpar = -1;
    if (n.kind == CXCursor_ForStmt && n.start != NOPOS) {
        int t = tok_at(rw, n.start) + 1; /* '(' */
        int close = tok_match(rw, t);
        int depth = 0;
        for (int i = t + 1; close > 0 && i < close; i++) {
            if (tok_is(rw, i, "(") || tok_is(rw, i, "[") || tok_is(rw, i, "{"))
                depth++;
            else if (tok_is(rw, i, ")") || tok_is(rw, i, "]") || tok_is(rw, i, "}"))
                depth--;
            else if (depth == 0 && tok_is(rw, i, ";")) {
                if (semi1 < 0)
                    semi1 = i;
                else if (semi2 < 0)
                    semi2 = i;
            }
        }
        rpar = close;
    }
    for (int i = 0; i < k.n; i++) {
        enum role r = R_EXPR;
        switch (n.kind) {
        case CXCursor_CompoundStmt:
            r = R_STMT;
            break;
        case CXCursor_IfStmt:
            r = i == 0 ? R_EXPR : R_BODY;
            break;
        case CXCursor_WhileStmt:
        case CXCursor_SwitchStmt:
            r = i == 0 ? R_EXPR : R_BODY;
            break;
        case CXCursor_DoStmt:
            r = i == 0 ? R_BODY : R_DO_COND;
            break;
        case CXCursor_CaseStmt:
            r = i == k.n - 1 ? R_BODY : R_EXPR;
            break;
        case CXCursor_DefaultStmt:
        case CXCursor_LabelStmt:
            r = R_BODY;
            break;
        case CXCursor_ForStmt: {
            uint32_t s, e;
            cursor_range(rw, k.v[i], &s, &e);
            if (semi1 < 0 || semi2 < 0 || rpar < 0 || s == NOPOS)
                r = R_BODY;
            else if (s < rw->toks[semi1].off)
                r = R_FOR_INIT;
            else if (s < rw->toks[semi2].off)
                r = R_FOR_COND;
            else if (s < rw->toks[rpar].off)
                r = R_FOR_INC;
            else
                r = R_BODY;
            break;
        }
        default:
            break;
        }
        build(rw, k.v[i], idx, r);
    }
    free(k.v);
}

static void build(struct rw *rw, CXCursor c, int parent, enum role role)
{
    int idx = add_node(rw, c, parent, role);
    struct node *n = &rw->nodes[idx];
    if (n->kind == CXCursor_VarDecl && parent >= 0) {
        /* scope: the block (or for statement) holding its DeclStmt */
        int p = rw->nodes[parent].parent;
        if (p >= 0)
            add_var(rw, c, rw->nodes[p].start, rw->nodes[p].end, 0);
    }
    if (n->kind == CXCursor_UnaryExpr || n->kind == CXCursor_CXXTypeidExpr) {
        /* skip the unevaluated operand of sizeof/_Alignof */
        int t = tok_at(rw, n->start);
        if (n->start != NOPOS && (tok_is(rw, t, "sizeof") || tok_is(rw, t, "_Alignof") ||
                                  tok_is(rw, t, "__alignof__")))
            return;
    }
    build_kids(rw, idx);
}

/* ---- functions and calls ---------------------------------------------- */

/* Where the runtime may checkpoint: pvm_exit too, which takes a requested
 * checkpoint and leaves a final image before the task goes; and the group
 * membership calls, which a program may loop over without any other. */
static const char *const safe_points[] = {
    "pvm_send", "pvm_mcast", "pvm_psend", "pvm_recv", "pvm_nrecv", "pvm_trecv", "pvm_precv",
    "pvm_probe", "pvm_barrier", "pvm_bcast", "pvm_reduce", "pvm_gather", "pvm_scatter",
    "pvm_joingroup", "pvm_lvgroup", "pvm_exit", NULL,
};

static int is_safe_point(const char *name)
{
    for (int i = 0; safe_points[i]; i++)
        if (!strcmp(name, safe_points[i]))
            return 1;
    return 0;
}

static int find_func(struct rw *rw, const char *usr)
{
    for (int i = 0; i < rw->nfuncs; i++)
        if (!strcmp(rw->funcs[i].usr, usr))
            return i;
    return -1;
}

static enum CXChildVisitResult top_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct rw *rw = d;
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_FunctionDecl || !clang_isCursorDefinition(c))
        return CXChildVisit_Continue;
    if (clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        return CXChildVisit_Continue;
    GROW(rw->funcs, rw->nfuncs, rw->capfuncs);
    struct func *f = &rw->funcs[rw->nfuncs];
    memset(f, 0, sizeof *f);
    f->name = cxstr(clang_getCursorSpelling(c));
    f->usr = cxstr(clang_getCursorUSR(c));
    f->body = -1;
    rw->cur_func = rw->nfuncs++;
    struct kids k = {0};
    clang_visitChildren(c, collect, &k);
    for (int i = 0; i < k.n; i++) {
        if (clang_getCursorKind(k.v[i]) == CXCursor_CompoundStmt) {
            f = &rw->funcs[rw->cur_func];
            f->body = rw->nnodes;
            build(rw, k.v[i], -1, R_ROOT);
            f = &rw->funcs[rw->cur_func];
            struct node *b = &rw->nodes[f->body];
            /* a body a macro expands to cannot be edited: treated like a header's */
            f->in_main = b->start != NOPOS && b->end > b->start && rw->text[b->start] == '{' &&
                         rw->text[b->end - 1] == '}';
        }
    }
    /* parameters (K&R declarations are children too) */
    f = &rw->funcs[rw->cur_func];
    if (f->body >= 0 && f->in_main)
        for (int i = 0; i < k.n; i++)
            if (clang_getCursorKind(k.v[i]) == CXCursor_ParmDecl)
                add_var(rw, k.v[i], rw->nodes[f->body].start, rw->nodes[f->body].end, 1);
    free(k.v);
    return CXChildVisit_Continue;
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

static void find_calls(struct rw *rw)
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

static int call_reaches(struct rw *rw, struct call *c)
{
    return c->reach_fixed || (c->callee >= 0 && rw->funcs[c->callee].reach);
}

static void fixpoint(struct rw *rw)
{
    for (int i = 0; i < rw->nprags; i++)
        if (!rw->prags[i].is_save && rw->prags[i].func >= 0)
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

/* ---- pragmas ---------------------------------------------------------- */

/* end of the logical line starting at off (backslash-newlines joined) */
static uint32_t line_end(struct rw *rw, uint32_t off)
{
    uint32_t i = off;
    while (i < rw->size && rw->text[i] != '\n') {
        if (rw->text[i] == '\\' && i + 1 < rw->size && rw->text[i + 1] == '\n')
            i++;
        i++;
    }
    return i;
}

static int first_on_line(struct rw *rw, uint32_t off)
{
    while (off > 0 && (rw->text[off - 1] == ' ' || rw->text[off - 1] == '\t'))
        off--;
    return off == 0 || rw->text[off - 1] == '\n';
}

/* the innermost block of a main-file function containing off */
static int block_at(struct rw *rw, uint32_t off, int *func)
{
    int best = -1;
    *func = -1;
    for (int i = 0; i < rw->nnodes; i++) {
        struct node *n = &rw->nodes[i];
        if (n->kind != CXCursor_CompoundStmt || n->start == NOPOS)
            continue;
        if (off > n->start && off < n->end &&
            (best < 0 || n->end - n->start < rw->nodes[best].end - rw->nodes[best].start)) {
            best = i;
            *func = n->func;
        }
    }
    return best;
}

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

static void find_pragmas(struct rw *rw)
{
    for (int t = 0; t + 2 < rw->ntoks; t++) {
        if (!tok_is(rw, t, "#") || !tok_is(rw, t + 1, "pragma"))
            continue;
        uint32_t h = rw->toks[t].off;
        if (!first_on_line(rw, h) || in_skipped(rw, h))
            continue;
        int save = tok_is(rw, t + 2, "CKPT_SAVE");
        if (!save && !tok_is(rw, t + 2, "CKPT_CHECKPOINT"))
            continue;
        GROW(rw->prags, rw->nprags, rw->capprags);
        struct pragma *p = &rw->prags[rw->nprags++];
        memset(p, 0, sizeof *p);
        p->is_save = save;
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
static char *elem_expr(CXType t, const char *expr, unsigned *kind)
{
    struct sbuf b = {0};
    int depth = 0;
    t = clang_getCanonicalType(t);
    *kind = t.kind == CXType_Pointer ? 1 : 0;
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

static int tok_ident(struct rw *rw, int t)
{
    return t < rw->ntoks && rw->toks[t].kind == CXToken_Identifier;
}

static char *tok_str(struct rw *rw, int t)
{
    return xstrndup(rw->text + rw->toks[t].off, rw->toks[t].len);
}

/* parse and resolve the items of a CKPT_SAVE pragma; 0 ok */
static int parse_save(struct rw *rw, struct pragma *p)
{
    int t = tok_at(rw, p->kw) + 1;
    int last = tok_at(rw, p->end); /* first token after the directive */
    if (t >= last || !tok_is(rw, t, "(")) {
        diag(rw, p->hash, "error",
             "malformed #pragma CKPT_SAVE: expected '(' and a list of names");
        return -1;
    }
    int close = tok_match(rw, t);
    if (close < 0 || close >= last || close + 1 != last) {
        diag(rw, p->hash, "error",
             "malformed #pragma CKPT_SAVE: expected 'name', 'name[count]' or 'name.field' items "
             "separated by ',' and a closing ')'");
        return -1;
    }
    t++;
    if (t == close) {
        diag(rw, p->hash, "error", "malformed #pragma CKPT_SAVE: empty list");
        return -1;
    }
    while (t < close) {
        uint32_t ioff = rw->toks[t].off;
        if (!tok_ident(rw, t)) {
            diag(rw, ioff, "error",
                 "malformed #pragma CKPT_SAVE: expected a variable name, 'name[count]' or "
                 "'name.field'");
            return -1;
        }
        char *base = tok_str(rw, t);
        struct sbuf expr = {0}, name = {0};
        char *count = NULL;
        sb_printf(&expr, "%s", base);
        sb_printf(&name, "%s", base);
        CXType type;
        int var = -1;
        t++;
        /* resolve the base name */
        if (p->func >= 0) {
            var = lookup_local(rw, p->func, base, p->hash);
            if (var < 0) {
                CXCursor g;
                int k = lookup_global(rw, base, &g);
                if (k == 1)
                    diag(rw, ioff, "error",
                         "'%s' in #pragma CKPT_SAVE is a global variable: save globals with a "
                         "#pragma CKPT_SAVE at file scope",
                         base);
                else if (k == 2)
                    diag(rw, ioff, "error", "'%s' in #pragma CKPT_SAVE is not an object", base);
                else
                    diag(rw, ioff, "error", "unknown name '%s' in #pragma CKPT_SAVE", base);
                return -1;
            }
            if (rw->vars[var].is_register) {
                diag(rw, ioff, "error",
                     "'%s' in #pragma CKPT_SAVE is a register variable, which has no address",
                     base);
                return -1;
            }
            type = rw->vars[var].type;
        } else {
            CXCursor g;
            int k = lookup_global(rw, base, &g);
            if (k == 0) {
                int local = 0;
                for (int i = 0; i < rw->nvars; i++)
                    local |= !strcmp(rw->vars[i].name, base);
                if (local)
                    diag(rw, ioff, "error",
                         "'%s' in #pragma CKPT_SAVE at file scope is not a global variable "
                         "(save locals with a #pragma CKPT_SAVE inside their block)",
                         base);
                else
                    diag(rw, ioff, "error", "unknown name '%s' in #pragma CKPT_SAVE", base);
                return -1;
            }
            if (k == 2) {
                diag(rw, ioff, "error", "'%s' in #pragma CKPT_SAVE is not an object", base);
                return -1;
            }
            type = clang_getCursorType(g);
        }
        /* .field chain or [count] */
        if (t < close && tok_is(rw, t, "[")) {
            int rb = tok_match(rw, t);
            if (rb < 0 || rb > close || rb == t + 1) {
                diag(rw, ioff, "error",
                     "malformed #pragma CKPT_SAVE: expected 'name[count]' with a count");
                return -1;
            }
            CXType ct = clang_getCanonicalType(type);
            if (ct.kind != CXType_Pointer) {
                diag(rw, ioff, "error",
                     "'%s' in #pragma CKPT_SAVE(%s[...]) is not a pointer: 'name[count]' saves "
                     "count elements behind a pointer",
                     base, base);
                return -1;
            }
            count = flat(rw, rw->toks[t + 1].off, rw->toks[rb].off);
            t = rb + 1;
        } else {
            while (t < close && tok_is(rw, t, ".")) {
                CXType ct = clang_getCanonicalType(type);
                if (!tok_ident(rw, t + 1) || t + 1 >= close) {
                    diag(rw, rw->toks[t].off, "error",
                         "malformed #pragma CKPT_SAVE: expected a field name after '.'");
                    return -1;
                }
                char *fname = tok_str(rw, t + 1);
                if (ct.kind != CXType_Record) {
                    diag(rw, ioff, "error",
                         "'%s' in #pragma CKPT_SAVE is not a struct or union, it has no field "
                         "'%s'",
                         name.s, fname);
                    return -1;
                }
                struct field_lookup fl = {fname, clang_getNullCursor(), 0};
                clang_Type_visitFields(ct, field_visit, &fl);
                if (!fl.ok) {
                    diag(rw, ioff, "error", "'%s' in #pragma CKPT_SAVE has no field '%s'", name.s,
                         fname);
                    return -1;
                }
                sb_printf(&expr, ".%s", fname);
                sb_printf(&name, ".%s", fname);
                if (clang_Cursor_isBitField(fl.found)) {
                    diag(rw, ioff, "error",
                         "'%s' in #pragma CKPT_SAVE is a bit-field, which has no address", name.s);
                    return -1;
                }
                type = clang_getCursorType(fl.found);
                free(fname);
                t += 2;
            }
        }
        if (t < close && !tok_is(rw, t, ",")) {
            diag(rw, rw->toks[t].off, "error",
                 "malformed #pragma CKPT_SAVE: '%.*s' is not allowed here (an item is 'name', "
                 "'name[count]' or 'name.field')",
                 (int)rw->toks[t].len, rw->text + rw->toks[t].off);
            return -1;
        }
        if (t < close) {
            t++;
            if (t == close) {
                diag(rw, rw->toks[t].off, "error",
                     "malformed #pragma CKPT_SAVE: expected a name after ','");
                return -1;
            }
        }
        GROW(p->items, p->nitems, p->capitems);
        struct item *it = &p->items[p->nitems++];
        it->expr = expr.s;
        it->name = name.s;
        it->count = count;
        it->var = var;
        if (count) {
            it->kind = 2;
            it->elem = NULL;
            struct sbuf b = {0};
            sb_printf(&b, "sizeof *(%s)", expr.s);
            it->elem = b.s;
        } else {
            it->elem = elem_expr(type, expr.s, &it->kind);
        }
        free(base);
    }
    return 0;
}

/* ---- sites ------------------------------------------------------------ */

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
static int covers(struct pragma *p, int it, struct site *s)
{
    if (p->func != s->func)
        return 0;
    if (p->synthetic)
        return s->k > p->items[it].klo && s->k <= p->items[it].khi;
    return s->at > p->hash && s->at < p->send;
}

/* end of a statement node, including a following ';' */
static uint32_t stmt_end(struct rw *rw, int node)
{
    uint32_t e = rw->nodes[node].end;
    int t = tok_at(rw, e);
    if (tok_is(rw, t, ";"))
        e = rw->toks[t].off + 1;
    return e;
}

/* index of node x among its parent's children */
static int child_index(struct rw *rw, int x)
{
    int p = rw->nodes[x].parent, k = 0;
    for (int i = p + 1; i < x; i++)
        if (rw->nodes[i].parent == p)
            k++;
    return k;
}

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

/* the sites [first, first+n) share one statement: their calls but the last are hoisted
 * into temporaries, saved by a synthetic registration (see instrument_func) */
static void make_group(struct rw *rw, int first, int n)
{
    struct site *g = &rw->sites[first];
    int a = g->anchor;
    enum CXCursorKind ak = rw->nodes[a].kind;
    const char *why = NULL;
    if (g->how != R_STMT && g->how != R_BODY)
        ; /* a loop condition or increment: split inside the loop transformation */
    else if (ak == CXCursor_ForStmt || ak == CXCursor_DoStmt)
        why = "in a for statement's initialization";
    else if (ak == CXCursor_WhileStmt && !tok_is(rw, tok_at(rw, rw->nodes[a].start), "while"))
        why = "in a loop that a macro expands to";
    else if (ak == CXCursor_DeclStmt) {
        int vars = 0;
        for (int i = a + 1; i < rw->nnodes && rw->nodes[i].start < rw->nodes[a].end; i++)
            vars += rw->nodes[i].parent == a;
        if (vars > 1)
            why = "in a declaration of several variables";
    }
    /* Calls evaluated every time are hoisted into temporaries (all but the last one,
     * which stays in place, when no call is conditional).  Conditional calls (an arm of
     * ?:, the right of && or ||) stay in place and set their site number themselves;
     * at most one of them may run per execution and the hoisted ones must come first. */
    int ncond = 0;
    uint32_t cond_start = NOPOS;
    for (int i = 0; i < n; i++) {
        struct site *s = &rw->sites[first + i];
        s->cond = conditional_path(rw, s->call, a);
        if (s->cond) {
            ncond++;
            if (rw->nodes[s->call].start < cond_start)
                cond_start = rw->nodes[s->call].start;
        }
    }
    int nhoist = ncond ? n - ncond : n - 1;
    int hidden = -1;
    for (int i = 0; i < n && hidden < 0; i++)
        if (!call_editable(rw, rw->sites[first + i].call, a))
            hidden = i;
    if (hidden >= 0 && !why) {
        /* a macro hides them: a label before the statement would re-run them all */
        unsigned l0, c0;
        off_linecol(rw, rw->nodes[g->call].start, &l0, &c0);
        diag(rw, rw->nodes[rw->sites[first + 1].call].start, "error",
             "this call and the one at column %u can both reach a safe point in one statement "
             "that a macro or a ({ }) hides from ckpt-cc: a task restarted at the second would "
             "make the first again; write the calls in statements of their own",
             c0);
        return;
    }
    for (int i = 0; !why && i < n; i++) {
        struct site *s = &rw->sites[first + i];
        for (int j = 0; !why && j < n; j++) {
            struct site *t = &rw->sites[first + j];
            uint32_t ss = rw->nodes[s->call].start, se = rw->nodes[s->call].end;
            uint32_t ts = rw->nodes[t->call].start, te = rw->nodes[t->call].end;
            if (i != j && ((ss == ts && se == te) || (ss < ts && se > ts && se < te)))
                why = "that come from one macro expansion";
            if (!why && i < j && s->cond && t->cond && !exclusive(rw, s->call, t->call))
                why = "where both are evaluated conditionally but may both run";
        }
        if (!why && !s->cond && ncond && rw->nodes[s->call].end > cond_start)
            why = "where a conditional call runs before one that always runs";
        if (!why && ncond && (i < nhoist) != !s->cond)
            why = "where a conditional call runs before one that always runs";
        if (!why && i < nhoist) {
            CXType ty = clang_getCanonicalType(clang_getCursorType(rw->nodes[s->call].c));
            if (ty.kind == CXType_Void)
                why = "where a call whose result must be kept returns void";
        }
    }
    if (why) {
        unsigned l0, c0;
        off_linecol(rw, rw->nodes[g->call].start, &l0, &c0);
        diag(rw, rw->nodes[rw->sites[first + 1].call].start, "error",
             "this call and the one at column %u can both reach a safe point, %s: ckpt-cc "
             "cannot split this statement; assign each result in its own statement",
             c0, why);
        return;
    }
    GROW(rw->prags, rw->nprags, rw->capprags);
    int pi = rw->nprags++;
    struct pragma *p = &rw->prags[pi];
    memset(p, 0, sizeof *p);
    p->is_save = 1;
    p->synthetic = 1;
    p->func = g->func;
    p->hash = p->end = p->kw = rw->nodes[a].start;
    p->sstart = p->send = rw->nodes[a].start;
    p->nhoist = nhoist;
    for (int i = 0; i < n; i++) {
        struct site *s = &rw->sites[first + i];
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
        it->khi = rw->sites[first + n - 1].k;
    }
}

/* ---- what a restart re-runs ------------------------------------------- */

/* is node j in the subtree of node y? */
static int is_below(struct rw *rw, int j, int y)
{
    for (int x = j; x >= 0; x = rw->nodes[x].parent)
        if (x == y)
            return 1;
    return 0;
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
static const char *const jump_funcs[] = {
    "setjmp", "_setjmp", "__setjmp", "sigsetjmp", "__sigsetjmp", "longjmp", "_longjmp",
    "siglongjmp", "__builtin_setjmp", "__builtin_longjmp", "getcontext", "setcontext",
    "swapcontext", NULL,
};

static void check_jumps(struct rw *rw)
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

static void collect_sites(struct rw *rw)
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
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save || p->func < 0)
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
    qsort(rw->sites, (size_t)rw->nsites, sizeof *rw->sites, site_cmp);
    for (int i = 0, k = 0; i < rw->nsites; i++) {
        k = i > 0 && rw->sites[i - 1].func == rw->sites[i].func ? k + 1 : 1;
        rw->sites[i].k = k;
    }
    /* a reaching function defined in a header cannot be given a frame */
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
    /* several reaching calls re-executed by one statement: split it */
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

/* ---- emission --------------------------------------------------------- */

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
    static const char *const kinds[] = {"CKPT_KIND_DATA", "CKPT_KIND_POINTER", "CKPT_KIND_BLOCK"};
    sb_printf(b, "ckpt__reg%d: ", p->reg);
    for (int it = 0; it < p->nitems; it++) {
        struct item *x = &p->items[it];
        sb_printf(b, "ckpt_bind(&ckpt__fr, %d, %d, &%s, sizeof (%s), %s, %s%s%s, %s, \"%s\"); ",
                  p->first_var + it, p->reg, x->expr, x->expr,
                  x->kind == 1 ? "sizeof (void *)" : x->elem, x->count ? "(size_t)(" : "",
                  x->count ? x->count : "0", x->count ? ")" : "", kinds[x->kind], x->name);
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

static void instrument_func(struct rw *rw, int fi)
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

/* ---- the unsaved-live warning ----------------------------------------- */

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
static void warn_reeval(struct rw *rw, int fi)
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

static void warn_unsaved(struct rw *rw, int fi)
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

/* ---- globals ---------------------------------------------------------- */

static void emit_globals(struct rw *rw, struct sbuf *out)
{
    int any = 0, nblk = 0;
    unsigned h = 5381;
    for (const char *c = rw->o->key; *c; c++)
        h = h * 33 + (unsigned char)*c;
    struct sbuf fn = {0};
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (!p->is_save || p->func >= 0)
            continue;
        for (int it = 0; it < p->nitems; it++) {
            struct item *x = &p->items[it];
            any = 1;
            if (x->count) {
                nblk++;
                sb_printf(out, "static size_t ckpt__count_%d(void) { return (size_t)(%s); }\n",
                          nblk, x->count);
                sb_printf(&fn, "    ckpt_global_block(\"%s:%s\", &%s, sizeof *(%s), ckpt__count_%d);\n",
                          rw->o->key, x->name, x->expr, x->expr, nblk);
            } else {
                static const char *const kinds[] = {"CKPT_KIND_DATA", "CKPT_KIND_POINTER",
                                                    "CKPT_KIND_BLOCK"};
                sb_printf(&fn, "    ckpt_global(\"%s:%s\", &%s, sizeof (%s), %s, %s);\n", rw->o->key,
                          x->name, x->expr, x->expr, x->kind == 1 ? "sizeof (void *)" : x->elem,
                          kinds[x->kind]);
            }
        }
    }
    if (any)
        sb_printf(out,
                  "static void __attribute__((constructor)) ckpt__globals_%08x(void)\n{\n%s}\n",
                  h, fn.s);
    free(fn.s);
}

/* ---- driver ----------------------------------------------------------- */

static void cstr_escape(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_add(b, "\\", 1);
        sb_add(b, s, 1);
    }
}

/* offset and line of the first #include at #if depth 0 (ckpt_pvm.h goes there, after any
 * feature-test macros the file defines first), or 0/1 */
static uint32_t include_point(struct rw *rw, unsigned *line)
{
    int depth = 0;
    uint32_t dir_end = 0;
    for (int t = 0; t + 1 < rw->ntoks; t++) {
        if (!tok_is(rw, t, "#") || !first_on_line(rw, rw->toks[t].off)) {
            if (depth == 0 && rw->toks[t].off >= dir_end)
                break; /* code before any #include: ckpt_pvm.h goes first */
            continue;
        }
        dir_end = line_end(rw, rw->toks[t].off);
        if (tok_is(rw, t + 1, "if") || tok_is(rw, t + 1, "ifdef") || tok_is(rw, t + 1, "ifndef"))
            depth++;
        else if (tok_is(rw, t + 1, "endif"))
            depth--;
        else if (depth == 0 && tok_is(rw, t + 1, "include")) {
            uint32_t off = rw->toks[t].off;
            while (off > 0 && rw->text[off - 1] != '\n')
                off--;
            unsigned col;
            off_linecol(rw, off, line, &col);
            return off;
        } else if (depth == 0 && !tok_is(rw, t + 1, "define") && !tok_is(rw, t + 1, "undef") &&
                   !tok_is(rw, t + 1, "pragma") && !tok_is(rw, t + 1, "line")) {
            break;
        }
    }
    *line = 1;
    return 0;
}

int ckpt_rewrite(const char *src, const char *out, int nargs, const char *const *args,
                 const struct rw_opts *o)
{
    struct rw rw0 = {0}, *rw = &rw0;
    int ret = 1;
    rw->o = o;
    rw->src = src;

    FILE *in = fopen(src, "rb");
    if (!in) {
        fprintf(stderr, "ckpt-cc: error: cannot read %s\n", o->display);
        return 1;
    }
    {
        struct sbuf b = {0};
        char buf[65536];
        size_t n;
        sb_add(&b, "", 0);
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            sb_add(&b, buf, n);
        fclose(in);
        rw->text = b.s;
        rw->size = b.n;
    }

    const char **argv = xrealloc(NULL, (size_t)(nargs + 8) * sizeof *argv);
    int ac = 0;
    argv[ac++] = "clang";
    for (int i = 0; i < nargs; i++)
        argv[ac++] = args[i];
    argv[ac++] = "-Wno-unknown-pragmas";
    argv[ac++] = "-ferror-limit=0";
    argv[ac++] = src;

    CXIndex idx = clang_createIndex(0, 0);
    enum CXErrorCode ec = clang_parseTranslationUnit2FullArgv(
        idx, NULL, argv, ac, NULL, 0,
        CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_KeepGoing, &rw->tu);
    free(argv);
    if (ec != CXError_Success || !rw->tu) {
        fprintf(stderr, "ckpt-cc: error: libclang could not parse %s (error %d)\n", o->display,
                (int)ec);
        clang_disposeIndex(idx);
        return 1;
    }
    int fatal = 0;
    for (unsigned i = 0, n = clang_getNumDiagnostics(rw->tu); i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(rw->tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev >= CXDiagnostic_Error) {
            char *s = cxstr(clang_formatDiagnostic(
                d, CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn));
            size_t sl = strlen(src);
            if (!strncmp(s, src, sl) && s[sl] == ':')
                fprintf(stderr, "%s%s\n", o->display, s + sl);
            else
                fprintf(stderr, "%s\n", s);
            free(s);
            fatal = 1;
        }
        clang_disposeDiagnostic(d);
    }
    if (fatal)
        goto done;

    rw->file = clang_getFile(rw->tu, src);
    {
        CXSourceRange all = clang_getRange(clang_getLocationForOffset(rw->tu, rw->file, 0),
                                           clang_getLocationForOffset(rw->tu, rw->file,
                                                                      (unsigned)rw->size));
        CXToken *toks;
        unsigned nt;
        clang_tokenize(rw->tu, all, &toks, &nt);
        rw->toks = xrealloc(NULL, (nt + 1) * sizeof *rw->toks);
        int k = 0;
        for (unsigned i = 0; i < nt; i++) {
            if (clang_getTokenKind(toks[i]) == CXToken_Comment)
                continue; /* comments are never looked at */
            CXSourceRange r = clang_getTokenExtent(rw->tu, toks[i]);
            unsigned s, e;
            clang_getFileLocation(clang_getRangeStart(r), NULL, NULL, NULL, &s);
            clang_getFileLocation(clang_getRangeEnd(r), NULL, NULL, NULL, &e);
            rw->toks[k].kind = clang_getTokenKind(toks[i]);
            rw->toks[k].off = s;
            rw->toks[k].len = e - s;
            k++;
        }
        rw->ntoks = k;
        clang_disposeTokens(rw->tu, toks, nt);
        CXSourceRangeList *sk = clang_getSkippedRanges(rw->tu, rw->file);
        if (sk) {
            rw->skip = xrealloc(NULL, (sk->count + 1) * 2 * sizeof *rw->skip);
            for (unsigned i = 0; i < sk->count; i++) {
                unsigned s, e;
                clang_getFileLocation(clang_getRangeStart(sk->ranges[i]), NULL, NULL, NULL, &s);
                clang_getFileLocation(clang_getRangeEnd(sk->ranges[i]), NULL, NULL, NULL, &e);
                rw->skip[2 * i] = s;
                rw->skip[2 * i + 1] = e;
            }
            rw->nskip = (int)sk->count;
            clang_disposeSourceRangeList(sk);
        }
    }

    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), top_visit, rw);
    find_calls(rw);
    find_pragmas(rw);
    int user_pragmas = rw->nprags;
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save) {
            parse_save(rw, p);
        } else {
            if (p->func < 0)
                diag(rw, p->hash, "error",
                     "#pragma CKPT_CHECKPOINT outside a function: it marks a safe point in a "
                     "function body");
            else if (!p->op && tok_at(rw, p->end) != tok_at(rw, p->kw) + 1)
                diag(rw, p->hash, "error",
                     "malformed #pragma CKPT_CHECKPOINT: it takes no arguments");
        }
    }
    if (rw->errors)
        goto done;
    fixpoint(rw);
    check_jumps(rw);
    collect_sites(rw);
    if (rw->errors)
        goto done;
    for (int i = 0; i < rw->nfuncs; i++) {
        if (!rw->funcs[i].in_main)
            continue;
        if (rw->funcs[i].reach) {
            instrument_func(rw, i);
            if (o->warn_unsaved && user_pragmas && !rw->errors)
                warn_unsaved(rw, i);
            if (o->warn_unsaved && !rw->errors)
                warn_reeval(rw, i);
        }
    }
    /* save pragmas in functions that reach no safe point, and file-scope ones: the line goes */
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save && (p->func < 0 || !rw->funcs[p->func].reach))
            edit(rw, p->hash, p->end, 1, strdup(""));
    }
    if (rw->errors)
        goto done;

    {
        struct sbuf ob = {0};
        unsigned incl_line;
        uint32_t incl = include_point(rw, &incl_line);
        edit(rw, incl, incl, -1, NULL);
        qsort(rw->edits, (size_t)rw->nedits, sizeof *rw->edits, edit_cmp);
        sb_printf(&ob, "#line 1 \"");
        cstr_escape(&ob, o->display);
        sb_printf(&ob, "\"\n");
        uint32_t cur = 0;
        for (int i = 0; i < rw->nedits; i++) {
            struct edit *e = &rw->edits[i];
            if (e->start < cur)
                continue; /* overlaps an earlier replacement */
            sb_add(&ob, rw->text + cur, e->start - cur);
            if (e->text) {
                sb_add(&ob, e->text, strlen(e->text));
            } else {
                sb_printf(&ob, "#include <ckpt_pvm.h>\n#line %u \"", incl_line);
                cstr_escape(&ob, o->display);
                sb_printf(&ob, "\"\n");
            }
            cur = e->end > cur ? e->end : e->start;
        }
        sb_add(&ob, rw->text + cur, rw->size - cur);
        if (rw->size && rw->text[rw->size - 1] != '\n')
            sb_add(&ob, "\n", 1);
        emit_globals(rw, &ob);
        FILE *of = fopen(out, "wb");
        if (!of || fwrite(ob.s, 1, ob.n, of) != ob.n || fclose(of) != 0) {
            fprintf(stderr, "ckpt-cc: error: cannot write %s\n", out);
            free(ob.s);
            goto done;
        }
        free(ob.s);
        ret = 0;
    }
done:
    clang_disposeTranslationUnit(rw->tu);
    clang_disposeIndex(idx);
    return ret;
}
