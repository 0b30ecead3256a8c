/*
 * driver.h: what the modules of ckpt-cc's driver share.  The driver is the
 * cc wrapper around the rewriter (whose interface is rewrite.h); each module
 * uses only those listed above it:
 *
 *   vec.c       argument vectors, formatted strings, file-name pieces, die()
 *   cmdline.c   the command line: @files, the option table, struct cmd
 *   run.c       running a program and waiting for it (-v prints it)
 *   realcc.c    the real compiler: $CKPT_CC, its include path, its kind
 *   locate.c    where ckpt's headers and libckpt.a are
 *   tmpfiles.c  the temporary directory
 *   compile.c   one source: cc's diagnostics, the rewrite, the real compile
 *   ckpt-cc.c   main: the mode, and the link
 */
#ifndef CKPT_DRIVER_H
#define CKPT_DRIVER_H

/* exit status of ckpt-cc's own failures (the compiler's status is passed on as is) */
#define EXIT_CKPT 1

/* ---- vec.c ------------------------------------------------------------ */

/* an argv: v[n] is always NULL */
struct vec {
    const char **v;
    int n, cap;
};

void vpush(struct vec *a, const char *s);
void vcat(struct vec *a, const struct vec *b);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *stem(const char *path);      /* "dir/foo.c" -> "foo" */
char *base_name(const char *path); /* "dir/foo.c" -> "foo.c" */
char *dir_name(const char *path);  /* "dir/foo.c" -> "dir", "foo.c" -> "." */

/* ---- cmdline.c -------------------------------------------------------- */

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
    int explicit_state;    /* --ckpt-explicit: only what CKPT_SAVE names */
    int nsources;
    struct vec clang;      /* flags for libclang */
    int version, help, vflag;
};

void cmd_parse(struct cmd *c, int argc, char **argv);
int cmd_opt_is(const char *word, const char *name);
void cmd_compile_flags(const struct cmd *c, struct vec *a, int for_diag);

/* ---- run.c ------------------------------------------------------------ */

void run_verbose(int on);
int run(const struct vec *a, const char *in_file);

/* ---- realcc.c --------------------------------------------------------- */

void realcc_find(void);
const struct vec *realcc(void);
const struct vec *realcc_includes(void);
int realcc_is_clang(void);

/* ---- locate.c --------------------------------------------------------- */

/* the include directories, in order, and the library directory */
void locate(struct vec *incdirs, char **libdir);

/* ---- tmpfiles.c ------------------------------------------------------- */

const char *tmp_dir(void);

/* ---- compile.c -------------------------------------------------------- */

/* one C source of the command line to compile */
struct unit {
    int word;               /* its index in cmd.w */
    const char *obj;        /* the object to write (assembly with to_asm) */
    int to_asm;             /* -S */
    const char *depfile;    /* -MD: the dependency file, NULL: none */
    const char *dep_target; /* its target without -MT (NULL: obj) */
    const char *keep;       /* where the rewritten source stays: NULL nowhere, "" next to obj */
};

int compile_source(const struct cmd *c, const struct unit *u, const struct vec *incdirs);

#endif /* CKPT_DRIVER_H */
