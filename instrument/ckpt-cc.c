/*
 * ckpt-cc: a cc wrapper that instruments PVM programs for checkpointing.
 *
 *   ckpt-cc [cc options] files...      (as cc; the real compiler is $CKPT_CC, default cc)
 *
 * Every C source is rewritten by the libclang rewriter (rewrite.c) into a
 * temporary file that keeps the user's line numbers, compiled by the real
 * compiler with the user's flags and the user's output name, and the link
 * adds libckpt and PVM.  Everything else is passed through in order.  This
 * file picks the mode, which comes from the flags alone: -E/-M/-MM
 * preprocess the original source, -c/-S compile, otherwise compile each
 * source to a temporary object and link.  driver.h lists the other modules.
 */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CKPT_VERSION_STRING
#define CKPT_VERSION_STRING "0.1.0"
#endif

static struct cmd cmd;
static struct vec incdirs;
static char *libdir;

static void usage(void)
{
    printf("usage: ckpt-cc [cc options] files...\n"
           "\n"
           "Compiles PVM programs like cc, instrumenting each C source for transparent\n"
           "checkpoints and linking libckpt.  Every global, static and local variable in\n"
           "scope at a safe point and every heap block is saved, with no pragma;\n"
           "#pragma CKPT_NOSAVE(x, ...) leaves variables and heap blocks out,\n"
           "#pragma CKPT_CHECKPOINT adds a safe point, #pragma CKPT_SAVE(...) names what\n"
           "--ckpt-explicit saves.  The real compiler is $CKPT_CC (default cc); every\n"
           "option it knows passes through.\n"
           "\n"
           "ckpt-cc options:\n"
           "  --ckpt-explicit     save only the variables CKPT_SAVE names (and the heap)\n"
           "  --ckpt-keep         keep the rewritten sources next to the outputs (NAME.ckpt.c)\n"
           "  --ckpt-keep=DIR     keep them in DIR\n"
           "  -Wno-ckpt-unsaved   no warning for what a restart would lose: locals not saved\n"
           "                      (--ckpt-explicit), C library calls ckpt-cc cannot route,\n"
           "                      arguments a restart evaluates twice (-Wckpt-reeval)\n"
           "  -Werror=ckpt-unsaved  make those warnings errors\n"
           "  -v                  print the commands run (and pass -v on)\n"
           "  --version, --help\n"
           "\n"
           "Environment: CKPT_CC (real compiler), CKPT_INCLUDE_DIR, CKPT_LIB_DIR (override\n"
           "where ckpt.h and libckpt.a are found), TMPDIR.\n");
}

static void version(void)
{
    printf("ckpt-cc (ckpt) %s\n", CKPT_VERSION_STRING);
    const char *e = getenv("CKPT_CC");
    printf("real compiler: %s\n", e && *e ? e : "cc");
}

static void push_libs(struct vec *a)
{
    vpush(a, fmt("-L%s", libdir));
    /* libckptmalloc first, pulled in by name: its malloc needs libckpt's heap */
    vpush(a, "-Wl,-u,ckpt__malloc_routed");
    vpush(a, "-lckptmalloc");
    vpush(a, "-lckpt");
    vpush(a, "-lgpvm3");
    vpush(a, "-lpvm3");
    vpush(a, "-lz");
}

/* nothing to rewrite: the real compiler on the command line as given (and libckpt when
 * it links) */
static int passthrough(int link)
{
    struct vec a = {0};
    vcat(&a, realcc());
    for (int i = 0; i < cmd.n; i++)
        if (!cmd.w[i].owned)
            vpush(&a, cmd.w[i].s);
    if (link)
        push_libs(&a);
    return run(&a, NULL);
}

/* "dir/out.o" -> "dir/out.d", as gcc names the dependency file of -MD with -o */
static char *dep_of_out(const char *out)
{
    char *d = strdup(out);
    char *dot = strrchr(d, '.'), *sl = strrchr(d, '/');
    if (dot && (!sl || dot > sl))
        *dot = 0;
    char *dep = fmt("%s.d", d);
    free(d);
    return dep;
}

