/*
 * ckpt-cc: a cc wrapper that instruments PVM programs for checkpointing.
 *
 *   ckpt-cc [cc options] files...      (as cc; the real compiler is $CKPT_CC, default cc)
 *
 * Every C source is rewritten by the libclang rewriter (rewrite.c) into a
 * temporary file that keeps the user's line numbers, compiled by the real
 * compiler with the user's flags and the user's output name, and the link
 * adds libckpt and PVM.  Everything else is passed through in order.  The
 * mode comes from the flags alone: -E/-M/-MM preprocess the original source,
 * -c/-S compile, otherwise compile and link.
 */
#define _GNU_SOURCE
#include "rewrite.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#ifndef CKPT_VERSION_STRING
#define CKPT_VERSION_STRING "0.1.0"
#endif

/* exit status of ckpt-cc's own failures (the compiler's status is passed on as is) */
#define EXIT_CKPT 1

static int verbose;

/* ---- string vectors --------------------------------------------------- */

struct vec {
    const char **v;
    int n, cap;
};

static void vpush(struct vec *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = realloc(a->v, (size_t)a->cap * sizeof *a->v);
        if (!a->v) {
            perror("ckpt-cc");
            exit(EXIT_CKPT);
        }
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void vcat(struct vec *a, const struct vec *b)
{
    for (int i = 0; i < b->n; i++)
        vpush(a, b->v[i]);
}

static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) {
        perror("ckpt-cc");
        exit(EXIT_CKPT);
    }
    va_end(ap);
    return s;
}

static void die(const char *f, ...)
{
    va_list ap;
    fprintf(stderr, "ckpt-cc: error: ");
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_CKPT);
}

/* ---- the option table ------------------------------------------------- */

enum {
    O_ARG = 1,      /* takes an argument: "-o x" or "-ox" */
    O_SEP = 2,      /* argument only as the next word ("-Xlinker x") */
    O_CLANG = 4,    /* also given to libclang when parsing */
    O_PREFIX = 8,   /* matches as a prefix (-O2, -std=c99) without an argument */
    O_JOINED = 16,  /* O_ARG, but "-lfoo" is the usual form */
};

struct opt {
    const char *name;
    int flags;
};

/* Options that take an argument, or that libclang must see.  Anything not here passes
 * through unchanged as one word. */
static const struct opt opts[] = {
    {"-o", O_ARG},
    {"-I", O_ARG | O_CLANG},
    {"-D", O_ARG | O_CLANG},
    {"-U", O_ARG | O_CLANG},
    {"-include", O_ARG | O_CLANG},
    {"-imacros", O_ARG | O_CLANG},
    {"-isystem", O_ARG | O_CLANG},
    {"-iquote", O_ARG | O_CLANG},
    {"-idirafter", O_ARG | O_CLANG},
    {"-iprefix", O_ARG | O_CLANG},
    {"-iwithprefix", O_ARG | O_CLANG},
    {"-iwithprefixbefore", O_ARG | O_CLANG},
    {"-isysroot", O_ARG | O_CLANG},
    {"--sysroot", O_ARG | O_CLANG},
    {"-x", O_ARG},
    {"-MF", O_ARG},
    {"-MT", O_ARG},
    {"-MQ", O_ARG},
    {"-L", O_ARG},
    {"-l", O_ARG | O_JOINED},
    {"-T", O_ARG},
    {"-u", O_ARG},
    {"-e", O_ARG},
    {"-z", O_ARG},
    {"-A", O_ARG},
    {"-G", O_ARG},
    {"-B", O_ARG},
    {"-Xlinker", O_SEP},
    {"-Xassembler", O_SEP},
    {"-Xpreprocessor", O_SEP},
    {"-aux-info", O_SEP},
    {"--param", O_SEP},
    {"-dumpbase", O_SEP},
    {"-dumpdir", O_SEP},
    {"-std=", O_PREFIX | O_CLANG},
    {"-ansi", O_CLANG},
    {"-O", O_PREFIX | O_CLANG},
    {"-pthread", O_CLANG},
    {"-nostdinc", O_CLANG},
    {"-undef", O_CLANG},
    {"-trigraphs", O_CLANG},
    {"-funsigned-char", O_CLANG},
    {"-fsigned-char", O_CLANG},
    {"-fno-builtin", O_CLANG},
    {"-m32", O_CLANG},
    {"-m64", O_CLANG},
    {NULL, 0},
};

