/*
 * entry.c: the program's main.  A restarted task must find its stack where it
 * was, so that a saved pointer to a local is still right; but main's frame is
 * placed by the C library's start code, below the environment strings, whose
 * size differs between a run and its restart.  So the file's main becomes
 * ckpt__main, by a #define after ckpt_pvm.h (which renames it in every
 * branch of the file's #ifs, as libclang sees only one), and a main of
 * ckpt-cc's hands it to libckpt's ckpt_main, which calls it at a fixed
 * address.  Falling off the end of main returns 0 (C99 5.1.2.2.3), of
 * ckpt__main it would not: a `return 0;` goes before its closing brace.
 */
#include "rewrite_int.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    struct rw *rw;
    int defined, nparams, returns_int;
    uint32_t close;     /* offset of the definition's closing brace */
};

static int is_main(CXCursor c)
{
    char *n = cxstr(clang_getCursorSpelling(c));
    int yes = !strcmp(n, "main") && clang_getCursorKind(c) == CXCursor_FunctionDecl &&
              !clang_Location_isInSystemHeader(clang_getCursorLocation(c));
    free(n);
    return yes;
}

static void definition(struct entry *e, CXCursor c)
{
    uint32_t s, end;
    cursor_range(e->rw, c, &s, &end);
    if (end == NOPOS || end == 0 || e->rw->text[end - 1] != '}')
        return;
    e->defined = 1;
    e->close = end - 1;
    e->nparams = clang_Cursor_getNumArguments(c);
    CXType r = clang_getCanonicalType(clang_getResultType(clang_getCursorType(c)));
    e->returns_int = r.kind == CXType_Int;
}

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData d)
{
    struct entry *e = d;
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit &&
        clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        return CXChildVisit_Continue;
    if (is_main(c) && clang_isCursorDefinition(c))
        definition(e, c);
    return CXChildVisit_Continue;
}

void wrap_main(struct rw *rw)
{
    struct entry e = {rw, 0, 0, 0, 0};
    clang_visitChildren(clang_getTranslationUnitCursor(rw->tu), visit, &e);
    if (!e.defined)
        return;
    if (e.returns_int)
        insert(rw, e.close, END_PRIO(0, -1), " return 0; ");
    static const char *const args[] = {"", "argc", "argc, argv", "argc, argv, envp"};
    int n = e.nparams < 0 ? 0 : e.nparams > 3 ? 3 : e.nparams;
    struct sbuf b = {0};
    sb_printf(&b,
              "#undef main\n"
              "static int ckpt__main_entry(int argc, char **argv, char **envp)\n"
              "{\n    (void)argc; (void)argv; (void)envp;\n    %s ckpt__main(%s);%s\n}\n"
              "int main(int argc, char **argv, char **envp)\n"
              "{\n    return ckpt_main(ckpt__main_entry, argc, argv, envp);\n}\n",
              e.returns_int ? "return" : "", args[n], e.returns_int ? "" : " return 0;");
    rw->main_entry = b.s;
}
