/*
 * rewrite.c: the libclang rewriter of ckpt-cc (see rewrite.h and include/ckpt.h),
 * the driver of its passes.
 *
 * The source is parsed with the user's flags and tokenized, then:
 *
 *   tree.c       a tree of every function body defined outside system headers;
 *   callgraph.c  the calls, and the fixpoint "can reach a safe point";
 *   pragma.c     the CKPT_SAVE and CKPT_CHECKPOINT pragmas, found in the tokens;
 *   polls.c      safe points at the top of loops that compute (a flag test);
 *   sites.c      for each reaching call its anchor, the statement a restarted
 *                task re-executes (labelled ckpt__siteK);
 *   autosave.c   what is saved without a pragma (locals, statics, globals);
 *   libcalls.c   the C library calls routed through libckpt (malloc, rand...);
 *   entry.c      main, renamed, and called by libckpt on a stack it places;
 *   emit.c       the edits that instrument each reaching function;
 *   warn.c       the warnings about what a restart would compute differently;
 *   output.c     the original text with the edits applied.
 *
 * The edits never add a newline inside the user's code, so one #line directive
 * keeps every line.  text.c holds what all of them use.  Any error stops the
 * rewrite before the output is written.
 */
#include "rewrite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the whole file into rw->text; 0 or -1 */
static int read_source(struct rw *rw, const char *src)
{
    FILE *in = fopen(src, "rb");
    if (!in) {
        fprintf(stderr, "ckpt-cc: error: cannot read %s\n", rw->o->display);
        return -1;
    }
    struct sbuf b = {0};
    char buf[65536];
    size_t n;
    sb_add(&b, "", 0);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        sb_add(&b, buf, n);
    fclose(in);
    rw->text = b.s;
    rw->size = b.n;
    return 0;
}

/* libclang's errors, with the source named as the user wrote it; the count */
static int report_parse_errors(struct rw *rw, const char *src)
{
    int fatal = 0;
    for (unsigned i = 0, n = clang_getNumDiagnostics(rw->tu); i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(rw->tu, i);
        if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error) {
            char *s = cxstr(clang_formatDiagnostic(
                d, CXDiagnostic_DisplaySourceLocation | CXDiagnostic_DisplayColumn));
            size_t sl = strlen(src);
            if (!strncmp(s, src, sl) && s[sl] == ':')
                fprintf(stderr, "%s%s\n", rw->o->display, s + sl);
            else
                fprintf(stderr, "%s\n", s);
            free(s);
            fatal++;
        }
        clang_disposeDiagnostic(d);
    }
    return fatal;
}

/* rw->tu from src and the user's clang flags; 0 or -1 */
static int parse(struct rw *rw, CXIndex idx, const char *src, int nargs,
                 const char *const *args)
{
    const char **argv = xrealloc(NULL, (size_t)(nargs + 8) * sizeof *argv);
    int ac = 0;
    argv[ac++] = "clang";
    for (int i = 0; i < nargs; i++)
        argv[ac++] = args[i];
    argv[ac++] = "-Wno-unknown-pragmas";
    argv[ac++] = "-ferror-limit=0";
    argv[ac++] = src;
    enum CXErrorCode ec = clang_parseTranslationUnit2FullArgv(
        idx, NULL, argv, ac, NULL, 0,
        CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_KeepGoing, &rw->tu);
    free(argv);
    if (ec != CXError_Success || !rw->tu) {
        fprintf(stderr, "ckpt-cc: error: libclang could not parse %s (error %d)\n",
                rw->o->display, (int)ec);
        rw->tu = NULL;
        return -1;
    }
    return report_parse_errors(rw, src) ? -1 : 0;
}

/* the main file's tokens but comments (pragmas have no cursor), as offsets */
static void tokenize(struct rw *rw)
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
}

/* the ranges of the main file the preprocessor skipped (#if 0 ...) */
static void find_skipped(struct rw *rw)
{
    CXSourceRangeList *sk = clang_getSkippedRanges(rw->tu, rw->file);
    if (!sk)
        return;
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

/* Each reaching function of the main file instrumented and checked.  -Wckpt-unsaved
 * only under --ckpt-explicit (else every local is saved), in a file with CKPT
 * pragmas: without any, every local would be reported. */
static void instrument_funcs(struct rw *rw, int user_pragmas)
{
    for (int i = 0; i < rw->nfuncs; i++) {
        if (!rw->funcs[i].in_main || !rw->funcs[i].reach)
            continue;
        instrument_func(rw, i);
        if (rw->o->warn_unsaved && user_pragmas && rw->o->explicit_state && !rw->errors)
            warn_unsaved(rw, i);
        if (rw->o->warn_unsaved && !rw->errors)
            warn_reeval(rw, i);
    }
    /* save pragmas in functions that reach no safe point, and file-scope ones: the line goes */
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (p->is_save && (p->func < 0 || !rw->funcs[p->func].reach))
            edit(rw, p->hash, p->end, 1, strdup(""));
    }
}

/* the passes over a parsed source; 0, or -1 after an error */
static int rewrite_tu(struct rw *rw, const char *src, const char *out)
{
    rw->file = clang_getFile(rw->tu, src);
    tokenize(rw);
    find_skipped(rw);
    build_tree(rw);
    find_calls(rw);
    find_pragmas(rw);
    int user_pragmas = rw->nprags; /* before the synthetic ones of split statements */
    parse_pragmas(rw);
    if (rw->errors)
        return -1;
    add_polls(rw);
    fixpoint(rw);
    check_jumps(rw);
    collect_sites(rw);
    if (rw->errors)
        return -1;
    add_auto_saves(rw);
    auto_globals(rw);
    emit_nosaves(rw);
    route_libc_calls(rw);
    wrap_main(rw);
    if (rw->errors)
        return -1;
    instrument_funcs(rw, user_pragmas);
    if (rw->errors)
        return -1;
    return write_output(rw, out) ? -1 : 0;
}

int ckpt_rewrite(const char *src, const char *out, int nargs, const char *const *args,
                 const struct rw_opts *o)
{
    struct rw rw0 = {0}, *rw = &rw0;
    rw->o = o;
    if (read_source(rw, src) < 0)
        return 1;
    CXIndex idx = clang_createIndex(0, 0);
    int ret = 1;
    if (parse(rw, idx, src, nargs, args) == 0)
        ret = rewrite_tu(rw, src, out) < 0;
    if (rw->tu)
        clang_disposeTranslationUnit(rw->tu);
    clang_disposeIndex(idx);
    return ret;
}
