/*
 * heap.c: the program's heap, in an arena at a fixed virtual address that a
 * checkpoint saves and a restart puts back in place (issue #14).
 *
 * It owns the ckpt_ twins of the C library's heap functions (ckpt_libc_calls.h),
 * ckpt_nosave, and the HEAP sections of an image.  Because a restarted task
 * gets every block back at the address it had, every pointer to the heap
 * (in other blocks, globals, locals, struct fields) stays valid with no type
 * information: nothing is translated.
 *
 * The arena starts at ARENA_BASE and grows upwards, contiguously, a chunk at
 * a time (MAP_FIXED_NOREPLACE: a range something else holds is never taken,
 * the allocation fails instead).  It is a sequence of blocks that tile
 * [ARENA_BASE, ARENA_BASE + top); each starts with a 16-byte header (struct
 * blk: its size, size class, flags).  Small blocks (up to 64 KiB with their
 * header) come in size classes, each with a LIFO free list linked through the
 * freed blocks: malloc and free are O(1) and make no system call.  Large
 * blocks are whole multiples of 4 KiB (or a whole free range), taken best-fit
 * from an address-ordered table of free ranges that freeing coalesces; a free
 * range that reaches the top lowers it.  A small block whose list is empty
 * comes from the first free range it fits in, else from the top.  Freed small
 * blocks are not merged as they are freed; when the arena would grow while
 * more than CONS_MIN bytes of them wait on lists (blocks freed by a realloc
 * growing many arrays in step, say), one pass merges every run of adjacent
 * free blocks into a free range (or, up to 1 KiB, one free small block).
 *
 * An image holds the allocator's metadata (every block of the arena in
 * order, the free lists in their order) and the bytes of the live blocks,
 * not of freed ones: a restart rebuilds the arena exactly, so the
 * allocations that follow return the addresses a failure-free run gets.
 *
 * Pointers that do not come from the arena (the C library's own, or a
 * non-instrumented library's) are passed to the C library, whose functions
 * this file calls by their plain names (it is not compiled through ckpt-cc).
 * The runtime itself never allocates from the arena, except for the FILE of
 * a stream the program opens (files.c), which the C library allocates
 * through runtime/malloc.c and frees through it.
 *
 * Single-threaded: PVM tasks are; nothing here is locked.
 */
#define _GNU_SOURCE     /* memfd_create */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt.h"
#include "sections.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000   /* Linux 4.17; older kernels take it as a hint */
#endif

/*
 * Where the arena lives: 32 TiB.  On x86-64 (47-bit user space) the
 * executable is at 4 MiB (non-PIE) or 0x5555_5555_4000 (PIE, no ASLR), or
 * around 0x55xx_xxxx_xxxx-0x56xx_xxxx_xxxx (PIE with ASLR); its brk heap follows
 * it; the mmap area grows down from under the stack at 0x7fxx_xxxx_xxxx, with
 * or without ASLR.  32 TiB is tens of TiB from each.  It is also above
 * AddressSanitizer's shadow (which ends at 0x1000_7fff_7fff), so sanitized
 * builds run with the arena in place.
 */
#define ARENA_BASE ((uintptr_t)0x200000000000u)
/* The most the arena may span (16 TiB, up to 48 TiB: still under the mmap
 * area); a saved extent beyond it is malformed. */
#define ARENA_LIMIT ((uint64_t)1 << 44)
#define GROW_CHUNK ((uint64_t)2 << 20)   /* the arena is mapped 2 MiB at a time */
#define PAGE 4096u
#define HDR 16u                          /* sizeof(struct blk); the alignment too */
#define MIN_BLOCK 32u                    /* a header and a free-list link */
#define SMALL_MAX ((uint64_t)64 << 10)   /* largest small block, header included */
#define NCLASS 113                       /* small classes 2..112; 0 and 1 unused */
#define CLS_LARGE NCLASS                 /* the class of a large block */
/* A freed range gives its pages back to the kernel when it is at least
 * H.trim bytes; each time one does, H.trim rises to twice its size (up to
 * TRIM_MAX), so that a program that frees and allocates the same big buffer
 * over and over does not fault its pages in again each time (glibc raises
 * its mmap and trim thresholds the same way). */
#define TRIM_MIN ((uint64_t)1 << 20)
#define CONS_MIN ((uint64_t)1 << 20)     /* free small bytes that make a merge pass worth it */
#define TRIM_MAX ((uint64_t)64 << 20)

enum { B_LIVE = 1, B_NOSAVE = 2, B_FWD = 4 };

/* The header before every block (and, B_FWD, before the user pointer of a
 * block aligned past 16 bytes: delta then leads back to the real one). */
struct blk {
    uint64_t size;      /* bytes of the block, header included */
    uint16_t cls;       /* size class, CLS_LARGE for a large block */
    uint16_t flags;     /* B_* */
    uint32_t delta;     /* from the header to the pointer the program holds */
};
_Static_assert(sizeof(struct blk) == HDR, "block header is 16 bytes");

struct range {          /* a free large range, offsets from ARENA_BASE */
    uint64_t off, size;
};