/* -c or -S: each source to its object (or assembly); the status of the first failure */
static int compile_mode(int inputs)
{
    int status = 0;
    /* other inputs (.s, .cc) are compiled by the real compiler alone */
    if (inputs > cmd.nsources) {
        struct vec a = {0};
        vcat(&a, realcc());
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
        struct unit u = {.word = i, .to_asm = cmd.mode_S, .keep = cmd.keep};
        char *obj = cmd.out ? strdup(cmd.out) : fmt("%s.%s", st, cmd.mode_S ? "s" : "o");
        char *dep = NULL;
        if (cmd.mode_MD)
            dep = cmd.mf ? strdup(cmd.mf) : cmd.out ? dep_of_out(cmd.out) : fmt("%s.d", st);
        /* gcc names STEM.o as the target even with -S, unless -o */
        char *tgt = cmd.out ? NULL : fmt("%s.o", st);
        u.obj = obj;
        u.depfile = dep;
        u.dep_target = tgt;
        int rc = compile_source(&cmd, &u, &incdirs);
        if (rc && !status)
            status = rc;
        free(tgt);
        free(st);
        free(obj);
        free(dep);
    }
    return status;
}

/* the link, once every source is an object: the user's command with each source replaced by its
 * object, -MD and -x dropped, and libckpt */
static int link_objects(const char *const *objs)
{
    struct vec a = {0};
    vcat(&a, realcc());
    for (int i = 0; i < cmd.n; i++) {
        if (cmd.w[i].owned)
            continue;
        if (cmd.w[i].kind == K_SOURCE) {
            vpush(&a, "-x");
            vpush(&a, "none");
            vpush(&a, objs[i]);
            continue;
        }
        if (cmd_opt_is(cmd.w[i].s, "-x")) { /* sources are objects now */
            i += cmd.w[i].pair;
            continue;
        }
        if (cmd.w[i].kind == K_FLAG && (!strcmp(cmd.w[i].s, "-MD") || !strcmp(cmd.w[i].s, "-MMD")))
            continue;
        vpush(&a, cmd.w[i].s);
    }
    push_libs(&a);
    return run(&a, NULL);
}

/* compile and link: each source to a temporary object, then the link in the user's
 * order */
static int link_mode(void)
{
    int status = 0;
    const char **objs = calloc((size_t)cmd.n, sizeof *objs);
    /* --ckpt-keep alone keeps the rewritten sources next to the executable */
    const char *keep = cmd.keep && !*cmd.keep ? dir_name(cmd.out ? cmd.out : "a.out") : cmd.keep;
    for (int i = 0; i < cmd.n; i++) {
        if (cmd.w[i].kind != K_SOURCE)
            continue;
        char *st = strcmp(cmd.w[i].s, "-") ? stem(cmd.w[i].s) : strdup("stdin");
        char *obj = fmt("%s/%d-%s.o", tmp_dir(), i, st);
        /* -MD while linking: gcc writes OUT.d (target OUT) for each source in turn, or
         * a-STEM.d (target STEM.o) without -o */
        char *dep = NULL, *tgt = NULL;
        if (cmd.mode_MD) {
            if (cmd.out) {
                dep = dep_of_out(cmd.out);
                tgt = strdup(cmd.out);
            } else {
                dep = fmt(realcc_is_clang() ? "%s.d" : "a-%s.d", st);
                tgt = fmt("%s.o", st);
            }
            if (cmd.mf) {
                free(dep);
                dep = strdup(cmd.mf);
            }
        }
        struct unit u = {.word = i, .obj = obj, .depfile = dep, .dep_target = tgt, .keep = keep};
        int rc = compile_source(&cmd, &u, &incdirs);
        free(dep);
        free(tgt);
        if (rc && !status)
            status = rc;
        objs[i] = obj;
        free(st);
    }
    if (status)
        return status;
    return link_objects(objs);
}

int main(int argc, char **argv)
{
    cmd_parse(&cmd, argc, argv);
    if (cmd.help) {
        usage();
        return 0;
    }
    if (cmd.version) {
        version();
        return 0;
    }
    run_verbose(cmd.vflag);
    realcc_find();
    locate(&incdirs, &libdir);
    if (cmd.vflag) {
        fprintf(stderr, "ckpt-cc %s: include", CKPT_VERSION_STRING);
        for (int i = 0; i < incdirs.n; i++)
            fprintf(stderr, " %s", incdirs.v[i]);
        fprintf(stderr, ", library %s\n", libdir);
    }

    int inputs = 0;
    for (int i = 0; i < cmd.n; i++)
        inputs += cmd.w[i].kind != K_FLAG;

    /* preprocessing only, or nothing to rewrite: the real compiler on the original */
    if (cmd.mode_E || cmd.mode_M || inputs == 0)
        return passthrough(0);
    int compile = cmd.mode_c || cmd.mode_S;
    if (cmd.nsources == 0)
        return passthrough(!compile);
    if (compile && cmd.out && inputs > 1)
        die("cannot specify '-o' with '-c' or '-S' with multiple files");
    return compile ? compile_mode(inputs) : link_mode();
}
