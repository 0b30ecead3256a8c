/*
 * outshare.c: ckpt-run's own lines in a file shared with the root task
 * (see outshare.h).  File format, text headers and raw bytes:
 *   "ckpt-outshare 1 DEV INO N\n", then N times "LO HI LEN\n" and LEN bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outshare.h"

#define WINDOW_MAX (1 << 20)    /* how far a line is looked for past its lower bound */

int ckpt_outshare_is(const struct ckpt_outshare *s, int fd)
{
    struct stat st;
    return s->ino && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == s->dev &&
           (uint64_t)st.st_ino == s->ino;
}

static int add(struct ckpt_outshare *s, int64_t lo, int64_t hi, const char *bytes, uint32_t len)
{
    if (s->n == s->max) {
        int max = s->max ? 2 * s->max : 32;
        struct ckpt_outline *l = realloc(s->lines, (size_t)max * sizeof *l);
        if (!l)
            return -ENOMEM;
        s->lines = l;
        s->max = max;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, bytes, len);
    s->lines[s->n++] = (struct ckpt_outline){lo, hi, len, copy};
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int ckpt_outshare_write_line(struct ckpt_outshare *s, int fd, const char *line, uint32_t len)
{
    struct stat st;
    /* The line starts at the end (O_APPEND) or at the shared offset, each at
     * least what it is now: the smaller is a lower bound either way. */
    off_t cur = lseek(fd, 0, SEEK_CUR);
    int64_t lo = fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
    if (cur >= 0 && (int64_t)cur < lo)
        lo = (int64_t)cur;
    int err = write_all(fd, line, len);
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (err || end < 0 || (int64_t)end - (int64_t)len < lo)
        return err ? err : -EIO;
    return add(s, lo, (int64_t)end - (int64_t)len, line, len);
}

/* Where line l starts in fd, found by its bytes in its window; -1 if not there. */
static int64_t locate(int fd, const struct ckpt_outline *l)
{
    int64_t span = l->hi - l->lo;
    if (span < 0 || span > WINDOW_MAX)
        return -1;
    size_t n = (size_t)span + l->len;
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    ssize_t got = pread(fd, buf, n, (off_t)l->lo);
    int64_t at = -1;
    for (int64_t k = 0; got > 0 && k + (int64_t)l->len <= got && k <= span; k++)
        if (memcmp(buf + k, l->bytes, l->len) == 0) {
            at = l->lo + k;
            break;
        }
    free(buf);
    return at;
}

int ckpt_outshare_cut(struct ckpt_outshare *s, int fd, int64_t off)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (st.st_size <= off)
        return 0;
    /* Output is opened for writing only (`> log`): read it through a
     * descriptor of our own. */
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int rfd = open(self, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    /* Lines after the mark, in the order they were written (file order). */
    int *moved = calloc((size_t)s->n + 1, sizeof *moved), nmoved = 0, keep = 0;
    if (!moved) {
        close(rfd);
        return -ENOMEM;
    }
    for (int i = 0; i < s->n; i++) {
        int64_t at = locate(rfd, &s->lines[i]);
        if (at >= off)
            moved[nmoved++] = i;
        else if (at >= 0)
            s->lines[keep++] = s->lines[i];     /* before the mark: stays where it is */
        else
            free(s->lines[i].bytes);            /* gone already (an earlier cut) */
    }
    int err = ftruncate(fd, (off_t)off) == 0 && lseek(fd, 0, SEEK_END) >= 0 ? 0 : -errno;
    int64_t pos = off;
    for (int k = 0; k < nmoved; k++) {
        struct ckpt_outline l = s->lines[moved[k]];
        if (!err)
            err = write_all(fd, l.bytes, l.len);
        l.lo = l.hi = pos;      /* nobody else writes while a task is restored */
        pos += l.len;
        s->lines[keep++] = l;
    }
    s->n = keep;
    free(moved);
    close(rfd);
    return err;
}

int ckpt_outshare_save(const struct ckpt_outshare *s, const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    int ok = fprintf(f, "ckpt-outshare 1 %" PRIu64 " %" PRIu64 " %d\n", s->dev, s->ino, s->n) > 0;
    for (int i = 0; ok && i < s->n; i++) {
        const struct ckpt_outline *l = &s->lines[i];
        ok = fprintf(f, "%" PRId64 " %" PRId64 " %" PRIu32 "\n", l->lo, l->hi, l->len) > 0 &&
             fwrite(l->bytes, 1, l->len, f) == l->len;
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int err = errno ? -errno : -EIO;
        unlink(tmp);
        return err;
    }
    return 0;
}

int ckpt_outshare_load(struct ckpt_outshare *s, const char *path)
{
    FILE *f = fopen(path, "r");
    int n, err = 0;
    if (!f)
        return -errno;
    memset(s, 0, sizeof *s);
    if (fscanf(f, "ckpt-outshare 1 %" SCNu64 " %" SCNu64 " %d", &s->dev, &s->ino, &n) != 3 || n < 0 ||
        fgetc(f) != '\n')
        err = -EINVAL;
    for (int i = 0; !err && i < n; i++) {
        int64_t lo, hi;
        uint32_t len;
        char *bytes = NULL;
        if (fscanf(f, "%" SCNd64 " %" SCNd64 " %" SCNu32, &lo, &hi, &len) != 3 || fgetc(f) != '\n' ||
            len > WINDOW_MAX || !(bytes = malloc(len ? len : 1)) || fread(bytes, 1, len, f) != len)
            err = -EINVAL;
        if (!err)
            err = add(s, lo, hi, bytes, len);
        free(bytes);
    }
    fclose(f);
    if (err)
        ckpt_outshare_free(s);
    return err;
}

void ckpt_outshare_free(struct ckpt_outshare *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->lines[i].bytes);
    free(s->lines);
    memset(s, 0, sizeof *s);
}