static struct {
    uint64_t top;       /* bytes of the arena the blocks tile */
    uint64_t mapped;    /* bytes mapped at ARENA_BASE */
    uint64_t hwm;       /* highest top ever: bytes past it were never written */
    uint64_t trim;      /* freed ranges from this size on are given back (0: TRIM_MIN) */
    uint64_t free_small;        /* bytes of the blocks on the class lists */
    uint64_t cons_floor;        /* free_small after the last merge pass (or less since) */
    struct blk *free[NCLASS];
    struct range *large;        /* free large ranges, by address (libc memory) */
    int nlarge, maxlarge;
    int said_taken, said_madvise;
} H;

#define ARENA ((char *)ARENA_BASE)

static inline int in_arena(const void *p)
{
    return (uintptr_t)p - ARENA_BASE < H.top;
}

static inline uint64_t off_of(const void *b)
{
    return (uint64_t)((uintptr_t)b - ARENA_BASE);
}

static inline struct blk *blk_at(uint64_t off)
{
    return (struct blk *)(ARENA + off);
}

static inline struct blk **link_of(struct blk *b)
{
    return (struct blk **)(b + 1);
}

/* ------------------------------------------------------------ size classes */

/* Classes 2..64: 32 to 1024 bytes by 16; 65..112: eight per doubling up to 64 KiB. */
static inline unsigned class_of(uint64_t s)
{
    if (s <= 1024)
        return s <= MIN_BLOCK ? 2 : (unsigned)((s + 15) >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(s - 1);
    unsigned k = (unsigned)((s - 1) >> (e - 3)) - 8;
    return 65 + (e - 10) * 8 + k;
}

static inline uint64_t class_size(unsigned c)
{
    if (c <= 64)
        return (uint64_t)c << 4;
    unsigned i = c - 65;
    return (uint64_t)(9 + i % 8) << (10 + i / 8 - 3);
}

static inline uint64_t round_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) & ~(to - 1);
}

/* ------------------------------------------------------------ the mapping */

/* Maps [mapped, want) of the arena.  A range someone else holds fails with
 * ENOMEM, said once. */
static int map_more(uint64_t want)
{
    char *at = ARENA + H.mapped;
    size_t len = (size_t)(want - H.mapped);
    void *p = mmap(at, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        if (e == EEXIST && !H.said_taken++)
            pr_warn("the heap cannot grow past %p: the address range is taken "
                    "(another mapping lies there); allocations fail", (void *)at);
        errno = ENOMEM;
        return -1;
    }
    if (p != at) {     /* a kernel before 4.17 placed it elsewhere */
        if (munmap(p, len) != 0)
            pr_warn("munmap of a misplaced heap chunk: %s", strerror(errno));
        if (!H.said_taken++)
            pr_warn("the heap cannot grow at %p: the kernel did not map it there", (void *)at);
        errno = ENOMEM;
        return -1;
    }
    H.mapped = want;
    return 0;
}

/* Makes the arena hold at least `need` bytes. */
static int reserve(uint64_t need)
{
    if (need <= H.mapped)
        return 0;
    if (need > ARENA_LIMIT) {
        errno = ENOMEM;
        return -1;
    }
    return map_more(round_up(need, GROW_CHUNK));
}

/* Gives the pages inside freed range [off, off + len) back to the kernel
 * (their bytes are never read again), if it is big enough; the first page,
 * which may hold a header, is kept. */
static void release(uint64_t off, uint64_t len)
{
    uint64_t a = round_up(off + HDR, PAGE), b = (off + len) & ~(uint64_t)(PAGE - 1);
    if (len < (H.trim ? H.trim : TRIM_MIN) || b <= a)
        return;
    if (H.trim < TRIM_MAX)
        H.trim = 2 * len < TRIM_MAX ? 2 * len : TRIM_MAX;
    if (madvise(ARENA + a, (size_t)(b - a), MADV_DONTNEED) != 0 && !H.said_madvise++)
        pr_warn("madvise on the heap: %s (freed memory stays resident)", strerror(errno));
}

/* A new block of s bytes at the top. */
static struct blk *carve(uint64_t s, unsigned cls)
{
    if (reserve(H.top + s) != 0)
        return NULL;
    struct blk *b = blk_at(H.top);
    b->size = s;
    b->cls = (uint16_t)cls;
    b->flags = B_LIVE;
    b->delta = HDR;
    H.top += s;
    if (H.top > H.hwm)
        H.hwm = H.top;
    return b;
}

/* ------------------------------------------------------------ large blocks */

static void set_free_large(uint64_t off, uint64_t size)
{
    struct blk *b = blk_at(off);
    b->size = size;
    b->cls = CLS_LARGE;
    b->flags = 0;
    b->delta = HDR;
}

static void range_remove(int i)
{
    memmove(&H.large[i], &H.large[i + 1], (size_t)(H.nlarge - i - 1) * sizeof *H.large);
    H.nlarge--;
}

