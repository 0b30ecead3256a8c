/*
 * tree.c: the tree the other passes walk.  One visit of the translation unit
 * records every function defined outside system headers, and for each body a
 * node per cursor in preorder (extent as main-file offsets, parent, and the
 * role it plays for its parent: statement of a block, body of a control
 * statement, part of a for header...), with its local variables and their
 * scopes.  Also the small questions about the tree that several passes ask.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

enum CXChildVisitResult collect(CXCursor c, CXCursor parent, CXClientData d)
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

/* A variably modified type: a VLA, or an array of or pointer to one (C forbids
 * a jump into the scope of a name of such a type, as into a VLA's). */
static int is_vla_type(CXType t)
{
    t = clang_getCanonicalType(t);
    for (;;) {
        if (t.kind == CXType_VariableArray)
            return 1;
        if (t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray ||
            t.kind == CXType_DependentSizedArray)
            t = clang_getCanonicalType(clang_getArrayElementType(t));
        else if (t.kind == CXType_Pointer)
            t = clang_getCanonicalType(clang_getPointeeType(t));
        else
            return 0;
    }
}

static void add_var(struct rw *rw, CXCursor c, uint32_t ss, uint32_t se, int is_param, int stmt)
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
    v->stmt = stmt;
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

/* The tokens of the header of the for statement at offset start: its '(', the two
 * ';' and the ')'.  Each is -1 when not found (the ')' is then missing). */
void for_header(struct rw *rw, uint32_t start, int *lp, int *s1, int *s2, int *rp)
{
    int depth = 0;
    *lp = tok_at(rw, start) + 1;
    *rp = tok_match(rw, *lp);
    *s1 = *s2 = -1;
    for (int i = *lp + 1; *rp > 0 && i < *rp; i++) {
        if (tok_is(rw, i, "(") || tok_is(rw, i, "[") || tok_is(rw, i, "{"))
            depth++;
        else if (tok_is(rw, i, ")") || tok_is(rw, i, "]") || tok_is(rw, i, "}"))
            depth--;
        else if (depth == 0 && tok_is(rw, i, ";")) {
            if (*s1 < 0)
                *s1 = i;
            else if (*s2 < 0)
                *s2 = i;
        }
    }
}

static void build_kids(struct rw *rw, int idx)
{
    struct kids k = {0};
    struct node n = rw->nodes[idx];
    clang_visitChildren(n.c, collect, &k);
    int lpar, semi1 = -1, semi2 = -1, rpar = -1;
    if (n.kind == CXCursor_ForStmt && n.start != NOPOS)
        for_header(rw, n.start, &lpar, &semi1, &semi2, &rpar);
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
            add_var(rw, c, rw->nodes[p].start, rw->nodes[p].end, 0, parent);
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

int find_func(struct rw *rw, const char *usr)
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
                add_var(rw, k.v[i], rw->nodes[f->body].start, rw->nodes[f->body].end, 1, -1);
    free(k.v);
    return CXChildVisit_Continue;
}

/* the innermost block of a main-file function containing off */
int block_at(struct rw *rw, uint32_t off, int *func)
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

uint32_t stmt_end(struct rw *rw, int node)
{
    uint32_t e = rw->nodes[node].end;
    int t = tok_at(rw, e);
    if (tok_is(rw, t, ";"))
        e = rw->toks[t].off + 1;
    return e;
}

/* index of node x among its parent's children */
int child_index(struct rw *rw, int x)
{
    int p = rw->nodes[x].parent, k = 0;
    for (int i = p + 1; i < x; i++)
        if (rw->nodes[i].parent == p)
            k++;
    return k;
}

/* is node j in the subtree of node y? */
int is_below(struct rw *rw, int j, int y)
{
    for (int x = j; x >= 0; x = rw->nodes[x].parent)
        if (x == y)
            return 1;
    return 0;
}

void build_tree(struct rw *rw)
{
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), top_visit, rw);
}
