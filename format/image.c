/*
 * image.c: writing task images (ckpt_imgw_*), full or incremental, and
 * executable identities.  The byte layout is in imgfmt.h (shared with the
 * reader, imgread.c) and FORMAT.md: keep the three in step.
 *
 * An incremental image writes only the chunks that changed since its
 * parent, the same task's image at an earlier committed epoch: a chunk whose
 * addresses the caller vouches unchanged (it compared the bytes) and that
 * the parent holds at the same addresses is stored as a reference to the
 * parent's chunk, with the raw crc32 the parent gave it.
 *
 * The writer runs in a fork()ed child of a PVM task: it uses raw write(2), no
 * stdio, no atexit, and reports failures only through its return codes.
 */
#define _GNU_SOURCE
#include "imgfmt.h"
#include "shuffle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char fmt__img_magic[8] = { 'C', 'K', 'P', 'T', '-', 'I', 'M', 'G' };
const char fmt__sec_magic[4] = { 'S', 'E', 'C', 'T' };

/* Chunks smaller than this are stored raw: deflateReset clears a 128 KiB hash
 * table, which would cost more than a few bytes could save. */
#define CHUNK_TRY_MIN 512u
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
    /* ckpt_imgw_base: the parent's chunks by address, and who says which
     * addresses did not change */
    struct img_chunk_ref *base;
    size_t nbase;
    int (*unchanged)(void *arg, uint64_t addr, uint64_t len);
    void *uarg;
    uint64_t ref_raw;         /* raw bytes written as references */
    uint32_t probe, tried;    /* deflate one chunk in probe; chunks counted so far */
    struct ckpt_img_totals cost;    /* its z_* and io_* fields */
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* write(2) into the page cache is CPU work, which the writer's low priority
 * would stretch in wall time if measured so; the disk's own time is waited
 * for in the fsyncs (ckpt_imgw_close). */
static int w_write(struct ckpt_imgw *w, const void *p, size_t n)
{
    uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int rc = fmt__write_all(w->fd, p, n);

    w->cost.io_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
    w->cost.io_bytes += n;
    return rc;
}

static int w_flush(struct ckpt_imgw *w)
{
    int rc = w_write(w, w->wbuf, w->wlen);

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
            rc = w_write(w, p, n);
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
    memcpy(b, fmt__img_magic, 8);
    put32(b + 8, CKPT_IMG_VERSION);
    put32(b + 12, IMG_HDR_SIZE);
    put64(b + 16, file_len);
    put32(b + 24, nsections);
    put32(b + 28, h->flags);
    put32(b + 32, (uint32_t)h->vtid);
    put32(b + 36, h->depth);
    put64(b + 40, h->epoch);
    put64(b + 48, h->time_ns);
    put64(b + 56, h->exe.size);
    put64(b + 64, h->exe.hash);
    memcpy(b + 72, h->exe.name, sizeof h->exe.name);
    b[72 + sizeof h->exe.name - 1] = '\0';
    put64(b + 136, h->job);
    put64(b + 144, h->parent_epoch);
    put64(b + 152, h->parent_time_ns);
    put64(b + 160, h->root_bytes);
    put64(b + 168, h->chain_bytes);
    put32(b + IMG_HDR_CRC_OFF, crc(0, b, IMG_HDR_CRC_OFF));
}

static void full_image(struct ckpt_img_header *h)
{
    h->depth = 0;
    h->parent_epoch = h->parent_time_ns = h->root_bytes = h->chain_bytes = 0;
}

