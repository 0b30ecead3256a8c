/*
 * image.c: the on-disk formats of ckpt (task images, commit records, folder
 * naming).  It owns every byte layout below; nothing else reads or writes them.
 * format/FORMAT.md describes the same layouts for readers: keep both in step.
 *
 * All integers are little-endian fixed width; every structure starts with a magic
 * and the format version, checked in one place (check_magic_version).
 *
 * Task image  ("CKPT-IMG"):
 *   header, IMG_HDR_SIZE bytes
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 file length
 *    24 u32 nsections  28 u32 flags  32 i32 vtid  36 u32 reserved
 *    40 u64 epoch  48 u64 time_ns  56 u64 exe size  64 u64 exe hash
 *    72 char exe name[64]  136 u64 job id  144 u32 reserved  148 u32 crc32 of bytes 0..147
 *   then nsections sections, each
 *     0 "SECT"  4 u32 type  8 u32 elem  12 u32 name length  16 u64 raw length
 *    24 u32 chunk size  28 u32 crc32 of the raw data  32 u32 reserved
 *    36 u32 crc32 of bytes 0..35 and of the name;  40 name bytes (no NUL)
 *     then ceil(raw length / chunk size) chunks, each
 *       0 u32 raw length  4 u32 stored length  8 u32 CHUNK_* flags
 *      12 u32 crc32 of bytes 0..11 and of the stored bytes;  16 stored bytes
 *   and nothing after the last section (the header's file length says so).
 *
 * Commit record  ("CKPT-CMT"), file `commit` of an epoch folder:
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 epoch
 *    24 u64 time_ns  32 u32 ntasks  36 u32 task record size  40 u64 job id
 *    48 ntasks records of CMT_TASK_SIZE bytes:
 *       0 i32 vtid  4 u32 flags  8 u64 raw  16 u64 stored  24 u64 log
 *      32 u32 write_ms  36 u32 reserved
 *     then u32 crc32 of every byte before it.
 *
 * Job record  ("CKPT-JOB"), file `job` of a checkpoint folder:
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 job id
 *    24 u64 time_ns  32 u64 exe size  40 u64 exe hash  48 u32 ntasks
 *    52 u32 path length  56 char exe name[64]  120 path bytes (no NUL)
 *     then u32 crc32 of every byte before it.
 *
 * The writer runs in a fork()ed child of a PVM task: it uses raw write(2), no
 * stdio, no atexit, and reports failures only through its return codes.  The
 * reader trusts no length: every size is checked against the bytes of the file
 * before anything is allocated from it.
 */
#define _GNU_SOURCE
#include "image.h"
#include "shuffle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char IMG_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'I', 'M', 'G' };
static const char CMT_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'C', 'M', 'T' };
static const char JOB_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'J', 'O', 'B' };
static const char SEC_MAGIC[4] = { 'S', 'E', 'C', 'T' };

#define IMG_HDR_SIZE 152u
#define IMG_HDR_CRC_OFF 148u
#define SEC_HDR_SIZE 40u
#define CHUNK_HDR_SIZE 16u
#define CMT_HDR_SIZE 48u
#define CMT_TASK_SIZE 40u
#define JOB_HDR_SIZE 120u

#define CHUNK_DEFLATE 1u   /* stored bytes are a zlib stream */
#define CHUNK_SHUFFLED 2u  /* inflated bytes are shuffled by the section's elem */
#define CHUNK_KNOWN (CHUNK_DEFLATE | CHUNK_SHUFFLED)

/* Raw bytes per chunk the writer uses; the reader accepts any size in range. */
#define CHUNK_RAW (1u << 20)
#define CHUNK_MIN 4096u
#define CHUNK_MAX (64u << 20)
/* Chunks smaller than this are stored raw: deflateReset clears a 128 KiB hash
 * table, which would cost more than a few bytes could save. */
#define CHUNK_TRY_MIN 512u
/* deflate never expands data more than 1032:1; a chunk claiming more is corrupt. */
#define DEFLATE_MAX_RATIO 1032u

#define NAME_MAX_LEN CKPT_IMG_NAME_MAX
#define CMT_MAX_TASKS (1u << 20)
#define IO_BLOCK (1u << 20)

/* ---------------------------------------------------------------- bytes */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* zlib's crc32 with n == 0 returns c: crc32_z(c, NULL, 0) would return 0. */
static uint32_t crc(uint32_t c, const void *p, size_t n)
{
    return n ? (uint32_t)crc32_z(c, p, n) : c;
}

/* ---------------------------------------------------------------- files */

/* Writes all of buf, at off (or at the file position when off < 0),
 * through short writes and interruptions. */
static int write_at(int fd, const void *buf, size_t n, off_t off)
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

