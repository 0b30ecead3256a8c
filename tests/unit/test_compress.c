/*
 * test_compress.c: runtime/compress.c, the choice to deflate an image, fed
 * with what writers would have measured: a fixed level is kept; under auto
 * the first image is deflated, then a fast disk makes the writer store raw
 * (deflating one chunk in 16 to go on measuring), a slow one or a given rate
 * makes it deflate, too small a measurement teaches nothing, and a folder
 * short of space always gets deflated images.  One process: the module's
 * state carries from one step to the next, as in a task.
 */
#include <stdarg.h>
#include <string.h>

#include "check.h"
#include "rt.h"

void ckpt__say(int level, const char *fmt, ...)
{
    (void)level;
    (void)fmt;
}

#define MiB ((uint64_t)1 << 20)

static struct ckpt_img_totals measured(uint64_t raw, uint64_t stored, double deflate_s,
                                       uint64_t written, double write_s)
{
    struct ckpt_img_totals t = { .raw_bytes = 64 * MiB, .z_raw = raw, .z_stored = stored,
                                 .z_ns = (uint64_t)(deflate_s * 1e9), .io_bytes = written,
                                 .io_ns = (uint64_t)(write_s * 1e9) };
    return t;
}

static int choose(const char *dir, uint32_t *probe, const char *want)
{
    char why[160];
    int level = ckpt__compress_choose(dir, probe, why, sizeof why);

    printf("level %d, probe %u: %s\n", level, *probe, why);
    CHECK(strstr(why, want) != NULL);
    return level;
}

int main(void)
{
    const char *dir = "/";     /* only its free space is looked at */
    uint32_t probe;
    struct ckpt_img_totals t;

    ckpt__compress_setup(6, 0);
    CHECK(choose(dir, &probe, "CKPT_COMPRESS") == 6 && probe == 1);

    ckpt__compress_setup(-1, 0);
    CHECK(choose(dir, &probe, "nothing measured") == CKPT_IMG_DEFAULT_LEVEL && probe == 1);

    /* deflate 128 MB/s saving 98 %, against a disk of 1.3 GB/s: raw */
    t = measured(64 * MiB, MiB, 0.5, 2 * MiB, 0.0015);
    ckpt__compress_learn(&t);
    CHECK(choose(dir, &probe, "stored raw") == CKPT_IMG_DEFAULT_LEVEL && probe == 16);

    /* a measurement too small to judge by changes nothing */
    t = measured(MiB / 4, MiB / 64, 0.001, MiB / 2, 1.0);
    ckpt__compress_learn(&t);
    CHECK(choose(dir, &probe, "stored raw") && probe == 16);

    /* the probes' figures, on a disk that slowed to 67 MB/s: deflate again */
    t = measured(4 * MiB, MiB / 16, 0.03, 64 * MiB, 1.0);
    ckpt__compress_learn(&t);
    CHECK(choose(dir, &probe, "deflated: deflate") && probe == 1);

    /* data that no longer compresses (saving 5 %) on that disk: raw */
    t = measured(64 * MiB, 61 * MiB, 0.5, 64 * MiB, 1.0);
    ckpt__compress_learn(&t);
    CHECK(choose(dir, &probe, "stored raw") && probe == 16);

    /* the user says the disk takes 1 MB/s: deflate whatever was measured */
    ckpt__compress_setup(-1, 1);
    CHECK(choose(dir, &probe, "CKPT_DISK_MBS") && probe == 1);

    /* images the folder has no room for, raw: deflate */
    ckpt__compress_setup(-1, 0);
    t = measured(64 * MiB, 61 * MiB, 0.5, 64 * MiB, 1.0);
    t.raw_bytes = (uint64_t)1 << 60;
    ckpt__compress_learn(&t);
    CHECK(choose(dir, &probe, "room for fewer") && probe == 1);
    printf("PASS compress.choice\n");
    return 0;
}
