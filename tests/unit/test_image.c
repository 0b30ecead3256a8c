/*
 * test_image.c: unit tests of format/image.c (task images, commit records,
 * epoch listing) and format/shuffle.h.  `test_image NAME` runs one test (ctest
 * registers each), `test_image` runs them all, `test_image --list` names them.
 * Built with ASan/UBSan; every test works in its own scratch folder.
 */
#include "imgtest.h"
#include "sections.h"
#include "shuffle.h"

#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zlib.h>

#define MiB (1u << 20)

/* ------------------------------------------------------------ helpers */

struct sec {
    uint32_t type;
    const char *name;
    void *data;
    size_t len;
    uint32_t elem;
};

static int write_img(const char *path, const struct ckpt_img_header *h, int level,
                     const struct sec *s, size_t n, struct ckpt_img_totals *tot)
{
    struct ckpt_imgw *w;
    int rc = ckpt_imgw_open(&w, path, h, level);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = ckpt_imgw_section(w, s[i].type, s[i].name, s[i].data, s[i].len, s[i].elem);
        if (rc < 0) {
            ckpt_imgw_abort(w);
            return rc;
        }
    }
    return ckpt_imgw_close(w, tot);
}

static void check_img(const char *path, const struct ckpt_img_header *h, const struct sec *s,
                      size_t n)
{
    struct ckpt_img *img;
    char err[512];
    int rc = ckpt_img_load(path, &h->exe, &img, err, sizeof err);

    if (rc < 0)
        fprintf(stderr, "load: %s\n", err);
    CHECK(rc == 0);
    const struct ckpt_img_header *g = ckpt_img_header(img);
    CHECK(g->vtid == h->vtid && g->epoch == h->epoch && g->time_ns == h->time_ns);
    CHECK(g->flags == h->flags && g->exe.size == h->exe.size && g->exe.hash == h->exe.hash);
    CHECK(strcmp(g->exe.name, h->exe.name) == 0);
    CHECK(ckpt_img_nsections(img) == n);
    CHECK(ckpt_img_section(img, n) == NULL);
    for (size_t i = 0; i < n; i++) {
        const struct ckpt_img_section *x = ckpt_img_section(img, i);
        CHECK(x->type == s[i].type && x->elem == s[i].elem && x->len == s[i].len);
        CHECK(strcmp(x->name, s[i].name ? s[i].name : "") == 0);
        CHECK(x->data != NULL);
        CHECK(s[i].len == 0 || memcmp(x->data, s[i].data, s[i].len) == 0);
        CHECK(x->stored_len >= 40);
    }
    ckpt_img_free(img);
}

/* The small image most corruption tests mutate: every kind of chunk in it
 * (shuffled+deflated, deflated, raw because incompressible, tiny, empty). */
static uint8_t g_text[600], g_grid[8192], g_var[8], g_log[2000];
static struct sec g_secs[] = {
    { CKPT_SEC_META, "meta", g_text, sizeof g_text, 1 },
    { CKPT_SEC_GLOBAL, "grid", g_grid, sizeof g_grid, 8 },
    { CKPT_SEC_VAR, "x", g_var, sizeof g_var, 8 },
    { CKPT_SEC_BLOCK, "empty", NULL, 0, 4 },
    { CKPT_SEC_LOG, "log", g_log, sizeof g_log, 1 },
};
#define G_N (sizeof g_secs / sizeof g_secs[0])

static void fill_globals(void)
{
    for (size_t i = 0; i < sizeof g_text; i++)
        g_text[i] = "checkpoint text "[i % 16];
    t_fill_smooth(g_grid, sizeof g_grid);
    memcpy(g_var, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    t_fill_random(g_log, sizeof g_log);
}

static const char *small_img(struct ckpt_img_header *h)
{
    const char *p = t_path("epoch.1/task.00040001.img");

    fill_globals();
    t_header(h, 0x40001, 1);
    CHECK_RC(write_img(p, h, 6, g_secs, G_N, NULL));
    return p;
}

/* Loads a mutated copy; it must be refused with a message naming the file. */
static void expect_refused(const char *path, const void *buf, size_t n, const char *want)
{
    struct ckpt_img *img = (void *)1;
    char err[512];
    int rc;

    t_write_file(path, buf, n);
    rc = ckpt_img_load(path, NULL, &img, err, sizeof err);
    if (rc == 0 || img != NULL || !strstr(err, "bad.img: ") || (want && !strstr(err, want))) {
        fprintf(stderr, "not refused as expected (rc %d, want '%s'): %s\n", rc,
                want ? want : "", err);
        exit(1);
    }
}

static size_t find(const uint8_t *b, size_t n, const char *s)
{
    const uint8_t *p = memmem(b, n, s, strlen(s));
    CHECK(p);
    return (size_t)(p - b);
}

static void fix_chunk_crc(uint8_t *chunk)
{
    uint32_t stored = chunk[4] | chunk[5] << 8 | chunk[6] << 16 | (uint32_t)chunk[7] << 24;
    uLong c = crc32(0, chunk + 24, stored);
    for (int i = 0; i < 4; i++)
        chunk[16 + i] = (uint8_t)(c >> (8 * i));
    c = crc32(0, chunk, 20);
    for (int i = 0; i < 4; i++)
        chunk[20 + i] = (uint8_t)(c >> (8 * i));
}

static void fix_header_crc(uint8_t *b)
{
    uLong c = crc32(0, b, 180);
    for (int i = 0; i < 4; i++)
        b[180 + i] = (uint8_t)(c >> (8 * i));
}

/* ------------------------------------------------------------ tests */

static void test_shuffle(void)
{
    static const uint32_t elems[] = { 2, 4, 8, 16 };
    uint8_t src[1000], sh[1000], back[1000];

    for (size_t e = 0; e < 4; e++) {
        for (size_t n = 0; n <= sizeof src; n += 37) {
            t_fill_random(src, n);
            ckpt_shuffle(sh, src, n, elems[e]);
            size_t ne = n / elems[e];
            for (size_t i = 0; i < ne; i++)       /* byte k of element i in plane k */
                for (size_t k = 0; k < elems[e]; k++)
                    CHECK(sh[k * ne + i] == src[i * elems[e] + k]);
            CHECK(memcmp(sh + ne * elems[e], src + ne * elems[e], n - ne * elems[e]) == 0);
            ckpt_unshuffle(back, sh, n, elems[e]);
            CHECK(memcmp(back, src, n) == 0);
        }
    }
    CHECK(ckpt_shuffle_elem_ok(8) && !ckpt_shuffle_elem_ok(3) && !ckpt_shuffle_elem_ok(1));
}

static void test_roundtrip_sizes(void)
{
    static const size_t sizes[] = { 0, 1, 7, 8, 9, 511, 512, 1000, 4099, MiB - 1, MiB,
                                    MiB + 1, 3 * MiB + 5 };
    static const uint32_t elems[] = { 0, 1, 2, 3, 4, 8, 16 };
    struct ckpt_img_header h;
    struct ckpt_img_totals tot;
    uint8_t *a = malloc(3 * MiB + 5), *b = malloc(3 * MiB + 5);

    t_scratch();
    CHECK(a && b);
    t_fill_smooth(a, 3 * MiB + 5);
    t_fill_random(b, 3 * MiB + 5);
    t_header(&h, 7, 42);
    for (int level = 0; level <= 9; level++) {
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            /* the multi-MiB cases at every level would be slow under ASan */
            if (sizes[si] > MiB && level != 0 && level != 1 && level != 9)
                continue;
            for (size_t ei = 0; ei < sizeof elems / sizeof *elems; ei++) {
                struct sec s[2] = {
                    { CKPT_SEC_GLOBAL, "smooth", a, sizes[si], elems[ei] },
                    { CKPT_SEC_LOG, "random", b, sizes[si], elems[ei] },
                };
                const char *p = t_path("rt/task.00000007.img");
                h.flags = (uint32_t)level & 1;
                CHECK_RC(write_img(p, &h, level, s, 2, &tot));
                CHECK(tot.raw_bytes == 2 * sizes[si] && tot.log_bytes == sizes[si]);
                CHECK(tot.stored_bytes == t_file_size(p));
                check_img(p, &h, s, 2);
            }
        }
    }
    free(a);
    free(b);
}

