/*
 * image.c: task images (ckpt_imgw_* writes them, ckpt_img_* reads them) and
 * executable identities.  It owns the image's byte layout; nothing else reads
 * or writes it.  format/FORMAT.md describes it for readers: keep both in step.
 *
 * All integers are little-endian fixed width; every structure starts with a magic
 * and the format version, checked in one place (fmt__check_magic_version).
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
 * The writer runs in a fork()ed child of a PVM task: it uses raw write(2), no
 * stdio, no atexit, and reports failures only through its return codes.  The
 * reader trusts no length: every size is checked against the bytes of the file
 * before anything is allocated from it.
 */
#define _GNU_SOURCE
#include "fmtio.h"
#include "image.h"
#include "shuffle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char IMG_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'I', 'M', 'G' };
static const char SEC_MAGIC[4] = { 'S', 'E', 'C', 'T' };

#define IMG_HDR_SIZE 152u
#define IMG_HDR_CRC_OFF 148u
#define SEC_HDR_SIZE 40u
#define CHUNK_HDR_SIZE 16u

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

/* ---------------------------------------------------------------- names */

const char *ckpt_sec_type_name(uint32_t type)
{
    static const char *const names[] = {
        [CKPT_SEC_META] = "meta",   [CKPT_SEC_GLOBAL] = "global",
        [CKPT_SEC_FRAME] = "frame", [CKPT_SEC_VAR] = "var",
        [CKPT_SEC_BLOCK] = "block", [CKPT_SEC_LOG] = "log",
        [CKPT_SEC_QUEUE] = "queue", [CKPT_SEC_ARGV] = "argv",
        [CKPT_SEC_HEAP] = "heap",   [CKPT_SEC_FILES] = "files",
    };

    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "unknown";
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
        b = fmt__base_of(target);
    } else {
        b = fmt__base_of(path);
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
    int rc = fmt__write_all(w->fd, w->wbuf, w->wlen);

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
            rc = fmt__write_all(w->fd, p, n);
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
    rc = fmt__open_tmp(w->tmp);
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
        rc = fmt__write_at(w->fd, h, sizeof h, 0);
    }
    if (rc == 0) {
        rc = fmt__commit_file(w->fd, w->tmp, w->path);
        w->fd = -1;             /* closed by fmt__commit_file, whatever happened */
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

static int parse_header(struct rd *r, const struct ckpt_exe_id *expect,
                        struct ckpt_img_header *h, uint32_t *nsections)
{
    const uint8_t *b = r->buf;
    int rc = fmt__check_magic_version(r, IMG_MAGIC, "task image");

    if (rc < 0)
        return rc;
    if (r->size < IMG_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "truncated: %zu bytes, the header alone needs %u",
                         r->size, IMG_HDR_SIZE);
    if (get32(b + IMG_HDR_CRC_OFF) != crc(0, b, IMG_HDR_CRC_OFF))
        return fmt__fail(r, -EBADMSG, "header checksum mismatch");
    if (get32(b + 12) != IMG_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "header size %" PRIu32 ", expected %u", get32(b + 12),
                         IMG_HDR_SIZE);
    if (get64(b + 16) != r->size)
        return fmt__fail(r, -EBADMSG, "%s: header says %" PRIu64 " bytes, file has %zu",
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
        return fmt__fail(r, -EBADMSG, "%" PRIu32 " sections cannot fit in %zu bytes",
                         *nsections, r->size);
    if (expect && (expect->size != h->exe.size || expect->hash != h->exe.hash))
        return fmt__fail(r, -ENOEXEC,
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
        return fmt__fail(r, -EBADMSG, "section %zu '%s': truncated in chunk %" PRIu64, i, name, c);
    raw = get32(h);
    stored = get32(h + 4);
    flags = get32(h + 8);
    if (stored > r->size - *off - CHUNK_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " truncated", i, name, c);
    if (get32(h + 12) != crc(crc(0, h, 12), h + CHUNK_HDR_SIZE, stored))
        return fmt__fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " checksum mismatch", i,
                         name, c);
    if (raw != expect_raw || (flags & ~CHUNK_KNOWN) ||
        (!(flags & CHUNK_DEFLATE) && (stored != raw || flags != 0)) ||
        ((flags & CHUNK_SHUFFLED) && !ckpt_shuffle_elem_ok(elem)) ||
        ((flags & CHUNK_DEFLATE) && raw > (uint64_t)stored * DEFLATE_MAX_RATIO + 64))
        return fmt__fail(r, -EBADMSG,
                         "section %zu '%s': chunk %" PRIu64 " has inconsistent lengths", i, name,
                         c);
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
        return fmt__fail(r, -EBADMSG, "truncated before section %zu", i);
    if (memcmp(h, SEC_MAGIC, 4) != 0)
        return fmt__fail(r, -EBADMSG, "section %zu: bad section magic", i);
    nlen = get32(h + 12);
    if (nlen > NAME_MAX_LEN || nlen > r->size - *off - SEC_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "section %zu: bad name length %" PRIu32, i, nlen);
    if (get32(h + 36) != crc(crc(0, h, 36), h + SEC_HDR_SIZE, nlen))
        return fmt__fail(r, -EBADMSG, "section %zu: header checksum mismatch", i);
    if (memchr(h + SEC_HDR_SIZE, '\0', nlen))
        return fmt__fail(r, -EBADMSG, "section %zu: name contains a NUL byte", i);
    name = malloc(nlen + 1);
    if (!name)
        return fmt__fail(r, -ENOMEM, "out of memory");
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
        return fmt__fail(r, -EBADMSG, "section %zu '%s': bad chunk size %" PRIu32, i, name,
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
        return fmt__fail(r, -ENOMEM, "section %zu '%s': cannot allocate %" PRIu64 " bytes", i,
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
                    return fmt__fail(r, -ENOMEM, "out of memory");
                *tmp_cap = raw;
            }
            dst = *tmp;
        }
        if (flags & CHUNK_DEFLATE) {
            if (!*zs_ready) {
                if (inflateInit(zs) != Z_OK)
                    return fmt__fail(r, -ENOMEM, "out of memory");
                *zs_ready = 1;
            } else if (inflateReset(zs) != Z_OK) {
                return fmt__fail(r, -EIO, "zlib inflateReset failed");
            }
            zs->next_in = (Bytef *)(h + CHUNK_HDR_SIZE);
            zs->avail_in = stored;
            zs->next_out = dst;
            zs->avail_out = raw;
            if (inflate(zs, Z_FINISH) != Z_STREAM_END || zs->avail_out || zs->avail_in)
                return fmt__fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64
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
        return fmt__fail(r, -EBADMSG, "section %zu '%s': checksum mismatch", i, s->name);
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
        rc = fmt__fail(r, -ENOMEM, "out of memory");
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
        rc = fmt__fail(r, -EBADMSG, "%zu bytes after the last section", r->size - off);
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
    struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
    struct ckpt_img *img = NULL;
    uint8_t *buf = NULL;
    uint32_t nsections = 0;
    int rc;

    *imgp = NULL;
    if (err && errlen)
        err[0] = '\0';
    rc = fmt__load_file(&r, path, (uint64_t)SIZE_MAX, &buf);
    if (rc < 0)
        return rc;
    img = calloc(1, sizeof *img);
    if (!img) {
        rc = fmt__fail(&r, -ENOMEM, "out of memory");
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
    struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
    uint8_t b[IMG_HDR_SIZE] = { 0 };
    uint32_t nsections;
    struct stat st;
    ssize_t k;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (err && errlen)
        err[0] = '\0';
    if (fd < 0) {
        rc = -errno;
        return fmt__fail(&r, rc, "cannot open: %s", strerror(-rc));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = fmt__fail(&r, -EINVAL, "not a regular file");
        goto out;
    }
    do
        k = pread(fd, b, sizeof b, 0);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        rc = -errno;
        fmt__fail(&r, rc, "cannot read: %s", strerror(-rc));
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
        return fmt__fail(&r, -ESTALE, "checkpoint %" PRIu64 " was committed by job %016" PRIx64
                         ", not by this job (%016" PRIx64 ")", c->epoch, c->job, job);
    if (h->job != c->job)
        return fmt__fail(&r, -ESTALE, "written by job %016" PRIx64 ", but checkpoint %" PRIu64
                         " is job %016" PRIx64 "'s", h->job, c->epoch, c->job);
    if (h->vtid != ct->vtid)
        return fmt__fail(&r, -ESTALE, "the image of task 0x%08" PRIx32 ", not of this one",
                         (uint32_t)h->vtid);
    if ((h->flags & CKPT_IMG_F_EXITED) != exited ||
        (exited ? h->epoch > c->epoch : h->epoch != c->epoch))
        return fmt__fail(&r, -ESTALE, "an image of epoch %" PRIu64 "%s, not of checkpoint %" PRIu64,
                         h->epoch, h->flags & CKPT_IMG_F_EXITED ? " (final)" : "", c->epoch);
    if (stored_len != ct->stored_bytes)
        return fmt__fail(&r, -ESTALE, "%" PRIu64 " bytes, the commit record says %" PRIu64,
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
    int rc = fmt__dir_of(edir, sizeof edir, path);

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
        struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
        rc = fmt__fail(&r, -ESTALE, "task 0x%08" PRIx32 " is not in checkpoint %" PRIu64,
                       (uint32_t)img->hdr.vtid, c.epoch);
    } else {
        rc = ckpt_img_bound(&img->hdr, stored, job, &c, ct, err, errlen);
    }
    if (rc == 0 && raw != ct->raw_bytes) {
        struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
        rc = fmt__fail(&r, -ESTALE, "%" PRIu64 " raw bytes, the commit record says %" PRIu64, raw,
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