/* the table entry for argument word a, and where its value is (NULL: next word) */
static const struct opt *lookup(const char *a, const char **val)
{
    const struct opt *best = NULL;
    size_t bl = 0;
    *val = NULL;
    for (const struct opt *o = opts; o->name; o++) {
        size_t n = strlen(o->name);
        if (strncmp(a, o->name, n))
            continue;
        if (a[n] && !(o->flags & (O_ARG | O_PREFIX)) )
            continue;
        if ((o->flags & O_SEP) && a[n])
            continue;
        if (n > bl) {
            best = o;
            bl = n;
        }
    }
    if (best && (best->flags & O_ARG) && a[bl])
        *val = a + bl + (a[bl] == '=' && !strcmp(best->name, "--sysroot"));
    return best;
}

/* ---- the command line ------------------------------------------------- */

enum kind { K_FLAG, K_SOURCE, K_INPUT };

struct word {
    const char *s;      /* as given */
    enum kind kind;
    int owned;          /* consumed by ckpt-cc, never passed on */
    int pair;           /* a flag whose argument is the next word */
    int compile_only;   /* drop when compiling a source (inputs, -l) */
    int link_only;      /* a linker flag: dropped from the compile step of a link */
};

struct cmd {
    struct word *w;
    int n;
    int mode_c, mode_S, mode_E, mode_M, mode_MD;
    const char *out;       /* -o */
    const char *mf;        /* -MF */
    int has_mt;
    const char *keep;      /* --ckpt-keep[=dir]: "" = next to outputs */
    const char *wp_dep;    /* -Wp,-MD,FILE or -Wp,-MMD,FILE */
    int warn_unsaved, werror_unsaved;
    int nsources;
    struct vec clang;      /* flags for libclang */
    int version, help, vflag;
};

static int is_c_name(const char *s)
{
    size_t n = strlen(s);
    return n > 2 && !strcmp(s + n - 2, ".c");
}

static void parse(struct cmd *c, int argc, char **argv)
{
    const char *lang = NULL; /* -x */
    c->w = calloc((size_t)argc + 1, sizeof *c->w);
    c->warn_unsaved = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        struct word *w = &c->w[c->n++];
        w->s = a;
        w->kind = K_FLAG;
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (!strcmp(a, "-") ? (lang && !strcmp(lang, "c")) : (lang ? !strcmp(lang, "c") : is_c_name(a))) {
                w->kind = K_SOURCE;
                c->nsources++;
            } else {
                w->kind = K_INPUT;
            }
            w->compile_only = 1;
            continue;
        }
        if (!strcmp(a, "--ckpt-keep") || !strncmp(a, "--ckpt-keep=", 12)) {
            w->owned = 1;
            c->keep = a[11] ? a + 12 : "";
            continue;
        }
        if (!strcmp(a, "-Wno-ckpt-unsaved") || !strcmp(a, "-Wckpt-unsaved") ||
            !strcmp(a, "-Werror=ckpt-unsaved")) {
            w->owned = 1;
            c->warn_unsaved = strcmp(a, "-Wno-ckpt-unsaved") != 0;
            c->werror_unsaved = !strcmp(a, "-Werror=ckpt-unsaved");
            continue;
        }
        if (!strcmp(a, "--version")) {
            c->version = 1;
            w->owned = 1;
            continue;
        }
        if (!strcmp(a, "--help")) {
            c->help = 1;
            w->owned = 1;
            continue;
        }
        if (!strcmp(a, "-v"))
            c->vflag = verbose = 1;
        if (!strncmp(a, "-Wp,-MD,", 8) || !strncmp(a, "-Wp,-MMD,", 9))
            c->wp_dep = strchr(a + 4, ',') + 1;
        static const char *const link_flags[] = {"-static", "-shared", "-rdynamic", "-pie",
                                                 "-no-pie", "-s", "-nostdlib", "-nostartfiles",
                                                 "-nodefaultlibs", "-static-libgcc", NULL};
        for (int k = 0; link_flags[k]; k++)
            if (!strcmp(a, link_flags[k]))
                w->link_only = 1;
        if (!strncmp(a, "-Wl,", 4) || !strcmp(a, "-Xlinker") || !strncmp(a, "-L", 2) ||
            !strcmp(a, "-T") || !strcmp(a, "-u") || !strcmp(a, "-z") || !strcmp(a, "-e"))
            w->link_only = 1;
        if (!strcmp(a, "-c"))
            c->mode_c = 1;
        else if (!strcmp(a, "-S"))
            c->mode_S = 1;
        else if (!strcmp(a, "-E"))
            c->mode_E = 1;
        else if (!strcmp(a, "-M") || !strcmp(a, "-MM"))
            c->mode_M = 1;
        else if (!strcmp(a, "-MD") || !strcmp(a, "-MMD"))
            c->mode_MD = 1;
        const char *val;
        const struct opt *o = lookup(a, &val);
        if (!o)
            continue;
        if ((o->flags & (O_ARG | O_SEP)) && !val) {
            if (i + 1 >= argc)
                die("missing argument to '%s'", a);
            val = argv[++i];
            w->pair = 1;
            struct word *w2 = &c->w[c->n++];
            w2->s = val;
            w2->kind = K_FLAG;
        }
        if (!strcmp(o->name, "-o"))
            c->out = val;
        else if (!strcmp(o->name, "-x"))
            lang = strcmp(val, "none") ? val : NULL;
        else if (!strcmp(o->name, "-MF"))
            c->mf = val;
        else if (!strcmp(o->name, "-MT") || !strcmp(o->name, "-MQ"))
            c->has_mt = 1;
        else if (!strcmp(o->name, "-l"))
            w->compile_only = 1, (w->pair ? c->w[c->n - 1].compile_only = 1 : 0);
        if (o->flags & O_CLANG) {
            if ((o->flags & O_ARG) && w->pair) {
                vpush(&c->clang, o->name);
                vpush(&c->clang, val);
            } else {
                vpush(&c->clang, a);
            }
        }
    }
}

