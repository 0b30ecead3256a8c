/*
 * rewrite_int.h: what the passes of the rewriter share (see rewrite.c for the
 * order they run in).  Not part of ckpt-cc's interface: that is rewrite.h.
 *
 * All the state of one rewrite is a `struct rw`: the source text and its
 * tokens, the tree of function bodies, the call graph, the pragmas, the
 * safe-point sites, and the list of text edits the output is made of.
 * Positions are byte offsets into the main file (NOPOS when elsewhere);
 * nodes, functions, variables and pragmas refer to each other by index.
 */
#ifndef CKPT_REWRITE_INT_H
#define CKPT_REWRITE_INT_H

#include <clang-c/Index.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h" /* the ABI the emitted code calls: struct ckpt_frame, enum ckpt_kind */
#include "rewrite.h"

#define NOPOS UINT32_MAX
/* saved variables of one function (each a bit in its sites' live masks) */
#define MAX_VARS 4096

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
    int stmt;                   /* node of its DeclStmt, -1 for a parameter */
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
    enum ckpt_kind kind;
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
    int nosave;           /* CKPT_NOSAVE (is_save is 0) */
    int autoreg;          /* a registration autosave.c made, not a user pragma */
    int poll;             /* a CHECKPOINT polls.c made at the top of a loop body */
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
    char *main_entry;   /* the main that calls the file's, renamed ckpt__main */
    char *globals;      /* the registrations of the file's globals (autosave.c) */
};

/* the children of a cursor, in order (see collect) */
struct kids {
    CXCursor *v;
    int n, cap;
};

/* text.c: memory, strings, offsets, tokens, diagnostics */
void *xrealloc(void *p, size_t n);
void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *xstrndup(const char *s, size_t n);
char *cxstr(CXString s);
void off_linecol(struct rw *rw, uint32_t off, unsigned *line, unsigned *col);
void diag(struct rw *rw, uint32_t off, const char *sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
uint32_t loc_off(struct rw *rw, CXSourceLocation l);
void cursor_range(struct rw *rw, CXCursor c, uint32_t *s, uint32_t *e);
int tok_at(struct rw *rw, uint32_t off);
int tok_is(struct rw *rw, int t, const char *s);
int tok_match(struct rw *rw, int t);
int tok_ident(struct rw *rw, int t);
char *tok_str(struct rw *rw, int t);
int in_skipped(struct rw *rw, uint32_t off);
char *flat(struct rw *rw, uint32_t s, uint32_t e);
char *newlines_of(struct rw *rw, uint32_t s, uint32_t e);
uint32_t line_end(struct rw *rw, uint32_t off);
int first_on_line(struct rw *rw, uint32_t off);

/* tree.c: the tree of function bodies, their variables */
enum CXChildVisitResult collect(CXCursor c, CXCursor parent, CXClientData d);
void build_tree(struct rw *rw);
int find_func(struct rw *rw, const char *usr);
int block_at(struct rw *rw, uint32_t off, int *func);
void for_header(struct rw *rw, uint32_t start, int *lp, int *s1, int *s2, int *rp);
uint32_t stmt_end(struct rw *rw, int node);
int child_index(struct rw *rw, int x);
int is_below(struct rw *rw, int j, int y);

/* callgraph.c: calls, which functions reach a safe point */
void find_calls(struct rw *rw);
int call_reaches(struct rw *rw, struct call *c);
void fixpoint(struct rw *rw);
void check_jumps(struct rw *rw);

/* pragma.c: CKPT_SAVE and CKPT_CHECKPOINT */
void find_pragmas(struct rw *rw);
void parse_pragmas(struct rw *rw);
char *elem_expr(CXType t, const char *expr, enum ckpt_kind *kind);

/* sites.c: the safe-point sites, their anchors and split statements */
void collect_sites(struct rw *rw);
int covers(struct pragma *p, int it, struct site *s);
uint32_t dispatch_pos(struct rw *rw, int fi);

/* emit.c: the edits that instrument one function */
void instrument_func(struct rw *rw, int fi);

/* autosave.c: what is saved without a pragma; CKPT_NOSAVE */
void add_auto_saves(struct rw *rw);
void emit_nosaves(struct rw *rw);
void auto_globals(struct rw *rw);

/* polls.c: safe points at the top of loops that compute */
void add_polls(struct rw *rw);

/* libcalls.c: the C library calls routed through libckpt */
void route_libc_calls(struct rw *rw);

/* entry.c: the program's main, called by libckpt on a stack it places */
void wrap_main(struct rw *rw);

/* warn.c: -Wckpt-unsaved, -Wckpt-reeval */
void warn_unsaved(struct rw *rw, int fi);
void warn_reeval(struct rw *rw, int fi);

/* output.c: the edit list, and the rewritten text made from it */
void edit(struct rw *rw, uint32_t start, uint32_t end, int prio, char *text);
void insert(struct rw *rw, uint32_t at, int prio, const char *text);
const char *kind_name(enum ckpt_kind k);
int write_output(struct rw *rw, const char *out);

/* insertions at one end offset close the inner construct first: the one starting
 * later, and at equal starts a loop's tail before the braces around the loop */
#define END_PRIO(start, tail) ((1 << 30) - 2 * (int)(start) - (tail))

#endif /* CKPT_REWRITE_INT_H */