/* The index of the first range at or after off. */
static int range_find(uint64_t off)
{
    int lo = 0, hi = H.nlarge;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (H.large[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* [off, off + size) is free: merged with its free neighbours, or into the top. */
static void large_release(uint64_t off, uint64_t size)
{
    int i = range_find(off);
    if (i > 0 && H.large[i - 1].off + H.large[i - 1].size == off) {
        i--;
        off = H.large[i].off;
        size += H.large[i].size;
        range_remove(i);
    }
    if (i < H.nlarge && H.large[i].off == off + size) {
        size += H.large[i].size;
        range_remove(i);
    }
    if (off + size == H.top) {
        H.top = off;
        release(off, size);
        return;
    }
    struct range *r = ckpt__grow(H.large, &H.maxlarge, H.nlarge + 1, sizeof *r);
    if (!r) {
        /* No room to remember it: the range stays allocated, a leak, never a fault. */
        set_free_large(off, size);
        blk_at(off)->flags = B_LIVE;
        return;
    }
    H.large = r;
    memmove(&r[i + 1], &r[i], (size_t)(H.nlarge - i) * sizeof *r);
    r[i].off = off;
    r[i].size = size;
    H.nlarge++;
    set_free_large(off, size);
    release(off, size);
}

/* The first s bytes of free range i as a live block of class cls (the rest
 * stays free), or the whole range when less than a block would remain. */
static struct blk *range_take(int i, uint64_t s, unsigned cls)
{
    struct range *r = &H.large[i];
    uint64_t off = r->off;
    if (r->size - s < MIN_BLOCK) {
        s = r->size;
        range_remove(i);
    } else {
        r->off += s;
        r->size -= s;
        set_free_large(r->off, r->size);
    }
    struct blk *b = blk_at(off);
    b->size = s;
    b->cls = (uint16_t)cls;
    b->flags = B_LIVE;
    b->delta = HDR;
    return b;
}

/* Adds free range [off, off + size) after the last one (merge pass, restore). */
static int range_append(uint64_t off, uint64_t size)
{
    struct range *r = ckpt__grow(H.large, &H.maxlarge, H.nlarge + 1, sizeof *r);
    if (!r)
        return -1;
    H.large = r;
    r[H.nlarge].off = off;
    r[H.nlarge++].size = size;
    set_free_large(off, size);
    return 0;
}

/* A merged run of free blocks: a free small block up to 1 KiB (every
 * multiple of 16 is a class there), else a free range. */
static void settle(uint64_t off, uint64_t len)
{
    if (len <= 1024 || range_append(off, len) != 0) {
        struct blk *b = blk_at(off);
        b->size = len;
        b->cls = (uint16_t)(len <= 1024 ? len >> 4 : CLS_LARGE);
        b->flags = len <= 1024 ? 0 : B_LIVE;    /* no room for the range: leaked */
        b->delta = HDR;
        if (len <= 1024) {
            *link_of(b) = H.free[b->cls];
            H.free[b->cls] = b;
            H.free_small += len;
        }
    }
}

/* Merges every run of adjacent free blocks of the arena. */
static void consolidate(void)
{
    uint64_t run = 0, len = 0;
    memset(H.free, 0, sizeof H.free);
    H.nlarge = 0;
    H.free_small = 0;
    for (uint64_t off = 0; off < H.top;) {
        struct blk *b = blk_at(off);
        uint64_t s = b->size;
        if (s < MIN_BLOCK || s % HDR || s > H.top - off) {
            pr_err("the heap is corrupt at %p (a block header was overwritten)", (void *)b);
            abort();
        }
        if (!(b->flags & B_LIVE)) {
            if (!len)
                run = off;
            len += s;
        } else if (len) {
            settle(run, len);
            len = 0;
        }
        off += s;
    }
    if (len) {
        H.top = run;
        release(run, len);
    }
    H.cons_floor = H.free_small;
}

/* Whether a merge pass should come before the arena grows by s bytes. */
static int consolidate_due(uint64_t s)
{
    if (H.free_small < H.cons_floor)
        H.cons_floor = H.free_small;
    return H.top + s > H.mapped && H.free_small >= H.cons_floor + CONS_MIN;
}

static struct blk *large_alloc(uint64_t n)
{
    if (n > ARENA_LIMIT) {
        errno = ENOMEM;
        return NULL;
    }
    uint64_t s = round_up(n + HDR, PAGE);
    for (int pass = 0; pass < 2; pass++) {
        int best = -1;
        for (int i = 0; i < H.nlarge; i++)
            if (H.large[i].size >= s && (best < 0 || H.large[i].size < H.large[best].size))
                best = i;
        if (best >= 0)
            return range_take(best, s, CLS_LARGE);
        if (pass || !consolidate_due(s))
            break;
        consolidate();
    }
    return carve(s, CLS_LARGE);
}

/* A small block of class c when its list is empty: from the first free
 * range it fits in exactly or with room for a block left, after a merge
 * pass if one is due, else from the top. */
static struct blk *small_slow(unsigned c)
{
    uint64_t s = class_size(c);
    for (int pass = 0; pass < 2; pass++) {
        struct blk *b = H.free[c];
        if (b) {
            H.free[c] = *link_of(b);
            H.free_small -= b->size;
            b->flags = B_LIVE;
            return b;
        }
        for (int i = 0; i < H.nlarge; i++)
            if (H.large[i].size == s || H.large[i].size >= s + MIN_BLOCK)
                return range_take(i, s, c);
        if (pass || !consolidate_due(s))
            break;
        consolidate();
    }
    return carve(s, c);
}

/* Grows large block b to `s` bytes (a multiple of PAGE) where it is, if the
 * top or a free range follows it. */
static int large_grow(struct blk *b, uint64_t s)
{
    uint64_t off = off_of(b), end = off + b->size;
    if (end == H.top) {
        if (reserve(off + s) != 0)
            return -1;
        H.top = off + s;
        if (H.top > H.hwm)
            H.hwm = H.top;
        b->size = s;
        return 0;
    }
    int i = range_find(end);
    if (i >= H.nlarge || H.large[i].off != end || b->size + H.large[i].size < s)
        return -1;
    uint64_t more = s - b->size;
    if (H.large[i].size - more < MIN_BLOCK) {
        b->size += H.large[i].size;
        range_remove(i);
    } else {
        H.large[i].off += more;
        H.large[i].size -= more;
        set_free_large(H.large[i].off, H.large[i].size);
        b->size = s;
    }
    return 0;
}

/* Cuts large block b down to s bytes, freeing the rest. */
static void large_shrink(struct blk *b, uint64_t s)
{
    uint64_t off = off_of(b), rest = b->size - s;
    b->size = s;
    large_release(off + s, rest);
}

/* ------------------------------------------------------------ the twins */

static void bad_pointer(const char *fn, const void *p)
{
    pr_err("%s(%p): not a live block of the heap (freed twice?)", fn, p);
    abort();
}

/* The real header of the block the program holds p of. */
static inline struct blk *hdr_of(void *p, const char *fn)
{
    struct blk *h = (struct blk *)p - 1;
    if (h->flags & B_FWD)
        h = (struct blk *)((char *)p - h->delta);
    if (!(h->flags & B_LIVE))
        bad_pointer(fn, p);
    return h;
}

void *ckpt_malloc(size_t n)
{
    if (n <= SMALL_MAX - HDR) {
        unsigned c = class_of(n + HDR);
        struct blk *b = H.free[c];
        if (b) {
            H.free[c] = *link_of(b);
            H.free_small -= b->size;
            b->flags = B_LIVE;
            return b + 1;
        }
        b = small_slow(c);
        return b ? b + 1 : NULL;
    }
    struct blk *b = large_alloc(n);
    return b ? b + 1 : NULL;
}

void ckpt_free(void *p)
{
    if (!in_arena(p)) {
        free(p);        /* the C library's (NULL included) */
        return;
    }
    struct blk *h = hdr_of(p, "free");
    if (h->cls < NCLASS) {
        h->flags = 0;
        h->delta = HDR;
        *link_of(h) = H.free[h->cls];
        H.free[h->cls] = h;
        H.free_small += h->size;
        return;
    }
    large_release(off_of(h), h->size);
}

void *ckpt_calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    uint64_t clean = H.hwm;      /* bytes past it are still the kernel's zeros */
    char *p = ckpt_malloc(n);
    if (p && off_of(p - HDR) < clean)
        memset(p, 0, n);
    return p;
}

size_t ckpt_malloc_usable_size(void *p)
{
    if (!in_arena(p))
        return p ? malloc_usable_size(p) : 0;
    struct blk *h = hdr_of(p, "malloc_usable_size");
    return (size_t)(h->size - h->delta);
}

/* A block of the C library's (or another library's) moves into the arena. */
static void *realloc_foreign(void *p, size_t n)
{
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    void *q = ckpt_malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    free(p);
    return q;
}

void *ckpt_realloc(void *p, size_t n)
{
    if (!p)
        return ckpt_malloc(n);
    if (!in_arena(p))
        return realloc_foreign(p, n);
    if (n == 0) {               /* glibc: frees, returns NULL */
        ckpt_free(p);
        return NULL;
    }
    struct blk *h = hdr_of(p, "realloc");
    uint64_t avail = h->size - h->delta;
    if (h->cls == CLS_LARGE && n <= ARENA_LIMIT) {
        uint64_t s = round_up(n + h->delta, PAGE);
        if (s < h->size && h->size - s >= PAGE) {
            large_shrink(h, s);
            return p;
        }
        if (s > h->size && large_grow(h, s) == 0)
            return p;
    }
    if (n <= avail)
        return p;
    void *q = ckpt_malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, (size_t)avail);
    ckpt_free(p);
    return q;
}

void *ckpt_reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return ckpt_realloc(p, n);
}