/* ---- running programs ------------------------------------------------- */

static void print_cmd(const struct vec *a)
{
    fprintf(stderr, "ckpt-cc:");
    for (int i = 0; i < a->n; i++)
        fprintf(stderr, " %s", a->v[i]);
    fputc('\n', stderr);
}

/* runs argv (stdin from in_file, stdout to out_file when not NULL), returns its exit
 * status (128+signal when killed) */
static int run_io(const struct vec *a, const char *in_file, const char *out_file)
{
    if (verbose)
        print_cmd(a);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (out_file) {
            if (!freopen(out_file, "w", stdout))
                _exit(127);
        }
        if (in_file) {
            if (!freopen(in_file, "r", stdin))
                _exit(127);
        }
        execvp(a->v[0], (char *const *)a->v);
        fprintf(stderr, "ckpt-cc: error: cannot run %s: %s\n", a->v[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

static int run(const struct vec *a, const char *out_file)
{
    return run_io(a, NULL, out_file);
}

/* the real compiler: $CKPT_CC split on blanks, default "cc" */
static struct vec real_cc;

static char *path_search(const char *prog)
{
    if (strchr(prog, '/'))
        return realpath(prog, NULL);
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/bin:/bin";
    char *dup = strdup(p), *save = NULL;
    for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *f = fmt("%s/%s", *d ? d : ".", prog);
        if (access(f, X_OK) == 0) {
            char *r = realpath(f, NULL);
            free(f);
            free(dup);
            return r;
        }
        free(f);
    }
    free(dup);
    return NULL;
}

static void find_real_cc(void)
{
    const char *e = getenv("CKPT_CC");
    char *s = strdup(e && *e ? e : "cc");
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        vpush(&real_cc, t);
    if (!real_cc.n)
        die("CKPT_CC is empty");
    if (getenv("CKPT_CC_ACTIVE"))
        die("the real compiler (CKPT_CC=%s) runs ckpt-cc again; set CKPT_CC to a C compiler",
            s);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        for (int i = 0; i < real_cc.n; i++) {
            char *r = path_search(real_cc.v[i]);
            if (r && !strcmp(r, self))
                die("CKPT_CC names ckpt-cc itself (%s); set it to the real C compiler", r);
            free(r);
        }
    }
    setenv("CKPT_CC_ACTIVE", "1", 1);
}

/* ---- where our headers and library are -------------------------------- */

static char *self_dir(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return strdup(".");
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    return strdup(self);
}

static void locate(char **incdir, char **libdir)
{
    const char *ei = getenv("CKPT_INCLUDE_DIR"), *el = getenv("CKPT_LIB_DIR");
    char *dir = self_dir();
    *incdir = NULL;
    *libdir = NULL;
#if defined(CKPT_BUILD_BIN_DIR) && defined(CKPT_BUILD_INCLUDE_DIR) && defined(CKPT_BUILD_LIB_DIR)
    {
        char *b = realpath(CKPT_BUILD_BIN_DIR, NULL);
        if (b && !strcmp(b, dir)) {
            *incdir = strdup(CKPT_BUILD_INCLUDE_DIR);
            *libdir = strdup(CKPT_BUILD_LIB_DIR);
        }
        free(b);
    }
#endif
    if (!*incdir) {
        *incdir = fmt("%s/../include", dir);
        static const char *const libs[] = {
#ifdef CKPT_INSTALL_LIBDIR
            CKPT_INSTALL_LIBDIR,
#endif
            "lib", "lib64", "lib/x86_64-linux-gnu", NULL};
        for (int i = 0; libs[i]; i++) {
            char *l = fmt("%s/../%s", dir, libs[i]);
            char *a = fmt("%s/libckpt.a", l);
            if (access(a, R_OK) == 0) {
                *libdir = l;
                free(a);
                break;
            }
            free(a);
            free(l);
        }
        if (!*libdir)
            *libdir = fmt("%s/../lib", dir);
    }
    if (ei && *ei) {
        free(*incdir);
        *incdir = strdup(ei);
    }
    if (el && *el) {
        free(*libdir);
        *libdir = strdup(el);
    }
    free(dir);
}

/* ---- the real compiler's include path, for libclang ------------------- */

static int cc_is_clang;

static void add_cc_includes(struct vec *clang)
{
    char tmpl[] = "/tmp/ckpt-cc-inc.XXXXXX";
    const char *td = getenv("TMPDIR");
    char *path = td && *td ? fmt("%s/ckpt-cc-inc.XXXXXX", td) : strdup(tmpl);
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return;
    }
    close(fd);
    struct vec a = {0};
    vcat(&a, &real_cc);
    vpush(&a, "-E");
    vpush(&a, "-v");
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, "/dev/null");
    int sv = verbose;
    verbose = 0;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open("/dev/null", O_WRONLY);
        FILE *f = fopen(path, "w");
        if (!f || o < 0)
            _exit(127);
        dup2(fileno(f), 2);
        dup2(o, 1);
        execvp(a.v[0], (char *const *)a.v);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    verbose = sv;
    FILE *f = fopen(path, "r");
    char line[4096];
    int in = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strstr(line, "clang version"))
            cc_is_clang = 1;
        if (!strncmp(line, "#include <...> search starts here", 33)) {
            in = 1;
            continue;
        }
        if (!strncmp(line, "End of search list", 18))
            break;
        if (in && line[0] == ' ') {
            const char *d = line + 1;
            /* the compiler's own builtin headers (stddef.h, stdarg.h...) are
             * replaced by clang's */
            if (strstr(d, "/gcc/") || strstr(d, "/clang/"))
                continue;
            vpush(clang, "-isystem");
            vpush(clang, strdup(d));
        }
    }
    if (f)
        fclose(f);
    unlink(path);
    free(path);
    free(a.v);
}

