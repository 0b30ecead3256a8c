/*
 * imgread.c: reading task images (ckpt_img_*), an incremental one whole
 * across its chain of parents, and binding images to commit records.  The
 * byte layout is in imgfmt.h and FORMAT.md.
 *
 * The reader trusts no length: every size is checked against the bytes of
 * the file before anything is allocated from it, every header and chunk
 * checksum is verified, and nothing of an image reaches the caller before
 * all of it, parents' chunks included, verified.
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
#include <unistd.h>

/* deflate never expands data more than 1032:1; a chunk claiming more is corrupt. */
#define DEFLATE_MAX_RATIO 1032u

struct ckpt_img {
    struct ckpt_img_header hdr;
    size_t n;
    struct ckpt_img_section *secs;
};

/* Where a section's chunks are (indexes into the file's chunk table). */
struct sec_loc {
    uint64_t addr;
    uint32_t chunk_size, first, data_crc;
    size_t c0;
    uint64_t nchunks;
};

struct chunk_loc {
    size_t off;               /* of its stored bytes in the file */
    uint64_t at;              /* raw offset in its section */
    uint32_t raw, stored, flags, crc, stored_crc;
};

/* One image file, walked: its headers read, the stored bytes of a chunk
 * read (and their checksum verified) when the chunk is used.  A file is
 * never read whole into memory: a parent in a chain gives a later image a
 * few chunks only, fmt__img_chunks needs none, and a buffer the size of the
 * file would cost a page fault per 4 KiB on top of the reading. */
struct imgfile {
    struct rd r;
    int fd;
    uint8_t scratch[SEC_HDR_SIZE + CKPT_IMG_NAME_MAX + PARENT_REF_SIZE];
    struct ckpt_img_header hdr;
    uint32_t nsections;
    struct ckpt_img_section *secs;   /* names and data owned */
    struct sec_loc *loc;
    struct chunk_loc *ch;
    size_t nch, chcap;
    uint64_t raw_total;
    uint8_t *cbuf;            /* a chunk's header and stored bytes, as read */
    size_t ccap;
};

static void file_free(struct imgfile *f)
{
    for (uint32_t i = 0; f->secs && i < f->nsections; i++) {
        free((void *)f->secs[i].name);
        free((void *)f->secs[i].data);
    }
    free(f->secs);
    free(f->loc);
    free(f->ch);
    free(f->cbuf);
    f->cbuf = NULL;
    f->ccap = 0;
    if (f->fd >= 0)
        close(f->fd);
    f->secs = NULL;
    f->loc = NULL;
    f->ch = NULL;
    f->fd = -1;
}

/* n bytes at off (off + n within the file, checked by the caller). */
static const uint8_t *file_at(struct imgfile *f, size_t off, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = pread(f->fd, f->scratch + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fmt__fail(&f->r, k < 0 ? -errno : -EBADMSG, "cannot read at %zu: %s", off,
                      k < 0 ? strerror(errno) : "end of file");
            return NULL;
        }
        got += (size_t)k;
    }
    return f->scratch;
}

static int parse_header(struct rd *r, const uint8_t *b, const struct ckpt_exe_id *expect,
                        struct ckpt_img_header *h, uint32_t *nsections)
{
    const uint8_t *keep = r->buf;
    int rc;

