/*
 * init.c: the runtime's configuration, read once from the environment.
 *
 *   CKPT_COORD     PVM tid of the job's coordinator (set by ckpt-run): job mode
 *   CKPT_JOB       the job's id (set by ckpt-run, 16 hex digits): images carry
 *                  it, and a restart refuses an image of another job
 *   CKPT_DIR       checkpoint folder (default ./ckpt.<program>, made absolute)
 *   CKPT_COMPRESS  "auto" (the default: deflate when it pays, compress.c) or
 *                  a zlib level 0..9 for every image
 *   CKPT_DISK_MBS  the checkpoint folder's write rate in MB/s, for "auto",
 *                  instead of measuring it
 *   CKPT_CHAIN     images per chain of incremental ones, the full one included
 *                  (default 16; 1: every image is a full one)
 *   CKPT_LOG       "off" disables the sender log (a diagnostic: recovery then
 *                  loses in-transit messages, which is the seed's point)
 *   CKPT_VERBOSE   0..3
 *   CKPT_SNAPSHOT  "off" gives the writer the heap by copy-on-write, not by a
 *                  copy made at the fork (heap.c; for measuring the two)
 *   CKPT_RESTORE   image to restart from (set by ckpt-run for each task)
 *   CKPT_STOP_AT   standalone test hook: checkpoint at the n-th safe point,
 *                  commit it and exit with status 75
 *   CKPT_RESTART   standalone: resume from the newest committed checkpoint
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

struct ckpt_rt ckpt__rt;

uint64_t ckpt__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long env_long(const char *name, long dflt, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    long v = strtol(s, &end, 0);
    if (*end || v < lo || v > hi) {
        pr_warn("ignoring %s=%s (expected %ld..%ld)", name, s, lo, hi);
        return dflt;
    }
    return v;
}

/* A switch that is on unless set to "off" or "0". */
static int env_off(const char *name)
{
    const char *s = getenv(name);
    return s && (!strcmp(s, "off") || !strcmp(s, "0"));
}

/* CKPT_JOB, or 0 outside a job (standalone, whose commits it writes itself). */
static uint64_t job_id(void)
{
    const char *s = getenv("CKPT_JOB");
    char *end;
    if (!s || !*s)
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end || errno)
        ckpt__die("CKPT_JOB=%s is no job id", s);
    return (uint64_t)v;
}

/* Our own copy of argv from /proc: the runtime is not handed main's. */
static void read_cmdline(struct ckpt_rt *rt)
{
    static char buf[65536];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        n = 0;
    buf[n] = '\0';
    int argc = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            argc++;
    rt->argv = calloc((size_t)argc + 1, sizeof *rt->argv);
    if (!rt->argv)
        ckpt__die("out of memory");
    char *p = buf;
    for (int i = 0; i < argc; i++, p += strlen(p) + 1)
        rt->argv[i] = p;
    rt->argc = argc;
}

static void default_dir(struct ckpt_rt *rt)
{
    const char *d = getenv("CKPT_DIR");
    char cwd[PATH_MAX];
    const char *base = strrchr(rt->exe_path, '/');
    base = base ? base + 1 : rt->exe_path;
    if (d && d[0] == '/') {
        snprintf(rt->dir, sizeof rt->dir, "%s", d);
        return;
    }
    if (!getcwd(cwd, sizeof cwd))
        ckpt__die("getcwd: %s", strerror(errno));
    int n = d && *d ? snprintf(rt->dir, sizeof rt->dir, "%s/%s", cwd, d)
                    : snprintf(rt->dir, sizeof rt->dir, "%s/ckpt.%s", cwd, base);
    if (n < 0 || (size_t)n >= sizeof rt->dir)
        ckpt__die("checkpoint folder name too long");
}

const char ckpt__mark[] __attribute__((used)) = CKPT_MARK;

void ckpt__init(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (rt->inited)
        return;
    rt->inited = 1;
    rt->verbose = (int)env_long("CKPT_VERBOSE", 0, 0, 3);
    const char *z = getenv("CKPT_COMPRESS");
    ckpt__compress_setup(z && !strcmp(z, "auto") ? -1 : (int)env_long("CKPT_COMPRESS", -1, 0, 9),
                         (double)env_long("CKPT_DISK_MBS", 0, 0, 1000000000));
    rt->chain = (int)env_long("CKPT_CHAIN", CKPT_CHAIN_DEFAULT, 1, 1000);
    rt->stop_at = env_long("CKPT_STOP_AT", 0, 0, LONG_MAX);
    rt->coord = (int)env_long("CKPT_COORD", 0, 0, INT_MAX);
    rt->job = job_id();
    rt->ends_job = getenv("CKPT_ROOT") != NULL;
    unsetenv("CKPT_ROOT");      /* this process's alone, not its children's */
    rt->log_on = !env_off("CKPT_LOG");
    if (env_off("CKPT_SNAPSHOT"))
        ckpt__heap_no_copy();

    ssize_t n = readlink("/proc/self/exe", rt->exe_path, sizeof rt->exe_path - 1);
    if (n < 0)
        ckpt__die("readlink /proc/self/exe: %s", strerror(errno));
    rt->exe_path[n] = '\0';
    read_cmdline(rt);
    default_dir(rt);

    if (rt->coord)
        rt->mode = CKPT_MODE_JOB;
    else if (rt->stop_at || getenv("CKPT_RESTART"))
        rt->mode = CKPT_MODE_STANDALONE;
    else
        rt->mode = CKPT_MODE_PLAIN;
    if (rt->mode != CKPT_MODE_PLAIN) {
        int err = ckpt_exe_id_of(rt->exe_path, &rt->exe);
        if (err)
            ckpt__die("cannot identify %s: %s", rt->exe_path, strerror(-err));
    }
}