static void test_compression(void)
{
    size_t n = 4 * MiB;
    uint8_t *a = malloc(n);
    struct ckpt_img_header h;
    struct ckpt_img_totals t0, t1, t8;

    t_scratch();
    CHECK(a);
    t_fill_smooth(a, n);
    t_header(&h, 1, 1);
    struct sec s = { CKPT_SEC_GLOBAL, "grid", a, n, 8 };
    CHECK_RC(write_img(t_path("a.img"), &h, 0, &s, 1, &t0));
    CHECK_RC(write_img(t_path("b.img"), &h, 1, &s, 1, &t8));
    s.elem = 1;
    CHECK_RC(write_img(t_path("c.img"), &h, 1, &s, 1, &t1));
    /* level 0 stores: only headers added; shuffling must pay on smooth doubles */
    CHECK(t0.stored_bytes <= n + 184 + 48 + 4 + 4 * 24);
    CHECK(t8.stored_bytes < t1.stored_bytes);
    CHECK(t8.stored_bytes < n * 3 / 4);
    printf("4 MiB smooth doubles: level0 %llu, level1 %llu, level1+shuffle %llu bytes\n",
           (unsigned long long)t0.stored_bytes, (unsigned long long)t1.stored_bytes,
           (unsigned long long)t8.stored_bytes);
    check_img(t_path("b.img"), &h, (struct sec[]){ { CKPT_SEC_GLOBAL, "grid", a, n, 8 } }, 1);

    /* Zeros, noise, zeros in one chunk: the writer switches the stream to stored
     * blocks for the noise and back; the noise is all that remains. */
    memset(a, 0, MiB);
    t_fill_random(a + 256 * 1024, 256 * 1024);
    struct sec m = { CKPT_SEC_GLOBAL, "mixed", a, MiB, 1 };
    CHECK_RC(write_img(t_path("m.img"), &h, 1, &m, 1, &t1));
    CHECK(t1.stored_bytes > 256 * 1024 && t1.stored_bytes < 256 * 1024 + 4096);
    check_img(t_path("m.img"), &h, &m, 1);
    free(a);
}

/* A writer told to deflate one chunk in 4 does so (16 chunks of smooth
 * doubles: 4 deflated, 12 stored), says what deflating cost it and what it
 * wrote, and the image reads back whole: what CKPT_COMPRESS=auto relies on. */
static void test_probe(void)
{
    size_t n = 16 * MiB;
    uint8_t *a = malloc(n);
    struct ckpt_img_header h;
    struct ckpt_img_totals t, all;
    struct ckpt_imgw *w;

    t_scratch();
    CHECK(a);
    t_fill_smooth(a, n);
    t_header(&h, 1, 1);
    CHECK_RC(ckpt_imgw_open(&w, t_path("p.img"), &h, 1));
    ckpt_imgw_probe(w, 4);
    CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "grid", a, n, 8));
    CHECK_RC(ckpt_imgw_close(w, &t));
    struct sec s = { CKPT_SEC_GLOBAL, "grid", a, n, 8 };
    CHECK_RC(write_img(t_path("all.img"), &h, 1, &s, 1, &all));
    printf("16 MiB smooth doubles, 1 chunk in 4 deflated: %llu bytes (all: %llu); deflate took "
           "%llu of %llu bytes in %.1f ms; %llu bytes written in %.1f ms\n",
           (unsigned long long)t.stored_bytes, (unsigned long long)all.stored_bytes,
           (unsigned long long)t.z_stored, (unsigned long long)t.z_raw, t.z_ns / 1e6,
           (unsigned long long)t.io_bytes, t.io_ns / 1e6);
    CHECK(t.z_raw == 4 * MiB && all.z_raw == n);
    CHECK(t.z_stored < t.z_raw / 4 * 3 && t.z_ns > 0 && all.z_ns > 0);
    CHECK(t.stored_bytes > 12 * MiB && t.stored_bytes < 12 * MiB + t.z_stored + 4096);
    CHECK(all.stored_bytes < n / 4 * 3);
    CHECK(t.io_bytes == t.stored_bytes && t.io_ns > 0);
    check_img(t_path("p.img"), &h, &s, 1);
    free(a);
}

/* Random data does not compress: every chunk must be stored raw. */
static void test_incompressible(void)
{
    size_t n = 3 * MiB + 100;
    uint8_t *a = malloc(n);
    struct ckpt_img_header h;
    struct ckpt_img_totals t;

    t_scratch();
    CHECK(a);
    t_fill_random(a, n);
    t_header(&h, 1, 1);
    for (int level = 1; level <= 9; level += 4) {
        struct sec s = { CKPT_SEC_GLOBAL, "noise", a, n, 8 };
        CHECK_RC(write_img(t_path("r.img"), &h, level, &s, 1, &t));
        CHECK(t.stored_bytes == 184 + 48 + 5 + n + 4 * 24);
        check_img(t_path("r.img"), &h, &s, 1);
    }
    free(a);
}

/* Every single-byte change anywhere in the file is refused. */
static void test_flip_every_byte(void)
{
    struct ckpt_img_header h;
    size_t n;
    const char *p, *bad;
    uint8_t *orig;

    t_scratch();
    p = small_img(&h);
    check_img(p, &h, g_secs, G_N);
    orig = t_read_file(p, &n);
    bad = t_path("bad.img");
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = malloc(n);
        CHECK(b);
        memcpy(b, orig, n);
        b[i] ^= (uint8_t)(1u << (i % 8));
        expect_refused(bad, b, n, NULL);
        b[i] = (uint8_t)~orig[i];
        expect_refused(bad, b, n, NULL);
        free(b);
    }
    free(orig);
}