    r->buf = b;                 /* the one version check reads the buffer */
    rc = fmt__check_magic_version(r, fmt__img_magic, "task image", CKPT_IMG_VERSION, CKPT_IMG_VERSION);
    r->buf = keep;
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
    h->depth = get32(b + 36);
    h->epoch = get64(b + 40);
    h->time_ns = get64(b + 48);
    h->exe.size = get64(b + 56);
    h->exe.hash = get64(b + 64);
    memcpy(h->exe.name, b + 72, sizeof h->exe.name);
    h->exe.name[sizeof h->exe.name - 1] = '\0';
    h->job = get64(b + 136);
    h->parent_epoch = get64(b + 144);
    h->parent_time_ns = get64(b + 152);
    h->root_bytes = get64(b + 160);
    h->chain_bytes = get64(b + 168);
    if (*nsections > (r->size - IMG_HDR_SIZE) / SEC_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "%" PRIu32 " sections cannot fit in %zu bytes",
                         *nsections, r->size);
    if (h->depth > IMG_CHAIN_MAX || (h->depth && (h->parent_epoch >= h->epoch ||
                                                  (h->flags & CKPT_IMG_F_EXITED))))
        return fmt__fail(r, -EBADMSG, "an impossible chain (depth %" PRIu32 ", parent epoch %"
                         PRIu64 ", epoch %" PRIu64 ")", h->depth, h->parent_epoch, h->epoch);
    if (expect && (expect->size != h->exe.size || expect->hash != h->exe.hash))
        return fmt__fail(r, -ENOEXEC,
                         "written by another executable (%s, %" PRIu64 " bytes, hash %016" PRIx64
                         "), not this one (%s, %" PRIu64 " bytes, hash %016" PRIx64 ")",
                         h->exe.name, h->exe.size, h->exe.hash, expect->name, expect->size,
                         expect->hash);
    return 0;
}

/* Checks chunk c of section i (bounds, lengths; its checksum is checked when
 * its bytes are read); adds it to the table; advances off. */
static int walk_chunk(struct imgfile *f, size_t i, uint64_t c, uint64_t at, uint32_t expect_raw,
                      size_t *off)
{
    struct rd *r = &f->r;
    const char *name = f->secs[i].name;
    const uint8_t *h;
    struct chunk_loc k;

    if (r->size - *off < CHUNK_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "section %zu '%s': truncated in chunk %" PRIu64, i, name, c);
    if (!(h = file_at(f, *off, CHUNK_HDR_SIZE)))
        return -EIO;
    if (get32(h + 20) != crc(0, h, 20))
        return fmt__fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " checksum mismatch", i,
                         name, c);
    k.raw = get32(h);
    k.stored = get32(h + 4);
    k.flags = get32(h + 8);
    k.crc = get32(h + 12);
    k.stored_crc = get32(h + 16);
    k.at = at;
    k.off = *off + CHUNK_HDR_SIZE;
    if (k.stored > r->size - *off - CHUNK_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "section %zu '%s': chunk %" PRIu64 " truncated", i, name, c);
    if (k.raw != expect_raw || (k.flags & ~CHUNK_KNOWN) ||
        ((k.flags & CHUNK_PARENT) && (k.flags != CHUNK_PARENT || k.stored != PARENT_REF_SIZE ||
                                      !f->loc[i].addr)) ||
        (!(k.flags & (CHUNK_DEFLATE | CHUNK_PARENT)) && (k.stored != k.raw || k.flags != 0)) ||
        ((k.flags & CHUNK_SHUFFLED) && !ckpt_shuffle_elem_ok(f->secs[i].elem)) ||
        ((k.flags & CHUNK_DEFLATE) && k.raw > (uint64_t)k.stored * DEFLATE_MAX_RATIO + 64))
        return fmt__fail(r, -EBADMSG,
                         "section %zu '%s': chunk %" PRIu64 " has inconsistent lengths", i, name,
                         c);
    if (f->nch == f->chcap) {
        size_t cap = f->chcap ? 2 * f->chcap : 64;
        struct chunk_loc *p = realloc(f->ch, cap * sizeof *p);
        if (!p)
            return fmt__fail(r, -ENOMEM, "out of memory");
        f->ch = p;
        f->chcap = cap;
    }
    f->ch[f->nch++] = k;
    *off += CHUNK_HDR_SIZE + k.stored;
    return 0;
}

