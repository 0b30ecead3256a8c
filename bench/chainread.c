/*
 * chainread: what a chain of incremental images costs the restart that
 * reads it (issue 16, benchmark 3), with the format library's own writer
 * and reader, in one process: a task's MIB MiB of saved memory is written
 * as a full image (epoch 1), then as CHAIN-1 incremental images, each after
 * PCT % of the memory was rewritten (a window moving through it); then
 * every epoch's image is loaded whole (ckpt_img_load, the chain followed and
 * every checksum verified) REPS times, and the median time is set against
 * the full image's.  A last full image of the final memory is loaded too:
 * the same bytes without a chain.
 *
 *   chainread [MIB [CHAIN [PCT [REPS]]]]     default 256 8 5 5
 *
 * Prints a markdown table: epoch, depth, bytes on disk (its own file), bytes
 * of its chain, load ms, ratio to the full image of the same memory.  The
 * page cache is warm (the files were just written): what a restart on the
 * machine that wrote them pays, disk reads aside.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

#define ADDR 0x300000000000ull
#define VTID 0x40001
#define JOB 0x5eed

static uint8_t *mem;
static size_t len;
static size_t win_lo, win_hi;      /* the bytes rewritten since the last image */
static char dir[] = "/tmp/chainread.XXXXXX";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int unchanged(void *arg, uint64_t addr, uint64_t n)
{
    (void)arg;
    return addr + n <= ADDR + win_lo || addr >= ADDR + win_hi;
}

/* Doubles of the logistic map: what a simulation's state looks like to zlib. */
static void rewrite(size_t lo, size_t hi, double seed)
{
    double x = seed;
    for (size_t i = lo / 8; i < hi / 8; i++) {
        x = 3.99 * x * (1 - x);
        memcpy(mem + i * 8, &x, 8);
    }
    win_lo = lo;
    win_hi = hi;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "chainread: %s: %s\n", what, strerror(-rc));
    exit(1);
}

/* Writes and commits epoch e, on parent (0: full); its stored bytes. */
static uint64_t write_epoch(uint64_t e, uint64_t parent, uint32_t *depth)
{
    struct ckpt_img_header h = { .vtid = VTID, .epoch = e, .time_ns = 1700000000000000000ull + e,
                                 .job = JOB };
    struct ckpt_imgw *w;
    struct ckpt_img_totals t;
    char path[4096], ppath[4096], edir[4096], err[512];
    int rc = ckpt_exe_id_of("/proc/self/exe", &h.exe);

    if (rc == 0)
        rc = ckpt_task_path(path, sizeof path, dir, e, VTID);
    if (rc == 0)
        rc = ckpt_imgw_open(&w, path, &h, 1);
    if (rc)
        die("open", rc);
    if (parent) {
        ckpt_task_path(ppath, sizeof ppath, dir, parent, VTID);
        rc = ckpt_imgw_base(w, ppath, parent, 1700000000000000000ull + parent, 1000, unchanged,
                            NULL, err, sizeof err);
        if (rc)
            fprintf(stderr, "chainread: epoch %llu full: %s\n", (unsigned long long)e, err);
    }
    rc = ckpt_imgw_section_at(w, CKPT_SEC_HEAP, "blocks", mem, len, 8, ADDR);
    if (rc == 0)
        rc = ckpt_imgw_close(w, &t);
    if (rc)
        die("write", rc);
    struct ckpt_commit_task ct = { .vtid = VTID, .raw_bytes = t.raw_bytes,
                                   .stored_bytes = t.stored_bytes, .depth = t.depth,
                                   .parent_epoch = t.parent_epoch };
    struct ckpt_commit c = { .epoch = e, .time_ns = h.time_ns, .ntasks = 1, .tasks = &ct,
                             .job = JOB };
    ckpt_epoch_dir(edir, sizeof edir, dir, e);
    if ((rc = ckpt_commit_write(edir, &c)) != 0)
        die("commit", rc);
    *depth = t.depth;
    return t.stored_bytes;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ms of reps whole loads of epoch e, checked against want. */
static double load_ms(uint64_t e, const uint8_t *want, int reps)
{
    double ms[64];
    char path[4096], err[512];
    ckpt_task_path(path, sizeof path, dir, e, VTID);
    for (int r = 0; r < reps; r++) {
        struct ckpt_img *img;
        double t0 = now_ms();
        int rc = ckpt_img_load_bound(path, JOB, NULL, &img, err, sizeof err);
        ms[r] = now_ms() - t0;
        if (rc) {
            fprintf(stderr, "chainread: %s\n", err);
            exit(1);
        }
        if (want && memcmp(ckpt_img_section(img, 0)->data, want, len) != 0) {
            fprintf(stderr, "chainread: epoch %llu loads other bytes\n", (unsigned long long)e);
            exit(1);
        }
        ckpt_img_free(img);
    }
    qsort(ms, (size_t)reps, sizeof ms[0], cmp_double);
    return ms[reps / 2];
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
    int chain = argc > 2 ? atoi(argv[2]) : 8, pct = argc > 3 ? atoi(argv[3]) : 5;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    if (mib < 1 || chain < 1 || chain > 60 || pct < 1 || pct > 100 || reps < 1 || reps > 64) {
        fprintf(stderr, "usage: chainread [MIB [CHAIN [PCT [REPS]]]]\n");
        return 2;
    }
    len = mib << 20;
    mem = malloc(len);
    uint8_t **snap = calloc((size_t)chain + 2, sizeof *snap);
    uint64_t stored[64], chainb[64];
    uint32_t depth[64];
    if (!mem || !snap || !mkdtemp(dir))
        return 1;
    rewrite(0, len, 0.123);
    stored[1] = write_epoch(1, 0, &depth[1]);
    chainb[1] = 0;
    snap[1] = malloc(len);
    memcpy(snap[1], mem, len);
    size_t step = len / 100 * (size_t)pct;
    for (int e = 2; e <= chain; e++) {
        size_t lo = (size_t)(e - 2) * step % (len - step);
        rewrite(lo, lo + step, 0.2 + e * 0.01);
        stored[e] = write_epoch((uint64_t)e, (uint64_t)e - 1, &depth[e]);
        chainb[e] = depth[e] ? chainb[e - 1] + stored[e - 1] : 0;
        snap[e] = malloc(len);
        memcpy(snap[e], mem, len);
    }
    uint32_t d;
    uint64_t full = write_epoch((uint64_t)chain + 1, 0, &d);
    double full_ms = load_ms((uint64_t)chain + 1, mem, reps);
    printf("## chainread: %zu MiB, a chain of %d images, %d %% rewritten between two\n\n", mib, chain,
           pct);
    printf("| epoch | depth | on disk MiB | chain behind it MiB | load ms (median of %d) | against a full image |\n",
           reps);
    printf("|---:|---:|---:|---:|---:|---:|\n");
    for (int e = 1; e <= chain; e++) {
        double ms = load_ms((uint64_t)e, snap[e], reps);
        printf("| %d | %u | %.1f | %.1f | %.1f | %.2fx |\n", e, depth[e], stored[e] / 1048576.0,
               chainb[e] / 1048576.0, ms, ms / full_ms);
    }
    printf("| full image of the last memory | 0 | %.1f | 0 | %.1f | 1.00x |\n", full / 1048576.0,
           full_ms);
    for (int e = 1; e <= chain + 1; e++)
        ckpt_epoch_remove(dir, (uint64_t)e);
    rmdir(dir);
    return 0;
}
