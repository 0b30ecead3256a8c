/*
 * fuzz_image.c: mutates valid task images and commit records and feeds them to
 * the readers, `fuzz_image [ITERATIONS]` (default 20000), deterministic PRNG.
 *
 * Half of the mutations are blind (byte flips, truncation, insertion, deletion,
 * 32-bit fields overwritten with edge values); the other half also recompute
 * the header, section and chunk CRCs afterwards so that the length and
 * consistency checks behind the checksums are reached too.  Built with
 * ASan/UBSan: any out-of-bounds read, leak or overflow fails the run.  Every load
 * must either fail with a message or return an image whose sections are fully
 * readable; a blind mutation may only succeed if it left the file unchanged.
 */
#include "imgtest.h"

#include <zlib.h>

struct layout {
    size_t hdr[64], nhdr;       /* offsets of section headers */
    size_t chunk[64], nchunk;   /* offsets of chunk headers */
};

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Where the CRC-carrying structures of a valid image are (format knowledge). */
static void map_image(const uint8_t *b, size_t n, struct layout *l)
{
    size_t off = 184;
    uint32_t nsec = rd32(b + 24);

    l->nhdr = l->nchunk = 0;
    for (uint32_t i = 0; i < nsec; i++) {
        uint32_t nlen = rd32(b + off + 12), cs = rd32(b + off + 24), first = rd32(b + off + 28);
        uint64_t raw = rd32(b + off + 16) | (uint64_t)rd32(b + off + 20) << 32;
        uint64_t nch = raw == 0 ? 0 : raw <= first ? 1 : 1 + (raw - first + cs - 1) / cs;
        CHECK(l->nhdr < 64);
        l->hdr[l->nhdr++] = off;
        off += 48 + nlen;
        for (uint64_t c = 0; c < nch; c++) {
            CHECK(l->nchunk < 64);
            l->chunk[l->nchunk++] = off;
            off += 24 + rd32(b + off + 4);
        }
    }
    CHECK(off == n);
}

/* Recomputes every CRC a structured mutation may have broken, where it fits. */
static void fix_crcs(uint8_t *b, size_t n, const struct layout *l)
{
    if (n >= 184)
        wr32(b + 180, (uint32_t)crc32(0, b, 180));
    for (size_t i = 0; i < l->nhdr; i++) {
        size_t o = l->hdr[i];
        if (o + 48 > n)
            continue;
        uint32_t nlen = rd32(b + o + 12);
        if (nlen > CKPT_IMG_NAME_MAX || o + 48 + nlen > n)
            continue;
        wr32(b + o + 44, (uint32_t)crc32(crc32(0, b + o, 44), b + o + 48, nlen));
    }
    for (size_t i = 0; i < l->nchunk; i++) {
        size_t o = l->chunk[i];
        if (o + 24 > n)
            continue;
        uint32_t st = rd32(b + o + 4);
        if (st <= n - o - 24)
            wr32(b + o + 16, (uint32_t)crc32(0, b + o + 24, st));
        wr32(b + o + 20, (uint32_t)crc32(0, b + o, 20));
    }
}

static const uint32_t edge[] = { 0, 1, 2, 3, 7, 8, 16, 255, 256, 4095, 4096, 1u << 20,
                                 (1u << 20) + 1, 64u << 20, (64u << 20) + 1, 0x7fffffff,
                                 0x80000000u, 0xfffffffeu, 0xffffffffu };

/* One random mutation of b (n bytes, cap room); returns the new length. */
static size_t mutate(uint8_t *b, size_t n, size_t cap, const struct layout *l)
{
    int kind = (int)(t_rand() % 7);
    size_t at = n ? (size_t)(t_rand() % n) : 0;

    switch (kind) {
    case 0: case 1: {                              /* a few flips */
        int k = 1 + (int)(t_rand() % 4);
        for (int i = 0; i < k && n; i++)
            b[t_rand() % n] ^= (uint8_t)(1u << (t_rand() % 8));
        return n;
    }
    case 2:                                        /* truncate */
        return at;
    case 3: {                                      /* insert bytes */
        size_t k = 1 + (size_t)(t_rand() % 16);
        if (n + k > cap)
            return n;
        memmove(b + at + k, b + at, n - at);
        t_fill_random(b + at, k);
        return n + k;
    }
    case 4: {                                      /* delete bytes */
        size_t k = 1 + (size_t)(t_rand() % 16);
        if (at + k > n)
            k = n - at;
        memmove(b + at, b + at + k, n - at - k);
        return n - k;
    }
    default: {                                     /* a 32-bit field gets an edge value */
        size_t base;
        int pick = (int)(t_rand() % 3);
        if (pick == 0 || (!l->nhdr && !l->nchunk))
            base = 0, at = (size_t)(t_rand() % 35) * 4;
        else if (pick == 1 && l->nhdr)
            base = l->hdr[t_rand() % l->nhdr], at = (size_t)(t_rand() % 9) * 4;
        else if (l->nchunk)
            base = l->chunk[t_rand() % l->nchunk], at = (size_t)(t_rand() % 3) * 4;
        else
            base = 0, at = 24;
        if (base + at + 4 <= n)
            wr32(b + base + at, edge[t_rand() % (sizeof edge / sizeof *edge)]);
        return n;
    }
    }
}

static void touch_image(const struct ckpt_img *img)
{
    volatile uint8_t sink = 0;

    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        const uint8_t *d = s->data;
        CHECK(s->name && d);
        sink ^= (uint8_t)strlen(s->name);
        for (uint64_t k = 0; k < s->len; k++)
            sink ^= d[k];
    }
    (void)sink;
}

