/*
 * cmdline.c: ckpt-cc's model of a cc command line.  @files are expanded,
 * then each word is classified (a flag, a C source, another input) against
 * an option table that says which flags take an argument and which libclang
 * must see too; what is not in the table passes through as one word.  The
 * mode comes from the flags alone (-E/-M preprocess, -c/-S compile, else
 * link), as mpicc decides it.  ckpt-cc's own flags are noted and never
 * passed on.
 */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_opt_is(const char *word, const char *name)
{
    const char *val;
    const struct opt *o = lookup(word, &val);
    return o && !strcmp(o->name, name);
}

/* ---- @files ------------------------------------------------------------ */

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

/* ---- classifying words ------------------------------------------------ */

static int is_c_name(const char *s)
{
    size_t n = strlen(s);
    return n > 2 && !strcmp(s + n - 2, ".c");
}

/* a word that is not a flag: a C source (by its name, or -x c; "-" only with -x c) or
 * another input */
static void take_input(struct cmd *c, struct word *w, const char *lang)
{
    const char *a = w->s;
    if (!strcmp(a, "-") ? (lang && !strcmp(lang, "c")) : (lang ? !strcmp(lang, "c") : is_c_name(a))) {
        w->kind = K_SOURCE;
        c->nsources++;
    } else {
        w->kind = K_INPUT;
    }
    w->compile_only = 1;
}

/* ckpt-cc's own flags; 1 when a is one */
static int take_own(struct cmd *c, struct word *w)
{
    const char *a = w->s;
    if (!strcmp(a, "--ckpt-keep") || !strncmp(a, "--ckpt-keep=", 12))
        c->keep = a[11] ? a + 12 : "";
    else if (!strcmp(a, "--ckpt-explicit"))
        c->explicit_state = 1;
    else if (!strcmp(a, "-Wno-ckpt-unsaved") || !strcmp(a, "-Wckpt-unsaved") ||
             !strcmp(a, "-Werror=ckpt-unsaved")) {
        c->warn_unsaved = strcmp(a, "-Wno-ckpt-unsaved") != 0;
        c->werror_unsaved = !strcmp(a, "-Werror=ckpt-unsaved");
    } else if (!strcmp(a, "--version"))
        c->version = 1;
    else if (!strcmp(a, "--help"))
        c->help = 1;
    else
        return 0;
    w->owned = 1;
    return 1;
}

/* what a flag says about the mode, the linker, -v and -Wp dependency files */
static void note_flag(struct cmd *c, struct word *w)
{
    static const char *const link_flags[] = {"-static", "-shared", "-rdynamic", "-pie",
                                             "-no-pie", "-s", "-nostdlib", "-nostartfiles",
                                             "-nodefaultlibs", "-static-libgcc", NULL};
    const char *a = w->s;
    if (!strcmp(a, "-v"))
        c->vflag = 1;
    if (!strncmp(a, "-Wp,-MD,", 8) || !strncmp(a, "-Wp,-MMD,", 9))
        c->wp_dep = strchr(a + 4, ',') + 1;
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
}

/* an option of the table at argv[*i], with its argument (the next word when not joined:
 * *i moves on); the -x language it sets goes to *lang */
static void take_option(struct cmd *c, const struct opt *o, const char *val, int argc,
                        char **argv, int *i, const char **lang)
{
    struct word *w = &c->w[c->n - 1];
    const char *a = w->s;
    if ((o->flags & (O_ARG | O_SEP)) && !val) {
        if (*i + 1 >= argc)
            die("missing argument to '%s'", a);
        val = argv[++*i];
        w->pair = 1;
        struct word *w2 = &c->w[c->n++];
        w2->s = val;
        w2->kind = K_FLAG;
    }
    if (!strcmp(o->name, "-o"))
        c->out = val;
    else if (!strcmp(o->name, "-x"))
        *lang = strcmp(val, "none") ? val : NULL;
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

void cmd_parse(struct cmd *c, int argc0, char **argv0)
{
    struct vec args = {0};
    vpush(&args, argv0[0]);
    for (int i = 1; i < argc0; i++)
        expand_at(&args, argv0[i], 0);
    int argc = args.n;
    char **argv = (char **)args.v;

    const char *lang = NULL; /* -x */
    c->w = calloc((size_t)argc + 1, sizeof *c->w);
    c->warn_unsaved = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        struct word *w = &c->w[c->n++];
        w->s = a;
        w->kind = K_FLAG;
        if (a[0] != '-' || !strcmp(a, "-")) {
            take_input(c, w, lang);
            continue;
        }
        if (take_own(c, w))
            continue;
        note_flag(c, w);
        const char *val;
        const struct opt *o = lookup(a, &val);
        if (o)
            take_option(c, o, val, argc, argv, &i, &lang);
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
void cmd_compile_flags(const struct cmd *c, struct vec *a, int for_diag)
{
    int linking = !c->mode_c && !c->mode_S;
    for (int i = 0; i < c->n; i++) {
        const struct word *w = &c->w[i];
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
            vpush(a, c->w[++i].s);
    }
}