/* glibc's memalign: an alignment not a power of two is rounded up to one,
 * one past SIZE_MAX / 2 + 1 is EINVAL.  A block aligned past 16 bytes holds
 * a B_FWD header before the pointer, leading back to its own. */
void *ckpt_memalign(size_t align, size_t n)
{
    if (align <= HDR)
        return ckpt_malloc(n);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1))
        align = (size_t)1 << (64 - __builtin_clzll(align));
    if (n > ARENA_LIMIT || align > ARENA_LIMIT) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = ckpt_malloc(n + align);
    if (!raw || (uintptr_t)raw % align == 0)
        return raw;
    struct blk *h = (struct blk *)raw - 1;
    char *p = (char *)(((uintptr_t)raw + HDR + align - 1) & ~(uintptr_t)(align - 1));
    struct blk *fwd = (struct blk *)p - 1;
    h->delta = (uint32_t)(p - (char *)h);
    if ((uint64_t)(p - (char *)h) != h->delta) {      /* alignment past 4 GiB */
        h->delta = HDR;
        ckpt_free(raw);
        errno = ENOMEM;
        return NULL;
    }
    fwd->size = 0;
    fwd->cls = 0;
    fwd->flags = B_FWD;
    fwd->delta = h->delta;
    return p;
}

/* glibc 2.36's aligned_alloc is its memalign. */
void *ckpt_aligned_alloc(size_t align, size_t n)
{
    return ckpt_memalign(align, n);
}