/* Section i: header, name, every chunk header; fills secs[i] and loc[i]. */
static int walk_section(struct imgfile *f, size_t i, size_t *off)
{
    struct rd *r = &f->r;
    struct ckpt_img_section *s = &f->secs[i];
    struct sec_loc *loc = &f->loc[i];
    size_t start = *off;
    const uint8_t *h;
    uint32_t nlen;
    uint64_t raw, at = 0;
    char *name;
    int rc;

    if (r->size - *off < SEC_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "truncated before section %zu", i);
    if (!(h = file_at(f, *off, SEC_HDR_SIZE)))
        return -EIO;
    nlen = get32(h + 12);
    if (memcmp(h, fmt__sec_magic, 4) != 0)
        return fmt__fail(r, -EBADMSG, "section %zu: bad section magic", i);
    if (nlen > CKPT_IMG_NAME_MAX || nlen > r->size - *off - SEC_HDR_SIZE)
        return fmt__fail(r, -EBADMSG, "section %zu: bad name length %" PRIu32, i, nlen);
    if (!(h = file_at(f, *off, SEC_HDR_SIZE + nlen)))
        return -EIO;
    if (get32(h + 44) != crc(crc(0, h, 44), h + SEC_HDR_SIZE, nlen))
        return fmt__fail(r, -EBADMSG, "section %zu: header checksum mismatch", i);
    if (memchr(h + SEC_HDR_SIZE, '\0', nlen))
        return fmt__fail(r, -EBADMSG, "section %zu: name contains a NUL byte", i);
    if (!(name = malloc(nlen + 1)))
        return fmt__fail(r, -ENOMEM, "out of memory");
    memcpy(name, h + SEC_HDR_SIZE, nlen);
    name[nlen] = '\0';
    s->name = name;
    s->type = get32(h + 4);
    s->elem = get32(h + 8);
    raw = get64(h + 16);
    loc->chunk_size = get32(h + 24);
    loc->first = get32(h + 28);
    loc->addr = get64(h + 32);
    loc->data_crc = get32(h + 40);
    if (loc->chunk_size < CHUNK_MIN || loc->chunk_size > CHUNK_MAX || raw > SIZE_MAX / 2 ||
        loc->first == 0 || loc->first > loc->chunk_size || loc->addr > UINT64_MAX - raw)
        return fmt__fail(r, -EBADMSG, "section %zu '%s': bad chunk size %" PRIu32 " (first %"
                         PRIu32 ")", i, name, loc->chunk_size, loc->first);
    loc->nchunks = fmt__nchunks(raw, loc->first, loc->chunk_size);
    loc->c0 = f->nch;
    *off += SEC_HDR_SIZE + nlen;
    for (uint64_t c = 0; c < loc->nchunks; c++) {
        uint64_t want = c == 0 ? loc->first : loc->chunk_size;
        rc = walk_chunk(f, i, c, at, (uint32_t)(raw - at < want ? raw - at : want), off);
        if (rc < 0)
            return rc;
        at += f->ch[f->nch - 1].raw;
    }
    s->len = raw;
    s->stored_len = *off - start;
    f->raw_total += raw;
    return 0;
}

/* Walks the whole file f (its header read, r.size its length). */
static int walk_file(struct imgfile *f)
{
    size_t off = IMG_HDR_SIZE;
    int rc;

    f->secs = calloc(f->nsections ? f->nsections : 1, sizeof *f->secs);
    f->loc = calloc(f->nsections ? f->nsections : 1, sizeof *f->loc);
    if (!f->secs || !f->loc)
        return fmt__fail(&f->r, -ENOMEM, "out of memory");
    for (size_t i = 0; i < f->nsections; i++)
        if ((rc = walk_section(f, i, &off)) < 0)
            return rc;
    if (off != f->r.size)
        return fmt__fail(&f->r, -EBADMSG, "%zu bytes after the last section", f->r.size - off);
    return 0;
}

/* The stored bytes of chunk k, their checksum verified.  NULL: -errno, or
 * -EILSEQ for a checksum mismatch, in *rc. */
