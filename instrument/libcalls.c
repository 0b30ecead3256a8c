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

struct visit {
    struct rw *rw;
    struct seen done, reported;
};

static void rename_at(struct visit *v, uint32_t off, const char *name)
{
    if (seen_before(&v->done, off))
        return;
    struct sbuf b = {0};
    sb_printf(&b, "ckpt_%s", name);
    edit(v->rw, off, off + (uint32_t)strlen(name), 1, b.s);
}

/* The file defining the macro expanded at main-file offset at: NULL for the
 * main file, "" when none is found. */
struct expansion {
    struct rw *rw;
    uint32_t at;
    char *home;
};

static enum CXChildVisitResult expansion_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct expansion *e = d;
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_MacroExpansion)
        return CXChildVisit_Continue;
    uint32_t s, end;
    cursor_range(e->rw, c, &s, &end);
    if (s == NOPOS || e->at < s || e->at >= end)
        return CXChildVisit_Continue;
    CXCursor def = clang_getCursorReferenced(c);
    free(e->home);
    e->home = NULL;
    if (!clang_Cursor_isNull(def) && loc_off(e->rw, clang_getCursorLocation(def)) == NOPOS) {
        CXFile f;
        clang_getSpellingLocation(clang_getCursorLocation(def), &f, NULL, NULL, NULL);
        e->home = f ? cxstr(clang_getFileName(f)) : strdup("another file");
    }
    return CXChildVisit_Break;
}

static char *macro_home(struct rw *rw, uint32_t at)
{
    struct expansion e = {rw, at, strdup("")};
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), expansion_visit, &e);
    return e.home;
}

/* every routed name in the body of a #define of the main file */
static enum CXChildVisitResult define_visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct visit *v = d;
    struct rw *rw = v->rw;
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_MacroDefinition ||
        loc_off(rw, clang_getCursorLocation(c)) == NOPOS)
        return CXChildVisit_Continue;
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
    return CXChildVisit_Continue;
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
    char *file = macro_home(rw, at);
    if (!file)
        return;
    diag(rw, at, rw->o->werror_unsaved ? "error" : "warning",
         "'%s' is called here through a macro of %s, where ckpt-cc cannot route it through "
         "libckpt: what it allocates or draws is not saved and does not survive a restart "
         "[-Wckpt-unsaved]",
         name, *file ? file : "a header");
    free(file);
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
    struct visit v = {rw, {0}, {0}};
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), define_visit, &v);
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), visit, &v);
    free(v.done.off);
    free(v.reported.off);
}