int ckpt_posix_memalign(void **memptr, size_t align, size_t n)
{
    if (align % sizeof(void *) != 0 || align == 0 || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = ckpt_memalign(align, n);
    errno = saved;
    if (!p)
        return ENOMEM;
    *memptr = p;
    return 0;
}

void *ckpt_valloc(size_t n)
{
    static size_t pagesize;
    if (!pagesize) {
        long ps = sysconf(_SC_PAGESIZE);
        pagesize = ps > 0 ? (size_t)ps : PAGE;
    }
    return ckpt_memalign(pagesize, n);
}

char *ckpt_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ckpt_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *ckpt_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = ckpt_malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* ------------------------------------------------------------ lookups */

/* The block whose bytes hold p, or NULL: a walk over the arena's blocks
 * (for NOSAVE and checks, not for hot paths). */
static struct blk *block_holding(const void *p)
{
    if (!in_arena(p))
        return NULL;
    uint64_t at = off_of(p);
    for (uint64_t off = 0; off < H.top;) {
        struct blk *b = blk_at(off);
        if (b->size < MIN_BLOCK || b->size > H.top - off)
            return NULL;        /* a header the program overwrote */
        if (at < off + b->size)
            return b;
        off += b->size;
    }
    return NULL;
}

/* Whether p lies in the arena's blocks (cheap: for runtime/malloc.c's free). */
int ckpt__heap_in_arena(const void *p)
{
    return in_arena(p);
}

int ckpt__heap_owns(const void *p)
{
    struct blk *b = block_holding(p);
    return b && (b->flags & B_LIVE) && off_of(p) >= off_of(b) + b->delta;
}

void ckpt_nosave(void *p)
{
    struct blk *b = block_holding(p);
    if (!b || !(b->flags & B_LIVE)) {
        pr_warn("CKPT_NOSAVE(%p): not in a block of the heap; ignored", p);
        return;
    }
    b->flags |= B_NOSAVE;
}

/* ------------------------------------------------------------ image sections */

/* The runs of blocks whose bytes are saved: maximal sequences of live blocks
 * not marked NOSAVE.  The writer and the reader cut them the same way. */
static inline int saved_blk(const struct heap_blk_rec *r)
{
    return (r->flags & (B_LIVE | B_NOSAVE)) == B_LIVE;
}

/* Calls fn(arg, off, len) per run of the table; returns how many. */
static uint64_t runs_of(const struct heap_blk_rec *br, uint64_t n,
                        int (*fn)(void *arg, uint64_t off, uint64_t len), void *arg, int *err)
{
    uint64_t runs = 0;
    for (uint64_t i = 0; i < n && !*err;) {
        if (!saved_blk(&br[i])) {
            i++;
            continue;
        }
        uint64_t first = br[i].off, end = first;
        for (; i < n && saved_blk(&br[i]); i++)
            end = br[i].off + br[i].size;
        runs++;
        if (fn)
            *err = fn(arg, first, end - first);
    }
    return runs;
}

/* At the run's address: an incremental image refers to its parent for the
 * chunks the copy's comparison found unchanged. */
static int write_run(void *w, uint64_t off, uint64_t len)
{
    return ckpt_imgw_section_at(w, CKPT_SEC_HEAP, "blocks", ARENA + off, len, 8,
                                (uint64_t)(uintptr_t)(ARENA + off));
}

/* Walks the blocks into br (NULL: only counts them); -EIO if a header is
 * not one this file wrote (the program overwrote it). */
static int64_t walk(struct heap_blk_rec *br)
{
    int64_t n = 0;
    for (uint64_t off = 0; off < H.top; n++) {
        const struct blk *b = blk_at(off);
        uint64_t s = b->size;
        if (s < MIN_BLOCK || s % HDR || s > H.top - off || b->cls > CLS_LARGE ||
            (b->cls < NCLASS && s != class_size(b->cls)) || b->delta < HDR || b->delta > s ||
            (b->flags & ~(B_LIVE | B_NOSAVE)))
            return -EIO;
        if (br) {
            br[n].off = off;
            br[n].size = s;
            br[n].cls = b->cls;
            br[n].flags = b->flags;
            br[n].delta = b->delta;
        }
        off += s;
    }
    return n;
}

/* HEAP "arena" (heap_rec, the free lists' lengths, the blocks, the free
 * lists' offsets), then HEAP "blocks" per run of saved blocks.  Runs in the
 * writer child: libc memory only, no stdio. */
int ckpt__heap_write(struct ckpt_imgw *w)
{
    int64_t nb = walk(NULL);
    if (nb < 0) {
        pr_err("the heap is corrupt (a block header was overwritten): not saved");
        return (int)nb;
    }
    uint64_t nfree = 0, counts[NCLASS] = {0};
    for (unsigned c = 0; c < NCLASS; c++)
        for (struct blk *b = H.free[c]; b; b = *link_of(b)) {
            if (!in_arena(b) || counts[c] >= (uint64_t)nb)
                return -EIO;
            counts[c]++;
            nfree++;
        }
    size_t len = sizeof(struct heap_rec) + NCLASS * sizeof(uint64_t) +
                 (size_t)nb * sizeof(struct heap_blk_rec) + (size_t)nfree * sizeof(uint64_t);
    char *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct heap_rec *hr = (struct heap_rec *)buf;
    uint64_t *cnt = (uint64_t *)(hr + 1);
    struct heap_blk_rec *br = (struct heap_blk_rec *)(cnt + NCLASS);
    uint64_t *fo = (uint64_t *)(br + nb);
    walk(br);
    memcpy(cnt, counts, sizeof counts);
    for (unsigned c = 0, k = 0; c < NCLASS; c++)
        for (struct blk *b = H.free[c]; b; b = *link_of(b))
            fo[k++] = off_of(b);
    int err = 0;
    hr->version = HEAP_VERSION;
    hr->nclasses = NCLASS;
    hr->base = ARENA_BASE;
    hr->top = H.top;
    hr->mapped = H.mapped;
    hr->nblocks = (uint64_t)nb;
    hr->nfree = nfree;
    hr->nruns = runs_of(br, (uint64_t)nb, NULL, NULL, &err);
    hr->cons_floor = H.cons_floor;
    err = ckpt_imgw_section(w, CKPT_SEC_HEAP, "arena", buf, len, 8);
    if (!err)
        runs_of(br, (uint64_t)nb, write_run, w, &err);
    free(buf);
    return err;
}

/* ------------------------------------------------------ the writer's copy */

/*
 * A checkpoint's writer is a fork of the task, so every page of the arena the
 * task writes while its writer lives is copied on write: 16 us a page on this
 * machine kind, 260 ms per 64 MiB and per checkpoint for a task that rewrites
 * its data, 100x the fork itself (bench/memcost.c, RESULTS section 8).  So the
 * arena is left out of that fork (MADV_DONTFORK) and the writer gets a copy
 * instead: a shared memory file (memfd) the task keeps mapped, its pages
 * present and, being shared, never write-protected by a fork; filled just
 * before the fork with what the writer reads (every block header, the
 * free-list links, the bytes of the blocks it saves: 0.2 us a page), and
 * mapped by the writer at the arena's address, read-only.  The task writes the
 * copy again only at its next checkpoint, after it reaped that writer.
 *
 * The copy takes as much memory as the arena's extent: it is made only when
 * that fits in half of what the kernel says is available; otherwise (or
 * CKPT_SNAPSHOT=off) the fork shares the arena as before.
 *
 * The copy also tells what changed: before a piece is copied it is compared
 * with what the copy holds, the bytes the last checkpoint's writer saved;
 * pieces that differ mark their grain dirty.  When that last checkpoint's
 * image was written (its base), the writer makes an incremental image on it,
 * referring to it for every chunk whose grains are all clean.  The
 * comparison is exact (memcmp), never a hash: a clean grain holds the very
 * bytes of the base image.
 */
#define GRAIN (64u << 10)       /* bytes per dirty bit */
static struct {
    int fd;             /* the memfd, -1 before the first copy */
    char *buf;          /* its mapping in the task */
    uint64_t len;
    int off;            /* 1: copy-on-write from now on (no room, or CKPT_SNAPSHOT=off) */
    uint64_t *dirty;    /* a bit per grain: changed since the copy before */
    uint64_t ngrains;
    int base_ok;        /* the copy holds what image (base_epoch, base_time) saved */
    uint64_t base_epoch, base_time;
    int diffed;         /* this copy was compared with a base: the writer may use it */
    uint64_t diff_epoch, diff_time;
} snap = {.fd = -1};

uint64_t ckpt__mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    unsigned long long kb = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb << 10;
}