/* ---- temporary files -------------------------------------------------- */

static char *tmpdir;

static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = fmt("%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && depth < 4)
                remove_tree(p, depth + 1);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void cleanup_tmp(void)
{
    if (!tmpdir)
        return;
    remove_tree(tmpdir, 0);
    tmpdir = NULL;
}

static const char *get_tmpdir(void)
{
    if (tmpdir)
        return tmpdir;
    const char *td = getenv("TMPDIR");
    tmpdir = fmt("%s/ckpt-cc.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir))
        die("cannot create a temporary directory %s: %s", tmpdir, strerror(errno));
    atexit(cleanup_tmp);
    return tmpdir;
}

/* "dir/foo.c" -> "foo" */
static char *stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = strdup(b);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = 0;
    return s;
}

static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return strdup(b ? b + 1 : path);
}

static char *dir_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? strndup(path, (size_t)(b - path)) : strdup(".");
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

/* ---- one source ------------------------------------------------------- */

static struct cmd cmd;
static int linking; /* compiling the sources of a compile-and-link command */
static char *incdir, *libdir;
static int have_cc_includes;

static void probe_cc(void)
{
    if (!have_cc_includes) {
        add_cc_includes(&cmd.clang);
        have_cc_includes = 1;
    }
}

/* flags that make a compile write a dependency file or keep intermediate files: the
 * diagnostics pass must leave those to the real compile */
