/*
 * forktime: what a bare fork() of a process of a given size costs here.
 *
 *   forktime MIB [TRIALS]
 *
 * Allocates MIB MiB with malloc, writes every page, then TRIALS times (default
 * 15, after 2 warm-up forks) times fork() in the parent until it returns, and
 * separately fork() + the child's _exit(0) + waitpid().  Prints
 *   mib M trials T fork_ms_median X fork_ms_min Y cycle_ms_median Z
 * where fork_ms is what a checkpointing parent stands still for (the runtime
 * times the same span around its fork()), cycle_ms includes the child's exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: forktime MIB [TRIALS]\n");
        return 2;
    }
    size_t mib = strtoul(argv[1], NULL, 10);
    int trials = argc > 2 ? atoi(argv[2]) : 15;
    if (trials < 1 || trials > 1000)
        return 2;
    size_t len = mib << 20;
    char *p = malloc(len ? len : 1);
    if (!p)
        return 1;
    long pg = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)pg)
        p[i] = (char)i;
    double *f = calloc((size_t)trials, sizeof *f), *c = calloc((size_t)trials, sizeof *c);
    if (!f || !c)
        return 1;
    for (int t = -2; t < trials; t++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        double t1 = now_ms();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        int st;
        waitpid(pid, &st, 0);
        double t2 = now_ms();
        if (t >= 0) {
            f[t] = t1 - t0;
            c[t] = t2 - t0;
        }
        /* the parent writes its memory between forks, as a computing task does */
        for (size_t i = 0; i < len; i += (size_t)pg)
            p[i]++;
    }
    qsort(f, (size_t)trials, sizeof *f, cmp);
    qsort(c, (size_t)trials, sizeof *c, cmp);
    printf("mib %zu trials %d fork_ms_median %.3f fork_ms_min %.3f cycle_ms_median %.3f\n", mib, trials,
           f[trials / 2], f[0], c[trials / 2]);
    return 0;
}
