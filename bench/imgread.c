/*
 * imgread: how long it takes just to read (load, decompress, verify) task
 * images, with the runtime's own reader (ckpt_img_load, format/image.h).
 *
 *   imgread [-p] FILE.img...
 *
 * Without -p the images are loaded one after the other; with -p each in its
 * own process at the same time, as the restarted tasks of a job do.  Prints
 * one line per image and a total:
 *   img PATH raw_bytes R stored_bytes S ms T
 *   total images N raw_bytes R stored_bytes S ms T raw_MBps X
 * Build: cc -O2 -Iformat imgread.c build/runtime/libckpt.a -lz
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

struct res {
    int err;
    uint64_t raw, stored;
    double ms;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void load(const char *path, struct res *r)
{
    char err[512];
    struct ckpt_img *img;
    double t0 = now_ms();
    r->err = ckpt_img_load(path, NULL, &img, err, sizeof err);
    if (r->err) {
        fprintf(stderr, "imgread: %s\n", err);
        return;
    }
    r->raw = r->stored = 0;
    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        r->raw += s->len;
        r->stored += s->stored_len;
    }
    ckpt_img_free(img);
    r->ms = now_ms() - t0;
}

int main(int argc, char **argv)
{
    int par = argc > 1 && argv[1][0] == '-' && argv[1][1] == 'p';
    int n = argc - 1 - par;
    char **paths = argv + 1 + par;
    if (n < 1) {
        fprintf(stderr, "usage: imgread [-p] FILE.img...\n");
        return 2;
    }
    struct res *r = mmap(NULL, sizeof *r * (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        return 1;
    double t0 = now_ms();
    if (par) {
        pid_t *pids = calloc((size_t)n, sizeof *pids);
        for (int i = 0; i < n; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                load(paths[i], &r[i]);
                _exit(r[i].err ? 1 : 0);
            }
        }
        for (int i = 0; i < n; i++) {
            int st;
            waitpid(pids[i], &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st))
                r[i].err = r[i].err ? r[i].err : -1;
        }
    } else {
        for (int i = 0; i < n; i++)
            load(paths[i], &r[i]);
    }
    double total = now_ms() - t0;
    uint64_t raw = 0, stored = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        printf("img %s raw_bytes %llu stored_bytes %llu ms %.1f\n", paths[i], (unsigned long long)r[i].raw,
               (unsigned long long)r[i].stored, r[i].ms);
        raw += r[i].raw;
        stored += r[i].stored;
        bad |= r[i].err != 0;
    }
    printf("total images %d raw_bytes %llu stored_bytes %llu ms %.1f raw_MBps %.1f\n", n,
           (unsigned long long)raw, (unsigned long long)stored, total, raw / total / 1e3);
    return bad;
}
