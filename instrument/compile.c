/*
 * compile.c: one C source of the command line, compiled as cc would but
 * instrumented.  Three steps: the real compiler's own diagnostics on the
 * user's text (scan-build's way), the rewrite into a temporary file that
 * keeps the user's line numbers, then the real compile of that file with the
 * user's flags and output name.  Dependency files name the user's source,
 * not the temporary.
 */
#define _GNU_SOURCE
#include "driver.h"
#include "rewrite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* one source on its way */
struct src {
    const char *name;    /* as the user named it, "-" for stdin */
    char *path;          /* a file libclang can read: name, or stdin copied */
    const char *display; /* in messages and #line */
    char *dir;           /* where its "..." includes are */
    char *base;          /* "foo.c" */
    char *out;           /* the rewritten source */
    int seq;             /* numbers its temporary files */
};

static int is_stdin(const struct src *s)
{
    return !strcmp(s->name, "-");
}

/* replaces every occurrence of from by to in file f */
static void replace_in_file(const char *f, const char *from, const char *to)
{
    FILE *in = fopen(f, "r");
    if (!in)
        return;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    char tmp[8192];
    while ((r = fread(tmp, 1, sizeof tmp, in)) > 0) {
        if (n + r + 1 > cap) {
            cap = (n + r + 1) * 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + n, tmp, r);
        n += r;
    }
    fclose(in);
    if (!buf)
        return;
    buf[n] = 0;
    FILE *out = fopen(f, "w");
    if (!out) {
        free(buf);
        return;
    }
    size_t fl = strlen(from);
    for (char *p = buf; *p;) {
        char *q = strstr(p, from);
        if (!q) {
            fputs(p, out);
            break;
        }
        fwrite(p, 1, (size_t)(q - p), out);
        fputs(to, out);
        p = q + fl;
    }
    fclose(out);
    free(buf);
}

/* s->path: the source itself, or stdin copied to a file libclang can read; 0, or 1
 * when the source cannot be read */
static int open_source(struct src *s)
{
    if (!is_stdin(s)) {
        if (access(s->name, R_OK) != 0) {
            fprintf(stderr, "ckpt-cc: error: %s: %s\n", s->name, strerror(errno));
            return 1;
        }
        s->path = strdup(s->name);
        s->display = s->name;
        return 0;
    }
    s->path = fmt("%s/stdin-%d.c", tmp_dir(), s->seq);
    FILE *f = fopen(s->path, "w");
    char buf[8192];
    size_t n;
    if (!f)
        die("cannot write %s", s->path);
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        fwrite(buf, 1, n, f);
    fclose(f);
    s->display = "<stdin>";
    return 0;
}

/* The real compiler's messages about the user's own source, exactly as cc gives them
 * (scan-build's way): the source as the user named it, the user's flags, the output
 * thrown away.  The instrumented compile then runs with -w: its warnings would point
 * at inserted code and shifted columns, and ckpt_pvm.h's declarations would hide a
 * missing #include <pvm3.h>.  A full compile, not -fsyntax-only, so that gcc's
 * warnings from optimisation passes (-Wmaybe-uninitialized...) are there too.
 * Returns the compiler's status: a source cc rejects goes no further. */
static int diagnose(const struct cmd *c, const struct src *s, int to_asm)
{
    char *dir = fmt("%s/diag-%d", tmp_dir(), s->seq);
    if (mkdir(dir, 0700) != 0)
        die("cannot create %s: %s", dir, strerror(errno));
    struct vec a = {0};
    vcat(&a, realcc());
    cmd_compile_flags(c, &a, 1);
    vpush(&a, to_asm ? "-S" : "-c");
    vpush(&a, "-o");
    vpush(&a, fmt("%s/diag.%s", dir, to_asm ? "s" : "o"));
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, s->name);
    int rc = run(&a, is_stdin(s) ? s->path : NULL);
    free(a.v);
    free(dir);
    return rc;
}