/* The messages name what failed, region by region. */
static void test_corrupt_messages(void)
{
    struct ckpt_img_header h;
    size_t n, off;
    uint8_t *o, *b;
    const char *bad;

    t_scratch();
    o = t_read_file(small_img(&h), &n);
    b = malloc(n + 16);
    CHECK(b);
    bad = t_path("bad.img");
#define RESET() memcpy(b, o, n)
    RESET(); memcpy(b, "ELF!", 4);                      expect_refused(bad, b, n, "bad magic");
    RESET(); b[8] = 2; fix_header_crc(b);               expect_refused(bad, b, n, "version 2");
    RESET(); b[50] ^= 1;                                expect_refused(bad, b, n, "header checksum");
    off = find(o, n, "grid");                           /* name of section 1 */
    RESET(); b[off - 48 + 5] ^= 1;                      expect_refused(bad, b, n, "section 1: header checksum");
    RESET(); b[off - 48] = 'X';                         expect_refused(bad, b, n, "section 1: bad section magic");
    RESET(); b[off + 4 + 24 + 10] ^= 0x40;              expect_refused(bad, b, n, "section 1 'grid': chunk 0 checksum");
    RESET(); b[off + 4 + 4] ^= 1;                       expect_refused(bad, b, n, "section 1 'grid': chunk 0 checksum");
    /* a deflated chunk whose chunk CRC was forged: zlib or the data CRC notices */
    RESET(); b[off + 4 + 24 + 100] ^= 0x10; fix_chunk_crc(b + off + 4);
    expect_refused(bad, b, n, "section 1 'grid': ");
    /* a raw chunk (random log) whose chunk CRC was forged: its raw CRC notices */
    off = find(o, n, "log") + 3;
    CHECK(o[off + 8] == 0);                             /* stored raw */
    RESET(); b[off + 24 + 7] ^= 1; fix_chunk_crc(b + off);
    expect_refused(bad, b, n, "section 4 'log': chunk 0 does not inflate to its bytes");
    /* and a raw CRC forged with it: the section's CRC of its chunks' notices */
    RESET(); b[off + 12] ^= 1; fix_chunk_crc(b + off);
    expect_refused(bad, b, n, "section 4 'log': ");
    /* lengths */
    expect_refused(bad, o, n - 1, "truncated");
    RESET(); b[n] = 0;                                  expect_refused(bad, b, n + 1, "trailing");
    RESET(); b[16] ^= 1; fix_header_crc(b);             expect_refused(bad, b, n, NULL);
    RESET(); b[24] = 200; fix_header_crc(b);            expect_refused(bad, b, n, NULL);
    RESET(); b[24] = 4; fix_header_crc(b);              expect_refused(bad, b, n, "after the last section");
    expect_refused(bad, o, 0, "bad magic");
    expect_refused(bad, o, 10, "truncated");
    expect_refused(bad, o, 100, "truncated");
#undef RESET
    free(b);
    free(o);
}

/* A section of several chunks: damage to a later chunk is found and named. */
static void test_multi_chunk_corrupt(void)
{
    struct ckpt_img_header h;
    size_t n, len = 2 * MiB + 333, off;
    uint8_t *a = malloc(len), *o, *b;
    const char *bad;

    t_scratch();
    CHECK(a);
    t_fill_smooth(a, len);
    t_header(&h, 5, 9);
    struct sec s = { CKPT_SEC_BLOCK, "big", a, len, 8 };
    CHECK_RC(write_img(t_path("m.img"), &h, 1, &s, 1, NULL));
    check_img(t_path("m.img"), &h, &s, 1);
    o = t_read_file(t_path("m.img"), &n);
    b = malloc(n);
    CHECK(b);
    bad = t_path("bad.img");
    off = 184 + 48 + 3;                                  /* chunk 0 */
    off += 24 + (o[off + 4] | o[off + 5] << 8 | o[off + 6] << 16 | (size_t)o[off + 7] << 24);
    memcpy(b, o, n); b[off + 24 + 1000] ^= 4;            /* chunk 1 data */
    expect_refused(bad, b, n, "section 0 'big': chunk 1 checksum mismatch");
    memcpy(b, o, n); b[off] ^= 1;                        /* chunk 1 raw length */
    expect_refused(bad, b, n, "section 0 'big': chunk 1 checksum mismatch");
    memcpy(b, o, n); b[off] ^= 1; fix_chunk_crc(b + off);
    expect_refused(bad, b, n, "section 0 'big': chunk 1 has inconsistent lengths");
    memcpy(b, o, n); b[n - 1] ^= 0x80;                   /* last chunk, last byte */
    expect_refused(bad, b, n, "section 0 'big': chunk 2 checksum mismatch");
    memcpy(b, o, n); b[16] = (uint8_t)(off & 0xff); b[17] = (uint8_t)(off >> 8 & 0xff);
    b[18] = (uint8_t)(off >> 16 & 0xff); b[19] = (uint8_t)(off >> 24); fix_header_crc(b);
    expect_refused(bad, b, off, "section 0 'big': truncated in chunk 1");
    free(b);
    free(o);
    free(a);
}

/* Truncation at every length, and insertion of a byte at many places. */
static void test_truncate_insert(void)
{
    struct ckpt_img_header h;
    size_t n;
    uint8_t *o, *b;
    const char *bad;

    t_scratch();
    o = t_read_file(small_img(&h), &n);
    bad = t_path("bad.img");
    for (size_t k = 0; k < n; k++)
        expect_refused(bad, o, k, NULL);
    b = malloc(n + 1);
    CHECK(b);
    for (size_t k = 0; k <= n; k += 7) {
        memcpy(b, o, k);
        b[k] = 0xa5;
        memcpy(b + k + 1, o + k, n - k);
        expect_refused(bad, b, n + 1, NULL);
    }
    free(b);
    free(o);
}

static void test_other_exe(void)
{
    struct ckpt_img_header h;
    struct ckpt_exe_id other;
    struct ckpt_img *img;
    char err[512];
    const char *p;

    t_scratch();
    p = small_img(&h);
    other = h.exe;
    other.hash ^= 1;
    snprintf(other.name, sizeof other.name, "other-app");
    CHECK(ckpt_img_load(p, &other, &img, err, sizeof err) == -ENOEXEC && img == NULL);
    CHECK(strstr(err, "task.00040001.img: written by another executable"));
    CHECK(strstr(err, "other-app"));
    other = h.exe;
    other.size++;
    CHECK(ckpt_img_load(p, &other, &img, err, sizeof err) == -ENOEXEC);
    CHECK(ckpt_img_load(p, NULL, &img, err, sizeof err) == 0);
    ckpt_img_free(img);
    CHECK(ckpt_img_load(t_path("nope.img"), NULL, &img, err, sizeof err) == -ENOENT);
    CHECK(strstr(err, "nope.img: cannot open"));
    CHECK(ckpt_img_load(t_dir, NULL, &img, err, sizeof err) < 0);
}