static int is_side_output(const char *s)
{
    return !strcmp(s, "-MD") || !strcmp(s, "-MMD") || !strcmp(s, "-MP") ||
           !strncmp(s, "-Wp,-MD,", 8) || !strncmp(s, "-Wp,-MMD,", 9) ||
           !strncmp(s, "-save-temps", 11);
}

/* the user's flags for compiling one source, in order: not ckpt-cc's own, not inputs,
 * not -o/-MF/-x/-c/-S (the caller adds its own), nor link-only flags when linking;
 * for_diag also drops dependency and save-temps flags */
static void push_user_flags(struct vec *a, int for_diag)
{
    for (int i = 0; i < cmd.n; i++) {
        struct word *w = &cmd.w[i];
        if (w->owned || w->kind != K_FLAG || w->compile_only || (linking && w->link_only)) {
            i += w->pair;
            continue;
        }
        const char *val;
        const struct opt *op = lookup(w->s, &val);
        if (op && (!strcmp(op->name, "-o") || !strcmp(op->name, "-MF") ||
                   !strcmp(op->name, "-x") ||
                   (for_diag && (!strcmp(op->name, "-MT") || !strcmp(op->name, "-MQ"))))) {
            i += w->pair;
            continue;
        }
        if (!strcmp(w->s, "-c") || !strcmp(w->s, "-S") || (for_diag && is_side_output(w->s)))
            continue;
        vpush(a, w->s);
        if (w->pair)
            vpush(a, cmd.w[++i].s);
    }
}

/* The real compiler's messages about the user's own source, exactly as cc gives them
 * (scan-build's way): the source as the user named it, the user's flags, the output
 * thrown away.  The instrumented compile then runs with -w: its warnings would point
 * at inserted code and shifted columns, and ckpt_pvm.h's declarations would hide a
 * missing #include <pvm3.h>.  A full compile, not -fsyntax-only, so that gcc's
 * warnings from optimisation passes (-Wmaybe-uninitialized...) are there too.
 * Returns the compiler's status: a source cc rejects goes no further. */
static int diagnose(const char *src, const char *srcpath, const char *dir, int to_asm)
{
    struct vec a = {0};
    vcat(&a, &real_cc);
    push_user_flags(&a, 1);
    vpush(&a, to_asm ? "-S" : "-c");
    vpush(&a, "-o");
    vpush(&a, fmt("%s/diag.%s", dir, to_asm ? "s" : "o"));
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, src);
    int rc = run_io(&a, strcmp(src, "-") ? NULL : srcpath, NULL);
    free(a.v);
    return rc;
}

