/*
 * test_heap.c: unit tests of runtime/heap.c, the program's heap arena: the
 * C library semantics of its ckpt_ twins, random sequences against a shadow
 * model, pointers of the C library passed to it, and the HEAP sections (a
 * round trip through an image in the same process, NOSAVE blocks, corrupt
 * sections refused).  `test_heap NAME` runs one (ctest registers each),
 * `test_heap --list` names them.  Built with ASan/UBSan (the arena lies above
 * ASan's shadow, and ASan does not see inside it).
 */
#include "imgtest.h"
#include "sections.h"

#include <malloc.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "ckpt.h"
#include "ckpt_libc.h"
#include "rt.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* heap.c's only calls into the rest of the runtime (say.c). */
static int warnings;
void ckpt__say(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "heap says (%d): ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    warnings++;
}
void ckpt__die(const char *fmt, ...)
{
    (void)fmt;
    abort();
}

#define ALIGNED(p, a) (((uintptr_t)(p) & ((a) - 1)) == 0)

static int all_bytes(const void *p, int c, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)c)
            return 0;
    return 1;
}

/* ------------------------------------------------------------ semantics */

static void test_semantics(void)
{
    /* malloc(0): unique, freeable pointers */
    void *z1 = ckpt_malloc(0), *z2 = ckpt_malloc(0);
    CHECK(z1 && z2 && z1 != z2 && ckpt__heap_owns(z1) && ckpt__heap_owns(z2));
    ckpt_free(z1);
    ckpt_free(z2);
    ckpt_free(NULL);
    CHECK(ckpt_malloc_usable_size(NULL) == 0);

    /* failures: ENOMEM, nothing else touched */
    errno = 0;
    CHECK(ckpt_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ckpt_malloc((size_t)1 << 50) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ckpt_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(ckpt_calloc((size_t)1 << 32, (size_t)1 << 32) == NULL && errno == ENOMEM);

    /* 16-byte alignment, usable size at least what was asked */
    for (size_t n = 0; n < 5000; n += 7) {
        char *p = ckpt_malloc(n);
        CHECK(p && ALIGNED(p, 16) && ckpt_malloc_usable_size(p) >= n);
        memset(p, 0xab, ckpt_malloc_usable_size(p));
        ckpt_free(p);
    }

    /* calloc zeroes reused (dirty) memory */
    for (size_t n = 8; n <= 300 * KiB; n *= 3) {
        char *d = ckpt_malloc(n);
        memset(d, 0xff, n);
        ckpt_free(d);
        char *c = ckpt_calloc(n, 1);
        CHECK(c && all_bytes(c, 0, n));
        ckpt_free(c);
    }

    /* realloc: NULL is malloc, 0 frees, shrink keeps the pointer, grow keeps the bytes */
    char *r = ckpt_realloc(NULL, 100);
    CHECK(r && ckpt__heap_owns(r));
    for (int i = 0; i < 100; i++)
        r[i] = (char)i;
    CHECK(ckpt_realloc(r, 50) == r);
    r = ckpt_realloc(r, 3000);
    CHECK(r);
    for (int i = 0; i < 50; i++)
        CHECK(r[i] == (char)i);
    r = ckpt_realloc(r, 200 * KiB);
    CHECK(r);
    for (int i = 0; i < 50; i++)
        CHECK(r[i] == (char)i);
    /* a large block at the top grows in place */
    char *top = ckpt_realloc(r, 400 * KiB);
    CHECK(top == r);
    top = ckpt_realloc(top, 100 * KiB);          /* and shrinks in place */
    CHECK(top == r && ckpt_malloc_usable_size(top) < 200 * KiB);
    for (int i = 0; i < 50; i++)
        CHECK(top[i] == (char)i);
    errno = 0;
    CHECK(ckpt_realloc(top, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(top[49] == 49);
    CHECK(ckpt_realloc(top, 0) == NULL);
    CHECK(!ckpt__heap_owns(top));

    /* reallocarray: overflow leaves the block alone */
    int *a = ckpt_reallocarray(NULL, 10, sizeof(int));
    CHECK(a);
    a[9] = 9;
    errno = 0;
    CHECK(ckpt_reallocarray(a, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM && a[9] == 9);
    a = ckpt_reallocarray(a, 1000, sizeof(int));
    CHECK(a && a[9] == 9);
    ckpt_free(a);

    /* alignment functions */
    void *m = NULL;
    errno = 1234;
    CHECK(ckpt_posix_memalign(&m, 3, 10) == EINVAL && m == NULL);
    CHECK(ckpt_posix_memalign(&m, 4, 10) == EINVAL && m == NULL);
    CHECK(ckpt_posix_memalign(&m, 24, 10) == EINVAL && m == NULL);
    CHECK(ckpt_posix_memalign(&m, 64, SIZE_MAX - 10) == ENOMEM && m == NULL);
    CHECK(errno == 1234);           /* posix_memalign reports, never sets errno */
    for (size_t al = 8; al <= 2 * MiB; al *= 2) {
        for (size_t n = 0; n < 70000; n = n * 5 + 1) {
            void *p = NULL;
            CHECK(ckpt_posix_memalign(&p, al, n) == 0 && p && ALIGNED(p, al));
            CHECK(ckpt__heap_owns(p) && ckpt_malloc_usable_size(p) >= n);
            memset(p, 0x5c, n);
            void *q = ckpt_aligned_alloc(al, n), *s = ckpt_memalign(al, n);
            CHECK(q && s && ALIGNED(q, al) && ALIGNED(s, al) && ckpt_malloc_usable_size(s) >= n);
            q = ckpt_realloc(q, n + 100);        /* an aligned block moves like any other */
            CHECK(q && ckpt_malloc_usable_size(q) >= n + 100);
            ckpt_free(p);
            ckpt_free(q);
            ckpt_free(s);
        }
    }
    void *odd = ckpt_memalign(24, 10);       /* glibc rounds up to a power of two */
    CHECK(odd && ALIGNED(odd, 32));
    ckpt_free(odd);
    errno = 0;
    CHECK(ckpt_memalign(SIZE_MAX / 2 + 2, 10) == NULL && errno == EINVAL);
    long ps = sysconf(_SC_PAGESIZE);
    void *v = ckpt_valloc(10);
    CHECK(v && ALIGNED(v, (size_t)ps));
    ckpt_free(v);

    /* strdup, strndup */
    char *s = ckpt_strdup("checkpoint");
    CHECK(s && strcmp(s, "checkpoint") == 0 && ckpt__heap_owns(s));
    char *t = ckpt_strndup("checkpoint", 5);
    CHECK(t && strcmp(t, "check") == 0);
    char raw[4] = {'a', 'b', 'c', 'd'};      /* no NUL: strndup reads at most n */
    char *u = ckpt_strndup(raw, 3);
    CHECK(u && strcmp(u, "abc") == 0);
    char *e = ckpt_strdup("");
    CHECK(e && *e == '\0');
    ckpt_free(s);
    ckpt_free(t);
    ckpt_free(u);
    ckpt_free(e);

    /* owns: the inside of live blocks only */
    char *o = ckpt_malloc(40);
    int local;
    CHECK(ckpt__heap_owns(o) && ckpt__heap_owns(o + 39));
    CHECK(!ckpt__heap_owns(&local) && !ckpt__heap_owns(NULL));
    ckpt_free(o);
    CHECK(!ckpt__heap_owns(o));
    /* LIFO reuse of a freed small block */
    char *o2 = ckpt_malloc(40);
    CHECK(o2 == o);
    ckpt_free(o2);
    /* NOSAVE outside the heap: a warning, nothing else */
    int w0 = warnings;
    ckpt_nosave(&local);
    CHECK(warnings == w0 + 1);
}

/* ------------------------------------------------------------ shadow model */

#define SLOTS 3000
struct slot {
    unsigned char *p;
    size_t n;
    size_t align;
    unsigned char tag;
};
static struct slot sl[SLOTS];

static size_t rand_size(void)
{
    uint64_t r = t_rand() % 100;
    if (r < 60)
        return (size_t)(t_rand() % 257);
    if (r < 95)
        return (size_t)(t_rand() % (4 * KiB + 1));
    if (r < 99)
        return (size_t)(t_rand() % (300 * KiB));
    return (size_t)(t_rand() % (3 * MiB));
}

static void fill(struct slot *s)
{
    s->tag = (unsigned char)(t_rand() | 1);
    for (size_t i = 0; i < s->n; i++)
        s->p[i] = (unsigned char)(s->tag + i * 7);
}

static void check_slot(const struct slot *s)
{
    for (size_t i = 0; i < s->n; i++)
        CHECK(s->p[i] == (unsigned char)(s->tag + i * 7));
}

static int by_addr(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

/* Every live block: its bytes, its alignment, no two overlapping. */
static void check_all(void)
{
    static struct slot sorted[SLOTS];
    int k = 0;
    for (int i = 0; i < SLOTS; i++)
        if (sl[i].p) {
            check_slot(&sl[i]);
            CHECK(ALIGNED(sl[i].p, sl[i].align) && ckpt__heap_owns(sl[i].p));
            CHECK(ckpt_malloc_usable_size(sl[i].p) >= sl[i].n);
            sorted[k] = sl[i];
            sorted[k++].n = ckpt_malloc_usable_size(sl[i].p);
        }
    qsort(sorted, (size_t)k, sizeof *sorted, by_addr);
    for (int i = 1; i < k; i++)
        CHECK(sorted[i - 1].p + sorted[i - 1].n <= sorted[i].p);
}

/* One random operation on a random slot. */
static void random_op(void)
{
    struct slot *s = &sl[t_rand() % SLOTS];
    uint64_t op = t_rand() % 10;
    if (s->p && op < 4) {
        check_slot(s);
        ckpt_free(s->p);
        s->p = NULL;
    } else if (s->p && op < 7) {
        check_slot(s);
        size_t n = rand_size(), keep = n < s->n ? n : s->n;
        unsigned char *q = ckpt_realloc(s->p, n);
        if (n == 0) {
            CHECK(q == NULL);
            s->p = NULL;
            return;
        }
        CHECK(q && ALIGNED(q, 16));
        s->p = q;
        s->n = keep;
        check_slot(s);          /* the bytes that were kept */
        s->n = n;
        s->align = 16;
        fill(s);
    } else if (!s->p) {
        s->n = rand_size();
        s->align = 16;
        if (op < 8) {
            s->p = ckpt_malloc(s->n);
        } else if (op < 9) {
            s->p = ckpt_calloc(1, s->n);
            CHECK(s->p && all_bytes(s->p, 0, s->n));
        } else {
            s->align = (size_t)1 << (5 + t_rand() % 8);
            s->p = ckpt_memalign(s->align, s->n);
        }
        CHECK(s->p);
        fill(s);
    }
}

static void test_random(void)
{
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 2000; i++)
            random_op();
        check_all();
    }
    for (int i = 0; i < SLOTS; i++)
        ckpt_free(sl[i].p);
    memset(sl, 0, sizeof sl);
    /* freed large blocks are reused, not stacked on the top */
    char *a = ckpt_malloc(8 * MiB);
    ckpt_free(a);
    char *b = ckpt_malloc(6 * MiB);
    CHECK(b == a);
    ckpt_free(b);
}

/* ------------------------------------------------------------ the C library's pointers */

static void test_foreign(void)
{
    char *p = malloc(100);          /* the test is not renamed: libc's */
    CHECK(p);
    memset(p, 1, 100);
    CHECK(!ckpt__heap_owns(p));
    CHECK(ckpt_malloc_usable_size(p) >= 100);
    ckpt_free(p);                    /* to libc: ASan would catch a mismatch */

    char *q = malloc(64);
    for (int i = 0; i < 64; i++)
        q[i] = (char)(i + 1);
    char *r = ckpt_realloc(q, 5000);  /* moves into the arena */
    CHECK(r && ckpt__heap_owns(r));
    for (int i = 0; i < 64; i++)
        CHECK(r[i] == (char)(i + 1));
    ckpt_free(r);

    char *big = malloc(10000);
    memset(big, 0x33, 10000);
    char *small = ckpt_realloc(big, 10);   /* shrinking copies only what fits */
    CHECK(small && ckpt__heap_owns(small) && all_bytes(small, 0x33, 10));
    ckpt_free(small);

    char *d = strdup("from libc");
    CHECK(ckpt_realloc(d, 0) == NULL);     /* freed by libc */

    /* getline's buffer, grown by libc, freed by instrumented code */
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f);
    char *line = NULL;
    size_t cap = 0;
    CHECK(getline(&line, &cap, f) > 0);
    fclose(f);
    CHECK(!ckpt__heap_owns(line));
    line = ckpt_realloc(line, cap * 4);
    CHECK(line && ckpt__heap_owns(line) && strncmp(line, "Name:", 5) == 0);
    ckpt_free(line);
}

/* ------------------------------------------------------------ image round trip */

static void write_heap_image(const char *path, struct ckpt_img_totals *tot)
{
    struct ckpt_img_header h;
    struct ckpt_imgw *w;
    t_header(&h, 0x40001, 1);
    CHECK_RC(ckpt_imgw_open(&w, path, &h, 1));
    CHECK_RC(ckpt__heap_write(w));
    CHECK_RC(ckpt_imgw_close(w, tot));
}

static struct ckpt_img *load(const char *path)
{
    struct ckpt_img *img;
    char err[512];
    int rc = ckpt_img_load(path, NULL, &img, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    CHECK(rc == 0);
    return img;
}

static int read_heap_image(const struct ckpt_img *img)
{
    struct ckpt_cursor c = {img, 0, ckpt_img_nsections(img)};
    int rc = ckpt__heap_read(&c);
    if (rc == 0)
        CHECK(c.i == c.n);          /* every section taken */
    return rc;
}

/* What a run does after the checkpoint: frees, reallocs and scribbles over
 * blocks, allocates; the addresses it gets, into out. */
static void after_checkpoint(void **out, int n)
{
    uint64_t saved = t_rng;
    t_rng = 42;
    for (int i = 0; i < n; i++) {
        struct slot *s = &sl[t_rand() % SLOTS];
        if (s->p && (i & 3) == 0) {
            memset(s->p, 0xee, s->n);
            ckpt_free(s->p);
            s->p = NULL;
        }
        size_t sz = rand_size();
        out[i] = i % 5 == 0 ? ckpt_memalign(64, sz) : ckpt_malloc(sz);
        CHECK(out[i]);
        memset(out[i], 0xdd, sz);
    }
    t_rng = saved;
}

#define NAFTER 3000

static void test_roundtrip(void)
{
    t_scratch();
    /* A heap with history: random operations, then a freed 8 MiB block in
     * the middle and a NOSAVE block. */
    for (int i = 0; i < 30000; i++)
        random_op();
    char *hole = ckpt_malloc(8 * MiB);
    memset(hole, 0x77, 8 * MiB);
    char *scratch = ckpt_malloc(100 * KiB);  /* after the hole: it stays a hole */
    t_fill_random(scratch, 100 * KiB);
    ckpt_free(hole);
    ckpt_nosave(scratch + 500);     /* any byte of the block names it */
    char *small_ns = ckpt_memalign(256, 300);
    memset(small_ns, 0x99, 300);
    ckpt_nosave(small_ns);
    double *grid = ckpt_malloc(4 * MiB);     /* a solver's grid, saved and compared */
    t_fill_smooth(grid, 4 * MiB);
    double *grid_copy = malloc(4 * MiB);
    memcpy(grid_copy, grid, 4 * MiB);
    check_all();

    const char *path = t_path("heap.img");
    struct ckpt_img_totals tot;
    write_heap_image(path, &tot);

    static struct slot at_ckpt[SLOTS];
    memcpy(at_ckpt, sl, sizeof sl);
    void *first[NAFTER], *second[NAFTER];
    after_checkpoint(first, NAFTER);
    memset(grid, 0, 4 * MiB);

    /* Freed blocks are not in the image: its raw bytes are the metadata and
     * the live, saved blocks (their headers included) only. */
    struct ckpt_img *img = load(path);
    struct heap_view v;
    const struct ckpt_img_section *meta = ckpt_img_section(img, 0);
    CHECK(meta->type == CKPT_SEC_HEAP && strcmp(meta->name, "arena") == 0);
    CHECK(ckpt__heap_view(meta->data, meta->len, &v) == 0);
    uint64_t saved_bytes = 0, data_bytes = 0, nlive = 0, nshadow = 0;
    for (uint64_t i = 0; i < v.h->nblocks; i++) {
        const struct heap_blk_rec *b = &v.blocks[i];
        if ((b->flags & 3) == 1)
            saved_bytes += b->size;
        if (b->flags & 1) {
            nlive++;
            void *user = (char *)(uintptr_t)v.h->base + b->off + b->delta;
            int found = user == scratch || user == small_ns || user == grid;
            for (int k = 0; k < SLOTS && !found; k++)
                found = at_ckpt[k].p == user;
            CHECK(found);
        }
    }
    for (int k = 0; k < SLOTS; k++)
        nshadow += at_ckpt[k].p != NULL;
    CHECK(nlive == nshadow + 3);    /* every live block, nothing else */
    for (size_t i = 1; i < ckpt_img_nsections(img); i++)
        data_bytes += ckpt_img_section(img, i)->len;
    CHECK(data_bytes == saved_bytes);
    CHECK(tot.raw_bytes == meta->len + saved_bytes);
    CHECK(v.h->top > saved_bytes + 8 * MiB);    /* the hole is in the arena, not the image */

    /* Restore over the changed heap: every block back, the NOSAVE ones zeroed. */
    CHECK(read_heap_image(img) == 0);
    ckpt_img_free(img);
    memcpy(sl, at_ckpt, sizeof sl);
    check_all();
    CHECK(memcmp(grid, grid_copy, 4 * MiB) == 0);
    free(grid_copy);
    CHECK(all_bytes(scratch, 0, 100 * KiB) && all_bytes(small_ns, 0, 300));
    CHECK(ckpt__heap_owns(scratch) && ckpt__heap_owns(small_ns + 299));

    /* The run goes on as if never restarted: the same addresses. */
    after_checkpoint(second, NAFTER);
    for (int i = 0; i < NAFTER; i++)
        CHECK(first[i] == second[i]);
    check_all();
    /* the NOSAVE blocks are still blocks: freeable, reused */
    ckpt_free(small_ns);
    ckpt_free(scratch);
    CHECK(ckpt_malloc(100 * KiB) == scratch);
}

/* A fresh process restores an image: its own heap (allocated by then, as
 * a constructor would) is discarded, the saved one comes back. */
static void test_fresh_process(void)
{
    t_scratch();
    const char *path = t_path("heap.img");
    char *keep[64];
    for (int i = 0; i < 64; i++) {
        keep[i] = ckpt_malloc((size_t)(i * 100 + 1));
        memset(keep[i], i, (size_t)(i * 100 + 1));
    }
    for (int i = 0; i < 64; i += 3)
        ckpt_free(keep[i]);
    write_heap_image(path, NULL);
    void *next = ckpt_malloc(777);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *argv[] = {"/proc/self/exe", "restore_child", (char *)path, NULL};
        char arg[64];
        snprintf(arg, sizeof arg, "%p %p", (void *)keep[1], next);
        setenv("HEAP_EXPECT", arg, 1);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int restore_child(const char *path)
{
    void *k1, *next;
    CHECK(sscanf(getenv("HEAP_EXPECT"), "%p %p", &k1, &next) == 2);
    char *junk = ckpt_malloc(5000);      /* before the restore: discarded */
    memset(junk, 1, 5000);
    struct ckpt_img *img = load(path);
    CHECK(read_heap_image(img) == 0);
    ckpt_img_free(img);
    CHECK(ckpt__heap_owns(k1) && all_bytes(k1, 1, 101));
    CHECK(ckpt_malloc(777) == next);
    return 0;
}

/* ------------------------------------------------------------ arrays grown in step */

/* Bytes mapped at the arena's address (its extent), from /proc/self/maps. */
static size_t arena_extent(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    size_t total = 0;
    CHECK(f);
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a >= 0x200000000000ul && b <= 0x300000000000ul)
            total += b - a;
    }
    fclose(f);
    return total;
}

#define ARRAYS 1000
static uint64_t *arr[ARRAYS];

/* Every array one element longer, n times; the address each got, into out. */
static void grow_in_step(int from, int to, void **out)
{
    int k = 0;
    for (int len = from; len <= to; len++)
        for (int a = 0; a < ARRAYS; a++) {
            arr[a] = ckpt_realloc(arr[a], (size_t)len * sizeof **arr);
            CHECK(arr[a]);
            arr[a][len - 1] = (uint64_t)(a * 1000 + len);
            if (out)
                out[k++] = arr[a];
        }
}

/* A thousand arrays grown by realloc in step leave their old blocks behind
 * in every size class on the way; the merge pass makes that room usable,
 * so the arena stays a few times the live bytes (without it: 46 MiB), and a
 * restart in the middle changes no address (the merge threshold is saved). */
static void test_lockstep(void)
{
    t_scratch();
    const char *path = t_path("heap.img");
    grow_in_step(1, 128, NULL);
    write_heap_image(path, NULL);
    static void *first[ARRAYS * 128], *second[ARRAYS * 128];
    static uint64_t *at_ckpt[ARRAYS];
    memcpy(at_ckpt, arr, sizeof arr);
    grow_in_step(129, 256, first);
    size_t extent = arena_extent();
    fprintf(stderr, "arena extent %zu KiB for %zu KiB of arrays\n", extent >> 10,
            (size_t)ARRAYS * 256 * 8 >> 10);
    CHECK(extent <= 8 * MiB);
    for (int a = 0; a < ARRAYS; a++)
        for (int len = 1; len <= 256; len++)
            CHECK(arr[a][len - 1] == (uint64_t)(a * 1000 + len));

    struct ckpt_img *img = load(path);
    CHECK(read_heap_image(img) == 0);
    ckpt_img_free(img);
    memcpy(arr, at_ckpt, sizeof arr);
    grow_in_step(129, 256, second);
    for (int i = 0; i < ARRAYS * 128; i++)
        CHECK(first[i] == second[i]);
    for (int a = 0; a < ARRAYS; a++)
        ckpt_free(arr[a]);
}

/* ------------------------------------------------------------ the next range taken */

/* When something else holds the addresses the arena would grow into, the
 * allocation fails with ENOMEM (said once), the mapping is left alone, and
 * what fits in the arena as it is still succeeds. */
static void test_taken(void)
{
    char *first = ckpt_malloc(100);
    CHECK(first && arena_extent() == 2 * MiB);
    char *next = (char *)0x200000000000ul + 2 * MiB;
    void *other = mmap(next, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(other == next);
    memset(other, 0x6b, 4096);
    int w0 = warnings;
    errno = 0;
    CHECK(ckpt_malloc(3 * MiB) == NULL && errno == ENOMEM);
    CHECK(warnings == w0 + 1);
    errno = 0;
    CHECK(ckpt_calloc(1, 5 * MiB) == NULL && errno == ENOMEM);
    CHECK(warnings == w0 + 1);      /* once */
    CHECK(all_bytes(other, 0x6b, 4096));
    char *small = ckpt_malloc(1000);
    CHECK(small && ckpt__heap_owns(small));
    CHECK(ckpt_realloc(small, 4 * MiB) == NULL && ckpt__heap_owns(small));
    CHECK(munmap(other, 4096) == 0);
    CHECK(ckpt_malloc(3 * MiB) != NULL);   /* room again */
}

/* ------------------------------------------------------------ corrupt sections */

struct sec {
    const char *name;
    void *data;
    size_t len;
};

static void write_secs(const char *path, const struct sec *s, int n)
{
    struct ckpt_img_header h;
    struct ckpt_imgw *w;
    t_header(&h, 0x40001, 1);
    CHECK_RC(ckpt_imgw_open(&w, path, &h, 1));
    for (int i = 0; i < n; i++)
        CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_HEAP, s[i].name, s[i].data, s[i].len, 8));
    CHECK_RC(ckpt_imgw_close(w, NULL));
}

static void test_corrupt(void)
{
    t_scratch();
    const char *path = t_path("heap.img"), *bad = t_path("bad.img");
    char *blocks[40];
    for (int i = 0; i < 40; i++) {
        blocks[i] = ckpt_malloc((size_t)(16 + i * 50));
        memset(blocks[i], 0x40 + i, (size_t)(16 + i * 50));
    }
    for (int i = 0; i < 40; i += 4)
        ckpt_free(blocks[i]);
    char *large = ckpt_malloc(200 * KiB);
    char *after = ckpt_malloc(100 * KiB);
    ckpt_free(large);                        /* a free large range, below `after` */
    CHECK(after);
    write_heap_image(path, NULL);
    struct ckpt_img *img = load(path);
    size_t ns = ckpt_img_nsections(img);
    CHECK(ns >= 3 && ns < 16);
    struct sec good[16];
    for (size_t i = 0; i < ns; i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        good[i].name = s->name;
        good[i].len = s->len;
        good[i].data = malloc(s->len);
        memcpy(good[i].data, s->data, s->len);
    }
    struct heap_view v;
    CHECK(ckpt__heap_view(good[0].data, good[0].len, &v) == 0);
    uint64_t nb = v.h->nblocks;
    CHECK(v.h->nfree >= 2 && nb > 40);

    /* Each damage, in a copy of the metadata: refused, the heap untouched. */
    for (int d = 0; d < 14; d++) {
        struct sec s[16];
        memcpy(s, good, sizeof s);
        char *m = malloc(good[0].len);
        memcpy(m, good[0].data, good[0].len);
        s[0].data = m;
        struct heap_rec *h = (struct heap_rec *)m;
        uint64_t *counts = (uint64_t *)(h + 1);
        struct heap_blk_rec *br = (struct heap_blk_rec *)(counts + h->nclasses);
        uint64_t *fo = (uint64_t *)(br + h->nblocks);
        int n = (int)ns;
        switch (d) {
        case 0: h->base += 4096; break;                     /* another address */
        case 1: h->top = h->mapped + 16; break;             /* past the mapping */
        case 2: h->mapped = (uint64_t)1 << 50; break;       /* past the arena's limit */
        case 3: br[3].off += 16; break;                     /* overlap */
        case 4: br[5].size += 16; break;                    /* a gap */
        case 5: br[nb - 1].size += 1 << 20; break;          /* past the top */
        case 6: fo[1] = fo[0]; break;                       /* a free block twice */
        case 7: for (uint64_t i = 0; i < nb; i++)           /* a live block on a free list */
                    if (br[i].flags & 1) { fo[0] = br[i].off; break; }
                break;
        case 8: br[2].delta = 100000; break;                /* pointer past its block */
        case 9: h->version = 99; break;
        case 10: s[0].len -= 8; break;                      /* lengths do not add up */
        case 11: n--; break;                                /* a run missing */
        case 12: s[1].len -= 16; break;                     /* a run of another length */
        case 13: h->nruns++; break;
        }
        write_secs(bad, s, n);
        struct ckpt_img *bi = load(bad);
        fprintf(stderr, "damage %d: ", d);
        CHECK(read_heap_image(bi) == -EINVAL);
        ckpt_img_free(bi);
        free(m);
        for (int i = 1; i < 40; i++)
            if (i % 4)
                CHECK(all_bytes(blocks[i], 0x40 + i, (size_t)(16 + i * 50)));
    }
    /* The undamaged copy still restores. */
    write_secs(bad, good, (int)ns);
    struct ckpt_img *gi = load(bad);
    CHECK(read_heap_image(gi) == 0);
    ckpt_img_free(gi);
    ckpt_img_free(img);
    for (size_t i = 0; i < ns; i++)
        free(good[i].data);
}

/* ------------------------------------------------------------ the writer's copy */

/* Whether two images hold the same sections, byte for byte. */
static int same_sections(const char *a, const char *b)
{
    struct ckpt_img *x = load(a), *y = load(b);
    int same = ckpt_img_nsections(x) == ckpt_img_nsections(y);
    for (size_t i = 0; same && i < ckpt_img_nsections(x); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(x, i), *t = ckpt_img_section(y, i);
        same = s->type == t->type && s->len == t->len && !strcmp(s->name, t->name) &&
               !memcmp(s->data, t->data, (size_t)s->len);
    }
    ckpt_img_free(x);
    ckpt_img_free(y);
    return same;
}

/* A writer forked after ckpt__heap_copy writes the heap as it was at the copy,
 * while the task frees, reallocs and scribbles over its blocks (which the
 * fork no longer shares): the same image as one written at that moment. */
static void test_writer_copy(void)
{
    t_scratch();
    for (int i = 0; i < 30000; i++)
        random_op();
    char *big = ckpt_malloc(8 * MiB);       /* rewritten whole after the fork */
    t_fill_random(big, 8 * MiB);
    char *ns = ckpt_malloc(100 * KiB);
    ckpt_nosave(ns);
    const char *at_copy = t_path("at_copy.img"), *by_writer = t_path("by_writer.img");
    struct ckpt_img_totals tot;
    write_heap_image(at_copy, &tot);

    CHECK(ckpt__heap_copy() > 8 * MiB);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        char b;
        close(go[1]);
        if (read(go[0], &b, 1) != 1 || ckpt__heap_take_copy() != 0)
            _exit(3);
        write_heap_image(by_writer, &tot);
        _exit(0);
    }
    ckpt__heap_forked();
    close(go[0]);
    static void *out[NAFTER];
    after_checkpoint(out, NAFTER);
    memset(big, 0x5a, 8 * MiB);
    CHECK(write(go[1], "x", 1) == 1);
    int status;
    CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(go[1]);
    CHECK(same_sections(at_copy, by_writer));

    /* And the arena is inherited again by the forks that follow. */
    c = fork();
    CHECK(c >= 0);
    if (c == 0)
        _exit(big[4096] == 0x5a && ckpt__heap_owns(big) ? 0 : 4);
    CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ------------------------------------------------------------ runner */

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"semantics", test_semantics},
    {"random", test_random},
    {"foreign", test_foreign},
    {"roundtrip", test_roundtrip},
    {"fresh_process", test_fresh_process},
    {"lockstep", test_lockstep},
    {"taken", test_taken},
    {"corrupt", test_corrupt},
    {"writer_copy", test_writer_copy},
};
#define NTESTS (sizeof tests / sizeof tests[0])

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "restore_child") == 0)
        return restore_child(argv[2]);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NTESTS; i++)
            puts(tests[i].name);
        return 0;
    }
    for (size_t i = 0; i < NTESTS; i++)
        if (argc == 2 && strcmp(argv[1], tests[i].name) == 0) {
            tests[i].fn();
            printf("PASS %s\n", tests[i].name);
            return 0;
        }
    fprintf(stderr, "usage: test_heap NAME (test_heap --list names them)\n");
    return 2;
}