/* Makes the copy hold len bytes; -1 (said once) when it cannot. */
static int snap_size(uint64_t len)
{
    if (snap.len >= len)
        return 0;
    if (len > ckpt__mem_available() / 2) {
        pr_info("the heap (%llu MiB) is copied on write at checkpoints: no memory for a copy",
                (unsigned long long)(len >> 20));
        snap.off = 1;
        return -1;
    }
    if (snap.fd < 0)
        snap.fd = memfd_create("ckpt-heap", MFD_CLOEXEC);
    if (snap.buf && munmap(snap.buf, (size_t)snap.len) != 0)
        pr_warn("munmap of the heap's copy: %s", strerror(errno));
    snap.buf = NULL;
    snap.len = 0;
    void *p = MAP_FAILED;
    if (snap.fd >= 0 && ftruncate(snap.fd, (off_t)len) == 0)
        p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, snap.fd, 0);
    if (p == MAP_FAILED || madvise(p, (size_t)len, MADV_DONTFORK) != 0) {
        pr_warn("the heap is copied on write at checkpoints: no copy of it (%s)", strerror(errno));
        if (p != MAP_FAILED)
            munmap(p, (size_t)len);
        snap.off = 1;
        return -1;
    }
    snap.buf = p;
    snap.len = len;
    return 0;
}

void ckpt__heap_no_copy(void)
{
    snap.off = 1;
    snap.base_ok = 0;
}

/* Clears the dirty bits, making room for the arena's grains. */
static int dirty_reset(void)
{
    uint64_t n = H.mapped / GRAIN;
    if (n > snap.ngrains) {
        uint64_t *d = realloc(snap.dirty, (size_t)(n + 63) / 64 * sizeof *d);
        if (!d)
            return -1;
        snap.dirty = d;
        snap.ngrains = n;
    }
    memset(snap.dirty, 0, (size_t)(snap.ngrains + 63) / 64 * sizeof *snap.dirty);
    return 0;
}

/* Copies n bytes at arena offset off into the copy; when the copy is
 * compared (snap.diffed), only the pieces that differ, marking their grains. */
