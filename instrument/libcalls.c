/*
 * libcalls.c: the C library functions of include/ckpt_libc_calls.h (the heap,
 * the random generators, strtok, getenv) keep program state where no
 * checkpoint looks; every reference to one of them (a call, or its address)
 * is renamed to its libckpt twin ckpt_<name>, which keeps that state in saved
 * memory.  A reference is renamed where its name is written: in the code, in
 * a macro argument, or in the body of a macro the file defines (every such
 * name in the file's #defines is).  One written in another header's macro
 * cannot be, and is reported.  Only functions the system headers declare are
 * renamed: a program's own malloc stays its own.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const routed[] = {
#define CKPT_LIBC_CALL(name, ret, params) #name,
#include "ckpt_libc_calls.h"
#undef CKPT_LIBC_CALL
};

static int is_routed(const char *name)
{
    for (size_t i = 0; i < sizeof routed / sizeof *routed; i++)
        if (!strcmp(name, routed[i]))
            return 1;
    return 0;
}

struct seen {
    uint32_t *off;
    int n, cap;
};

static int seen_before(struct seen *s, uint32_t off)
{
    for (int i = 0; i < s->n; i++)
        if (s->off[i] == off)
            return 1;
    GROW(s->off, s->n, s->cap);
    s->off[s->n++] = off;
    return 0;
}

/* a macro expanded in the main file, and the file defining it (NULL: this one) */
struct expansion {
    uint32_t start, end;
    char *home;
};

struct visit {
    struct rw *rw;
    struct seen done, reported;
    struct expansion *exp;
    int nexp, capexp;
};

static void rename_at(struct visit *v, uint32_t off, const char *name)
{
    if (seen_before(&v->done, off))
        return;
    struct sbuf b = {0};
    sb_printf(&b, "ckpt_%s", name);
    edit(v->rw, off, off + (uint32_t)strlen(name), 1, b.s);
}

/* every routed name in the body of a #define of the main file */
static void rename_in_define(struct visit *v, CXCursor c)
{
    struct rw *rw = v->rw;
    CXToken *toks;
    unsigned n;
    clang_tokenize(rw->tu, clang_getCursorExtent(c), &toks, &n);
    for (unsigned i = 1; i < n; i++) {  /* after the macro's name */
        if (clang_getTokenKind(toks[i]) != CXToken_Identifier)
            continue;
        char *name = cxstr(clang_getTokenSpelling(rw->tu, toks[i]));
        if (is_routed(name))
            rename_at(v, loc_off(rw, clang_getTokenLocation(rw->tu, toks[i])), name);
        free(name);
    }
    clang_disposeTokens(rw->tu, toks, n);
}

static void note_expansion(struct visit *v, CXCursor c)
{
    struct rw *rw = v->rw;
    uint32_t s, e;
    cursor_range(rw, c, &s, &e);
    if (s == NOPOS)
        return;
    CXCursor def = clang_getCursorReferenced(c);
    char *home = NULL;
    if (clang_Cursor_isNull(def)) {
        home = strdup("");
    } else if (loc_off(rw, clang_getCursorLocation(def)) == NOPOS) {
        CXFile f;
        clang_getSpellingLocation(clang_getCursorLocation(def), &f, NULL, NULL, NULL);
        home = f ? cxstr(clang_getFileName(f)) : strdup("");
    }
    GROW(v->exp, v->nexp, v->capexp);
    v->exp[v->nexp++] = (struct expansion){s, e, home};
}

/* The preprocessing record, once: the file's #defines renamed, its macro
 * expansions noted. */
static enum CXChildVisitResult macro_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct visit *v = d;
    (void)parent;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_MacroDefinition && loc_off(v->rw, clang_getCursorLocation(c)) != NOPOS)
        rename_in_define(v, c);
    else if (k == CXCursor_MacroExpansion)
        note_expansion(v, c);
    return CXChildVisit_Continue;
}

/* The file defining the macro expanded at main-file offset at: NULL for the
 * main file, "" when it is not known. */
static const char *macro_home(struct visit *v, uint32_t at)
{
    for (int i = 0; i < v->nexp; i++)
        if (at >= v->exp[i].start && at < v->exp[i].end)
            return v->exp[i].home;
    return "";
}

static void route(struct visit *v, CXCursor c, const char *name)
{
    struct rw *rw = v->rw;
    CXSourceLocation l = clang_getCursorLocation(c);
    CXFile f;
    unsigned off;
    clang_getSpellingLocation(l, &f, NULL, NULL, &off);
    size_t len = strlen(name);
    if (f && clang_File_isEqual(f, rw->file) && off + len <= rw->size &&
        !memcmp(rw->text + off, name, len)) {
        rename_at(v, off, name);
        return;
    }
    /* from a macro's body: renamed in the file's own #defines */
    uint32_t at = loc_off(rw, l);
    if (at == NOPOS || !rw->o->warn_unsaved || seen_before(&v->reported, at))
        return;
    const char *file = macro_home(v, at);
    if (!file)
        return;
    diag(rw, at, rw->o->werror_unsaved ? "error" : "warning",
         "'%s' is called here through a macro of %s, where ckpt-cc cannot route it through "
         "libckpt: what it allocates or draws is not saved and does not survive a restart "
         "[-Wckpt-unsaved]",
         name, *file ? file : "a header");
}

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData d)
{
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit &&
        clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        return CXChildVisit_Continue;
    if (clang_getCursorKind(c) != CXCursor_DeclRefExpr)
        return CXChildVisit_Recurse;
    CXCursor ref = clang_getCursorReferenced(c);
    if (clang_getCursorKind(ref) != CXCursor_FunctionDecl ||
        !clang_Location_isInSystemHeader(clang_getCursorLocation(ref)))
        return CXChildVisit_Continue;
    char *name = cxstr(clang_getCursorSpelling(ref));
    if (is_routed(name))
        route(d, c, name);
    free(name);
    return CXChildVisit_Continue;
}

void route_libc_calls(struct rw *rw)
{
    struct visit v = {rw, {0}, {0}, NULL, 0, 0};
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), macro_visit, &v);
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), visit, &v);
    for (int i = 0; i < v.nexp; i++)
        free(v.exp[i].home);
    free(v.exp);
    free(v.done.off);
    free(v.reported.off);
}
