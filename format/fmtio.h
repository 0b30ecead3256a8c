/*
 * fmtio.h: what the format library's files share and nobody else sees: the
 * little-endian fields and CRC of every container, durable file writing, and
 * the reader's bounded loading and error messages.  Non-static names are fmt__.
 */
#ifndef CKPT_FMTIO_H
#define CKPT_FMTIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#define IO_BLOCK (1u << 20)   /* bytes per read(2) */

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* zlib's crc32 with n == 0 returns c: crc32_z(c, NULL, 0) would return 0. */
static inline uint32_t crc(uint32_t c, const void *p, size_t n)
{
    return n ? (uint32_t)crc32_z(c, p, n) : c;
}

/* ---------------------------------------------------------------- files */

/* Writes all of buf, at off (or at the file position when off < 0),
 * through short writes and interruptions. */
int fmt__write_at(int fd, const void *buf, size_t n, off_t off);
int fmt__write_all(int fd, const void *buf, size_t n);
/* The folder part of path ("." when there is none), into buf. */
int fmt__dir_of(char *buf, size_t len, const char *path);
const char *fmt__base_of(const char *path);
/* A rename or a new entry is durable only once its folder is fsynced. */
int fmt__fsync_dir(const char *dir);
int fmt__fsync_parent(const char *path);
/* A new temporary file, O_EXCL (a stale one removed first, missing folders made). */
int fmt__open_tmp(const char *tmp);
/* fsync, close, rename over path, fsync the folder: the durable-replace dance. */
int fmt__commit_file(int fd, const char *tmp, const char *path);
/* dir/leaf into buf. */
int fmt__join_path(char *buf, size_t len, const char *dir, const char *leaf);

/* ---------------------------------------------------------------- reading */

struct rd {
    const char *fname;        /* file name for messages */
    char *err;
    size_t errlen;
    const uint8_t *buf;
    size_t size;
};

/* Fills r's message ("FILE: ...") and returns rc. */
__attribute__((format(printf, 3, 4)))
int fmt__fail(struct rd *r, int rc, const char *fmt, ...);
/* The one place a format version is checked, for images and records: returns
 * the file's version, from oldest to newest, or a negative code. */
int fmt__check_magic_version(struct rd *r, const char magic[8], const char *what,
                             uint32_t oldest, uint32_t newest);
/* Reads a whole regular file of at most max bytes into memory (r->buf, r->size). */
int fmt__load_file(struct rd *r, const char *path, uint64_t max, uint8_t **out);
/* A record ending in the crc32 of every byte before it (commit, job): its
 * magic, version (returned, as fmt__check_magic_version), header and checksum. */
int fmt__check_record(struct rd *r, const char magic[8], const char *what, size_t hdr_size,
                      uint32_t oldest, uint32_t newest);

#endif /* CKPT_FMTIO_H */
