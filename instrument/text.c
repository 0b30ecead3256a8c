/*
 * text.c: the plumbing every pass uses: memory and string buffers, the main
 * file's offsets, lines and tokens, and the `file:line:col:` diagnostics.
 */
#define _GNU_SOURCE
#include "rewrite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "ckpt-cc: out of memory\n");
        exit(1);
    }
    return q;
}

void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
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

char *xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *cxstr(CXString s)
{
    const char *c = clang_getCString(s);
    char *r = strdup(c ? c : "");
    clang_disposeString(s);
    return r;
}

void off_linecol(struct rw *rw, uint32_t off, unsigned *line, unsigned *col)
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

void diag(struct rw *rw, uint32_t off, const char *sev, const char *fmt, ...)
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

uint32_t loc_off(struct rw *rw, CXSourceLocation l)
{
    CXFile f;
    unsigned line, col, off;
    clang_getExpansionLocation(l, &f, &line, &col, &off);
    if (!f || !clang_File_isEqual(f, rw->file))
        return NOPOS;
    return off;
}

void cursor_range(struct rw *rw, CXCursor c, uint32_t *s, uint32_t *e)
{
    CXSourceRange r = clang_getCursorExtent(c);
    *s = loc_off(rw, clang_getRangeStart(r));
    *e = loc_off(rw, clang_getRangeEnd(r));
    if (*s == NOPOS || *e == NOPOS)
        *s = *e = NOPOS;
}

/* first token at or after offset */
int tok_at(struct rw *rw, uint32_t off)
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

int tok_is(struct rw *rw, int t, const char *s)
{
    size_t n = strlen(s);
    return t >= 0 && t < rw->ntoks && rw->toks[t].len == n &&
           !memcmp(rw->text + rw->toks[t].off, s, n);
}

/* index of the ')' matching the '(' at token t, or -1 */
int tok_match(struct rw *rw, int t)
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

int in_skipped(struct rw *rw, uint32_t off)
{
    for (int i = 0; i < rw->nskip; i++)
        if (off >= rw->skip[2 * i] && off < rw->skip[2 * i + 1])
            return 1;
    return 0;
}

/* source text of [s,e) on one line: newlines become spaces */
char *flat(struct rw *rw, uint32_t s, uint32_t e)
{
    char *t = xstrndup(rw->text + s, e - s);
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return t;
}

/* the newlines of [s,e), so that removing it keeps the line numbers */
char *newlines_of(struct rw *rw, uint32_t s, uint32_t e)
{
    struct sbuf b = {0};
    sb_add(&b, "", 0);
    for (uint32_t i = s; i < e; i++)
        if (rw->text[i] == '\n')
            sb_add(&b, "\n", 1);
    return b.s;
}

/* end of the logical line starting at off (backslash-newlines joined) */
uint32_t line_end(struct rw *rw, uint32_t off)
{
    uint32_t i = off;
    while (i < rw->size && rw->text[i] != '\n') {
        if (rw->text[i] == '\\' && i + 1 < rw->size && rw->text[i + 1] == '\n')
            i++;
        i++;
    }
    return i;
}

int first_on_line(struct rw *rw, uint32_t off)
{
    while (off > 0 && (rw->text[off - 1] == ' ' || rw->text[off - 1] == '\t'))
        off--;
    return off == 0 || rw->text[off - 1] == '\n';
}

int tok_ident(struct rw *rw, int t)
{
    return t < rw->ntoks && rw->toks[t].kind == CXToken_Identifier;
}

char *tok_str(struct rw *rw, int t)
{
    return xstrndup(rw->text + rw->toks[t].off, rw->toks[t].len);
}