static void test_exe_id(void)
{
    struct ckpt_exe_id a, b, c;
    size_t n;
    uint8_t *buf;

    t_scratch();
    CHECK_RC(ckpt_exe_id_of("/proc/self/exe", &a));
    CHECK(strcmp(a.name, "test_image") == 0);
    buf = t_read_file("/proc/self/exe", &n);
    CHECK(a.size == n);
    t_write_file(t_path("copy"), buf, n);
    CHECK_RC(ckpt_exe_id_of(t_path("copy"), &b));
    CHECK(b.size == a.size && b.hash == a.hash && strcmp(b.name, "copy") == 0);
    buf[n / 2] ^= 1;
    t_write_file(t_path("copy2"), buf, n);
    CHECK_RC(ckpt_exe_id_of(t_path("copy2"), &c));
    CHECK(c.size == a.size && c.hash != a.hash);
    CHECK(ckpt_exe_id_of(t_path("missing"), &c) == -ENOENT);
    free(buf);
}

/* Files and folders the writer creates, and how it recovers a stale .tmp. */
static void test_writer_files(void)
{
    struct ckpt_img_header h;
    struct ckpt_imgw *w;
    struct stat st;
    const char *p, *tmp;
    char buf[64] = "x";

    t_scratch();
    p = t_path("deep/er/task.00000001.img");
    t_header(&h, 1, 1);
    tmp = t_path("deep/er/task.00000001.img.tmp");
    CHECK(ckpt_imgw_open(&w, p, &h, 10) == -EINVAL && w == NULL);
    CHECK(ckpt_imgw_open(&w, p, &h, -1) == -EINVAL);
    CHECK_RC(ckpt_imgw_open(&w, p, &h, 1));
    CHECK(stat(t_path("deep"), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(t_path("deep/er"), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(tmp, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(access(p, F_OK) < 0);
    static char longname[CKPT_IMG_NAME_MAX + 2];
    memset(longname, 'n', CKPT_IMG_NAME_MAX + 1);
    CHECK(ckpt_imgw_section(w, 1, longname, buf, 1, 1) == -EINVAL);
    longname[CKPT_IMG_NAME_MAX] = '\0';            /* the longest allowed */
    CHECK_RC(ckpt_imgw_section(w, 1, longname, buf, 1, 1));
    CHECK(ckpt_imgw_section(w, 1, "null", NULL, 5, 1) == -EINVAL);
    CHECK_RC(ckpt_imgw_section(w, 1, NULL, buf, 1, 1));   /* the writer is still fine */
    CHECK_RC(ckpt_imgw_close(w, NULL));
    CHECK(access(tmp, F_OK) < 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    struct sec two[2] = { { 1, longname, buf, 1, 1 }, { 1, "", buf, 1, 1 } };
    check_img(p, &h, two, 2);
    struct sec s = two[1];
    CHECK_RC(write_img(p, &h, 1, &s, 1, NULL));

    /* abort removes the temporary and leaves the good image alone */
    CHECK_RC(ckpt_imgw_open(&w, p, &h, 1));
    CHECK_RC(ckpt_imgw_section(w, 2, "junk", buf, sizeof buf, 1));
    ckpt_imgw_abort(w);
    ckpt_imgw_abort(NULL);
    CHECK(access(tmp, F_OK) < 0);
    check_img(p, &h, &s, 1);

    /* a stale temporary (a killed writer), even a symlink, is replaced, not followed */
    t_write_file(t_path("victim"), "keep", 4);
    CHECK(symlink(t_path("victim"), tmp) == 0);
    CHECK_RC(write_img(p, &h, 1, &s, 1, NULL));
    CHECK(t_file_size(t_path("victim")) == 4);
    check_img(p, &h, &s, 1);
}

/* Disk full: writes fail in a child limited by RLIMIT_FSIZE (EFBIG, as ENOSPC
 * would); the temporary is removed and the previous image stays intact. */
static void test_write_fails(void)
{
    struct ckpt_img_header h;
    const char *p;
    size_t n = 2 * MiB;
    uint8_t *a = malloc(n);
    int status;
    pid_t pid;

    t_scratch();
    CHECK(a);
    p = small_img(&h);
    t_fill_random(a, n);
    for (int level = 0; level <= 1; level++) {
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { 64 * 1024, 64 * 1024 };
            struct ckpt_imgw *w;
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || ckpt_imgw_open(&w, p, &h, level) < 0)
                _exit(10);
            int rc = ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "big", a, n, 8);
            if (rc == 0)
                _exit(11);
            if (rc != -EFBIG)
                _exit(12);
            if (ckpt_imgw_section(w, CKPT_SEC_VAR, "more", a, 10, 1) != rc)
                _exit(13);                     /* sticky error */
            ckpt_imgw_abort(w);
            _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "child status %#x\n", status);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(access(t_path("epoch.1/task.00040001.img.tmp"), F_OK) < 0);
        check_img(p, &h, g_secs, G_N);
    }
    /* the same failure at close: the header fits, the data only just does not */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = { 4096, 4096 };
        struct ckpt_imgw *w;
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || ckpt_imgw_open(&w, p, &h, 1) < 0)
            _exit(10);
        if (ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "small", a, 5000, 1) < 0)
            _exit(11);                         /* still buffered */
        _exit(ckpt_imgw_close(w, NULL) == -EFBIG ? 0 : 12);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(access(t_path("epoch.1/task.00040001.img.tmp"), F_OK) < 0);
    check_img(p, &h, g_secs, G_N);
    free(a);
}

/* The real thing: a 256 KiB tmpfs, mounted in a private mount namespace of a
 * child (so that it vanishes with the child whatever happens).  Exit 77 (skip)
 * where mounting is not allowed. */
static void test_enospc_tmpfs(void)
{
    int status;
    pid_t pid;

    t_scratch();
    CHECK(mkdir(t_path("small"), 0700) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct ckpt_img_header h;
        struct ckpt_imgw *w;
        const char *p = t_path("small/epoch.1/task.00000001.img");
        size_t n = 2 * MiB;
        uint8_t *a = malloc(n);
        if (!a || unshare(CLONE_NEWNS) < 0 ||
            mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", t_path("small"), "tmpfs", 0, "size=256k,mode=0700") < 0)
            _exit(77);
        fill_globals();
        t_header(&h, 1, 1);
        if (write_img(p, &h, 1, g_secs, G_N, NULL) < 0)
            _exit(10);
        t_fill_random(a, n);
        if (ckpt_imgw_open(&w, p, &h, 1) < 0)
            _exit(11);
        int rc = ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "big", a, n, 8);
        if (rc == 0)
            rc = ckpt_imgw_close(w, NULL);
        else
            ckpt_imgw_abort(w);
        if (rc != -ENOSPC)
            _exit(12);
        strcat(strcpy((char *)a, p), ".tmp");
        if (access((char *)a, F_OK) == 0)
            _exit(13);
        check_img(p, &h, g_secs, G_N);
        free(a);
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        printf("SKIP enospc_tmpfs: cannot mount a tmpfs here\n");
        exit(77);
    }
    CHECK(WEXITSTATUS(status) == 0);
}

static void make_commit(const char *edir, uint64_t epoch, uint32_t ntasks)
{
    struct ckpt_commit_task t[8];
    struct ckpt_commit c = { epoch, 1700000000000000000ull + epoch, ntasks, t, 0 };

    CHECK(ntasks <= 8);
    for (uint32_t i = 0; i < ntasks; i++) {
        t[i] = (struct ckpt_commit_task){ 0x40001 + (int32_t)i, i & 1, 1000 * i + 1, 500 * i,
                                          7 * i, 3 + i };
        snprintf(t[i].host, sizeof t[i].host, "node%u.example.org", i);
    }
    CHECK(mkdir(edir, 0700) == 0 || errno == EEXIST);
    CHECK_RC(ckpt_commit_write(edir, &c));
}