static const uint8_t *stored_at(struct imgfile *f, const struct chunk_loc *k, int *rc)
{
    size_t n = k->stored, off = k->off;

    if (f->ccap < n) {
        free(f->cbuf);
        f->ccap = 0;
        if (!(f->cbuf = malloc(n ? n : 1))) {
            *rc = -ENOMEM;
            return NULL;
        }
        f->ccap = n;
    }
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(f->fd, f->cbuf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *rc = r < 0 ? -errno : -EBADMSG;
            return NULL;
        }
        got += (size_t)r;
    }
    if (crc(0, f->cbuf, n) != k->stored_crc) {
        *rc = -EILSEQ;
        return NULL;
    }
    return f->cbuf;
}

/* The raw bytes of chunk k of f (section elem) into dst, checked against its crc. */
static int read_chunk(struct imgfile *f, const struct chunk_loc *k, uint32_t elem, uint8_t *dst,
                      z_stream *zs, int *zs_ready, uint8_t **tmp, size_t *tmp_cap)
{
    int rc = 0;
    const uint8_t *src = stored_at(f, k, &rc);
    uint8_t *out = dst;

    if (!src)
        return rc;
    if (k->flags & CHUNK_SHUFFLED) {
        if (*tmp_cap < k->raw) {       /* raw <= chunk size <= CHUNK_MAX */
            free(*tmp);
            *tmp_cap = 0;
            if (!(*tmp = malloc(k->raw)))
                return -ENOMEM;
            *tmp_cap = k->raw;
        }
        out = *tmp;
    }
    if (k->flags & CHUNK_DEFLATE) {
        if (!*zs_ready) {
            if (inflateInit(zs) != Z_OK)
                return -ENOMEM;
            *zs_ready = 1;
        } else if (inflateReset(zs) != Z_OK) {
            return -EIO;
        }
        zs->next_in = (Bytef *)src;
        zs->avail_in = k->stored;
        zs->next_out = out;
        zs->avail_out = k->raw;
        if (inflate(zs, Z_FINISH) != Z_STREAM_END || zs->avail_out || zs->avail_in)
            return -EBADMSG;
    } else {
        memcpy(out, src, k->raw);
    }
    if (k->flags & CHUNK_SHUFFLED)
        ckpt_unshuffle(dst, *tmp, k->raw, elem);
    return crc(0, dst, k->raw) == k->crc ? 0 : -EBADMSG;
}

/* Opens path and reads its header into f (headers-only mode). */
static int file_open_headers(struct imgfile *f, struct rd *r, const char *path,
                             const struct ckpt_exe_id *expect)
{
    struct stat st;
    const uint8_t *b;
    int rc;

    memset(f, 0, sizeof *f);
    f->r = *r;
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f->fd < 0) {
        rc = -errno;
        return fmt__fail(&f->r, rc, "cannot open: %s", strerror(-rc));
    }
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode))
        return fmt__fail(&f->r, -EINVAL, "not a regular file");
    f->r.size = (size_t)st.st_size;
    if (f->r.size < IMG_HDR_SIZE) {
        uint8_t small[IMG_HDR_SIZE] = { 0 };
        if (pread(f->fd, small, f->r.size, 0) < 0)
            return fmt__fail(&f->r, -errno, "cannot read: %s", strerror(errno));
        return parse_header(&f->r, small, expect, &f->hdr, &f->nsections);
    }
    if (!(b = file_at(f, 0, IMG_HDR_SIZE)))
        return -EIO;
    return parse_header(&f->r, b, expect, &f->hdr, &f->nsections);
}

/* A chunk of the image being loaded still to be read from a parent. */
struct pend {
    uint8_t *dst;
    uint64_t addr;
    uint32_t raw, crc;
    uint32_t sec, chunk;      /* where the next parent holds it */
};

/* Inflating state shared by every chunk of one load. */
struct inflater {
    z_stream zs;
    int ready;
    uint8_t *tmp;
    size_t cap;
};

