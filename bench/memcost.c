/*
 * memcost.c: what it costs a computing task, on this machine, to keep a
 * snapshot of its memory for a writer and to learn which pages it changed
 * (issue 16).  One process, one region of SIZE MiB, every figure the median of
 * REPS trials, printed as a markdown table:
 *
 *   rewrite          memset of the region, its pages present (memory bandwidth)
 *   first touch      memset of a fresh mapping: one page fault per page
 *   populate         mmap(MAP_POPULATE) of the same size
 *   fork             fork() with the region mapped, and with it MADV_DONTFORK
 *   cow              rewrite while a forked child holds the pages: what a fork
 *                    based checkpoint costs the parent, one fault per page
 *   copy warm        memcpy of the region into a buffer whose pages are present
 *   compare          memcmp of the region against such a copy (an exact diff)
 *   mprotect         rewrite after mprotect(PROT_READ), a SIGSEGV handler
 *                    opening each page: dirty tracking by signals
 *   uffd-wp async    rewrite after UFFDIO_WRITEPROTECT with the asynchronous
 *                    write-protect feature (Linux 6.7): the kernel resolves
 *                    each first write itself, no handler thread
 *   shared snapshot  the region copied into a MAP_SHARED memfd that stays
 *                    mapped (its pages present, never write-protected), the
 *                    region itself MADV_DONTFORK; fork; the child moves the
 *                    snapshot to the region's address (mremap) and reads it;
 *                    the parent rewrites the region meanwhile: copy + fork,
 *                    then the rewrite, then the child's read
 *
 *   memcost [SIZE_MIB [REPS]]     (defaults 64 and 5)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)     /* linux/userfaultfd.h of Linux 6.7 */
#endif

#define PAGE 4096
#define MAXREPS 64

static size_t size;
static int reps;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "memcost: %s: %s\n", what, strerror(errno));
    exit(1);
}

static char *map(int flags)
{
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

static void unmap(char *p)
{
    if (munmap(p, size) != 0)
        die("munmap");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, (size_t)reps, sizeof *v, cmp_double);
    return v[reps / 2];
}

/* One row: the median time in ms, and per 4 KiB page in us. */
static void row(const char *what, double *v, const char *note)
{
    double m = median(v);
    printf("| %s | %.2f | %.3f | %s |\n", what, m * 1e3, m * 1e6 / (double)(size / PAGE), note);
}

/* -------------------------------------------------------------- trials */

static double t_rewrite(char *p, int r)
{
    double t = now();
    memset(p, r + 1, size);
    return now() - t;
}

static double t_first_touch(void)
{
    double t = now();
    char *p = map(0);
    memset(p, 1, size);
    t = now() - t;
    unmap(p);
    return t;
}

static double t_populate(void)
{
    double t = now();
    char *p = map(MAP_POPULATE);
    t = now() - t;
    unmap(p);
    return t;
}

static double t_fork(void)
{
    double t = now();
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    t = now() - t;
    if (c < 0 || waitpid(c, NULL, 0) != c)
        die("fork");
    return t;
}