static void set_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A commit record of version 3 (before hosts: 48-byte task records), made
 * from v4, the 3-task record make_commit wrote: still read, hosts unknown. */
static void test_commit_v3(const char *edir, const uint8_t *v4)
{
    uint8_t b[48 + 3 * 48 + 4];
    struct ckpt_commit c;
    char err[512], path[4200];

    memcpy(b, v4, 48);
    set_le32(b + 8, 3);
    set_le32(b + 36, 48);
    for (int i = 0; i < 3; i++)
        memcpy(b + 48 + 48 * i, v4 + 48 + 112 * i, 48);
    set_le32(b + sizeof b - 4, (uint32_t)crc32(0, b, sizeof b - 4));
    snprintf(path, sizeof path, "%s/commit", edir);
    t_write_file(path, b, sizeof b);
    CHECK_RC(ckpt_commit_read(edir, &c, err, sizeof err));
    CHECK(c.epoch == 5 && c.ntasks == 3 && c.tasks[2].vtid == 0x40003 && c.tasks[2].write_ms == 5);
    CHECK(c.tasks[0].host[0] == '\0' && c.tasks[2].host[0] == '\0');
    ckpt_commit_free(&c);
    set_le32(b + 36, 112);                  /* a version 3 record of version 4's size */
    set_le32(b + sizeof b - 4, (uint32_t)crc32(0, b, sizeof b - 4));
    t_write_file(path, b, sizeof b);
    CHECK(ckpt_commit_read(edir, &c, err, sizeof err) == -EBADMSG && strstr(err, "inconsistent lengths"));
}

static void test_commit(void)
{
    struct ckpt_commit c;
    char err[512], path[4200];
    const char *edir;
    uint8_t *o, *b;
    size_t n;

    t_scratch();
    edir = t_path("epoch.5");
    make_commit(edir, 5, 3);
    snprintf(path, sizeof path, "%s/commit", edir);
    CHECK(t_file_size(path) == 48 + 3 * 112 + 4);
    CHECK(access(t_path("epoch.5/commit.tmp"), F_OK) < 0);
    CHECK_RC(ckpt_commit_read(edir, &c, err, sizeof err));
    CHECK(c.epoch == 5 && c.time_ns == 1700000000000000005ull && c.ntasks == 3);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(c.tasks[i].vtid == 0x40001 + (int32_t)i && c.tasks[i].flags == (i & 1) &&
              c.tasks[i].raw_bytes == 1000 * i + 1 && c.tasks[i].stored_bytes == 500 * i &&
              c.tasks[i].log_bytes == 7 * i && c.tasks[i].write_ms == 3 + i);
    CHECK(strcmp(c.tasks[2].host, "node2.example.org") == 0);
    ckpt_commit_free(&c);
    CHECK(c.tasks == NULL);
    make_commit(edir, 5, 0);               /* rewriting replaces it atomically */
    CHECK_RC(ckpt_commit_read(edir, &c, err, sizeof err));
    CHECK(c.ntasks == 0);
    ckpt_commit_free(&c);
    make_commit(edir, 5, 3);

    o = t_read_file(path, &n);
    b = malloc(n + 1);
    CHECK(b);
    for (size_t i = 0; i <= n; i++) {          /* every flip, every truncation */
        memcpy(b, o, n);
        if (i < n) {
            b[i] ^= 0x20;
            t_write_file(path, b, n);
        } else {
            b[n] = 0;
            t_write_file(path, b, n + 1);
        }
        CHECK(ckpt_commit_read(edir, &c, err, sizeof err) < 0 && c.tasks == NULL);
        CHECK(strstr(err, "epoch.5/commit: "));
        if (i == n)
            break;
        t_write_file(path, o, i);
        CHECK(ckpt_commit_read(edir, &c, err, sizeof err) < 0 && strstr(err, "epoch.5/commit: "));
    }
    memcpy(b, o, n);
    b[8] = 9;
    t_write_file(path, b, n);
    CHECK(ckpt_commit_read(edir, &c, err, sizeof err) == -EPROTONOSUPPORT);
    CHECK(strstr(err, "version 9"));
    CHECK(ckpt_commit_read(t_path("epoch.404"), &c, err, sizeof err) == -ENOENT);
    memcpy(b, o, n);
    b[48 + 112 - 1] = 'x';                  /* an unterminated host name */
    set_le32(b + n - 4, (uint32_t)crc32(0, b, (uInt)(n - 4)));
    t_write_file(path, b, n);
    CHECK(ckpt_commit_read(edir, &c, err, sizeof err) == -EBADMSG && strstr(err, "not terminated"));
    test_commit_v3(edir, o);
    free(b);
    free(o);
}

static void test_list_committed(void)
{
    uint64_t e[16];
    char buf[4200];

    t_scratch();
    CHECK(ckpt_list_committed(t_dir, e, 16) == 0);
    make_commit(t_path("epoch.1"), 1, 2);
    make_commit(t_path("epoch.2"), 2, 2);
    make_commit(t_path("epoch.10"), 10, 1);
    CHECK(mkdir(t_path("epoch.3"), 0700) == 0);                  /* tentative */
    make_commit(t_path("epoch.4"), 4, 2);                        /* corrupt */
    snprintf(buf, sizeof buf, "%s/commit", t_path("epoch.4"));
    t_write_file(buf, "CKPT-CMT garbage", 16);
    make_commit(t_path("epoch.5"), 6, 2);                        /* names another epoch */
    make_commit(t_path("epoch.07"), 7, 1);                       /* not canonical */
    make_commit(t_path("epoch.x"), 0, 1);
    make_commit(t_path("epoch.99999999999999999999"), 0, 1);    /* overflows */
    t_write_file(t_path("epoch.8"), "a file", 6);
    CHECK(ckpt_list_committed(t_dir, e, 16) == 3);
    CHECK(e[0] == 10 && e[1] == 2 && e[2] == 1);
    CHECK(ckpt_list_committed(t_dir, e, 2) == 2 && e[0] == 10 && e[1] == 2);
    CHECK(ckpt_list_committed(t_dir, e, 0) == 0);
    CHECK(ckpt_list_committed(t_path("absent"), e, 16) == -ENOENT);

    /* removal: commit record, images and temporaries go; foreign files stay */
    struct ckpt_img_header h;
    char ipath[4200];
    fill_globals();
    t_header(&h, 1, 10);
    CHECK_RC(ckpt_task_path(ipath, sizeof ipath, t_dir, 10, 1));
    CHECK_RC(write_img(ipath, &h, 1, g_secs, G_N, NULL));
    strcat(ipath, ".tmp");
    t_write_file(ipath, "partial", 7);
    CHECK_RC(ckpt_epoch_remove(t_dir, 10));
    CHECK(access(t_path("epoch.10"), F_OK) < 0);
    CHECK(ckpt_list_committed(t_dir, e, 16) == 2 && e[0] == 2);
    CHECK(ckpt_epoch_remove(t_dir, 10) == -ENOENT);
    snprintf(buf, sizeof buf, "%s/notes.txt", t_path("epoch.2"));
    t_write_file(buf, "mine", 4);
    CHECK(ckpt_epoch_remove(t_dir, 2) == -ENOTEMPTY);
    CHECK(access(buf, F_OK) == 0);
    CHECK(ckpt_list_committed(t_dir, e, 16) == 1 && e[0] == 1);   /* no longer committed */
}