/* compiles source word i to obj (or asm with -S); returns the compiler's status */
static int compile_one(int wi, const char *obj, int to_asm, const char *depfile,
                       const char *dep_target)
{
    const char *src = cmd.w[wi].s;
    const char *display = src;
    char *srcpath = NULL;
    const char *td = get_tmpdir();
    static int seq;
    seq++;

    if (!strcmp(src, "-")) { /* stdin: copy it to a file libclang can read */
        srcpath = fmt("%s/stdin-%d.c", td, seq);
        FILE *f = fopen(srcpath, "w");
        char buf[8192];
        size_t n;
        if (!f)
            die("cannot write %s", srcpath);
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            fwrite(buf, 1, n, f);
        fclose(f);
        display = "<stdin>";
    } else {
        if (access(src, R_OK) != 0) {
            fprintf(stderr, "ckpt-cc: error: %s: %s\n", src, strerror(errno));
            return 1;
        }
        srcpath = strdup(src);
    }

    probe_cc();
    char *ddir = fmt("%s/diag-%d", td, seq);
    if (mkdir(ddir, 0700) != 0)
        die("cannot create %s: %s", ddir, strerror(errno));
    int drc = diagnose(src, srcpath, ddir, to_asm);
    free(ddir);
    if (drc != 0) {
        free(srcpath);
        return drc;
    }

    char *st = stem(src), *out;
    char *b = base_name(src);
    if (cmd.keep) {
        if (*cmd.keep)
            out = fmt("%s/%s.ckpt.c", cmd.keep, st);
        else {
            char *d = dir_name(obj);
            out = fmt("%s/%s.ckpt.c", d, st);
            free(d);
        }
    } else {
        /* same file name as the source, in a directory of its own: names the compiler
         * derives from it (-Wp,-MD targets, -save-temps) stay the user's */
        char *d = fmt("%s/%d", td, seq);
        if (mkdir(d, 0700) != 0)
            die("cannot create %s: %s", d, strerror(errno));
        free(d);
        out = fmt("%s/%d/%s", td, seq, strcmp(src, "-") ? b : "stdin.c");
    }

    struct rw_opts o = {0};
    o.display = display;
    o.key = strcmp(src, "-") ? b : "stdin";
    o.warn_unsaved = cmd.warn_unsaved;
    o.werror_unsaved = cmd.werror_unsaved;
    o.verbose = verbose;
    if (verbose)
        fprintf(stderr, "ckpt-cc: rewriting %s -> %s\n", display, out);
    /* "..." includes are looked up next to the original source, not the temporary */
    char *sdir = strcmp(src, "-") ? dir_name(src) : strdup(".");
    struct vec cl = {0};
    vpush(&cl, "-iquote");
    vpush(&cl, sdir);
    vcat(&cl, &cmd.clang);
    /* a program may include <ckpt.h> itself (ckpt_get_stats) */
    vpush(&cl, "-idirafter");
    vpush(&cl, incdir);
    int rrc = ckpt_rewrite(srcpath, out, cl.n, cl.v, &o);
    free(cl.v);
    if (rrc != 0) {
        free(sdir);
        free(out);
        free(srcpath);
        free(st);
        free(b);
        return 1;
    }

    struct vec a = {0};
    vcat(&a, &real_cc);
    vpush(&a, "-iquote");
    vpush(&a, sdir);
    push_user_flags(&a, 0);
    vpush(&a, fmt("-I%s", incdir));
    /* no warnings: diagnose() gave the real compiler's, on the user's own text (errors
     * still show; -w also silences warnings -Werror would make errors) */
    vpush(&a, "-w");
    if (depfile) {
        vpush(&a, "-MF");
        vpush(&a, depfile);
        if (!cmd.has_mt) { /* the target gcc would name: the object */
            vpush(&a, "-MT");
            vpush(&a, dep_target ? dep_target : obj);
        }
    }
    vpush(&a, to_asm ? "-S" : "-c");
    vpush(&a, "-o");
    vpush(&a, obj);
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, out);
    int rc = run(&a, NULL);
    if (rc == 0 && depfile)
        replace_in_file(depfile, out, strcmp(src, "-") ? src : "-");
    if (rc == 0 && cmd.wp_dep)
        replace_in_file(cmd.wp_dep, out, strcmp(src, "-") ? src : "-");
    free(a.v);
    if (!cmd.keep)
        unlink(out);
    free(out);
    free(srcpath);
    free(st);
    free(b);
    free(sdir);
    return rc;
}

/* ---- modes ------------------------------------------------------------ */

static int passthrough(int link)
{
    struct vec a = {0};
    vcat(&a, &real_cc);
    for (int i = 0; i < cmd.n; i++)
        if (!cmd.w[i].owned)
            vpush(&a, cmd.w[i].s);
    if (link) {
        vpush(&a, fmt("-L%s", libdir));
        vpush(&a, "-lckpt");
        vpush(&a, "-lgpvm3");
        vpush(&a, "-lpvm3");
        vpush(&a, "-lz");
    }
    return run(&a, NULL);
}