/* where the rewritten source goes: NAME.ckpt.c where it is kept, else a temporary */
static char *rewritten_path(const struct src *s, const struct unit *u)
{
    if (!u->keep) {
        /* same file name as the source, in a directory of its own: names the compiler
         * derives from it (-Wp,-MD targets, -save-temps) stay the user's */
        char *d = fmt("%s/%d", tmp_dir(), s->seq);
        if (mkdir(d, 0700) != 0)
            die("cannot create %s: %s", d, strerror(errno));
        free(d);
        return fmt("%s/%d/%s", tmp_dir(), s->seq, is_stdin(s) ? "stdin.c" : s->base);
    }
    char *st = stem(s->name), *out;
    if (*u->keep) {
        out = fmt("%s/%s.ckpt.c", u->keep, st);
    } else {
        char *d = dir_name(u->obj);
        out = fmt("%s/%s.ckpt.c", d, st);
        free(d);
    }
    free(st);
    return out;
}

/* the rewriter on s->path into s->out; 0 or 1 (it printed why) */
static int rewrite(const struct cmd *c, const struct src *s, const struct vec *incdirs)
{
    struct rw_opts o = {0};
    o.display = s->display;
    o.key = is_stdin(s) ? "stdin" : s->base;
    o.warn_unsaved = c->warn_unsaved;
    o.werror_unsaved = c->werror_unsaved;
    o.explicit_state = c->explicit_state;
    o.verbose = c->vflag;
    if (c->vflag)
        fprintf(stderr, "ckpt-cc: rewriting %s -> %s\n", s->display, s->out);
    struct vec cl = {0};
    vpush(&cl, "-iquote");
    vpush(&cl, s->dir);
    vcat(&cl, &c->clang);
    vcat(&cl, realcc_includes());
    /* a program may include <ckpt.h> itself (ckpt_get_stats) */
    for (int i = 0; i < incdirs->n; i++) {
        vpush(&cl, "-idirafter");
        vpush(&cl, incdirs->v[i]);
    }
    int rc = ckpt_rewrite(s->path, s->out, cl.n, cl.v, &o);
    free(cl.v);
    return rc != 0;
}

/* the real compiler on the rewritten source; its status */
static int compile_rewritten(const struct cmd *c, const struct src *s, const struct unit *u,
                             const struct vec *incdirs)
{
    struct vec a = {0};
    vcat(&a, realcc());
    vpush(&a, "-iquote");
    vpush(&a, s->dir);
    cmd_compile_flags(c, &a, 0);
    for (int i = 0; i < incdirs->n; i++)
        vpush(&a, fmt("-I%s", incdirs->v[i]));
    /* no warnings: diagnose() gave the real compiler's, on the user's own text (errors
     * still show; -w also silences warnings -Werror would make errors) */
    vpush(&a, "-w");
    if (u->depfile) {
        vpush(&a, "-MF");
        vpush(&a, u->depfile);
        if (!c->has_mt) { /* the target gcc would name: the object */
            vpush(&a, "-MT");
            vpush(&a, u->dep_target ? u->dep_target : u->obj);
        }
    }
    vpush(&a, u->to_asm ? "-S" : "-c");
    vpush(&a, "-o");
    vpush(&a, u->obj);
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, s->out);
    int rc = run(&a, NULL);
    free(a.v);
    return rc;
}

int compile_source(const struct cmd *c, const struct unit *u, const struct vec *incdirs)
{
    static int seq;
    struct src s = {.name = c->w[u->word].s, .seq = ++seq};
    if (open_source(&s) != 0)
        return 1;
    int rc = diagnose(c, &s, u->to_asm);
    if (rc != 0) {
        free(s.path);
        return rc;
    }
    s.base = base_name(s.name);
    s.out = rewritten_path(&s, u);
    /* "..." includes are looked up next to the original source, not the temporary */
    s.dir = is_stdin(&s) ? strdup(".") : dir_name(s.name);
    rc = rewrite(c, &s, incdirs);
    if (rc == 0) {
        rc = compile_rewritten(c, &s, u, incdirs);
        if (rc == 0 && u->depfile)
            replace_in_file(u->depfile, s.out, s.name);
        if (rc == 0 && c->wp_dep)
            replace_in_file(c->wp_dep, s.out, s.name);
        if (!u->keep)
            unlink(s.out);
    }
    free(s.out);
    free(s.path);
    free(s.base);
    free(s.dir);
    return rc;
}