/* Writes epoch `epoch` of t_dir with one task image of job `img_job` (epoch
 * img_epoch) and a commit record of job `job`; the image's path into path. */
static void bound_case(uint64_t epoch, uint64_t job, uint64_t img_epoch, uint64_t img_job,
                       char *path, size_t len)
{
    struct ckpt_img_header h;
    struct ckpt_img_totals t;
    char edir[4096];

    fill_globals();
    t_header(&h, 0x40001, img_epoch);
    h.job = img_job;
    CHECK_RC(ckpt_task_path(path, len, t_dir, epoch, h.vtid));
    CHECK_RC(write_img(path, &h, 1, g_secs, G_N, &t));
    struct ckpt_commit_task ct = { h.vtid, 0, t.raw_bytes, t.stored_bytes, t.log_bytes, 1 };
    struct ckpt_commit c = { epoch, 1700000000000000000ull, 1, &ct, job };
    CHECK_RC(ckpt_epoch_dir(edir, sizeof edir, t_dir, epoch));
    CHECK_RC(ckpt_commit_write(edir, &c));
}

/* An image is restored only into the commit and job it belongs to. */
static void test_bound(void)
{
    struct ckpt_img *img;
    struct ckpt_img_header h;
    uint64_t len;
    char path[4200], other[4200], err[1024];

    t_scratch();
    bound_case(3, 0xabc, 3, 0xabc, path, sizeof path);
    CHECK_RC(ckpt_img_load_bound(path, 0xabc, NULL, &img, err, sizeof err));
    CHECK(ckpt_img_header(img)->job == 0xabc);
    ckpt_img_free(img);
    CHECK_RC(ckpt_img_load_bound(path, 0, NULL, &img, err, sizeof err));   /* any job */
    ckpt_img_free(img);
    CHECK_RC(ckpt_img_peek(path, &h, &len, err, sizeof err));
    CHECK(h.job == 0xabc && h.epoch == 3 && len == t_file_size(path));
    CHECK(ckpt_img_load_bound(path, 0xdef, NULL, &img, err, sizeof err) == -ESTALE && !img);
    CHECK(strstr(err, "committed by job 0000000000000abc, not by this job"));
    bound_case(4, 0xabc, 4, 0x999, path, sizeof path);          /* another job's image */
    CHECK(ckpt_img_load_bound(path, 0xabc, NULL, &img, err, sizeof err) == -ESTALE);
    CHECK(strstr(err, "written by job 0000000000000999"));
    bound_case(5, 0xabc, 2, 0xabc, path, sizeof path);          /* another epoch's */
    CHECK(ckpt_img_load_bound(path, 0xabc, NULL, &img, err, sizeof err) == -ESTALE);
    CHECK(strstr(err, "an image of epoch 2, not of checkpoint 5"));
    bound_case(6, 0xabc, 6, 0xabc, path, sizeof path);          /* other sizes */
    bound_case(7, 0xabc, 7, 0xabc, other, sizeof other);
    t_write_file(other, "x", 1);
    CHECK(ckpt_img_peek(other, &h, &len, err, sizeof err) == -EBADMSG);
    /* a symlink in a checkpoint folder is never followed */
    CHECK(unlink(other) == 0 && symlink(path, other) == 0);
    CHECK(ckpt_img_load_bound(other, 0xabc, NULL, &img, err, sizeof err) == -ELOOP);
    CHECK(ckpt_bad_commits(t_dir, err, sizeof err) == 0);
    t_write_file(t_path("epoch.6/commit"), "CKPT-CMT garbage", 16);
    CHECK(ckpt_bad_commits(t_dir, err, sizeof err) == 1 && strstr(err, "epoch.6/commit"));
}

/* The job record: round trip, and refused when damaged. */
static void test_job_record(void)
{
    struct ckpt_job jr = { 0x1234, 1700000000000000000ull, 4, { 0 }, "/opt/app/bin/solver" }, got;
    char err[1024], path[4200];
    uint8_t *b;
    size_t n;

    t_scratch();
    CHECK_RC(ckpt_exe_id_of("/proc/self/exe", &jr.exe));
    CHECK_RC(ckpt_job_write(t_dir, &jr));
    CHECK_RC(ckpt_job_read(t_dir, &got, err, sizeof err));
    CHECK(got.id == jr.id && got.time_ns == jr.time_ns && got.ntasks == 4 &&
          got.exe.size == jr.exe.size && got.exe.hash == jr.exe.hash &&
          !strcmp(got.exe.name, jr.exe.name) && !strcmp(got.path, jr.path));
    snprintf(path, sizeof path, "%s/job", t_dir);
    b = t_read_file(path, &n);
    for (size_t i = 0; i < n; i += 7) {
        b[i] ^= 0x20;
        t_write_file(path, b, n);
        CHECK(ckpt_job_read(t_dir, &got, err, sizeof err) < 0 && strstr(err, "job: "));
        b[i] ^= 0x20;
    }
    free(b);
    CHECK(ckpt_job_read(t_path("absent"), &got, err, sizeof err) == -ENOENT);
}

static void test_paths(void)
{
    char b[64];

    CHECK_RC(ckpt_epoch_dir(b, sizeof b, "ckpt.app", 12));
    CHECK(strcmp(b, "ckpt.app/epoch.12") == 0);
    CHECK_RC(ckpt_task_path(b, sizeof b, "d", 3, 0x4000a));
    CHECK(strcmp(b, "d/epoch.3/task.0004000a.img") == 0);
    CHECK_RC(ckpt_task_path(b, sizeof b, "d", 0, -1));
    CHECK(strcmp(b, "d/epoch.0/task.ffffffff.img") == 0);
    CHECK(ckpt_epoch_dir(b, 10, "ckpt.app", 12) == -ENAMETOOLONG);
    CHECK(ckpt_task_path(b, 20, "d", 3, 1) == -ENAMETOOLONG);
    CHECK(strcmp(ckpt_sec_type_name(CKPT_SEC_GLOBAL), "global") == 0);
    CHECK(strcmp(ckpt_sec_type_name(CKPT_SEC_ARGV), "argv") == 0);
    CHECK(strcmp(ckpt_sec_type_name(CKPT_SEC_HEAP), "heap") == 0);
    CHECK(strcmp(ckpt_sec_type_name(0), "unknown") == 0);
    CHECK(strcmp(ckpt_sec_type_name(1000), "unknown") == 0);
}

