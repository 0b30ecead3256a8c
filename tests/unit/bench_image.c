/*
 * bench_image.c: throughput and ratio of the image writer, to choose the
 * default level.  `bench_image [MiB] [DIR]` (default 32 MiB in $TMPDIR or /tmp;
 * give a disk folder for honest fsync times).  Prints, for smooth doubles
 * (sin(i*0.001)) and random bytes, at levels 0, 1, 6 (9 too), with elem 8
 * (shuffled) and elem 1 (not): write+fsync+rename time, raw MB/s, ratio, and
 * the load (verify + inflate) speed; then the shuffle and crc32 alone.
 */
#include "imgtest.h"
#include "shuffle.h"

#include <time.h>
#include <zlib.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void one(const char *what, const uint8_t *a, size_t n, int level, uint32_t elem)
{
    struct ckpt_img_header h;
    struct ckpt_img_totals t;
    struct ckpt_imgw *w;
    struct ckpt_img *img;
    char err[256];
    const char *p = t_path("bench.img");
    double t0, t1, t2, t3;

    t_header(&h, 1, 1);
    t0 = now();
    CHECK_RC(ckpt_imgw_open(&w, p, &h, level));
    CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_GLOBAL, "grid", a, n, elem));
    t1 = now();
    CHECK_RC(ckpt_imgw_close(w, &t));      /* flush, fsync, rename, fsync folder */
    t2 = now();
    CHECK_RC(ckpt_img_load(p, NULL, &img, err, sizeof err));
    t3 = now();
    CHECK(memcmp(ckpt_img_section(img, 0)->data, a, n) == 0);
    ckpt_img_free(img);
    printf("%-7s level %d %-11s  %7.1f ms (fsync part %5.1f)  %7.1f MB/s  ratio %5.2f"
           "  load %7.1f MB/s\n",
           what, level, elem == 1 ? "no shuffle" : "shuffle(8)", (t2 - t0) * 1e3,
           (t2 - t1) * 1e3, n / (t2 - t0) / 1e6, (double)n / (double)t.stored_bytes,
           n / (t3 - t2) / 1e6);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 32, n = mib << 20;
    uint8_t *a = malloc(n), *b = malloc(n);
    static const int levels[] = { 0, 1, 6, 9 };
    double t0;

    CHECK(a && b);
    if (argc > 2)
        setenv("TMPDIR", argv[2], 1);
    t_scratch();
    printf("%zu MiB, folder %s\n", mib, t_dir);
    t_fill_smooth(a, n);
    for (size_t l = 0; l < 4; l++) {
        one("smooth", a, n, levels[l], 8);
        if (levels[l] > 0)                  /* level 0 never shuffles */
            one("smooth", a, n, levels[l], 1);
    }
    t_fill_random(b, n);
    one("random", b, n, 1, 8);
    one("random", b, n, 6, 8);

    t0 = now();
    for (size_t off = 0; off < n; off += 1 << 20)
        ckpt_shuffle(b + off, a + off, 1 << 20, 8);
    printf("shuffle(8) alone: %.0f MB/s\n", n / (now() - t0) / 1e6);
    t0 = now();
    for (size_t off = 0; off < n; off += 1 << 20)
        ckpt_unshuffle(a + off, b + off, 1 << 20, 8);
    printf("unshuffle(8) alone: %.0f MB/s\n", n / (now() - t0) / 1e6);
    t0 = now();
    volatile uLong c = crc32_z(0, a, n);
    (void)c;
    printf("crc32 alone: %.0f MB/s\n", n / (now() - t0) / 1e6);
    free(a);
    free(b);
    return 0;
}