static int same_image(const struct ckpt_img *a, const struct ckpt_img *b)
{
    if (ckpt_img_nsections(a) != ckpt_img_nsections(b))
        return 0;
    if (memcmp(ckpt_img_header(a), ckpt_img_header(b), sizeof(struct ckpt_img_header)))
        return 0;
    for (size_t i = 0; i < ckpt_img_nsections(a); i++) {
        const struct ckpt_img_section *x = ckpt_img_section(a, i), *y = ckpt_img_section(b, i);
        if (x->type != y->type || x->elem != y->elem || x->len != y->len ||
            strcmp(x->name, y->name) || memcmp(x->data, y->data, x->len))
            return 0;
    }
    return 1;
}

static const char *make_base(int which, struct ckpt_img_header *h)
{
    static uint8_t grid[6000], noise[1500], text[700];
    static char name[64];
    struct ckpt_imgw *w;
    int level = which == 0 ? 0 : which == 1 ? 1 : 9;

    snprintf(name, sizeof name, "base%d.img", which);
    t_fill_smooth(grid, sizeof grid);
    t_fill_random(noise, sizeof noise);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)"abcabcabd"[i % 9];
    t_header(h, 0x40002, 3);
    CHECK_RC(ckpt_imgw_open(&w, t_path(name), h, level));
    if (which != 3) {
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_META, "meta", text, sizeof text, 1));
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "grid", grid, sizeof grid, 8));
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_VAR, "i", grid, 4, 4));
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_BLOCK, "", NULL, 0, 2));
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_LOG, "log", noise, sizeof noise, 1));
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_QUEUE, "q", grid, 1001, 16));
    }
    CHECK_RC(ckpt_imgw_close(w, NULL));
    return t_path(name);
}

static void fuzz_commit(long iters)
{
    struct ckpt_commit_task t[3] = { { 1, 0, 10, 5, 1, 2 }, { 2, 1, 20, 7, 0, 3 },
                                     { 3, 0, 0, 0, 0, 0 } };
    struct ckpt_commit c = { 9, 123, 3, t, 0x5eed }, got;
    char path[4200], err[512];
    uint8_t *o, b[400];
    size_t n, m;
    struct layout none = { .nhdr = 0 };

    CHECK(mkdir(t_path("epoch.9"), 0700) == 0);
    CHECK_RC(ckpt_commit_write(t_path("epoch.9"), &c));
    snprintf(path, sizeof path, "%s/commit", t_path("epoch.9"));
    o = t_read_file(path, &n);
    for (long it = 0; it < iters; it++) {
        memcpy(b, o, n);
        m = mutate(b, n, sizeof b, &none);
        if (t_rand() & 1 && m >= 4)            /* re-sign: reach the length checks */
            wr32(b + m - 4, (uint32_t)crc32(0, b, m - 4));
        t_write_file(path, b, m);
        int rc = ckpt_commit_read(t_path("epoch.9"), &got, err, sizeof err);
        if (rc < 0) {
            CHECK(err[0] && got.tasks == NULL && got.ntasks == 0);
        } else {
            for (uint32_t i = 0; i < got.ntasks; i++)
                (void)got.tasks[i].raw_bytes;
            ckpt_commit_free(&got);
        }
    }
    free(o);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    struct ckpt_img_header h;
    struct ckpt_img *orig[4], *img;
    uint8_t *base[4], *b;
    size_t blen[4];
    struct layout lay[4];
    long refused = 0, accepted = 0;
    char err[512];

    t_scratch();
    for (int k = 0; k < 4; k++) {
        const char *p = make_base(k, &h);
        base[k] = t_read_file(p, &blen[k]);
        map_image(base[k], blen[k], &lay[k]);
        CHECK_RC(ckpt_img_load(p, NULL, &orig[k], err, sizeof err));
    }
    const char *path = t_path("mut.img");
    b = malloc(blen[2] + blen[0] + 4096);
    CHECK(b);
    for (long it = 0; it < iters; it++) {
        int k = (int)(t_rand() % 4), structured = (int)(t_rand() & 1);
        size_t n = blen[k];
        memcpy(b, base[k], n);
        int rounds = 1 + (int)(t_rand() % 3);
        for (int r = 0; r < rounds; r++)
            n = mutate(b, n, blen[k] + 4096, &lay[k]);
        if (structured)
            fix_crcs(b, n, &lay[k]);
        t_write_file(path, b, n);
        err[0] = 'x';
        img = (void *)1;
        int rc = ckpt_img_load(path, NULL, &img, err, sizeof err);
        if (rc < 0) {
            if (!err[0] || err[0] == 'x' || img != NULL) {
                fprintf(stderr, "iteration %ld: refused without a message\n", it);
                return 1;
            }
            refused++;
            if (getenv("FUZZ_SHOW"))        /* which checks were reached */
                puts(err);
            continue;
        }
        touch_image(img);
        if (!structured && !(n == blen[k] && memcmp(b, base[k], n) == 0) &&
            !same_image(img, orig[k])) {
            fprintf(stderr, "iteration %ld: a blind mutation was accepted\n", it);
            return 1;
        }
        accepted++;
        ckpt_img_free(img);
    }
    fuzz_commit(iters / 4);
    printf("fuzz_image: %ld iterations, %ld refused, %ld accepted\n", iters, refused, accepted);
    for (int k = 0; k < 4; k++) {
        ckpt_img_free(orig[k]);
        free(base[k]);
    }
    free(b);
    return 0;
}
