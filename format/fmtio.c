/*
 * fmtio.c: the file handling the format library's readers and writers share
 * (fmtio.h).  Writers may run in a fork()ed child of a PVM task: raw write(2),
 * no stdio, failures only through return codes.  The reader trusts no length.
 */
#define _GNU_SOURCE
#include "fmtio.h"
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- files */

/* Writes all of buf, at off (or at the file position when off < 0),
 * through short writes and interruptions. */
int fmt__write_at(int fd, const void *buf, size_t n, off_t off)
{
    const uint8_t *p = buf;

    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t k = off < 0 ? write(fd, p, chunk) : pwrite(fd, p, chunk, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
        if (off >= 0)
            off += k;
    }
    return 0;
}

int fmt__write_all(int fd, const void *buf, size_t n)
{
    return fmt__write_at(fd, buf, n, -1);
}

static int pread_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    off_t off = 0;

    while (n > 0) {
        ssize_t k = pread(fd, p, n > IO_BLOCK * 64 ? IO_BLOCK * 64 : n, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EBADMSG;    /* the file shrank under us */
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* The folder part of path ("." when there is none), into buf. */
int fmt__dir_of(char *buf, size_t len, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash) {
        if (len < 2)
            return -ENAMETOOLONG;
        strcpy(buf, ".");
        return 0;
    }
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n + 1 > len)
        return -ENAMETOOLONG;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

const char *fmt__base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A rename or a new entry is durable only once its folder is fsynced. */
int fmt__fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0 && errno != EINVAL)   /* some filesystems refuse dir fsync */
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

int fmt__fsync_parent(const char *path)
{
    char dir[4096];
    int rc = fmt__dir_of(dir, sizeof dir, path);

    return rc < 0 ? rc : fmt__fsync_dir(dir);
}

/* mkdir -p of path's folders, mode 0700; a folder created is made durable. */
static int make_parents(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) == 0) {
            int rc = fmt__fsync_parent(buf);
            if (rc < 0)
                return rc;
        } else if (errno != EEXIST) {
            return -errno;
        }
        *p = '/';
    }
    return 0;
}

/* O_EXCL so that a planted symlink or file is never followed or appended to; a
 * stale temporary left by a killed writer is removed first (unlink removes a
 * symlink itself, never its target). */
int fmt__open_tmp(const char *tmp)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno == EEXIST) {
            if (unlink(tmp) < 0 && errno != ENOENT)
                return -errno;
        } else if (errno == ENOENT) {
            int rc = make_parents(tmp);
            if (rc < 0)
                return rc;
        } else {
            return -errno;
        }
    }
    return -EEXIST;
}

/* fsync, close, rename over path, fsync the folder: the durable-replace dance. */
int fmt__commit_file(int fd, const char *tmp, const char *path)
{
    int rc = 0;

    if (fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        return rc;
    if (rename(tmp, path) < 0)
        return -errno;
    return fmt__fsync_parent(path);
}

int fmt__join_path(char *buf, size_t len, const char *epoch_dir, const char *leaf)
{
    int n = snprintf(buf, len, "%s/%s", epoch_dir, leaf);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* ---------------------------------------------------------------- reading */

int fmt__fail(struct rd *r, int rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!r->err || r->errlen == 0)
        return rc;
    n = snprintf(r->err, r->errlen, "%s: ", r->fname);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The one place a format version is checked, for images and records: a
 * version from oldest to newest is read (returned), any other refused. */
int fmt__check_magic_version(struct rd *r, const char magic[8], const char *what,
                             uint32_t oldest, uint32_t newest)
{
    uint32_t v;

    if (r->size < 8 || memcmp(r->buf, magic, 8) != 0)
        return fmt__fail(r, -EBADMSG, "not a ckpt %s (bad magic)", what);
    if (r->size < 16)
        return fmt__fail(r, -EBADMSG, "truncated: %zu bytes", r->size);
    v = get32(r->buf + 8);
    if (v < oldest || v > newest)
        return oldest == newest
            ? fmt__fail(r, -EPROTONOSUPPORT, "%s format version %" PRIu32
                        ", this ckpt reads version %" PRIu32, what, v, newest)
            : fmt__fail(r, -EPROTONOSUPPORT, "%s format version %" PRIu32
                        ", this ckpt reads versions %" PRIu32 " to %" PRIu32, what, v, oldest, newest);
    return (int)v;
}

/* Reads a whole regular file of at most max bytes into memory. */
int fmt__load_file(struct rd *r, const char *path, uint64_t max, uint8_t **out)
{
    struct stat st;
    uint8_t *buf = NULL;
    /* A checkpoint folder's files are never symlinks: one planted there is
     * not followed to a file elsewhere. */
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    *out = NULL;
    if (fd < 0) {
        rc = -errno;
        return fmt__fail(r, rc, "cannot open: %s", strerror(-rc));
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        fmt__fail(r, rc, "cannot stat: %s", strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fmt__fail(r, -EINVAL, "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX) {
        rc = fmt__fail(r, -EFBIG, "file too large (%jd bytes)", (intmax_t)st.st_size);
        goto out;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        rc = fmt__fail(r, -ENOMEM, "cannot allocate %jd bytes", (intmax_t)st.st_size);
        goto out;
    }
    rc = pread_all(fd, buf, (size_t)st.st_size);
    if (rc < 0) {
        fmt__fail(r, rc, "cannot read: %s", rc == -EBADMSG ? "file shrank" : strerror(-rc));
        free(buf);
        goto out;
    }
    r->buf = *out = buf;
    r->size = (size_t)st.st_size;
out:
    close(fd);
    return rc;
}

/* A record ending in the crc32 of every byte before it (commit, job): its
 * magic, version (returned), header and checksum. */
int fmt__check_record(struct rd *r, const char magic[8], const char *what, size_t hdr_size,
                      uint32_t oldest, uint32_t newest)
{
    int rc = fmt__check_magic_version(r, magic, what, oldest, newest);

    if (rc < 0)
        return rc;
    if (r->size < hdr_size + 4)
        return fmt__fail(r, -EBADMSG, "truncated: %zu bytes", r->size);
    if (get32(r->buf + r->size - 4) != crc(0, r->buf, r->size - 4))
        return fmt__fail(r, -EBADMSG, "checksum mismatch");
    return rc;
}