static void copy_piece(uint64_t off, uint64_t n)
{
    if (!snap.diffed) {
        memcpy(snap.buf + off, ARENA + off, (size_t)n);
        return;
    }
    while (n > 0) {
        uint64_t g = off / GRAIN, len = (g + 1) * GRAIN - off;
        uint64_t bit = 1ull << (g % 64), *word = &snap.dirty[g / 64];
        len = len < n ? len : n;
        if ((*word & bit) || memcmp(snap.buf + off, ARENA + off, (size_t)len) != 0) {
            memcpy(snap.buf + off, ARENA + off, (size_t)len);
            *word |= bit;
        }
        off += len;
        n -= len;
    }
}

int ckpt__heap_unchanged(uint64_t addr, uint64_t len)
{
    const char *p = (const char *)(uintptr_t)addr;
    if (!snap.diffed || !len || !in_arena(p) || off_of(p) + len > H.top)
        return 0;
    for (uint64_t g = off_of(p) / GRAIN; g <= (off_of(p) + len - 1) / GRAIN; g++)
        if (g >= snap.ngrains || (snap.dirty[g / 64] >> (g % 64) & 1))
            return 0;
    return 1;
}

int ckpt__heap_base(uint64_t *epoch, uint64_t *time_ns)
{
    *epoch = snap.diff_epoch;
    *time_ns = snap.diff_time;
    return snap.diffed;
}

void ckpt__heap_written(uint64_t epoch, uint64_t time_ns)
{
    snap.base_ok = 1;
    snap.base_epoch = epoch;
    snap.base_time = time_ns;
}

/* Before the writer's fork: copies what the writer reads of the arena and
 * leaves the arena out of the fork.  Returns the bytes copied (the arena is
 * then out of the fork until ckpt__heap_forked), or 0: the fork shares it. */
uint64_t ckpt__heap_copy(void)
{
    int based = snap.base_ok;
    snap.base_ok = snap.diffed = 0;     /* until this copy's image is written */
    if (snap.off || !H.top)
        return 0;
    if (snap_size(round_up(H.top, GROW_CHUNK)) != 0)
        return 0;
    snap.diffed = based && dirty_reset() == 0;
    snap.diff_epoch = snap.base_epoch;
    snap.diff_time = snap.base_time;
    uint64_t copied = 0;
    for (uint64_t off = 0; off < H.top;) {
        const struct blk *b = blk_at(off);
        if (b->size < MIN_BLOCK || b->size > H.top - off) {
            copy_piece(off, HDR);     /* overwritten: the writer refuses it */
            copied += HDR;
            break;
        }
        uint64_t n = (b->flags & (B_LIVE | B_NOSAVE)) == B_LIVE ? b->size
                     : !(b->flags & B_LIVE) && b->cls < NCLASS ? HDR + sizeof(struct blk *)
                                                                : HDR;
        copy_piece(off, n);
        copied += n;
        off += b->size;
    }
    if (madvise(ARENA, (size_t)H.mapped, MADV_DONTFORK) != 0) {
        pr_warn("the heap is copied on write at checkpoints: madvise: %s", strerror(errno));
        snap.off = 1;
        snap.diffed = 0;
        return 0;
    }
    return copied;
}

/* After that fork, in the task: the arena is inherited by its forks again. */
void ckpt__heap_forked(void)
{
    if (madvise(ARENA, (size_t)H.mapped, MADV_DOFORK) != 0)
        ckpt__die("madvise(MADV_DOFORK) of the heap: %s", strerror(errno));
}

/* In the writer, forked after ckpt__heap_copy: the copy where the arena was. */
int ckpt__heap_take_copy(void)
{
    void *p = mmap(ARENA, (size_t)snap.len, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, snap.fd, 0);
    if (p == ARENA)
        return 0;
    int err = p == MAP_FAILED ? -errno : -EEXIST;
    if (p != MAP_FAILED)
        munmap(p, (size_t)snap.len);
    return err;
}

/* Whether the table tiles the arena with blocks this file could have made
 * and the free lists name each free small block once, in range. */
static int check_view(const struct heap_view *v)
{
    const struct heap_rec *hr = v->h;
    if (hr->nclasses != NCLASS || hr->base != ARENA_BASE || hr->mapped > ARENA_LIMIT ||
        hr->mapped % GROW_CHUNK || hr->top > hr->mapped)
        return -1;
    uint64_t end = 0, nfree_small = 0;
    for (uint64_t i = 0; i < hr->nblocks; i++) {
        const struct heap_blk_rec *r = &v->blocks[i];
        if (r->off != end || r->size < MIN_BLOCK || r->size % HDR || r->size > hr->top - end ||
            r->cls > CLS_LARGE || (r->cls < 2 && r->cls != CLS_LARGE) ||
            (r->cls < NCLASS && r->size != class_size(r->cls)) ||
            r->delta < HDR || r->delta % HDR ||
            r->delta > r->size || (r->flags & ~(uint32_t)(B_LIVE | B_NOSAVE)) ||
            (!(r->flags & B_LIVE) && (r->flags || r->delta != HDR)))
            return -1;
        if (!(r->flags & B_LIVE) && r->cls < NCLASS)
            nfree_small++;
        end += r->size;
    }
    if (end != hr->top || nfree_small != hr->nfree)
        return -1;
    /* Each free-list entry: a free block of its class (found by binary
     * search on the table), named once (a bit per block). */
    unsigned char *seen = calloc((size_t)(hr->nblocks / 8 + 1), 1);
    if (!seen)
        return -1;
    int bad = 0;
    uint64_t k = 0;
    for (unsigned c = 0; c < NCLASS; c++)
        for (uint64_t j = 0; j < v->counts[c]; j++, k++) {
            uint64_t off = v->free_offs[k], lo = 0, hi = hr->nblocks;
            while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2;
                if (v->blocks[mid].off < off)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == hr->nblocks || v->blocks[lo].off != off || v->blocks[lo].cls != c ||
                (v->blocks[lo].flags & B_LIVE) || (seen[lo / 8] >> (lo % 8) & 1))
                bad = 1;
            else
                seen[lo / 8] |= (unsigned char)(1u << (lo % 8));
        }
    free(seen);
    return bad ? -1 : 0;
}