/* Writes a committed epoch for the ckpt-info shell test: `fixture DIR`. */
static int fixture(const char *dir)
{
    struct ckpt_img_header h;
    struct ckpt_img_totals t;
    struct ckpt_commit_task ct[2];
    char path[4096], edir[4096];
    uint8_t *a = malloc(2 * MiB);

    CHECK(a);
    t_fill_smooth(a, 2 * MiB);
    fill_globals();
    for (uint64_t epoch = 1; epoch <= 2; epoch++) {
        for (int i = 0; i < 2; i++) {
            struct sec s[] = { g_secs[0], { CKPT_SEC_GLOBAL, "grid", a, 2 * MiB, 8 },
                               g_secs[2], g_secs[3], g_secs[4] };
            t_header(&h, 0x40001 + i, epoch);
            CHECK_RC(ckpt_task_path(path, sizeof path, dir, epoch, h.vtid));
            CHECK_RC(write_img(path, &h, 1, s, 5, &t));
            ct[i] = (struct ckpt_commit_task){ h.vtid, 0, t.raw_bytes, t.stored_bytes,
                                               t.log_bytes, 12 };
            snprintf(ct[i].host, sizeof ct[i].host, "10.0.0.%d", i + 1);
        }
        struct ckpt_commit c = { epoch, 1700000000000000000ull + epoch * 1000000000ull, 2, ct, 0 };
        CHECK_RC(ckpt_epoch_dir(edir, sizeof edir, dir, epoch));
        CHECK_RC(ckpt_commit_write(edir, &c));
    }
    CHECK_RC(ckpt_task_path(path, sizeof path, dir, 3, 0x40001));   /* tentative epoch 3 */
    CHECK_RC(write_img(path, &h, 1, g_secs, 1, NULL));
    free(a);
    return 0;
}

/* A message record and its bytes at *at (LOG and QUEUE sections); advances *at. */
static void put_msg(uint8_t **at, struct msg_rec r, const char *bytes)
{
    r.len = (int32_t)strlen(bytes);
    memcpy(*at, &r, sizeof r);
    memcpy(*at + sizeof r, bytes, (size_t)r.len);
    *at += sizeof r + PAD8(r.len);
}

/* A FILES "open" section: a file read at 21 through a stream in the arena,
 * a written file and its dup (one description), a pipe.  Returns its length. */
static size_t files_fixture(uint8_t *buf)
{
    uint8_t *p = buf;
    struct files_rec h = { FILES_VERSION, 4, 2, 0 };
    static const char in[] = "/data/input.txt", out[] = "/data/out.txt";
    const struct {
        struct file_fd_rec r;
        const char *path;
    } fds[] = {
        { { 3, FILE_KIND_FILE, 0x8000, 0, 1, sizeof in, 150, -1 }, in },
        { { 4, FILE_KIND_FILE, 0x8401, 1, 2, sizeof out, 99, 99 }, out },
        { { 5, FILE_KIND_PIPE, 0, 0, 3, 0, -1, -1 }, NULL },
        { { 6, FILE_KIND_FILE, 0x8401, 0, 2, sizeof out, 99, 99 }, out },
    };
    memset(buf, 0, 512);
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        memcpy(p, &fds[i].r, sizeof fds[i].r);
        p += sizeof fds[i].r;
        if (fds[i].path)
            memcpy(p, fds[i].path, fds[i].r.pathlen);
        p += PAD8(fds[i].r.pathlen);
    }
    struct file_stream_rec st[2] = { { 0x200000000810, 3, FILE_STREAM_ARENA, 21, "r" },
                                     { 0x200000000c10, 4, FILE_STREAM_ARENA | FILE_STREAM_EOF,
                                       99, "a" } };
    memcpy(p, st, sizeof st);
    p += sizeof st;
    return (size_t)(p - buf);
}

/* ckpt__files_view takes the fixture and refuses each malformed variant. */
static void test_files_view(void)
{
    uint8_t buf[512], bad[512];
    size_t len = files_fixture(buf);
    struct files_view v;
    CHECK(ckpt__files_view(buf, len, &v) == 0);
    CHECK(v.h->nfds == 4 && v.h->nstreams == 2 && v.streams[1].pos == 99);
    uint64_t off = 0;
    const char *path;
    const struct file_fd_rec *r = ckpt__files_fd(&v, &off, &path);
    CHECK(r->fd == 3 && strcmp(path, "/data/input.txt") == 0);
    r = ckpt__files_fd(&v, &off, &path);
    r = ckpt__files_fd(&v, &off, &path);
    CHECK(r->kind == FILE_KIND_PIPE && *path == '\0');
    r = ckpt__files_fd(&v, &off, &path);
    CHECK(r->fd == 6 && r->desc == 2 && strcmp(path, "/data/out.txt") == 0);
    CHECK((const uint8_t *)v.streams == v.fds + off);
    /* an empty section: no fds, no streams */
    struct files_rec none = { FILES_VERSION, 0, 0, 0 };
    CHECK(ckpt__files_view(&none, sizeof none, &v) == 0);
    /* offsets into the fixture: the first fd record, its path, the streams */
    const size_t fd0 = sizeof(struct files_rec), path0 = fd0 + sizeof(struct file_fd_rec);
    const size_t st0 = len - 2 * sizeof(struct file_stream_rec);
    const struct {
        const char *what;
        size_t at;          /* byte changed, or SIZE_MAX: the length instead */
        uint8_t value;
        size_t len_delta;   /* bytes cut from the end */
    } cases[] = {
        { "version", 0, 2, 0 },
        { "more fds than there are", 4, 9, 0 },
        { "more streams than there are", 8, 3, 0 },
        { "fewer streams than there are", 8, 1, 0 },
        { "a kind 0", fd0 + 4, 0, 0 },
        { "a kind past the last", fd0 + 4, 6, 0 },
        { "a negative fd", fd0 + 3, 0x80, 0 },
        { "a path past the section", fd0 + 21, 0x0f, 0 },
        { "a path longer than 4096", fd0 + 21, 0x11, 0 },
        { "a path without its NUL", path0 + 15, 'x', 0 },
        { "a NUL inside the path", path0 + 3, 0, 0 },
        { "a file's path of 1 byte", fd0 + 20, 1, 0 },
        { "a stream's mode without a NUL", SIZE_MAX, 0, 0 },
        { "a stream's negative fd", st0 + 11, 0x80, 0 },
        { "a truncated stream", 0, 0, 8 },
        { "a truncated header", 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, buf, len);
        size_t blen = len - cases[i].len_delta;
        if (cases[i].at == SIZE_MAX)
            memset(bad + st0 + 24, 'r', 16);
        else if (i == sizeof cases / sizeof cases[0] - 1)
            blen = sizeof(struct files_rec) - 1;
        else if (cases[i].len_delta == 0)
            bad[cases[i].at] = cases[i].value;
        if (ckpt__files_view(bad, blen, &v) != -EINVAL) {
            fprintf(stderr, "files_view: %s accepted\n", cases[i].what);
            CHECK(0);
        }
    }
}

