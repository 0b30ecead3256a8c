/*
 * run.c: running a program of the build (the real compiler, mostly) and
 * waiting for it.  With -v each command is printed first, as cc -v does.
 */
#include "driver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int verbose;

void run_verbose(int on)
{
    verbose = on;
}

static void print_cmd(const struct vec *a)
{
    fprintf(stderr, "ckpt-cc:");
    for (int i = 0; i < a->n; i++)
        fprintf(stderr, " %s", a->v[i]);
    fputc('\n', stderr);
}

/* runs argv (stdin from in_file when not NULL), returns its exit status (128+signal
 * when killed) */
int run(const struct vec *a, const char *in_file)
{
    if (verbose)
        print_cmd(a);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (in_file && !freopen(in_file, "r", stdin))
            _exit(127);
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
