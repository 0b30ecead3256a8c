/*
 * compress.c: whether a task's next image is deflated (CKPT_COMPRESS=auto,
 * the default, or a fixed zlib level).
 *
 * Deflating costs the writer CPU (level 1 on shuffled doubles: 80-200 MB/s
 * here); not deflating costs the disk the bytes deflate would have saved
 * (write + fsync: 1.5 GB/s here, far less on a shared network folder).  Each
 * writer measures both on the task's own data (ckpt_img_totals); the next
 * one deflates when the disk time it saves is at least the CPU time it
 * spends:  gain * deflate_rate >= disk_rate.  A writer that stores raw still
 * deflates one chunk in PROBE_EVERY, so the figures follow the data.  Below
 * MEASURE_MIN of either, nothing is learnt (fsync latency would make a small
 * image's disk look slow): the first images, and small ones, are deflated.
 * The disk's rate can be given (CKPT_DISK_MBS) instead of measured.  With
 * little free space in the folder, images are always deflated.
 */
#include <stdio.h>
#include <sys/statvfs.h>

#include "rt.h"

#define PROBE_EVERY 16u
#define MEASURE_MIN (1u << 20)
#define FREE_IMAGES 32u     /* raw images' worth of free space below which we deflate */

static int fixed = -1;              /* CKPT_COMPRESS 0..9; -1: auto */
static double disk_given;           /* CKPT_DISK_MBS, bytes/s; 0: measured */
static double deflate_rate, gain;   /* raw bytes/s of the writer's CPU; 1 - stored/raw */
static double disk_rate;            /* bytes/s */
static uint64_t last_raw;

void ckpt__compress_setup(int level, double disk_mbs)
{
    fixed = level;
    disk_given = disk_mbs * 1e6;
}

void ckpt__compress_learn(const struct ckpt_img_totals *t)
{
    if (t->z_raw >= MEASURE_MIN && t->z_ns > 0) {
        deflate_rate = (double)t->z_raw * 1e9 / (double)t->z_ns;
        gain = 1.0 - (double)t->z_stored / (double)t->z_raw;
    }
    if (t->io_bytes >= MEASURE_MIN && t->io_ns > 0)
        disk_rate = (double)t->io_bytes * 1e9 / (double)t->io_ns;
    last_raw = t->raw_bytes;
}

static int short_of_space(const char *dir)
{
    struct statvfs sv;

    if (!last_raw || statvfs(dir, &sv) != 0)
        return 0;
    return (double)sv.f_bavail * (double)sv.f_frsize < (double)FREE_IMAGES * (double)last_raw;
}

int ckpt__compress_choose(const char *dir, uint32_t *probe, char *why, size_t len)
{
    double disk = disk_given > 0 ? disk_given : disk_rate;

    *probe = 1;
    if (fixed >= 0) {
        snprintf(why, len, "level %d, as CKPT_COMPRESS says", fixed);
        return fixed;
    }
    if (deflate_rate <= 0 || disk <= 0) {
        snprintf(why, len, "deflated: nothing measured yet");
        return CKPT_IMG_DEFAULT_LEVEL;
    }
    if (short_of_space(dir)) {
        snprintf(why, len, "deflated: the folder has room for fewer than %u raw images",
                 FREE_IMAGES);
        return CKPT_IMG_DEFAULT_LEVEL;
    }
    int pays = gain * deflate_rate >= disk;
    snprintf(why, len, "%s: deflate %.0f MB/s saving %.0f %% %s a disk of %.0f MB/s%s",
             pays ? "deflated" : "stored raw", deflate_rate / 1e6, gain * 100,
             pays ? "pays against" : "costs more than", disk / 1e6,
             disk_given > 0 ? " (CKPT_DISK_MBS)" : "");
    if (!pays)
        *probe = PROBE_EVERY;
    return CKPT_IMG_DEFAULT_LEVEL;
}
