/*
 * shadow.c: what a writer compares the large variables it saves with, so
 * that an incremental image can refer to the last one for their unchanged
 * chunks, as it does for the heap (heap.c compares the heap while it copies
 * it for the writer).  Globals and locals of at least SHADOW_MIN bytes have
 * a shadow: the bytes the last writer saved of them, in a shared memory
 * file the task keeps open and never maps.  Each writer maps it, compares
 * every such variable grain by grain before writing it (exactly: memcmp,
 * never a hash), copies what differs into the shadow and keeps a dirty bit
 * per grain for its own image.  All of it runs in the writer, none in the
 * task's stop.
 *
 * A shadow is known by the variable's address and size, and remembers the
 * epoch of the writer that last compared it: it stands for what the base
 * image saved only when that epoch is the base's.  A variable seen for the
 * first time, or not by the base's writer, is all dirty.
 */
#define _GNU_SOURCE     /* memfd_create */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

#define SHADOW_MIN (256u << 10)   /* smaller variables are written whole */
#define GRAIN (64u << 10)         /* bytes per dirty bit */
#define MAXREG 256
#define PAGE 4096u

/* The file: this header, then the shadows' bytes. */
struct region {
    uint64_t addr, len;
    uint64_t off;             /* of its bytes in the file */
    uint64_t epoch;           /* of the writer that last compared it, 0: none */
};
struct table {
    uint64_t nreg, used;      /* used: bytes of the file in use */
    struct region reg[MAXREG];
};

static int fd = -1;           /* task: the file, -1 until the first checkpoint */

/* The writer's view: the mapping, and what this writer found. */
static struct table *tab;
static size_t maplen;
static uint64_t w_epoch, w_base;
static struct seen {
    uint64_t addr, len;
    uint64_t *dirty;          /* a bit per grain, NULL: all dirty */
} seen[MAXREG];
static int nseen;

void ckpt__shadow_prepare(void)
{
    if (fd < 0)
        fd = memfd_create("ckpt-vars", MFD_CLOEXEC);
}

/* Maps the file at len bytes at least (the writer; it grows it). */
static int map_at_least(size_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if ((size_t)st.st_size < len && ftruncate(fd, (off_t)len) != 0)
        return -errno;
    len = (size_t)st.st_size > len ? (size_t)st.st_size : len;
    if (tab && maplen >= len)
        return 0;
    if (tab)
        munmap(tab, maplen);
    tab = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (tab == MAP_FAILED) {
        tab = NULL;
        return -errno;
    }
    maplen = len;
    if (tab->used == 0)
        tab->used = (sizeof *tab + PAGE - 1) / PAGE * PAGE;
    return 0;
}

void ckpt__shadow_begin(uint64_t epoch, uint64_t base)
{
    w_epoch = epoch;
    w_base = base;
}

/* The shadow of [addr, addr+len), made (empty, epoch 0) when there is room. */
static struct region *region_of(uint64_t addr, uint64_t len)
{
    for (uint64_t i = 0; i < tab->nreg; i++)
        if (tab->reg[i].addr == addr && tab->reg[i].len == len)
            return &tab->reg[i];
    uint64_t off = tab->used, end = off + (len + PAGE - 1) / PAGE * PAGE;
    if (tab->nreg == MAXREG || end > ckpt__mem_available() / 4 || map_at_least(end) != 0)
        return NULL;
    struct region *r = &tab->reg[tab->nreg++];
    *r = (struct region){.addr = addr, .len = len, .off = off, .epoch = 0};
    tab->used = end;
    return r;
}

int ckpt__shadow_track(const void *p, uint64_t len)
{
    uint64_t addr = (uint64_t)(uintptr_t)p;
    if (fd < 0 || len < SHADOW_MIN || nseen == MAXREG || !w_epoch ||
        (!tab && map_at_least(sizeof *tab) != 0))
        return 0;
    struct region *r = region_of(addr, len);
    if (!r)
        return 0;
    uint64_t ngrains = (len + GRAIN - 1) / GRAIN;
    uint64_t *dirty = r->epoch && r->epoch == w_base ? calloc((size_t)(ngrains + 63) / 64, 8) : NULL;
    char *sh = (char *)tab + r->off;
    const char *src = p;
    for (uint64_t g = 0; g < ngrains; g++) {
        uint64_t at = g * GRAIN, n = len - at < GRAIN ? len - at : GRAIN;
        if (!dirty || memcmp(sh + at, src + at, (size_t)n) != 0) {
            memcpy(sh + at, src + at, (size_t)n);
            if (dirty)
                dirty[g / 64] |= 1ull << (g % 64);
        }
    }
    r->epoch = w_epoch;
    seen[nseen++] = (struct seen){.addr = addr, .len = len, .dirty = dirty};
    return 1;
}

int ckpt__shadow_unchanged(uint64_t addr, uint64_t len)
{
    for (int i = 0; i < nseen; i++) {
        const struct seen *s = &seen[i];
        if (addr < s->addr || addr + len > s->addr + s->len)
            continue;
        if (!s->dirty || !len)
            return 0;
        for (uint64_t g = (addr - s->addr) / GRAIN; g <= (addr + len - 1 - s->addr) / GRAIN; g++)
            if (s->dirty[g / 64] >> (g % 64) & 1)
                return 0;
        return 1;
    }
    return 0;
}