/* Maps exactly [ARENA_BASE, ARENA_BASE + m). */
static int set_extent(uint64_t m)
{
    if (H.mapped > m) {
        if (munmap(ARENA + m, (size_t)(H.mapped - m)) != 0)
            return -errno;
        H.mapped = m;
    }
    if (H.mapped < m && map_more(m) != 0)
        return -ENOMEM;
    return 0;
}

struct run_in {
    struct ckpt_cursor *c;
    const struct ckpt_img_section **secs;   /* the data section of each run */
    uint64_t k;
};

/* The next data section, if it is the length of the run. */
static int take_run(void *arg, uint64_t off, uint64_t len)
{
    struct run_in *ri = arg;
    const struct ckpt_img_section *s = ckpt__next_section(ri->c, CKPT_SEC_HEAP, "blocks");
    (void)off;
    if (!s || s->len != len)
        return -EINVAL;
    ri->secs[ri->k++] = s;
    return 0;
}

static int copy_run(void *arg, uint64_t off, uint64_t len)
{
    struct run_in *ri = arg;
    memcpy(ARENA + off, ri->secs[ri->k++]->data, (size_t)len);
    return 0;
}

/* Puts the arena back as saved: its extent, its blocks and their headers,
 * the live blocks' bytes (NOSAVE ones zeroed), the free lists in their
 * order.  Whatever the arena held before is gone.  A malformed section is
 * refused before the arena is touched. */
int ckpt__heap_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s = ckpt__next_section(c, CKPT_SEC_HEAP, "arena");
    struct heap_view v;
    if (!s || ckpt__heap_view(s->data, s->len, &v) != 0 || check_view(&v) != 0) {
        pr_err("the image's heap section is malformed");
        return -EINVAL;
    }
    const struct heap_rec *hr = v.h;
    /* The data sections, checked against the runs before anything is written. */
    const struct ckpt_img_section **secs = calloc((size_t)hr->nruns + 1, sizeof *secs);
    if (!secs)
        return -ENOMEM;
    struct run_in ri = {c, secs, 0};
    int err = 0;
    uint64_t nruns = runs_of(v.blocks, hr->nblocks, take_run, &ri, &err);
    if (err || nruns != hr->nruns) {
        pr_err("the image's heap blocks do not match its heap section");
        free(secs);
        return -EINVAL;
    }
    uint64_t dirty = H.hwm < hr->mapped ? H.hwm : hr->mapped;
    err = set_extent(hr->mapped);
    if (err) {
        pr_err("cannot map the heap back at %p (%llu bytes): %s", (void *)ARENA,
               (unsigned long long)hr->mapped, strerror(-err));
        free(secs);
        return err;
    }
    ri.k = 0;
    runs_of(v.blocks, hr->nblocks, copy_run, &ri, &err);
    free(secs);
    H.top = hr->top;
    H.hwm = H.top > dirty ? H.top : dirty;
    H.nlarge = 0;
    H.free_small = 0;
    H.cons_floor = hr->cons_floor;
    memset(H.free, 0, sizeof H.free);
    for (uint64_t i = 0; i < hr->nblocks; i++) {
        const struct heap_blk_rec *r = &v.blocks[i];
        struct blk *b = blk_at(r->off);
        if ((r->flags & (B_LIVE | B_NOSAVE)) == (B_LIVE | B_NOSAVE))
            memset(b + 1, 0, (size_t)(r->size - HDR));
        b->size = r->size;
        b->cls = (uint16_t)r->cls;
        b->flags = (uint16_t)r->flags;
        b->delta = r->delta;
        if (r->delta > HDR) {
            struct blk *fwd = (struct blk *)((char *)b + r->delta) - 1;
            fwd->size = 0;
            fwd->cls = 0;
            fwd->flags = B_FWD;
            fwd->delta = r->delta;
        }
        if (!(r->flags & B_LIVE) && r->cls == CLS_LARGE && range_append(r->off, r->size) != 0)
            return -ENOMEM;
        if (!(r->flags & B_LIVE) && r->cls < NCLASS)
            H.free_small += r->size;
    }
    /* The free lists, rebuilt from their tails so each keeps its order. */
    const uint64_t *fo = v.free_offs + hr->nfree;
    for (unsigned cl = NCLASS; cl-- > 0;)
        for (uint64_t j = 0; j < v.counts[cl]; j++) {
            struct blk *b = blk_at(*--fo);
            *link_of(b) = H.free[cl];
            H.free[cl] = b;
        }
    return 0;
}