/* The child holds the pages until the parent has rewritten them all. */
static double t_cow(char *p, int r)
{
    int go[2];
    if (pipe(go) != 0)
        die("pipe");
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(go[1]);
        while (read(go[0], &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    if (c < 0)
        die("fork");
    close(go[0]);
    double t = now();
    memset(p, r + 7, size);
    t = now() - t;
    close(go[1]);
    if (waitpid(c, NULL, 0) != c)
        die("waitpid");
    return t;
}

static double t_copy(char *dst, const char *src)
{
    double t = now();
    memcpy(dst, src, size);
    return now() - t;
}

static volatile int sink;

static double t_compare(const char *a, const char *b)
{
    double t = now();
    sink += memcmp(a, b, size);
    return now() - t;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    void *page = (void *)((uintptr_t)si->si_addr & ~(uintptr_t)(PAGE - 1));
    if (mprotect(page, PAGE, PROT_READ | PROT_WRITE) != 0)
        _exit(3);
}

static double t_mprotect(char *p, int r)
{
    double t = now();
    if (mprotect(p, size, PROT_READ) != 0)
        die("mprotect");
    memset(p, r + 3, size);
    t = now() - t;
    if (mprotect(p, size, PROT_READ | PROT_WRITE) != 0)     /* one mapping again */
        die("mprotect");
    return t;
}

/* An asynchronous write-protect userfaultfd on p, or -1 with why. */
static int uffd_async(char *p, const char **why)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = "userfaultfd() refused";
        return -1;
    }
    struct uffdio_api api = {.api = UFFD_API, .features = 0};
    if (ioctl(fd, UFFDIO_API, &api) != 0 || !(api.features & UFFD_FEATURE_WP_ASYNC)) {
        *why = "no UFFD_FEATURE_WP_ASYNC (Linux < 6.7)";
        close(fd);
        return -1;
    }
    close(fd);      /* the API handshake is once per descriptor: a new one asks for it */
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    api = (struct uffdio_api){.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC};
    struct uffdio_register reg = {.range = {(uintptr_t)p, size}, .mode = UFFDIO_REGISTER_MODE_WP};
    if (fd < 0 || ioctl(fd, UFFDIO_API, &api) != 0 || ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
        *why = "registering the region for write-protect failed";
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static double t_uffd(int fd, char *p, int r)
{
    struct uffdio_writeprotect wp = {.range = {(uintptr_t)p, size}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
    double t = now();
    if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) != 0)
        die("UFFDIO_WRITEPROTECT");
    memset(p, r + 5, size);
    return now() - t;
}

/* The snapshot a checkpoint could hand its writer without a fault in the
 * computing process: see the header. */
static void t_shared(char *p, char *snap, int r, double *stop, double *after, double *child)
{
    int done[2];
    if (pipe(done) != 0)
        die("pipe");
    double t = now();
    memcpy(snap, p, size);
    if (madvise(p, size, MADV_DONTFORK) != 0)
        die("madvise");
    pid_t c = fork();
    if (c == 0) {
        double c0 = now();
        if (mremap(snap, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, p) != p)
            _exit(4);
        unsigned long sum = 0;
        for (size_t i = 0; i < size; i += PAGE)
            sum += (unsigned char)p[i];
        double c1 = now() - c0;
        if (write(done[1], &c1, sizeof c1) != sizeof c1 || sum == 0)
            _exit(5);
        _exit(0);
    }
    if (c < 0 || madvise(p, size, MADV_DOFORK) != 0)
        die("fork");
    *stop = now() - t;
    t = now();
    memset(p, r + 9, size);
    *after = now() - t;
    int status;
    if (read(done[0], child, sizeof *child) != sizeof *child || waitpid(c, &status, 0) != c ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the child");
    close(done[0]);
    close(done[1]);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: memcost [SIZE_MIB [REPS]]\n"
               "What keeping a snapshot of SIZE MiB and tracking its changed pages costs the\n"
               "process that computes, per mechanism, as a markdown table (medians of REPS).\n");
        return 0;
    }
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    reps = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    if (mib < 1 || mib > 65536 || reps < 1 || reps > MAXREPS) {
        fprintf(stderr, "memcost: SIZE_MIB 1..65536, REPS 1..%d\n", MAXREPS);
        return 2;
    }
    size = (size_t)mib << 20;
    double v[MAXREPS];
    char *p = map(MAP_POPULATE), *q = map(MAP_POPULATE);
    memset(p, 1, size);
    memset(q, 1, size);

    printf("### memcost: %ld MiB, medians of %d\n\n", mib, reps);
    printf("| what | ms | us per 4 KiB page | |\n|---|---|---|---|\n");
    for (int r = 0; r < reps; r++)
        v[r] = t_rewrite(p, r);
    row("rewrite (pages present)", v, "memory bandwidth");
    for (int r = 0; r < reps; r++)
        v[r] = t_first_touch();
    row("first touch of a fresh mapping", v, "a fault per page");
    for (int r = 0; r < reps; r++)
        v[r] = t_populate();
    row("mmap MAP_POPULATE", v, "");
    for (int r = 0; r < reps; r++)
        v[r] = t_fork();
    row("fork, region mapped", v, "the stop of a fork-based checkpoint");
    if (madvise(p, size, MADV_DONTFORK) != 0 || madvise(q, size, MADV_DONTFORK) != 0)
        die("madvise");
    for (int r = 0; r < reps; r++)
        v[r] = t_fork();
    row("fork, region MADV_DONTFORK", v, "");
    if (madvise(p, size, MADV_DOFORK) != 0 || madvise(q, size, MADV_DOFORK) != 0)
        die("madvise");
    for (int r = 0; r < reps; r++)
        v[r] = t_cow(p, r);
    row("rewrite while a child holds it (COW)", v, "what the parent pays per checkpoint");
    for (int r = 0; r < reps; r++)
        v[r] = t_copy(q, p);
    row("memcpy into a buffer present", v, "an eager snapshot");
    for (int r = 0; r < reps; r++)
        v[r] = t_compare(q, p);
    row("memcmp against that copy", v, "an exact diff");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        die("sigaction");
    for (int r = 0; r < reps; r++)
        v[r] = t_mprotect(p, r);
    row("rewrite after mprotect, SIGSEGV per page", v, "dirty tracking by signals");

    const char *why = NULL;
    int fd = uffd_async(p, &why);
    if (fd < 0) {
        printf("| rewrite after userfaultfd async write-protect | - | - | %s |\n", why);
    } else {
        for (int r = 0; r < reps; r++)
            v[r] = t_uffd(fd, p, r);
        row("rewrite after userfaultfd async write-protect", v, "dirty tracking by the kernel");
        close(fd);
    }

    int mfd = memfd_create("memcost", MFD_CLOEXEC);
    if (mfd < 0 || ftruncate(mfd, (off_t)size) != 0)
        die("memfd");
    char *snap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, mfd, 0);
    if (snap == MAP_FAILED)
        die("mmap of the memfd");
    memset(snap, 0, size);
    double w[MAXREPS], x[MAXREPS];
    for (int r = 0; r < reps; r++)
        t_shared(p, snap, r, &v[r], &w[r], &x[r]);
    row("shared snapshot: memcpy + fork (the stop)", v, "the live region left out of the fork");
    row("shared snapshot: rewrite after the fork", w, "no fault: compare with COW");
    row("shared snapshot: the child's read of it", x, "the writer's, off the task's path");
    unmap(snap);
    close(mfd);
    unmap(p);
    unmap(q);
    return 0;
}
