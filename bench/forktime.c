/*
 * forktime: what a bare fork() of a computing process of a given size costs here.
 *
 *   forktime MIB [TRIALS]
 *
 * Models a task holding MIB MiB of anonymous resident memory (RssAnon: the
 * pages whose page table entries fork() copies; pages of shared libraries
 * that were never written are not copied, so a task's VmRSS overstates what
 * its fork() does).  It allocates what it lacks of MIB, then TRIALS times
 * (default 15, after 2 warm-ups) computes for COMPUTE_MS, writing all of its
 * memory over and over, and times fork() in the parent until it returns; the
 * child _exits at once and is waited for.  Then it writes one byte per page
 * and forks again, and times that too: this tool's former measurement.  Prints
 *   mib M trials T fork_ms_median X fork_ms_min Y cycle_ms_median Z back_to_back_ms_median W
 * where fork_ms is what a checkpointing parent stands still for (the runtime
 * times the same span around its fork()), cycle_ms includes the child's exit,
 * and back_to_back_ms is the second fork, soon after the first.
 *
 * Why compute between forks: fork() walks the page tables, the page
 * descriptors of every resident page, the mappings and their anon_vma chains.
 * A task forks once per checkpoint, seconds apart, and all of that has left
 * the cache by then; measured here, a fork costs about 1.7x (at 34 MiB) to
 * 2.2x (at 5 MiB) as much after 100 ms of computing as right after another
 * fork, and no more after 1 s.  back_to_back_ms shows what this tool used to report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COMPUTE_MS 200.0

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

/* Our own anonymous resident size (stack, libraries' data), in bytes. */
static size_t own_anon(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %zu kB", &kib) == 1)
            break;
    fclose(f);
    return kib << 10;
}

/* What a computing task does between checkpoints: write all of its memory,
 * again and again. */
static void compute(char *p, size_t len)
{
    double end = now_ms() + COMPUTE_MS;
    int k = 0;
    do
        memset(p, k++, len);
    while (now_ms() < end);
}

/* Between back-to-back forks: one write per page, so that the second fork
 * write-protects every page table entry again, as the first did. */
static void touch_pages(char *p, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)pg)
        p[i]++;
}

/* One bare fork: ms until it returns in the parent; *cycle: until the child
 * has exited and been waited for.  -1 on failure. */
static double timed_fork(double *cycle)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    double t1 = now_ms();
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        perror(pid < 0 ? "fork" : "waitpid");
        return -1;
    }
    *cycle = now_ms() - t0;
    return t1 - t0;
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
    size_t own = own_anon(), len = mib << 20 > own ? (mib << 20) - own : 0;
    char *p = malloc(len ? len : 1);
    double *f = calloc((size_t)trials, sizeof *f), *c = calloc((size_t)trials, sizeof *c);
    double *b = calloc((size_t)trials, sizeof *b);
    if (!p || !f || !c || !b)
        return 1;
    for (int t = -2; t < trials; t++) {
        double cycle, unused;
        compute(p, len);
        double cold = timed_fork(&cycle);
        touch_pages(p, len);
        double warm = timed_fork(&unused);
        if (cold < 0 || warm < 0)
            return 1;
        if (t >= 0) {
            f[t] = cold;
            c[t] = cycle;
            b[t] = warm;
        }
    }
    qsort(f, (size_t)trials, sizeof *f, cmp);
    qsort(c, (size_t)trials, sizeof *c, cmp);
    qsort(b, (size_t)trials, sizeof *b, cmp);
    printf("mib %zu trials %d fork_ms_median %.3f fork_ms_min %.3f cycle_ms_median %.3f back_to_back_ms_median %.3f\n",
           mib, trials, f[trials / 2], f[0], c[trials / 2], b[trials / 2]);
    return 0;
}