static void usage(void)
{
    printf("usage: ckpt-cc [cc options] files...\n"
           "\n"
           "Compiles PVM programs like cc, instrumenting each C source for transparent\n"
           "checkpoints (#pragma CKPT_SAVE, #pragma CKPT_CHECKPOINT) and linking libckpt.\n"
           "The real compiler is $CKPT_CC (default cc); every option it knows passes through.\n"
           "\n"
           "ckpt-cc options:\n"
           "  --ckpt-keep         keep the rewritten sources next to the outputs (NAME.ckpt.c)\n"
           "  --ckpt-keep=DIR     keep them in DIR\n"
           "  -Wno-ckpt-unsaved   no warning for locals live across a safe point but not saved,\n"
           "                      nor for arguments a restart evaluates twice (-Wckpt-reeval)\n"
           "  -Werror=ckpt-unsaved  make those warnings errors\n"
           "  -v                  print the commands run (and pass -v on)\n"
           "  --version, --help\n"
           "\n"
           "Environment: CKPT_CC (real compiler), CKPT_INCLUDE_DIR, CKPT_LIB_DIR (override\n"
           "where ckpt.h and libckpt.a are found), TMPDIR.\n");
}

/* @FILE arguments (gcc's response files): words split on blanks, '...' "..." and
 * backslash quoting, expanded in place (recursively) */