static void w_free(struct ckpt_imgw *w)
{
    if (w->zs_ready)
        deflateEnd(&w->zs);
    free(w->shuf);
    free(w->base);
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
    w->probe = 1;
    w->hdr = *hdr;
    full_image(&w->hdr);        /* unless ckpt_imgw_base finds a parent */
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

/* One chunk of raw bytes whose crc32 is rawcrc, compressed when that pays. */
static int w_chunk(struct ckpt_imgw *w, const uint8_t *src, size_t raw, uint32_t elem,
                   uint32_t rawcrc)
{
    uint8_t ch[CHUNK_HDR_SIZE];
    uint32_t flags = 0;
    long stored = 0;

    if (w->level > 0 && raw >= CHUNK_TRY_MIN && w->tried++ % w->probe == 0) {
        uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        stored = w_try_deflate(w, src, raw, elem, &flags);
        if (stored < 0)
            return (int)stored;
        w->cost.z_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
        w->cost.z_raw += raw;
        w->cost.z_stored += stored > 0 ? (uint64_t)stored : raw;
    }
    if (stored > 0) {
        uint8_t *h = w->wbuf + w->wlen;
        put32(h, (uint32_t)raw);
        put32(h + 4, (uint32_t)stored);
        put32(h + 8, flags);
        put32(h + 12, rawcrc);
        put32(h + 16, crc(0, h + CHUNK_HDR_SIZE, (size_t)stored));
        put32(h + 20, crc(0, h, 20));
        w->wlen += CHUNK_HDR_SIZE + (size_t)stored;
        w->off += CHUNK_HDR_SIZE + (uint64_t)stored;
        return 0;
    }
    put32(ch, (uint32_t)raw);
    put32(ch + 4, (uint32_t)raw);
    put32(ch + 8, 0);
    put32(ch + 12, rawcrc);
    put32(ch + 16, rawcrc);     /* the stored bytes are the raw ones */
    put32(ch + 20, crc(0, ch, 20));
    int rc = w_put(w, ch, sizeof ch);
    return rc < 0 ? rc : w_put(w, src, raw);
}

/* A chunk stored as a reference to the parent's chunk r. */
static int w_ref_chunk(struct ckpt_imgw *w, const struct img_chunk_ref *r)
{
    uint8_t ch[CHUNK_HDR_SIZE + PARENT_REF_SIZE];

    put32(ch, r->raw);
    put32(ch + 4, PARENT_REF_SIZE);
    put32(ch + 8, CHUNK_PARENT);
    put32(ch + 12, r->crc);
    put32(ch + CHUNK_HDR_SIZE, r->sec);
    put32(ch + CHUNK_HDR_SIZE + 4, r->chunk);
    put32(ch + 16, crc(0, ch + CHUNK_HDR_SIZE, PARENT_REF_SIZE));
    put32(ch + 20, crc(0, ch, 20));
    w->ref_raw += r->raw;
    return w_put(w, ch, sizeof ch);
}

/* The parent's chunk holding exactly [addr, addr+len) when those bytes did
 * not change since the parent was written, else NULL. */
static const struct img_chunk_ref *unchanged_ref(struct ckpt_imgw *w, uint64_t addr, size_t len)
{
    size_t lo = 0, hi = w->nbase;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->base[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == w->nbase || w->base[lo].addr != addr || w->base[lo].raw != len)
        return NULL;
    return w->unchanged(w->uarg, addr, len) == 1 ? &w->base[lo] : NULL;
}

/* Raw bytes of the chunk starting at raw offset done of a section of len. */
static size_t chunk_len(uint64_t done, uint64_t len, uint32_t first)
{
    uint64_t want = done == 0 ? first : CHUNK_RAW;
    return (size_t)(len - done < want ? len - done : want);
}

int ckpt_imgw_section_at(struct ckpt_imgw *w, uint32_t type, const char *name,
                         const void *data, uint64_t len, uint32_t elem, uint64_t addr)
{
    uint8_t h[SEC_HDR_SIZE];
    const uint8_t *p = data;
    size_t nlen = name ? strlen(name) : 0;
    uint32_t first = addr % CHUNK_RAW ? CHUNK_RAW - (uint32_t)(addr % CHUNK_RAW) : CHUNK_RAW;
    uint64_t n, done, c;
    uint32_t scrc = 0, *crcs;
    const struct img_chunk_ref **refs;
    int rc = 0;

    if (w->err)
        return w->err;
    if (nlen > NAME_MAX_LEN || (len > 0 && !data) || len > SIZE_MAX / 2)
        return -EINVAL;        /* the caller's mistake: the file is still good */
    /* Each chunk's crc32 (the parent's, for a reference) before the section
     * header, which holds their combination. */
    n = fmt__nchunks(len, first, CHUNK_RAW);
    crcs = malloc((size_t)(n ? n : 1) * sizeof *crcs);
    refs = calloc((size_t)(n ? n : 1), sizeof *refs);
    if (!crcs || !refs) {
        rc = -ENOMEM;
        goto out;
    }
    for (done = 0, c = 0; done < len; done += chunk_len(done, len, first), c++) {
        size_t raw = chunk_len(done, len, first);
        refs[c] = addr && w->nbase ? unchanged_ref(w, addr + done, raw) : NULL;
        crcs[c] = refs[c] ? refs[c]->crc : crc(0, p + done, raw);
        scrc = (uint32_t)crc32_combine(scrc, crcs[c], (z_off_t)raw);
    }
    memcpy(h, fmt__sec_magic, 4);
    put32(h + 4, type);
    put32(h + 8, elem);
    put32(h + 12, (uint32_t)nlen);
    put64(h + 16, len);
    put32(h + 24, CHUNK_RAW);
    put32(h + 28, first);
    put64(h + 32, addr);
    put32(h + 40, scrc);
    put32(h + 44, crc(crc(0, h, 44), (const uint8_t *)name, nlen));
    rc = w_put(w, h, sizeof h);
    if (rc == 0)
        rc = w_put(w, name, nlen);
    for (done = 0, c = 0; rc == 0 && done < len; done += chunk_len(done, len, first), c++)
        rc = refs[c] ? w_ref_chunk(w, refs[c])
                     : w_chunk(w, p + done, chunk_len(done, len, first), elem, crcs[c]);
out:
    free(crcs);
    free(refs);
    if (rc < 0)
        return w->err = rc;
    w->nsections++;
    w->raw_total += len;
    if (type == CKPT_SEC_LOG)
        w->log_total += len;
    return 0;
}

int ckpt_imgw_section(struct ckpt_imgw *w, uint32_t type, const char *name,
                      const void *data, uint64_t len, uint32_t elem)
{
    return ckpt_imgw_section_at(w, type, name, data, len, elem, 0);
}

int ckpt_imgw_base(struct ckpt_imgw *w, const char *parent, uint64_t parent_epoch,
                   uint64_t parent_time_ns, uint32_t max_chain,
                   int (*unchanged)(void *arg, uint64_t addr, uint64_t len), void *arg,
                   char *err, size_t errlen)
{
    struct rd r = { .fname = fmt__base_of(parent), .err = err, .errlen = errlen };
    struct ckpt_img_header ph, *h = &w->hdr;
    struct img_chunk_ref *refs = NULL;
    size_t nrefs = 0;
    uint64_t len, root, increments;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (w->nsections || w->base || !unchanged || (h->flags & CKPT_IMG_F_EXITED))
        return -EINVAL;
    rc = fmt__img_chunks(&r, parent, &ph, &len, &refs, &nrefs);
    if (rc < 0)
        return rc;
    h->depth = ph.depth + 1;
    h->parent_epoch = parent_epoch;
    h->parent_time_ns = parent_time_ns;
    rc = fmt__img_link(&r, h, parent, &ph, len, UINT64_MAX);
    root = ph.depth ? ph.root_bytes : len;
    increments = ph.chain_bytes + len - root;
    if (rc == 0 && h->depth >= max_chain)
        rc = fmt__fail(&r, -ERANGE, "its chain is %" PRIu32 " images long (at most %" PRIu32 ")",
                       h->depth, max_chain);
    else if (rc == 0 && increments > root)
        rc = fmt__fail(&r, -ERANGE, "its chain's increments (%" PRIu64 " bytes) pass its full "
                       "image (%" PRIu64 ")", increments, root);
    if (rc < 0) {
        full_image(h);
        free(refs);
        return rc;
    }
    h->root_bytes = root;
    h->chain_bytes = ph.chain_bytes + len;
    w->base = refs;
    w->nbase = nrefs;
    w->unchanged = unchanged;
    w->uarg = arg;
    return 0;
}

int ckpt_imgw_close(struct ckpt_imgw *w, struct ckpt_img_totals *totals)
{
    uint8_t h[IMG_HDR_SIZE];
    int rc = w->err;

    if (rc == 0)
        rc = w_flush(w);
    if (w->ref_raw == 0)
        full_image(&w->hdr);    /* nothing came from the parent */
    if (rc == 0) {
        encode_header(h, &w->hdr, w->nsections, w->off);
        rc = fmt__write_at(w->fd, h, sizeof h, 0);
    }
    if (rc == 0) {
        uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
        rc = fmt__commit_file(w->fd, w->tmp, w->path);
        w->fd = -1;             /* closed by fmt__commit_file, whatever happened */
        w->cost.io_ns += clock_ns(CLOCK_MONOTONIC) - t0;
    }
    if (rc < 0) {
        ckpt_imgw_abort(w);
        return rc;
    }
    if (totals) {
        *totals = w->cost;
        totals->raw_bytes = w->raw_total;
        totals->stored_bytes = w->off;
        totals->log_bytes = w->log_total;
        totals->ref_bytes = w->ref_raw;
        totals->depth = w->hdr.depth;
        totals->parent_epoch = w->hdr.parent_epoch;
    }
    w_free(w);
    return 0;
}

void ckpt_imgw_probe(struct ckpt_imgw *w, uint32_t every)
{
    w->probe = every ? every : 1;
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