/* `sections FILE`: one image whose sections hold well-formed records of every
 * kind (format/sections.h), for `ckpt-info -s`: a META with two peers, a
 * handler, a group and a notify; ARGV; HEAP "arena" (a live block, a free one,
 * a NOSAVE large one) and its one run of HEAP "blocks"; the globals' FRAME with a data and a
 * block variable; a FRAME of main; a LOG of two messages; QUEUE "received" with
 * a message and a notice; QUEUE "application buffers". */
static int sections_fixture(const char *path)
{
    struct {
        struct meta_rec m;
        struct peer_rec p[2];
        struct handler_rec h;
        struct group_rec g;
        struct notify_rec n;
    } meta = { .m = { .version = STATE_VERSION, .vtid = 0x40001, .tid = 0x40007,
                      .parent_vtid = -1, .epoch = 4, .safepoints = 99, .npeers = 2, .ctx = 3,
                      .nhandlers = 1, .ngroups = 1, .ctx_made = 5, .nnotifies = 1 },
               .p = { { 0x40002, 0x40008, 1, 1, 12, 4, 7, 6 }, { 0x40003, 0x40009, 0, 0, 1, 3, 0, 0 } },
               .h = { 2, -1, 77, 3, 0x1234 },
               .g = { .inst = 1, .name = "workers" },
               .n = { 1, 66, 3, 0x40003, 0, 0 } };
    struct {
        struct frame_rec f;
        struct var_rec v[2];
    } globals = { .f = { -1, 0, 2, 0 },
                  .v = { { .i = 0, .reg = 1, .kind = 0, .size = 8, .elem = 8, .name = "grid" },
                         { .i = 1, .reg = 1, .kind = 2, .size = 8, .elem = 4, .count = 2,
                           .old_block = 0xb10c, .name = "row" } } };
    struct {
        struct heap_rec h;
        uint64_t counts[3];
        struct heap_blk_rec b[3];
        uint64_t free_offs[1];
    } heap = { .h = { HEAP_VERSION, 3, 0x200000000000, 4160, 2u << 20, 3, 1, 1 },
               .counts = { 0, 0, 1 },
               .b = { { 0, 32, 2, 1, 16 }, { 32, 32, 2, 0, 16 }, { 64, 4096, 3, 3, 16 } },
               .free_offs = { 32 } };
    uint8_t heap_run[32] = { 32, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 16, 0, 0, 0, 'h', 'e', 'a', 'p' };
    struct frame_rec mainf = { 0, 2, 0, 0 };
    static const char argv[] = "./app\0-n\0" "42";
    uint8_t files[512];
    size_t files_len = files_fixture(files);
    double grid = 1.5;
    int32_t row[2] = { 7, 8 };
    uint64_t rowp = 0xb10c;
    uint8_t log[256] = { 0 }, recv[256] = { 0 }, bufs[256] = { 0 }, *l = log, *q = recv, *b = bufs;
    struct ckpt_img_header h;

    put_msg(&l, (struct msg_rec){ .seq = 11, .peer = 0x40002, .tag = 5, .ctx = 3 }, "first");
    put_msg(&l, (struct msg_rec){ .seq = 12, .peer = 0x40002, .tag = 6, .ctx = 3 }, "second!!!");
    put_msg(&q, (struct msg_rec){ .peer = 0x40002, .tag = 9, .ctx = 3 }, "hello");
    put_msg(&q, (struct msg_rec){ .peer = 0x40003, .tag = 66, .ctx = 3, .notice = 1,
                                  .subject = 0x40003 }, "");
    put_msg(&b, (struct msg_rec){ .peer = 4, .tag = APPBUF_RECV, .upos = 2,
                                  .seq = (uint64_t)0x40002 << 32 | 9 }, "abcd");
    struct sec s[] = {
        { CKPT_SEC_META, "runtime", &meta, sizeof meta, 0 },
        { CKPT_SEC_ARGV, "/bin/app", (void *)argv, sizeof argv, 0 },
        { CKPT_SEC_HEAP, "arena", &heap, sizeof heap, 8 },
        { CKPT_SEC_HEAP, "blocks", heap_run, sizeof heap_run, 8 },
        { CKPT_SEC_FRAME, "<globals>", &globals, sizeof globals, 0 },
        { CKPT_SEC_GLOBAL, "grid", &grid, sizeof grid, 8 },
        { CKPT_SEC_GLOBAL, "row", &rowp, sizeof rowp, 0 },
        { CKPT_SEC_BLOCK, "row", row, sizeof row, 4 },
        { CKPT_SEC_FILES, "open", files, files_len, 0 },
        { CKPT_SEC_FRAME, "main", &mainf, sizeof mainf, 0 },
        { CKPT_SEC_LOG, "to t40002", log, (size_t)(l - log), 0 },
        { CKPT_SEC_QUEUE, "received", recv, (size_t)(q - recv), 0 },
        { CKPT_SEC_QUEUE, "application buffers", bufs, (size_t)(b - bufs), 0 },
    };
    t_header(&h, 0x40001, 4);
    CHECK_RC(write_img(path, &h, 1, s, sizeof s / sizeof s[0], NULL));
    return 0;
}

/* ------------------------------------------------------------ runner */

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "shuffle", test_shuffle },
    { "roundtrip_sizes", test_roundtrip_sizes },
    { "compression", test_compression },
    { "incompressible", test_incompressible },
    { "probe", test_probe },
    { "flip_every_byte", test_flip_every_byte },
    { "corrupt_messages", test_corrupt_messages },
    { "truncate_insert", test_truncate_insert },
    { "multi_chunk_corrupt", test_multi_chunk_corrupt },
    { "other_exe", test_other_exe },
    { "exe_id", test_exe_id },
    { "writer_files", test_writer_files },
    { "write_fails", test_write_fails },
    { "enospc_tmpfs", test_enospc_tmpfs },
    { "commit", test_commit },
    { "list_committed", test_list_committed },
    { "paths", test_paths },
    { "bound", test_bound },
    { "job_record", test_job_record },
    { "files_view", test_files_view },
};
#define NTESTS (sizeof tests / sizeof tests[0])

/* Each test in a child of its own, so one's scratch folder and exit stay its own. */
static int run(size_t i)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return 1;
    if (pid == 0) {
        tests[i].fn();
        exit(0);
    }
    if (waitpid(pid, &status, 0) != pid)
        return 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
        return 77;                      /* skipped, said so itself */
    printf("%s %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "PASS" : "FAIL",
           tests[i].name);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
    int failed = 0;

    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "fixture") == 0)
        return fixture(argv[2]);
    if (argc == 3 && strcmp(argv[1], "sections") == 0)
        return sections_fixture(argv[2]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NTESTS; i++)
            puts(tests[i].name);
        return 0;
    }
    for (size_t i = 0; i < NTESTS; i++) {
        if (argc >= 2 && strcmp(argv[1], tests[i].name) == 0)
            return run(i);              /* 0 pass, 1 fail, 77 skipped (for ctest) */
        if (argc < 2)
            failed += run(i) == 1;
    }
    if (argc >= 2) {
        fprintf(stderr, "test_image: no test named %s\n", argv[1]);
        return 2;
    }
    return failed ? 1 : 0;
}