static void expand_at(struct vec *out, const char *a, int depth)
{
    FILE *f = a[0] == '@' && depth < 10 ? fopen(a + 1, "r") : NULL;
    if (!f) {
        vpush(out, a);
        return;
    }
    char *word = NULL;
    size_t n = 0, cap = 0;
    int c, q = 0, have = 0;
    for (;;) {
        c = fgetc(f);
        if (c == EOF || (!q && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))) {
            if (have) {
                word[n] = 0;
                expand_at(out, word, depth + 1);
                word = NULL;
                n = cap = 0;
                have = 0;
            }
            if (c == EOF)
                break;
            continue;
        }
        if (c == '\\') {
            c = fgetc(f);
            if (c == EOF)
                break;
        } else if (!q && (c == '\'' || c == '"')) {
            q = c;
            have = 1;
            continue;
        } else if (q && c == q) {
            q = 0;
            continue;
        }
        if (n + 2 > cap) {
            cap = cap ? 2 * cap : 64;
            word = realloc(word, cap);
            if (!word)
                die("out of memory");
        }
        word[n++] = (char)c;
        have = 1;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    struct vec args = {0};
    vpush(&args, argv[0]);
    for (int i = 1; i < argc; i++)
        expand_at(&args, argv[i], 0);
    argc = args.n;
    argv = (char **)args.v;
    parse(&cmd, argc, argv);
    if (cmd.help) {
        usage();
        return 0;
    }
    if (cmd.version) {
        printf("ckpt-cc (ckpt) %s\n", CKPT_VERSION_STRING);
        const char *e = getenv("CKPT_CC");
        printf("real compiler: %s\n", e && *e ? e : "cc");
        return 0;
    }
    find_real_cc();
    locate(&incdir, &libdir);
    if (verbose)
        fprintf(stderr, "ckpt-cc %s: include %s, library %s\n", CKPT_VERSION_STRING, incdir,
                libdir);

    int inputs = 0;
    for (int i = 0; i < cmd.n; i++)
        inputs += cmd.w[i].kind != K_FLAG;

    /* preprocessing only, or nothing to rewrite: the real compiler on the original */
    if (cmd.mode_E || cmd.mode_M || inputs == 0)
        return passthrough(0);
    int compile = cmd.mode_c || cmd.mode_S;
    if (cmd.nsources == 0)
        return passthrough(!compile);
    if (compile && cmd.out && cmd.nsources + (inputs - cmd.nsources) > 1)
        die("cannot specify '-o' with '-c' or '-S' with multiple files");

    int status = 0;
    if (compile) {
        /* other inputs (.s, .cc) are compiled by the real compiler alone */
        if (inputs > cmd.nsources) {
            struct vec a = {0};
            vcat(&a, &real_cc);
            for (int i = 0; i < cmd.n; i++)
                if (!cmd.w[i].owned && cmd.w[i].kind != K_SOURCE)
                    vpush(&a, cmd.w[i].s);
            status = run(&a, NULL);
        }
        for (int i = 0; i < cmd.n; i++) {
            if (cmd.w[i].kind != K_SOURCE)
                continue;
            const char *src = cmd.w[i].s;
            char *st = strcmp(src, "-") ? stem(src) : strdup("-");
            char *obj = cmd.out ? strdup(cmd.out) : fmt("%s.%s", st, cmd.mode_S ? "s" : "o");
            char *dep = NULL;
            if (cmd.mode_MD) {
                if (cmd.mf)
                    dep = strdup(cmd.mf);
                else if (cmd.out) {
                    char *d = strdup(cmd.out);
                    char *dot = strrchr(d, '.'), *sl = strrchr(d, '/');
                    if (dot && (!sl || dot > sl))
                        *dot = 0;
                    dep = fmt("%s.d", d);
                    free(d);
                } else {
                    dep = fmt("%s.d", st);
                }
            }
            /* gcc names STEM.o as the target even with -S, unless -o */
            char *tgt = cmd.out ? NULL : fmt("%s.o", st);
            int rc = compile_one(i, obj, cmd.mode_S, dep, tgt);
            free(tgt);
            if (rc && !status)
                status = rc;
            free(st);
            free(obj);
            free(dep);
        }
        return status;
    }

    /* compile each source to a temporary object, then link in the user's order */
    linking = 1;
    probe_cc();
    const char **objs = calloc((size_t)cmd.n, sizeof *objs);
    for (int i = 0; i < cmd.n; i++) {
        if (cmd.w[i].kind != K_SOURCE)
            continue;
        char *st = strcmp(cmd.w[i].s, "-") ? stem(cmd.w[i].s) : strdup("stdin");
        char *obj = fmt("%s/%d-%s.o", get_tmpdir(), i, st);
        const char *keep = cmd.keep;
        if (keep && !*keep) { /* keep next to the executable */
            char *d = dir_name(cmd.out ? cmd.out : "a.out");
            cmd.keep = d;
        }
        /* -MD while linking: gcc writes OUT.d (target OUT) for each source in turn, or
         * a-STEM.d (target STEM.o) without -o */
        char *dep = NULL, *tgt = NULL;
        if (cmd.mode_MD) {
            if (cmd.out) {
                char *d = strdup(cmd.out);
                char *dot = strrchr(d, '.'), *sl = strrchr(d, '/');
                if (dot && (!sl || dot > sl))
                    *dot = 0;
                dep = fmt("%s.d", d);
                free(d);
                tgt = strdup(cmd.out);
            } else {
                dep = fmt(cc_is_clang ? "%s.d" : "a-%s.d", st);
                tgt = fmt("%s.o", st);
            }
            if (cmd.mf) {
                free(dep);
                dep = strdup(cmd.mf);
            }
        }
        int rc = compile_one(i, obj, 0, dep, tgt);
        free(dep);
        free(tgt);
        cmd.keep = keep;
        if (rc && !status)
            status = rc;
        objs[i] = obj;
        free(st);
    }
    if (status)
        return status;
    struct vec a = {0};
    vcat(&a, &real_cc);
    for (int i = 0; i < cmd.n; i++) {
        if (cmd.w[i].owned)
            continue;
        if (cmd.w[i].kind == K_SOURCE) {
            vpush(&a, "-x");
            vpush(&a, "none");
            vpush(&a, objs[i]);
            continue;
        }
        const char *val;
        const struct opt *op = lookup(cmd.w[i].s, &val);
        if (op && !strcmp(op->name, "-x")) { /* sources are objects now */
            i += cmd.w[i].pair;
            continue;
        }
        if (cmd.w[i].kind == K_FLAG && (!strcmp(cmd.w[i].s, "-MD") || !strcmp(cmd.w[i].s, "-MMD")))
            continue;
        vpush(&a, cmd.w[i].s);
    }
    vpush(&a, fmt("-L%s", libdir));
    vpush(&a, "-lckpt");
    vpush(&a, "-lgpvm3");
    vpush(&a, "-lpvm3");
    vpush(&a, "-lz");
    return run(&a, NULL);
}
