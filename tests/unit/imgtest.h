/*
 * imgtest.h: the little harness shared by the image tests and the fuzz target:
 * checks, a scratch folder removed at exit, a deterministic PRNG and data
 * patterns (smooth doubles, random bytes).
 */
#ifndef CKPT_IMGTEST_H
#define CKPT_IMGTEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

#include "check.h"

#define CHECK_RC(expr)                                                                 \
    do {                                                                               \
        int rc_ = (expr);                                                              \
        if (rc_ < 0) {                                                                 \
            fprintf(stderr, "%s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #expr, rc_,   \
                    strerror(-rc_));                                                   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static char t_dir[4096];
static pid_t t_owner;

static int t_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static void t_cleanup(void)
{
    if (t_dir[0] && getpid() == t_owner)
        nftw(t_dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A scratch folder under $TMPDIR (or /tmp), removed when the test exits. */
static const char *t_scratch(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(t_dir, sizeof t_dir, "%s/ckpt-img-XXXXXX", base && *base ? base : "/tmp");
    CHECK(mkdtemp(t_dir) != NULL);
    t_owner = getpid();
    atexit(t_cleanup);
    return t_dir;
}

static char *t_path(const char *leaf)
{
    static char buf[8][4096];
    static int next;
    char *p = buf[next++ % 8];

    CHECK(strlen(t_dir) + strlen(leaf) + 2 <= 4096);
    strcpy(p, t_dir);
    strcat(p, "/");
    strcat(p, leaf);
    return p;
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t t_rng = 0x9e3779b97f4a7c15ull;
static uint64_t t_rand(void)
{
    t_rng ^= t_rng >> 12;
    t_rng ^= t_rng << 25;
    t_rng ^= t_rng >> 27;
    return t_rng * 0x2545f4914f6cdd1dull;
}

static void t_fill_random(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(t_rand() >> 56);
}

/* Smooth doubles, the typical grid of a PDE solver. */
static void t_fill_smooth(void *p, size_t n)
{
    double *d = p;
    for (size_t i = 0; i < n / sizeof *d; i++)
        d[i] = sin((double)i * 0.001);
    memset((uint8_t *)p + n / sizeof *d * sizeof *d, 0x5a, n % sizeof *d);
}

static void t_header(struct ckpt_img_header *h, int32_t vtid, uint64_t epoch)
{
    memset(h, 0, sizeof *h);
    CHECK_RC(ckpt_exe_id_of("/proc/self/exe", &h->exe));
    h->vtid = vtid;
    h->epoch = epoch;
    h->time_ns = 1700000000123456789ull;
}

static inline size_t t_file_size(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (size_t)st.st_size;
}

static inline uint8_t *t_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;

    CHECK(f);
    *n = t_file_size(path);
    b = malloc(*n ? *n : 1);
    CHECK(b);
    CHECK(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static inline void t_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

#endif /* CKPT_IMGTEST_H */