/* A message naming chunk c of section i for read_chunk's or stored_at's rc. */
static int chunk_fail(struct imgfile *f, size_t i, uint64_t c, int rc)
{
    if (rc == -ENOMEM)
        return fmt__fail(&f->r, rc, "out of memory");
    return fmt__fail(&f->r, rc == -EILSEQ ? -EBADMSG : rc, "section %zu '%s': chunk %" PRIu64 " %s",
                     i, f->secs[i].name, c,
                     rc == -EILSEQ    ? "checksum mismatch"
                     : rc == -EBADMSG ? "does not inflate to its bytes (checksum mismatch)"
                                      : "cannot be read");
}

/* Chunk c of section i of f into dst, with a message naming it on failure. */
static int take_chunk(struct imgfile *f, size_t i, const struct chunk_loc *k, uint64_t c,
                      uint8_t *dst, struct inflater *in)
{
    int rc = read_chunk(f, k, f->secs[i].elem, dst, &in->zs, &in->ready, &in->tmp, &in->cap);
    return rc < 0 ? chunk_fail(f, i, c, rc) : 0;
}

/* Resolves pending chunk p against parent f: reads it, or points it at the
 * grandparent.  Returns 1 when done, 0 when still pending. */
static int resolve(struct imgfile *f, struct pend *p, struct inflater *in)
{
    const struct sec_loc *loc;
    const struct chunk_loc *k;

    if (p->sec >= f->nsections || p->chunk >= f->loc[p->sec].nchunks)
        return fmt__fail(&f->r, -EBADMSG, "has no chunk %" PRIu32 " in section %" PRIu32
                         " (a later image refers to it)", p->chunk, p->sec);
    loc = &f->loc[p->sec];
    k = &f->ch[loc->c0 + p->chunk];
    if (!loc->addr || loc->addr + k->at != p->addr || k->raw != p->raw || k->crc != p->crc)
        return fmt__fail(&f->r, -EBADMSG, "section %" PRIu32 " '%s': chunk %" PRIu32
                         " is not the one a later image refers to", p->sec,
                         f->secs[p->sec].name, p->chunk);
    if (k->flags & CHUNK_PARENT) {
        int rc = 0;
        const uint8_t *ref = stored_at(f, k, &rc);
        if (!ref)
            return chunk_fail(f, p->sec, p->chunk, rc);
        p->sec = get32(ref);
        p->chunk = get32(ref + 4);
        return 0;
    }
    int rc = take_chunk(f, p->sec, k, p->chunk, p->dst, in);
    return rc < 0 ? rc : 1;
}

/* Reads the pending chunks of the image at path (header h) from its chain. */
static int load_chain(const char *path, const struct ckpt_img_header *h,
                      const struct ckpt_exe_id *expect, struct pend *pend, size_t npend,
                      struct inflater *in, char *err, size_t errlen)
{
    struct ckpt_img_header child = *h;
    char cpath[4096], ppath[4096], fname[64];
    int rc = 0;

