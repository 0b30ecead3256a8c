/*
 * realcc.c: the real compiler, $CKPT_CC split on blanks (default cc).
 * CKPT_CC naming ckpt-cc itself, directly or through a loop, is refused
 * rather than recursing.  The compiler is asked once (cc -E -v) for its
 * #include <...> directories, which libclang must search as cc does, and
 * whether it is clang (gcc and clang name -MD files of a link apart).
 */
#define _GNU_SOURCE
#include "driver.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct vec cc;
static struct vec includes; /* -isystem DIR pairs for libclang */
static int probed, is_clang;

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

void realcc_find(void)
{
    const char *e = getenv("CKPT_CC");
    char *s = strdup(e && *e ? e : "cc");
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        vpush(&cc, t);
    if (!cc.n)
        die("CKPT_CC is empty");
    if (getenv("CKPT_CC_ACTIVE"))
        die("the real compiler (CKPT_CC=%s) runs ckpt-cc again; set CKPT_CC to a C compiler",
            s);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        for (int i = 0; i < cc.n; i++) {
            char *r = path_search(cc.v[i]);
            if (r && !strcmp(r, self))
                die("CKPT_CC names ckpt-cc itself (%s); set it to the real C compiler", r);
            free(r);
        }
    }
    setenv("CKPT_CC_ACTIVE", "1", 1);
}

const struct vec *realcc(void)
{
    return &cc;
}

/* cc -E -v on an empty C file, its stderr into the file path */
static void ask_cc(const char *path)
{
    struct vec a = {0};
    vcat(&a, &cc);
    vpush(&a, "-E");
    vpush(&a, "-v");
    vpush(&a, "-x");
    vpush(&a, "c");
    vpush(&a, "/dev/null");
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
    free(a.v);
}

/* the answer of ask_cc: the search list, and "clang version" */
static void read_answer(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int in = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (strstr(line, "clang version"))
            is_clang = 1;
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
            vpush(&includes, "-isystem");
            vpush(&includes, strdup(d));
        }
    }
    if (f)
        fclose(f);
}

static void probe(void)
{
    if (probed)
        return;
    probed = 1;
    char tmpl[] = "/tmp/ckpt-cc-inc.XXXXXX";
    const char *td = getenv("TMPDIR");
    char *path = td && *td ? fmt("%s/ckpt-cc-inc.XXXXXX", td) : strdup(tmpl);
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return;
    }
    close(fd);
    ask_cc(path);
    read_answer(path);
    unlink(path);
    free(path);
}

const struct vec *realcc_includes(void)
{
    probe();
    return &includes;
}

int realcc_is_clang(void)
{
    probe();
    return is_clang;
}