static int write_all(int fd, const void *buf, size_t n)
{
    return write_at(fd, buf, n, -1);
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
static int dir_of(char *buf, size_t len, const char *path)
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

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A rename or a new entry is durable only once its folder is fsynced. */
static int fsync_dir(const char *dir)
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

static int fsync_parent(const char *path)
{
    char dir[4096];
    int rc = dir_of(dir, sizeof dir, path);

    return rc < 0 ? rc : fsync_dir(dir);
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
            int rc = fsync_parent(buf);
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
static int open_tmp(const char *tmp)
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
static int commit_file(int fd, const char *tmp, const char *path)
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
    return fsync_parent(path);
}

/* ---------------------------------------------------------------- names */

const char *ckpt_sec_type_name(uint32_t type)
{
    static const char *const names[] = {
        [CKPT_SEC_META] = "meta",   [CKPT_SEC_GLOBAL] = "global",
        [CKPT_SEC_FRAME] = "frame", [CKPT_SEC_VAR] = "var",
        [CKPT_SEC_BLOCK] = "block", [CKPT_SEC_LOG] = "log",
        [CKPT_SEC_QUEUE] = "queue", [CKPT_SEC_ARGV] = "argv",
    };

    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "unknown";
}

int ckpt_epoch_dir(char *buf, size_t len, const char *dir, uint64_t epoch)
{
    int n = snprintf(buf, len, "%s/epoch.%" PRIu64, dir, epoch);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ckpt_final_path(char *buf, size_t len, const char *dir, int32_t vtid)
{
    int n = snprintf(buf, len, "%s/exited/task.%08" PRIx32 ".img", dir, (uint32_t)vtid);
    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ckpt_task_path(char *buf, size_t len, const char *dir, uint64_t epoch, int32_t vtid)
{
    int n = snprintf(buf, len, "%s/epoch.%" PRIu64 "/task.%08" PRIx32 ".img", dir,
                     epoch, (uint32_t)vtid);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* ---------------------------------------------------------------- exe id */

/* The name an executable is known by: /proc/self/exe is a symlink to it. */
static void exe_name(const char *path, char *name, size_t len)
{
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    const char *b;

    if (n > 0) {
        target[n] = '\0';
        char *del = strstr(target, " (deleted)");
        if (del && del[10] == '\0')
            *del = '\0';
        b = base_of(target);
    } else {
        b = base_of(path);
    }
    size_t bl = strlen(b) < len ? strlen(b) : len - 1;   /* truncated on purpose */
    memcpy(name, b, bl);
    name[bl] = '\0';
}

/* size + crc32<<32 | adler32 of the contents: two zlib passes at several GB/s,
 * enough to tell two builds apart (this guards mistakes, not attacks). */
int ckpt_exe_id_of(const char *path, struct ckpt_exe_id *id)
{
    struct stat st;
    uint8_t *buf = NULL;
    uLong c = crc32_z(0, Z_NULL, 0), a = adler32_z(0, Z_NULL, 0);
    uint64_t total = 0;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    buf = malloc(IO_BLOCK);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t k = read(fd, buf, IO_BLOCK);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (k == 0)
            break;
        c = crc32_z(c, buf, (size_t)k);
        a = adler32_z(a, buf, (size_t)k);
        total += (uint64_t)k;
    }
    memset(id, 0, sizeof *id);
    id->size = total;
    id->hash = (uint64_t)(c & 0xffffffffu) << 32 | (a & 0xffffffffu);
    exe_name(path, id->name, sizeof id->name);
out:
    free(buf);
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- writer */

struct ckpt_imgw {
    int fd;
    int err;                  /* first failure; every later call returns it */
    int level;
    char *path, *tmp;
    struct ckpt_img_header hdr;
    uint32_t nsections;
    uint64_t off;             /* bytes of the file so far, buffered ones included */
    uint64_t raw_total, log_total;
    z_stream zs;
    int zs_ready;
    int zs_level;             /* the stream's current level (deflateParams) */
    uint8_t *shuf;            /* CHUNK_RAW bytes: the shuffled chunk */
    uint8_t *wbuf;            /* output buffer, flushed with one write(2) */
    size_t wlen, wcap;
};

static int w_flush(struct ckpt_imgw *w)
{
    int rc = write_all(w->fd, w->wbuf, w->wlen);

    w->wlen = 0;
    return rc;
}

/* Appends n bytes; large ones bypass the buffer to avoid a copy. */
static int w_put(struct ckpt_imgw *w, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    if (w->wlen + n > w->wcap) {
        rc = w_flush(w);
        if (rc < 0)
            return rc;
    }
    if (n >= w->wcap / 2) {
        rc = w_flush(w);
        if (rc == 0)
            rc = write_all(w->fd, p, n);
        if (rc < 0)
            return rc;
    } else {
        memcpy(w->wbuf + w->wlen, p, n);
        w->wlen += n;
    }
    w->off += n;
    return 0;
}

static void encode_header(uint8_t *b, const struct ckpt_img_header *h, uint32_t nsections,
                          uint64_t file_len)
{
    memset(b, 0, IMG_HDR_SIZE);
    memcpy(b, IMG_MAGIC, 8);
    put32(b + 8, CKPT_IMG_VERSION);
    put32(b + 12, IMG_HDR_SIZE);
    put64(b + 16, file_len);
    put32(b + 24, nsections);
    put32(b + 28, h->flags);
    put32(b + 32, (uint32_t)h->vtid);
    put64(b + 40, h->epoch);
    put64(b + 48, h->time_ns);
    put64(b + 56, h->exe.size);
    put64(b + 64, h->exe.hash);
    memcpy(b + 72, h->exe.name, sizeof h->exe.name);
    b[72 + sizeof h->exe.name - 1] = '\0';
    put64(b + 136, h->job);
    put32(b + IMG_HDR_CRC_OFF, crc(0, b, IMG_HDR_CRC_OFF));
}

static void w_free(struct ckpt_imgw *w)
{
    if (w->zs_ready)
        deflateEnd(&w->zs);
    free(w->shuf);
    free(w->wbuf);
    free(w->path);
    free(w->tmp);
    free(w);
}

int ckpt_imgw_open(struct ckpt_imgw **wp, const char *path,
                   const struct ckpt_img_header *hdr, int level)
{
    struct ckpt_imgw *w;
    size_t n;
    int rc = -ENOMEM;

    *wp = NULL;
    if (level < 0 || level > 9 || !hdr || !path)
        return -EINVAL;
    n = strlen(path);
    w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->fd = -1;
    w->level = level;
    w->hdr = *hdr;
    /* Room for a chunk header and a whole compressed chunk (<= 90% of CHUNK_RAW). */
    w->wcap = 2 * (size_t)CHUNK_RAW + CHUNK_HDR_SIZE;
    w->path = malloc(n + 1);
    w->tmp = malloc(n + 5);
    w->wbuf = malloc(w->wcap);
    if (!w->path || !w->tmp || !w->wbuf)
        goto fail;
    memcpy(w->path, path, n + 1);
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    rc = open_tmp(w->tmp);
    if (rc < 0)
        goto fail;
    w->fd = rc;
    /* The header is rewritten at close, once nsections and the length are known. */
    memset(w->wbuf, 0, IMG_HDR_SIZE);
    w->wlen = w->off = IMG_HDR_SIZE;
    *wp = w;
    return 0;
fail:
    w_free(w);
    return rc;
}

static int w_deflate_ready(struct ckpt_imgw *w)
{
    if (w->zs_ready)
        return deflateReset(&w->zs) == Z_OK ? 0 : -EIO;
    if (deflateInit2(&w->zs, w->level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    w->zs_ready = 1;
    w->zs_level = w->level;
    return 0;
}

/*
 * Whether deflate can gain anything on a segment, judged on a 4 KiB sample
 * (four 1 KiB pieces spread over it): incompressible when both the bytes and
 * the differences of neighbouring bytes look uniform.  The measure is the
 * collision entropy -log2(sum q^2), in integers: > 7.5 bits per byte when
 * sum(h^2) * 181 < n^2.  Uniform 4 KiB gives ~7.9, the low mantissa planes of
 * doubles too; the high planes, text, small ints and slowly varying bytes (whose
 * differences are small) fall far below.  Deflating a uniform segment costs
 * 20-30 ns a byte for a gain under 1%; storing it (level 0 inside the same zlib
 * stream) costs a copy.  Data repeating with a period over 1 KiB but random
 * within is misjudged and stored: an accepted loss.
 */
#define SEG_MAX (128u << 10)
#define SAMPLE_PIECE 1024u

static int seg_worth(const uint8_t *p, size_t len)
{
    uint32_t hb[256] = { 0 }, hd[256] = { 0 };
    uint64_t sb = 0, sd = 0, nb = 0, nd = 0;
    size_t pieces = len > 4 * SAMPLE_PIECE ? 4 : 1;
    size_t plen = pieces == 4 ? SAMPLE_PIECE : len;

    if (len < 2 * SAMPLE_PIECE)
        return 1;                       /* too small to judge, too small to matter */
    for (size_t k = 0; k < pieces; k++) {
        const uint8_t *q = p + (pieces == 4 ? k * (len - plen) / 3 : 0);
        hb[q[0]]++;
        for (size_t i = 1; i < plen; i++) {
            hb[q[i]]++;
            hd[(uint8_t)(q[i] - q[i - 1])]++;
        }
        nb += plen;
        nd += plen - 1;
    }
    for (int i = 0; i < 256; i++) {
        sb += (uint64_t)hb[i] * hb[i];
        sd += (uint64_t)hd[i] * hd[i];
    }
    return !(sb * 181 < nb * nb && sd * 181 < nd * nd);
}

/* Splits a chunk into segments of at most SEG_MAX bytes that never straddle
 * two shuffle planes (the tail bytes join the last plane).  Returns how many. */
#define SEGS_MAX 40
static size_t plan_segments(size_t raw, uint32_t planes, size_t *seg)
{
    size_t n = 0, plane = planes > 1 ? raw / planes : raw;

    for (uint32_t k = 0; k < planes; k++) {
        size_t len = k + 1 == planes ? raw - plane * k : plane;
        for (size_t off = 0; off < len; off += SEG_MAX)
            seg[n++] = len - off < SEG_MAX ? len - off : SEG_MAX;
    }
    return n;
}

/* Feeds one segment to the stream at its level (0 = stored blocks, inside the
 * same zlib stream, so the reader needs to know nothing about it).  Returns 1
 * if the output still fits, 0 if not, <0 on a zlib error. */
static int w_deflate_seg(struct ckpt_imgw *w, const uint8_t *p, size_t len, int level, int last)
{
    int zr;

    if (level != w->zs_level) {
        zr = deflateParams(&w->zs, level, Z_DEFAULT_STRATEGY);
        if (zr == Z_BUF_ERROR)
            return 0;
        if (zr != Z_OK)
            return -EIO;
        w->zs_level = level;
    }
    w->zs.next_in = (Bytef *)p;
    w->zs.avail_in = (uInt)len;
    zr = deflate(&w->zs, last ? Z_FINISH : Z_NO_FLUSH);
    if (last)
        return zr == Z_STREAM_END ? 1 : zr == Z_OK || zr == Z_BUF_ERROR ? 0 : -EIO;
    if (zr != Z_OK && zr != Z_BUF_ERROR)
        return -EIO;
    return w->zs.avail_out > 0 && w->zs.avail_in == 0;
}

/* Compresses one chunk straight into the output buffer after room for its
 * header.  Returns the stored length, or 0 when it would not be below 90% of
 * raw (the caller stores raw), or <0. */
static long w_try_deflate(struct ckpt_imgw *w, const uint8_t *src, size_t raw, uint32_t elem,
                          uint32_t *flags)
{
    size_t limit = raw - raw / 10, seg[SEGS_MAX], nseg, off = 0;
    int worth[SEGS_MAX], any = 0, rc = 0;
    uint32_t planes = 1;

    *flags = CHUNK_DEFLATE;
    if (ckpt_shuffle_elem_ok(elem) && raw >= elem) {
        if (!w->shuf && !(w->shuf = malloc(CHUNK_RAW)))
            return -ENOMEM;
        ckpt_shuffle(w->shuf, src, raw, elem);
        src = w->shuf;
        planes = elem;
        *flags |= CHUNK_SHUFFLED;
    }
    nseg = plan_segments(raw, planes, seg);
    for (size_t i = 0; i < nseg; off += seg[i++])
        any |= worth[i] = seg_worth(src + off, seg[i]);
    if (!any)
        return 0;                       /* nothing to gain: skip zlib altogether */
    if (w->wlen + CHUNK_HDR_SIZE + limit > w->wcap) {
        rc = w_flush(w);
        if (rc < 0)
            return rc;
    }
    rc = w_deflate_ready(w);
    if (rc < 0)
        return rc;
    w->zs.next_out = w->wbuf + w->wlen + CHUNK_HDR_SIZE;
    w->zs.avail_out = (uInt)limit;
    off = 0;
    for (size_t i = 0; i < nseg; off += seg[i++]) {
        rc = w_deflate_seg(w, src + off, seg[i], worth[i] ? w->level : 0, i + 1 == nseg);
        if (rc <= 0)
            return rc;                  /* 0: did not fit in 90%, not worth it */
    }
    return (long)(limit - w->zs.avail_out);
}

static int w_chunk(struct ckpt_imgw *w, const uint8_t *src, size_t raw, uint32_t elem)
{
    uint8_t ch[CHUNK_HDR_SIZE];
    uint32_t flags = 0;
    long stored = 0;

    if (w->level > 0 && raw >= CHUNK_TRY_MIN) {
        stored = w_try_deflate(w, src, raw, elem, &flags);
        if (stored < 0)
            return (int)stored;
    }
    if (stored > 0) {
        uint8_t *h = w->wbuf + w->wlen;
        put32(h, (uint32_t)raw);
        put32(h + 4, (uint32_t)stored);
        put32(h + 8, flags);
        uint32_t c = crc(crc(0, h, 12), h + CHUNK_HDR_SIZE, (size_t)stored);
        put32(h + 12, c);
        w->wlen += CHUNK_HDR_SIZE + (size_t)stored;
        w->off += CHUNK_HDR_SIZE + (uint64_t)stored;
        return 0;
    }
    put32(ch, (uint32_t)raw);
    put32(ch + 4, (uint32_t)raw);
    put32(ch + 8, 0);
    put32(ch + 12, crc(crc(0, ch, 12), src, raw));
    int rc = w_put(w, ch, sizeof ch);
    return rc < 0 ? rc : w_put(w, src, raw);
}

int ckpt_imgw_section(struct ckpt_imgw *w, uint32_t type, const char *name,
                      const void *data, uint64_t len, uint32_t elem)
{
    uint8_t h[SEC_HDR_SIZE];
    const uint8_t *p = data;
    size_t nlen = name ? strlen(name) : 0;
    int rc;

    if (w->err)
        return w->err;
    if (nlen > NAME_MAX_LEN || (len > 0 && !data) || len > SIZE_MAX)
        return -EINVAL;        /* the caller's mistake: the file is still good */
    memcpy(h, SEC_MAGIC, 4);
    put32(h + 4, type);
    put32(h + 8, elem);
    put32(h + 12, (uint32_t)nlen);
    put64(h + 16, len);
    put32(h + 24, CHUNK_RAW);
    put32(h + 28, crc(0, p, (size_t)len));
    put32(h + 32, 0);
    put32(h + 36, crc(crc(0, h, 36), (const uint8_t *)name, nlen));
    rc = w_put(w, h, sizeof h);
    if (rc == 0)
        rc = w_put(w, name, nlen);
    for (uint64_t done = 0; rc == 0 && done < len; done += CHUNK_RAW) {
        size_t raw = len - done < CHUNK_RAW ? (size_t)(len - done) : CHUNK_RAW;
        rc = w_chunk(w, p + done, raw, elem);
    }
    if (rc < 0)
        return w->err = rc;
    w->nsections++;
    w->raw_total += len;
    if (type == CKPT_SEC_LOG)
        w->log_total += len;
    return 0;
}

int ckpt_imgw_close(struct ckpt_imgw *w, struct ckpt_img_totals *totals)
{
    uint8_t h[IMG_HDR_SIZE];
    int rc = w->err;

    if (rc == 0)
        rc = w_flush(w);
    if (rc == 0) {
        encode_header(h, &w->hdr, w->nsections, w->off);
        rc = write_at(w->fd, h, sizeof h, 0);
    }
    if (rc == 0) {
        rc = commit_file(w->fd, w->tmp, w->path);
        w->fd = -1;             /* closed by commit_file, whatever happened */
    }
    if (rc < 0) {
        ckpt_imgw_abort(w);
        return rc;
    }
    if (totals) {
        totals->raw_bytes = w->raw_total;
        totals->stored_bytes = w->off;
        totals->log_bytes = w->log_total;
    }
    w_free(w);
    return 0;
}

void ckpt_imgw_abort(struct ckpt_imgw *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);         /* may already be gone (renamed): nothing to do then */
    w_free(w);
}

/* ---------------------------------------------------------------- reader */

struct ckpt_img {
    struct ckpt_img_header hdr;
    size_t n;
    struct ckpt_img_section *secs;
};

/* Where a section's pieces are in the loaded file, found by the first pass. */
struct sec_loc {
    size_t chunks;            /* offset of its first chunk */
    uint64_t nchunks;
    uint32_t chunk_size;
    uint32_t data_crc;
};

struct rd {
    const char *fname;        /* file name for messages */
    char *err;
    size_t errlen;
    const uint8_t *buf;
    size_t size;
};

__attribute__((format(printf, 3, 4)))
static int rd_fail(struct rd *r, int rc, const char *fmt, ...)
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

/* The one place a format version is checked, for images and commit records. */
static int check_magic_version(struct rd *r, const char magic[8], const char *what)
{
    uint32_t v;

    if (r->size < 8 || memcmp(r->buf, magic, 8) != 0)
        return rd_fail(r, -EBADMSG, "not a ckpt %s (bad magic)", what);
    if (r->size < 16)
        return rd_fail(r, -EBADMSG, "truncated: %zu bytes", r->size);
    v = get32(r->buf + 8);
    if (v != CKPT_IMG_VERSION)
        return rd_fail(r, -EPROTONOSUPPORT,
                       "%s format version %" PRIu32 ", this ckpt reads version %d", what, v,
                       CKPT_IMG_VERSION);
    return 0;
}

/* Reads a whole regular file of at most max bytes into memory. */
static int load_file(struct rd *r, const char *path, uint64_t max, uint8_t **out)
{
    struct stat st;
    uint8_t *buf = NULL;
    /* A checkpoint folder's files are never symlinks: one planted there is
     * not followed to a file elsewhere. */
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    *out = NULL;
    if (fd < 0) {
        rc = -errno;
        return rd_fail(r, rc, "cannot open: %s", strerror(-rc));
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        rd_fail(r, rc, "cannot stat: %s", strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = rd_fail(r, -EINVAL, "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX) {
        rc = rd_fail(r, -EFBIG, "file too large (%jd bytes)", (intmax_t)st.st_size);
        goto out;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        rc = rd_fail(r, -ENOMEM, "cannot allocate %jd bytes", (intmax_t)st.st_size);
        goto out;
    }
    rc = pread_all(fd, buf, (size_t)st.st_size);
    if (rc < 0) {
        rd_fail(r, rc, "cannot read: %s", rc == -EBADMSG ? "file shrank" : strerror(-rc));
        free(buf);
        goto out;
    }
    r->buf = *out = buf;
    r->size = (size_t)st.st_size;
out:
    close(fd);
    return rc;
}

static int parse_header(struct rd *r, const struct ckpt_exe_id *expect,
                        struct ckpt_img_header *h, uint32_t *nsections)
{
    const uint8_t *b = r->buf;
    int rc = check_magic_version(r, IMG_MAGIC, "task image");

    if (rc < 0)
        return rc;
    if (r->size < IMG_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "truncated: %zu bytes, the header alone needs %u",
                       r->size, IMG_HDR_SIZE);
    if (get32(b + IMG_HDR_CRC_OFF) != crc(0, b, IMG_HDR_CRC_OFF))
        return rd_fail(r, -EBADMSG, "header checksum mismatch");
    if (get32(b + 12) != IMG_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "header size %" PRIu32 ", expected %u", get32(b + 12),
                       IMG_HDR_SIZE);
    if (get64(b + 16) != r->size)
        return rd_fail(r, -EBADMSG, "%s: header says %" PRIu64 " bytes, file has %zu",
                       get64(b + 16) > r->size ? "truncated" : "trailing bytes",
                       get64(b + 16), r->size);
    memset(h, 0, sizeof *h);
    *nsections = get32(b + 24);
    h->flags = get32(b + 28);
    h->vtid = (int32_t)get32(b + 32);
    h->epoch = get64(b + 40);
    h->time_ns = get64(b + 48);
    h->exe.size = get64(b + 56);
    h->exe.hash = get64(b + 64);
    memcpy(h->exe.name, b + 72, sizeof h->exe.name);
    h->exe.name[sizeof h->exe.name - 1] = '\0';
    h->job = get64(b + 136);
    if (*nsections > (r->size - IMG_HDR_SIZE) / SEC_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "%" PRIu32 " sections cannot fit in %zu bytes",
                       *nsections, r->size);
    if (expect && (expect->size != h->exe.size || expect->hash != h->exe.hash))
        return rd_fail(r, -ENOEXEC,
                       "written by another executable (%s, %" PRIu64 " bytes, hash %016" PRIx64
                       "), not this one (%s, %" PRIu64 " bytes, hash %016" PRIx64 ")",
                       h->exe.name, h->exe.size, h->exe.hash, expect->name, expect->size,
                       expect->hash);
    return 0;
}

/* Checks chunk c of section i in place (bounds, lengths, checksum); advances off. */
static int walk_chunk(struct rd *r, size_t i, const char *name, uint64_t c,
                      uint64_t expect_raw, uint32_t elem, size_t *off)
{
    const uint8_t *h = r->buf + *off;
    uint32_t raw, stored, flags;

    if (r->size - *off < CHUNK_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "section %zu '%s': truncated in chunk %" PRIu64, i, name, c);
    raw = get32(h);
    stored = get32(h + 4);
    flags = get32(h + 8);
    if (stored > r->size - *off - CHUNK_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " truncated", i, name, c);
    if (get32(h + 12) != crc(crc(0, h, 12), h + CHUNK_HDR_SIZE, stored))
        return rd_fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " checksum mismatch", i,
                       name, c);
    if (raw != expect_raw || (flags & ~CHUNK_KNOWN) ||
        (!(flags & CHUNK_DEFLATE) && (stored != raw || flags != 0)) ||
        ((flags & CHUNK_SHUFFLED) && !ckpt_shuffle_elem_ok(elem)) ||
        ((flags & CHUNK_DEFLATE) && raw > (uint64_t)stored * DEFLATE_MAX_RATIO + 64))
        return rd_fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " has inconsistent lengths",
                       i, name, c);
    *off += CHUNK_HDR_SIZE + stored;
    return 0;
}

/* First pass over section i: header, name and every chunk header, no allocation
 * beyond the name.  Fills s (name owned by the caller's array) and loc. */
static int walk_section(struct rd *r, size_t i, size_t *off, struct ckpt_img_section *s,
                        struct sec_loc *loc, char **name_out)
{
    const uint8_t *h = r->buf + *off;
    size_t start = *off;
    uint32_t nlen;
    uint64_t raw;
    char *name;
    int rc;

    if (r->size - *off < SEC_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "truncated before section %zu", i);
    if (memcmp(h, SEC_MAGIC, 4) != 0)
        return rd_fail(r, -EBADMSG, "section %zu: bad section magic", i);
    nlen = get32(h + 12);
    if (nlen > NAME_MAX_LEN || nlen > r->size - *off - SEC_HDR_SIZE)
        return rd_fail(r, -EBADMSG, "section %zu: bad name length %" PRIu32, i, nlen);
    if (get32(h + 36) != crc(crc(0, h, 36), h + SEC_HDR_SIZE, nlen))
        return rd_fail(r, -EBADMSG, "section %zu: header checksum mismatch", i);
    if (memchr(h + SEC_HDR_SIZE, '\0', nlen))
        return rd_fail(r, -EBADMSG, "section %zu: name contains a NUL byte", i);
    name = malloc(nlen + 1);
    if (!name)
        return rd_fail(r, -ENOMEM, "out of memory");
    memcpy(name, h + SEC_HDR_SIZE, nlen);
    name[nlen] = '\0';
    *name_out = name;
    s->name = name;
    s->type = get32(h + 4);
    s->elem = get32(h + 8);
    raw = get64(h + 16);
    loc->chunk_size = get32(h + 24);
    loc->data_crc = get32(h + 28);
    if (loc->chunk_size < CHUNK_MIN || loc->chunk_size > CHUNK_MAX || raw > SIZE_MAX)
        return rd_fail(r, -EBADMSG, "section %zu '%s': bad chunk size %" PRIu32, i, name,
                       loc->chunk_size);
    loc->nchunks = raw / loc->chunk_size + (raw % loc->chunk_size != 0);
    *off += SEC_HDR_SIZE + nlen;
    loc->chunks = *off;
    for (uint64_t c = 0; c < loc->nchunks; c++) {
        uint64_t left = raw - c * loc->chunk_size;
        rc = walk_chunk(r, i, name, c, left < loc->chunk_size ? left : loc->chunk_size,
                        s->elem, off);
        if (rc < 0)
            return rc;
    }
    s->len = raw;
    s->stored_len = *off - start;
    return 0;
}

/* Second pass over one section: inflate and unshuffle every chunk into memory
 * of its own, then check the raw CRC. */
static int inflate_section(struct rd *r, size_t i, struct ckpt_img_section *s,
                           const struct sec_loc *loc, z_stream *zs, int *zs_ready,
                           uint8_t **tmp, size_t *tmp_cap, void **data_out)
{
    uint8_t *data = malloc(s->len ? (size_t)s->len : 1);
    size_t off = loc->chunks, done = 0;

    if (!data)
        return rd_fail(r, -ENOMEM, "section %zu '%s': cannot allocate %" PRIu64 " bytes", i,
                       s->name, s->len);
    *data_out = data;
    for (uint64_t c = 0; c < loc->nchunks; c++) {
        const uint8_t *h = r->buf + off;
        uint32_t raw = get32(h), stored = get32(h + 4), flags = get32(h + 8);
        uint8_t *dst = data + done;

        if (flags & CHUNK_SHUFFLED) {
            if (*tmp_cap < raw) {       /* raw <= chunk size <= CHUNK_MAX */
                free(*tmp);
                *tmp_cap = 0;
                if (!(*tmp = malloc(raw)))
                    return rd_fail(r, -ENOMEM, "out of memory");
                *tmp_cap = raw;
            }
            dst = *tmp;
        }
        if (flags & CHUNK_DEFLATE) {
            if (!*zs_ready) {
                if (inflateInit(zs) != Z_OK)
                    return rd_fail(r, -ENOMEM, "out of memory");
                *zs_ready = 1;
            } else if (inflateReset(zs) != Z_OK) {
                return rd_fail(r, -EIO, "zlib inflateReset failed");
            }
            zs->next_in = (Bytef *)(h + CHUNK_HDR_SIZE);
            zs->avail_in = stored;
            zs->next_out = dst;
            zs->avail_out = raw;
            if (inflate(zs, Z_FINISH) != Z_STREAM_END || zs->avail_out || zs->avail_in)
                return rd_fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64
                               " does not inflate to %" PRIu32 " bytes", i, s->name, c, raw);
        } else {
            memcpy(dst, h + CHUNK_HDR_SIZE, raw);
        }
        if (flags & CHUNK_SHUFFLED)
            ckpt_unshuffle(data + done, *tmp, raw, s->elem);
        done += raw;
        off += CHUNK_HDR_SIZE + stored;
    }
    if (crc(0, data, done) != loc->data_crc)
        return rd_fail(r, -EBADMSG, "section %zu '%s': checksum mismatch", i, s->name);
    s->data = data;
    return 0;
}

void ckpt_img_free(struct ckpt_img *img)
{
    if (!img)
        return;
    for (size_t i = 0; i < img->n; i++) {
        free((void *)img->secs[i].name);
        free((void *)img->secs[i].data);
    }
    free(img->secs);
    free(img);
}

/* Both passes; on failure img is freed by the caller, whatever it holds. */
static int load_sections(struct rd *r, struct ckpt_img *img, uint32_t nsections)
{
    struct sec_loc *loc = calloc(nsections ? nsections : 1, sizeof *loc);
    size_t off = IMG_HDR_SIZE;
    z_stream zs;
    int zs_ready = 0, rc = 0;
    uint8_t *tmp = NULL;
    size_t tmp_cap = 0;

    img->secs = calloc(nsections ? nsections : 1, sizeof *img->secs);
    if (!loc || !img->secs) {
        rc = rd_fail(r, -ENOMEM, "out of memory");
        goto out;
    }
    for (img->n = 0; img->n < nsections; img->n++) {
        char *name = NULL;
        rc = walk_section(r, img->n, &off, &img->secs[img->n], &loc[img->n], &name);
        if (rc < 0) {
            free(name);
            img->secs[img->n].name = NULL;
            goto out;
        }
    }
    if (off != r->size) {
        rc = rd_fail(r, -EBADMSG, "%zu bytes after the last section", r->size - off);
        goto out;
    }
    memset(&zs, 0, sizeof zs);
    for (size_t i = 0; i < img->n; i++) {
        void *data = NULL;
        rc = inflate_section(r, i, &img->secs[i], &loc[i], &zs, &zs_ready, &tmp, &tmp_cap, &data);
        if (rc < 0) {
            free(data);
            goto out;
        }
    }
out:
    if (zs_ready)
        inflateEnd(&zs);
    free(tmp);
    free(loc);
    return rc;
}

int ckpt_img_load(const char *path, const struct ckpt_exe_id *expect,
                  struct ckpt_img **imgp, char *err, size_t errlen)
{
    struct rd r = { .fname = base_of(path), .err = err, .errlen = errlen };
    struct ckpt_img *img = NULL;
    uint8_t *buf = NULL;
    uint32_t nsections = 0;
    int rc;

    *imgp = NULL;
    if (err && errlen)
        err[0] = '\0';
    rc = load_file(&r, path, (uint64_t)SIZE_MAX, &buf);
    if (rc < 0)
        return rc;
    img = calloc(1, sizeof *img);
    if (!img) {
        rc = rd_fail(&r, -ENOMEM, "out of memory");
        goto out;
    }
    rc = parse_header(&r, expect, &img->hdr, &nsections);
    if (rc == 0)
        rc = load_sections(&r, img, nsections);
out:
    free(buf);
    if (rc < 0) {
        ckpt_img_free(img);
        return rc;
    }
    *imgp = img;
    return 0;
}

const struct ckpt_img_header *ckpt_img_header(const struct ckpt_img *img)
{
    return &img->hdr;
}

size_t ckpt_img_nsections(const struct ckpt_img *img)
{
    return img->n;
}

const struct ckpt_img_section *ckpt_img_section(const struct ckpt_img *img, size_t i)
{
    return i < img->n ? &img->secs[i] : NULL;
}

int ckpt_img_peek(const char *path, struct ckpt_img_header *h, uint64_t *len,
                  char *err, size_t errlen)
{
    struct rd r = { .fname = base_of(path), .err = err, .errlen = errlen };
    uint8_t b[IMG_HDR_SIZE] = { 0 };
    uint32_t nsections;
    struct stat st;
    ssize_t k;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (err && errlen)
        err[0] = '\0';
    if (fd < 0) {
        rc = -errno;
        return rd_fail(&r, rc, "cannot open: %s", strerror(-rc));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = rd_fail(&r, -EINVAL, "not a regular file");
        goto out;
    }
    do
        k = pread(fd, b, sizeof b, 0);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        rc = -errno;
        rd_fail(&r, rc, "cannot read: %s", strerror(-rc));
        goto out;
    }
    /* Only the header is in b; parse_header reads nothing past it. */
    r.buf = b;
    r.size = (size_t)st.st_size;
    rc = parse_header(&r, NULL, h, &nsections);
    *len = (uint64_t)st.st_size;
out:
    close(fd);
    return rc;
}

int ckpt_img_bound(const struct ckpt_img_header *h, uint64_t stored_len, uint64_t job,
                   const struct ckpt_commit *c, const struct ckpt_commit_task *ct,
                   char *err, size_t errlen)
{
    char fname[64];
    struct rd r = { .fname = fname, .err = err, .errlen = errlen };
    uint32_t exited = ct->flags & CKPT_IMG_F_EXITED;

    snprintf(fname, sizeof fname, "epoch.%" PRIu64 "/task.%08" PRIx32 ".img", c->epoch,
             (uint32_t)ct->vtid);
    if (job && c->job != job)
        return rd_fail(&r, -ESTALE, "checkpoint %" PRIu64 " was committed by job %016" PRIx64
                       ", not by this job (%016" PRIx64 ")", c->epoch, c->job, job);
    if (h->job != c->job)
        return rd_fail(&r, -ESTALE, "written by job %016" PRIx64 ", but checkpoint %" PRIu64
                       " is job %016" PRIx64 "'s", h->job, c->epoch, c->job);
    if (h->vtid != ct->vtid)
        return rd_fail(&r, -ESTALE, "the image of task 0x%08" PRIx32 ", not of this one",
                       (uint32_t)h->vtid);
    if ((h->flags & CKPT_IMG_F_EXITED) != exited ||
        (exited ? h->epoch > c->epoch : h->epoch != c->epoch))
        return rd_fail(&r, -ESTALE, "an image of epoch %" PRIu64 "%s, not of checkpoint %" PRIu64,
                       h->epoch, h->flags & CKPT_IMG_F_EXITED ? " (final)" : "", c->epoch);
    if (stored_len != ct->stored_bytes)
        return rd_fail(&r, -ESTALE, "%" PRIu64 " bytes, the commit record says %" PRIu64,
                       stored_len, ct->stored_bytes);
    return 0;
}

/* The entry of task vtid in c, or NULL. */
static const struct ckpt_commit_task *commit_task(const struct ckpt_commit *c, int32_t vtid)
{
    for (uint32_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].vtid == vtid)
            return &c->tasks[i];
    return NULL;
}

int ckpt_img_load_bound(const char *path, uint64_t job, const struct ckpt_exe_id *expect,
                        struct ckpt_img **imgp, char *err, size_t errlen)
{
    char edir[4096];
    struct ckpt_commit c;
    const struct ckpt_commit_task *ct;
    struct ckpt_img *img;
    uint64_t stored = IMG_HDR_SIZE, raw = 0;
    int rc = dir_of(edir, sizeof edir, path);

    *imgp = NULL;
    if (rc == 0)
        rc = ckpt_commit_read(edir, &c, err, errlen);
    if (rc < 0)
        return rc;
    rc = ckpt_img_load(path, expect, &img, err, errlen);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < img->n; i++) {
        stored += img->secs[i].stored_len;
        raw += img->secs[i].len;
    }
    ct = commit_task(&c, img->hdr.vtid);
    if (!ct) {
        struct rd r = { .fname = base_of(path), .err = err, .errlen = errlen };
        rc = rd_fail(&r, -ESTALE, "task 0x%08" PRIx32 " is not in checkpoint %" PRIu64,
                     (uint32_t)img->hdr.vtid, c.epoch);
    } else {
        rc = ckpt_img_bound(&img->hdr, stored, job, &c, ct, err, errlen);
    }
    if (rc == 0 && raw != ct->raw_bytes) {
        struct rd r = { .fname = base_of(path), .err = err, .errlen = errlen };
        rc = rd_fail(&r, -ESTALE, "%" PRIu64 " raw bytes, the commit record says %" PRIu64, raw,
                     ct->raw_bytes);
    }
    if (rc < 0)
        ckpt_img_free(img);
    else
        *imgp = img;
out:
    ckpt_commit_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- commit */

static int join_path(char *buf, size_t len, const char *epoch_dir, const char *leaf)
{
    int n = snprintf(buf, len, "%s/%s", epoch_dir, leaf);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static uint8_t *encode_commit(const struct ckpt_commit *c, size_t *len)
{
    size_t n = CMT_HDR_SIZE + (size_t)c->ntasks * CMT_TASK_SIZE + 4;
    uint8_t *b = calloc(1, n), *t;

    if (!b)
        return NULL;
    memcpy(b, CMT_MAGIC, 8);
    put32(b + 8, CKPT_IMG_VERSION);
    put32(b + 12, CMT_HDR_SIZE);
    put64(b + 16, c->epoch);
    put64(b + 24, c->time_ns);
    put32(b + 32, c->ntasks);
    put32(b + 36, CMT_TASK_SIZE);
    put64(b + 40, c->job);
    for (uint32_t i = 0; i < c->ntasks; i++) {
        const struct ckpt_commit_task *k = &c->tasks[i];
        t = b + CMT_HDR_SIZE + (size_t)i * CMT_TASK_SIZE;
        put32(t, (uint32_t)k->vtid);
        put32(t + 4, k->flags);
        put64(t + 8, k->raw_bytes);
        put64(t + 16, k->stored_bytes);
        put64(t + 24, k->log_bytes);
        put32(t + 32, k->write_ms);
    }
    put32(b + n - 4, crc(0, b, n - 4));
    *len = n;
    return b;
}

int ckpt_commit_write(const char *epoch_dir, const struct ckpt_commit *c)
{
    char path[4096], tmp[4096];
    uint8_t *buf;
    size_t len;
    int fd, rc;

    if (c->ntasks > CMT_MAX_TASKS || (c->ntasks && !c->tasks))
        return -EINVAL;
    rc = join_path(path, sizeof path, epoch_dir, "commit");
    if (rc == 0)
        rc = join_path(tmp, sizeof tmp, epoch_dir, "commit.tmp");
    if (rc < 0)
        return rc;
    buf = encode_commit(c, &len);
    if (!buf)
        return -ENOMEM;
    fd = open_tmp(tmp);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    rc = write_all(fd, buf, len);
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    rc = commit_file(fd, tmp, path);
    if (rc < 0)
        unlink(tmp);
    else
        rc = fsync_parent(epoch_dir);   /* the epoch folder's own entry, too */
out:
    free(buf);
    return rc;
}

/* A record ending in the crc32 of every byte before it (commit, job): its
 * magic, version, header and checksum. */
static int check_record(struct rd *r, const char magic[8], const char *what, size_t hdr_size)
{
    int rc = check_magic_version(r, magic, what);

    if (rc < 0)
        return rc;
    if (r->size < hdr_size + 4)
        return rd_fail(r, -EBADMSG, "truncated: %zu bytes", r->size);
    if (get32(r->buf + r->size - 4) != crc(0, r->buf, r->size - 4))
        return rd_fail(r, -EBADMSG, "checksum mismatch");
    return 0;
}

static int decode_commit(struct rd *r, struct ckpt_commit *c)
{
    const uint8_t *b = r->buf;
    uint32_t ntasks;
    int rc = check_record(r, CMT_MAGIC, "commit record", CMT_HDR_SIZE);

    if (rc < 0)
        return rc;
    ntasks = get32(b + 32);
    if (get32(b + 12) != CMT_HDR_SIZE || get32(b + 36) != CMT_TASK_SIZE ||
        ntasks > CMT_MAX_TASKS ||
        r->size != CMT_HDR_SIZE + (size_t)ntasks * CMT_TASK_SIZE + 4)
        return rd_fail(r, -EBADMSG, "inconsistent lengths (%" PRIu32 " tasks in %zu bytes)",
                       ntasks, r->size);
    c->epoch = get64(b + 16);
    c->time_ns = get64(b + 24);
    c->job = get64(b + 40);
    c->tasks = calloc(ntasks ? ntasks : 1, sizeof *c->tasks);
    if (!c->tasks)
        return rd_fail(r, -ENOMEM, "out of memory");
    c->ntasks = ntasks;
    for (uint32_t i = 0; i < ntasks; i++) {
        const uint8_t *t = b + CMT_HDR_SIZE + (size_t)i * CMT_TASK_SIZE;
        struct ckpt_commit_task *k = &c->tasks[i];
        k->vtid = (int32_t)get32(t);
        k->flags = get32(t + 4);
        k->raw_bytes = get64(t + 8);
        k->stored_bytes = get64(t + 16);
        k->log_bytes = get64(t + 24);
        k->write_ms = get32(t + 32);
    }
    return 0;
}

int ckpt_commit_read(const char *epoch_dir, struct ckpt_commit *c, char *err, size_t errlen)
{
    char path[4096], fname[300];
    struct rd r = { .fname = fname, .err = err, .errlen = errlen };
    uint8_t *buf = NULL;
    int rc;

    memset(c, 0, sizeof *c);
    if (err && errlen)
        err[0] = '\0';
    snprintf(fname, sizeof fname, "%s/commit", base_of(epoch_dir));
    rc = join_path(path, sizeof path, epoch_dir, "commit");
    if (rc < 0)
        return rd_fail(&r, rc, "path too long");
    rc = load_file(&r, path, CMT_HDR_SIZE + (uint64_t)CMT_MAX_TASKS * CMT_TASK_SIZE + 4, &buf);
    if (rc == 0)
        rc = decode_commit(&r, c);
    free(buf);
    if (rc < 0)
        ckpt_commit_free(c);
    return rc;
}

void ckpt_commit_free(struct ckpt_commit *c)
{
    free(c->tasks);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- job */

int ckpt_job_write(const char *dir, const struct ckpt_job *jr)
{
    char path[4200], tmp[4200];
    size_t plen = strlen(jr->path), n = JOB_HDR_SIZE + plen + 4;
    uint8_t *b;
    int fd, rc = join_path(path, sizeof path, dir, "job");

    if (rc == 0)
        rc = join_path(tmp, sizeof tmp, dir, "job.tmp");
    if (rc < 0)
        return rc;
    b = calloc(1, n);
    if (!b)
        return -ENOMEM;
    memcpy(b, JOB_MAGIC, 8);
    put32(b + 8, CKPT_IMG_VERSION);
    put32(b + 12, JOB_HDR_SIZE);
    put64(b + 16, jr->id);
    put64(b + 24, jr->time_ns);
    put64(b + 32, jr->exe.size);
    put64(b + 40, jr->exe.hash);
    put32(b + 48, jr->ntasks);
    put32(b + 52, (uint32_t)plen);
    memcpy(b + 56, jr->exe.name, sizeof jr->exe.name);
    b[56 + sizeof jr->exe.name - 1] = '\0';
    memcpy(b + JOB_HDR_SIZE, jr->path, plen);
    put32(b + n - 4, crc(0, b, n - 4));
    fd = open_tmp(tmp);
    rc = fd < 0 ? fd : write_all(fd, b, n);
    if (fd >= 0 && rc < 0)
        close(fd);
    if (rc == 0)
        rc = commit_file(fd, tmp, path);
    if (rc < 0)
        unlink(tmp);
    free(b);
    return rc;
}

static int decode_job(struct rd *r, struct ckpt_job *jr)
{
    const uint8_t *b = r->buf;
    uint32_t plen;
    int rc = check_record(r, JOB_MAGIC, "job record", JOB_HDR_SIZE);

    if (rc < 0)
        return rc;
    plen = get32(b + 52);
    if (get32(b + 12) != JOB_HDR_SIZE || plen >= sizeof jr->path ||
        r->size != JOB_HDR_SIZE + (size_t)plen + 4 || memchr(b + JOB_HDR_SIZE, '\0', plen))
        return rd_fail(r, -EBADMSG, "inconsistent lengths (a %" PRIu32 "-byte path in %zu bytes)",
                       plen, r->size);
    memset(jr, 0, sizeof *jr);
    jr->id = get64(b + 16);
    jr->time_ns = get64(b + 24);
    jr->exe.size = get64(b + 32);
    jr->exe.hash = get64(b + 40);
    jr->ntasks = get32(b + 48);
    memcpy(jr->exe.name, b + 56, sizeof jr->exe.name);
    jr->exe.name[sizeof jr->exe.name - 1] = '\0';
    memcpy(jr->path, b + JOB_HDR_SIZE, plen);
    return 0;
}

int ckpt_job_read(const char *dir, struct ckpt_job *jr, char *err, size_t errlen)
{
    char path[4200];
    struct rd r = { .fname = "job", .err = err, .errlen = errlen };
    uint8_t *buf = NULL;
    int rc = join_path(path, sizeof path, dir, "job");

    if (err && errlen)
        err[0] = '\0';
    if (rc < 0)
        return rd_fail(&r, rc, "path too long");
    rc = load_file(&r, path, JOB_HDR_SIZE + sizeof jr->path + 4, &buf);
    if (rc == 0)
        rc = decode_job(&r, jr);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- listing */

/* "epoch.<k>" exactly as ckpt_epoch_dir spells it (no sign, no leading zero). */
static int parse_epoch_name(const char *s, uint64_t *k)
{
    uint64_t v = 0;

    if (strncmp(s, "epoch.", 6) != 0)
        return -1;
    s += 6;
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *k = v;
    return 0;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Whether dir/epoch.<k> has a commit record that verifies and names epoch k. */
static int epoch_committed(const char *dir, uint64_t k)
{
    char edir[4096];
    struct ckpt_commit c;
    int ok;

    if (ckpt_epoch_dir(edir, sizeof edir, dir, k) < 0)
        return 0;
    if (ckpt_commit_read(edir, &c, NULL, 0) < 0)
        return 0;
    ok = c.epoch == k;
    ckpt_commit_free(&c);
    return ok;
}

int ckpt_list_committed(const char *dir, uint64_t *epochs, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t *all = NULL, k;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d)
        return -errno;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (parse_epoch_name(e->d_name, &k) < 0 || !epoch_committed(dir, k))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(all, ncap * sizeof *p);
            if (!p) {
                rc = -ENOMEM;
                goto out;
            }
            all = p;
            cap = ncap;
        }
        all[n++] = k;
    }
    if (errno) {
        rc = -errno;
        goto out;
    }
    if (n > 1)
        qsort(all, n, sizeof *all, cmp_desc);
    if (max < 0)
        max = 0;
    rc = n < (size_t)max ? (int)n : max;
    if (rc > 0)
        memcpy(epochs, all, (size_t)rc * sizeof *epochs);
out:
    closedir(d);
    free(all);
    return rc;
}

int ckpt_bad_commits(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char edir[4096], why[1024];
    struct ckpt_commit c;
    uint64_t k;
    int n = 0, rc;

    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        if (parse_epoch_name(e->d_name, &k) < 0 || ckpt_epoch_dir(edir, sizeof edir, dir, k) < 0)
            continue;
        rc = ckpt_commit_read(edir, &c, why, sizeof why);
        if (rc == -ENOENT)
            continue;       /* a checkpoint in progress, or aborted */
        if (rc == 0 && c.epoch != k)
            snprintf(why, sizeof why, "%s/commit: names epoch %" PRIu64, e->d_name, c.epoch);
        if (rc < 0 || c.epoch != k) {
            if (n++ == 0 && err && errlen)
                snprintf(err, errlen, "%s", why);
        }
        ckpt_commit_free(&c);
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- removal */

/* Names ckpt puts in an epoch folder; nothing else is ever removed. */
static int own_name(const char *s)
{
    size_t n = strlen(s);

    if (!strcmp(s, "commit") || !strcmp(s, "commit.tmp"))
        return 1;
    if (strncmp(s, "task.", 5) != 0)
        return 0;
    return (n > 9 && !strcmp(s + n - 4, ".img")) || (n > 13 && !strcmp(s + n - 8, ".img.tmp"));
}

static int remove_own_files(const char *edir)
{
    DIR *d = opendir(edir);
    struct dirent *e;
    int rc = 0;

    if (!d)
        return -errno;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (own_name(e->d_name) && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    if (rc == 0 && errno)
        rc = -errno;
    closedir(d);
    return rc;
}

int ckpt_epoch_remove(const char *dir, uint64_t epoch)
{
    char edir[4096], path[4200];
    int rc = ckpt_epoch_dir(edir, sizeof edir, dir, epoch);

    if (rc == 0)
        rc = join_path(path, sizeof path, edir, "commit");
    if (rc < 0)
        return rc;
    /* The commit record goes first and durably: a crash from here on leaves an
     * uncommitted folder, never a committed epoch with images missing. */
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    rc = fsync_dir(edir);
    if (rc == 0)
        rc = remove_own_files(edir);
    if (rc == 0 && rmdir(edir) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(dir);
    return rc;
}