    snprintf(cpath, sizeof cpath, "%s", path);
    while (npend > 0 && rc == 0) {
        struct imgfile pf;
        snprintf(fname, sizeof fname, "epoch.%" PRIu64 "/task.%08" PRIx32 ".img",
                 child.parent_epoch, (uint32_t)child.vtid);
        if (!child.depth) {
            struct rd r = { .fname = fmt__base_of(cpath), .err = err, .errlen = errlen };
            return fmt__fail(&r, -EBADMSG, "a full image with chunks that refer to a parent");
        }
        if (ckpt_img_parent_path(ppath, sizeof ppath, cpath, &child) != 0) {
            struct rd r = { .fname = fname, .err = err, .errlen = errlen };
            return fmt__fail(&r, -ENAMETOOLONG, "path too long");
        }
        struct rd r = { .fname = fname, .err = err, .errlen = errlen };
        rc = file_open_headers(&pf, &r, ppath, expect);
        if (rc == 0)
            rc = walk_file(&pf);
        if (rc == 0)
            rc = fmt__img_link(&pf.r, &child, ppath, &pf.hdr, pf.r.size, pf.raw_total);
        size_t left = 0;
        for (size_t i = 0; i < npend && rc == 0; i++) {
            rc = resolve(&pf, &pend[i], in);
            if (rc == 0)
                pend[left++] = pend[i];
            rc = rc < 0 ? rc : 0;
        }
        npend = left;
        child = pf.hdr;
        memcpy(cpath, ppath, sizeof cpath);
        file_free(&pf);
    }
    return rc;
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

/* Reads f's own chunks into its sections' data, notes the others in pend. */
static int take_own(struct imgfile *f, struct pend *pend, size_t *npend, struct inflater *in)
{
    for (size_t i = 0; i < f->nsections; i++) {
        struct ckpt_img_section *s = &f->secs[i];
        const struct sec_loc *loc = &f->loc[i];
        uint8_t *data = malloc(s->len ? (size_t)s->len : 1);
        if (!data)
            return fmt__fail(&f->r, -ENOMEM, "section %zu '%s': cannot allocate %" PRIu64
                             " bytes", i, s->name, s->len);
        s->data = data;
        for (uint64_t c = 0; c < loc->nchunks; c++) {
            const struct chunk_loc *k = &f->ch[loc->c0 + c];
            if (k->flags & CHUNK_PARENT) {
                int rc = 0;
                const uint8_t *ref = stored_at(f, k, &rc);
                if (!ref)
                    return chunk_fail(f, i, c, rc);
                s->parent_len += k->raw;
                pend[(*npend)++] = (struct pend){
                    .dst = data + k->at, .addr = loc->addr + k->at, .raw = k->raw, .crc = k->crc,
                    .sec = get32(ref), .chunk = get32(ref + 4)};
                continue;
            }
            int rc = take_chunk(f, i, k, c, data + k->at, in);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Every section's raw crc: the combination of its chunks', each verified. */
static int check_sections(struct imgfile *f)
{
    for (size_t i = 0; i < f->nsections; i++) {
        const struct sec_loc *loc = &f->loc[i];
        uint32_t c = 0;
        for (uint64_t k = 0; k < loc->nchunks; k++)
            c = (uint32_t)crc32_combine(c, f->ch[loc->c0 + k].crc, (z_off_t)f->ch[loc->c0 + k].raw);
        if (c != loc->data_crc)
            return fmt__fail(&f->r, -EBADMSG, "section %zu '%s': checksum mismatch", i,
                             f->secs[i].name);
    }
    return 0;
}

int ckpt_img_load(const char *path, const struct ckpt_exe_id *expect,
                  struct ckpt_img **imgp, char *err, size_t errlen)
{
    struct imgfile f;
    struct ckpt_img *img = NULL;
    struct pend *pend = NULL;
    struct inflater in = { .ready = 0 };
    size_t npend = 0;
    int rc;

    *imgp = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
    rc = file_open_headers(&f, &r, path, expect);
    if (rc == 0)
        rc = walk_file(&f);
    if (rc == 0)
        rc = check_sections(&f);
    if (rc == 0 && (!(img = calloc(1, sizeof *img)) ||
                    !(pend = calloc(f.nch ? f.nch : 1, sizeof *pend))))
        rc = fmt__fail(&f.r, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = take_own(&f, pend, &npend, &in);
    if (rc == 0)
        rc = load_chain(path, &f.hdr, expect, pend, npend, &in, err, errlen);
    if (rc == 0) {
        img->hdr = f.hdr;
        img->secs = f.secs;     /* names and data move to img */
        img->n = f.nsections;
        f.secs = NULL;
    }
    if (in.ready)
        inflateEnd(&in.zs);
    free(in.tmp);
    free(pend);
    file_free(&f);
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

int fmt__img_peek(struct rd *r, const char *path, const struct ckpt_exe_id *expect,
                  struct ckpt_img_header *h, uint64_t *len)
{
    struct imgfile f;
    int rc = file_open_headers(&f, r, path, expect);

    *h = f.hdr;
    *len = f.r.size;
    file_free(&f);
    return rc;
}

int ckpt_img_peek(const char *path, struct ckpt_img_header *h, uint64_t *len,
                  char *err, size_t errlen)
{
    struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };

    if (err && errlen)
        err[0] = '\0';
    return fmt__img_peek(&r, path, NULL, h, len);
}

static int by_addr(const void *a, const void *b)
{
    const struct img_chunk_ref *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Chunks that share addresses with another (two sections of one memory)
 * are no reference: both are dropped.  Returns how many are left. */
static size_t drop_overlaps(struct img_chunk_ref *c, size_t n)
{
    size_t kept = 0;
    uint64_t end = 0;         /* the furthest end of the chunks before i */
    for (size_t i = 0; i < n; i++) {
        int before = i > 0 && c[i].addr < end;
        int after = i + 1 < n && c[i + 1].addr < c[i].addr + c[i].raw;
        end = c[i].addr + c[i].raw > end ? c[i].addr + c[i].raw : end;
        if (!before && !after)
            c[kept++] = c[i];
    }
    return kept;
}

int fmt__img_chunks(struct rd *r, const char *path, struct ckpt_img_header *h, uint64_t *len,
                    struct img_chunk_ref **refs, size_t *nrefs)
{
    struct imgfile f;
    struct img_chunk_ref *out = NULL;
    size_t n = 0;
    int rc = file_open_headers(&f, r, path, NULL);

    if (rc == 0)
        rc = walk_file(&f);
    if (rc == 0 && !(out = malloc((f.nch ? f.nch : 1) * sizeof *out)))
        rc = fmt__fail(&f.r, -ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < f.nsections; i++)
        for (uint64_t c = 0; f.loc[i].addr && c < f.loc[i].nchunks; c++) {
            const struct chunk_loc *k = &f.ch[f.loc[i].c0 + c];
            out[n++] = (struct img_chunk_ref){ .addr = f.loc[i].addr + k->at, .raw = k->raw,
                                               .crc = k->crc, .sec = i, .chunk = (uint32_t)c };
        }
    if (rc == 0)
        qsort(out, n, sizeof *out, by_addr);
    n = rc == 0 ? drop_overlaps(out, n) : 0;
    *h = f.hdr;
    *len = f.r.size;
    file_free(&f);
    if (rc < 0) {
        free(out);
        return rc;
    }
    *refs = out;
    *nrefs = n;
    return 0;
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
    if (h->depth != ct->depth || (h->depth && h->parent_epoch != ct->parent_epoch))
        return fmt__fail(&r, -ESTALE, "depth %" PRIu32 " on epoch %" PRIu64 ", the commit record "
                         "says depth %" PRIu32 " on epoch %" PRIu64, h->depth, h->parent_epoch,
                         ct->depth, ct->parent_epoch);
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

/* Whether an image (header h, stored bytes, raw bytes or UINT64_MAX) at path
 * is the one its epoch's commit record names. */
static int bind_to_commit(struct rd *r, const char *path, const struct ckpt_img_header *h,
                          uint64_t stored, uint64_t raw, uint64_t job)
{
    char edir[4096];
    struct ckpt_commit c;
    const struct ckpt_commit_task *ct;
    int rc = fmt__dir_of(edir, sizeof edir, path);

    if (rc < 0)
        return fmt__fail(r, rc, "path too long");
    rc = ckpt_commit_read(edir, &c, r->err, r->errlen);
    if (rc < 0)
        return rc;
    ct = commit_task(&c, h->vtid);
    if (!ct)
        rc = fmt__fail(r, -ESTALE, "task 0x%08" PRIx32 " is not in checkpoint %" PRIu64,
                       (uint32_t)h->vtid, c.epoch);
    else
        rc = ckpt_img_bound(h, stored, job, &c, ct, r->err, r->errlen);
    if (rc == 0 && raw != UINT64_MAX && raw != ct->raw_bytes)
        rc = fmt__fail(r, -ESTALE, "%" PRIu64 " raw bytes, the commit record says %" PRIu64, raw,
                       ct->raw_bytes);
    ckpt_commit_free(&c);
    return rc;
}

int fmt__img_link(struct rd *r, const struct ckpt_img_header *child, const char *parent_path,
                  const struct ckpt_img_header *parent, uint64_t len, uint64_t raw)
{
    if (parent->job != child->job || parent->vtid != child->vtid ||
        parent->exe.size != child->exe.size || parent->exe.hash != child->exe.hash)
        return fmt__fail(r, -ESTALE, "not an image of the same job, task and executable as the "
                         "image of epoch %" PRIu64 " that refers to it", child->epoch);
    if (parent->epoch != child->parent_epoch || parent->time_ns != child->parent_time_ns ||
        parent->depth + 1 != child->depth || (parent->flags & CKPT_IMG_F_EXITED))
        return fmt__fail(r, -ESTALE, "not the parent the image of epoch %" PRIu64 " names (an "
                         "image of epoch %" PRIu64 ", depth %" PRIu32 ", written at %" PRIu64
                         " ns, where epoch %" PRIu64 " at %" PRIu64 " ns was named)",
                         child->epoch, parent->epoch, parent->depth, parent->time_ns,
                         child->parent_epoch, child->parent_time_ns);
    return bind_to_commit(r, parent_path, parent, len, raw, child->job);
}

int ckpt_img_parent_path(char *buf, size_t len, const char *path,
                         const struct ckpt_img_header *h)
{
    char edir[4096], top[4096];

    if (fmt__dir_of(edir, sizeof edir, path) < 0 || fmt__dir_of(top, sizeof top, edir) < 0)
        return -ENAMETOOLONG;
    return ckpt_task_path(buf, len, top, h->parent_epoch, h->vtid);
}

int ckpt_img_check_chain(const char *path, const struct ckpt_img_header *h,
                         char *err, size_t errlen)
{
    struct ckpt_img_header child = *h, ph;
    char cpath[4096], ppath[4096], fname[64];
    uint64_t len;
    int rc = 0;

    if (err && errlen)
        err[0] = '\0';
    snprintf(cpath, sizeof cpath, "%s", path);
    while (child.depth > 0 && rc == 0) {
        struct rd r = { .fname = fname, .err = err, .errlen = errlen };
        snprintf(fname, sizeof fname, "epoch.%" PRIu64 "/task.%08" PRIx32 ".img",
                 child.parent_epoch, (uint32_t)child.vtid);
        if (ckpt_img_parent_path(ppath, sizeof ppath, cpath, &child) != 0)
            return fmt__fail(&r, -ENAMETOOLONG, "path too long");
        rc = fmt__img_peek(&r, ppath, NULL, &ph, &len);
        if (rc == 0)
            rc = fmt__img_link(&r, &child, ppath, &ph, len, UINT64_MAX);
        child = ph;
        memcpy(cpath, ppath, sizeof cpath);
    }
    return rc;
}

int ckpt_img_load_bound(const char *path, uint64_t job, const struct ckpt_exe_id *expect,
                        struct ckpt_img **imgp, char *err, size_t errlen)
{
    struct rd r = { .fname = fmt__base_of(path), .err = err, .errlen = errlen };
    struct ckpt_img *img;
    uint64_t stored = IMG_HDR_SIZE, raw = 0;
    int rc;

    *imgp = NULL;
    rc = ckpt_img_load(path, expect, &img, err, errlen);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < img->n; i++) {
        stored += img->secs[i].stored_len;
        raw += img->secs[i].len;
    }
    rc = bind_to_commit(&r, path, &img->hdr, stored, raw, job);
    if (rc < 0)
        ckpt_img_free(img);
    else
        *imgp = img;
    return rc;
}
