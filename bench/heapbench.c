/*
 * heapbench: libckpt's heap (runtime/heap.c) against glibc's malloc, side by
 * side in one process, on the same malloc/free-heavy workloads.
 *
 *   heapbench [TRIALS]     (default 9)
 *
 * Workloads, each run for glibc and for ckpt_ (the calls a program built by
 * ckpt-cc makes), alternating which goes first, TRIALS times:
 *   mixed     a working set of 4000 live blocks, 8 B .. 4 KiB (three in four
 *             under 512 B), each step freeing a random one and allocating anew,
 *             and writing its first and last bytes
 *   list      a 100,000-node linked list (40-byte nodes) built, walked, freed
 *   realloc   1000 arrays grown by realloc one 8-byte element at a time to
 *             2 KiB, interleaved, then freed; and one array to 4 MiB
 * Prints per workload the median time of each and the ratio ckpt/glibc, and
 * the total.  The sizes and slots come from a fixed table, the same for both.
 * glibc is called through its PLT, libckpt is linked statically: as in a
 * program ckpt-cc builds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt_libc.h"

#define SLOTS 4000
#define STEPS 2000000
#define NODES 100000
#define ARRAYS 1000
#define MAXT 31

static uint32_t sizes[STEPS], slots[STEPS];
static void *live[SLOTS];
static volatile uint64_t sink;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

struct node {
    struct node *next;
    uint64_t v[4];
};

/* The workloads, once per allocator: direct calls, no function pointers. */
#define WORKLOADS(P, MALLOC, FREE, REALLOC)                                        \
    static void P##_mixed(void)                                                    \
    {                                                                              \
        for (int i = 0; i < SLOTS; i++) {                                          \
            live[i] = MALLOC(sizes[i]);                                            \
            ((char *)live[i])[0] = 1;                                              \
        }                                                                          \
        for (int s = 0; s < STEPS; s++) {                                          \
            uint32_t k = slots[s], n = sizes[s];                                   \
            FREE(live[k]);                                                         \
            char *p = MALLOC(n);                                                   \
            p[0] = (char)s;                                                        \
            p[n - 1] = (char)k;                                                    \
            live[k] = p;                                                           \
        }                                                                          \
        for (int i = 0; i < SLOTS; i++)                                            \
            FREE(live[i]);                                                         \
    }                                                                              \
    static void P##_list(void)                                                     \
    {                                                                              \
        for (int round = 0; round < 10; round++) {                                 \
            struct node *head = NULL;                                              \
            for (int i = 0; i < NODES; i++) {                                      \
                struct node *n = MALLOC(sizeof *n);                                \
                n->next = head;                                                    \
                n->v[0] = (uint64_t)i;                                             \
                head = n;                                                          \
            }                                                                      \
            uint64_t sum = 0;                                                      \
            while (head) {                                                         \
                struct node *n = head->next;                                       \
                sum += head->v[0];                                                 \
                FREE(head);                                                        \
                head = n;                                                          \
            }                                                                      \
            sink += sum;                                                           \
        }                                                                          \
    }                                                                              \
    static void P##_realloc(void)                                                  \
    {                                                                              \
        static uint64_t *arr[ARRAYS];                                              \
        memset(arr, 0, sizeof arr);                                                \
        for (int len = 1; len <= 256; len++)                                       \
            for (int a = 0; a < ARRAYS; a++) {                                     \
                arr[a] = REALLOC(arr[a], (size_t)len * sizeof **arr);              \
                arr[a][len - 1] = (uint64_t)len;                                   \
            }                                                                      \
        for (int a = 0; a < ARRAYS; a++) {                                         \
            sink += arr[a][255];                                                   \
            FREE(arr[a]);                                                          \
        }                                                                          \
        uint64_t *big = NULL;                                                      \
        for (size_t len = 1; len <= (4u << 20) / sizeof *big; len += 64) {         \
            big = REALLOC(big, len * sizeof *big);                                 \
            big[len - 1] = len;                                                    \
        }                                                                          \
        FREE(big);                                                                 \
    }

WORKLOADS(gl, malloc, free, realloc)
WORKLOADS(ck, ckpt_malloc, ckpt_free, ckpt_realloc)

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 9;
    if (trials < 1 || trials > MAXT) {
        fprintf(stderr, "usage: heapbench [TRIALS 1..%d]\n", MAXT);
        return 2;
    }
    for (int s = 0; s < STEPS; s++) {
        uint64_t r = next_rand();
        sizes[s] = (uint32_t)(r % 4 ? 8 + (r >> 8) % 505 : 8 + (r >> 8) % 4089);
        slots[s] = (uint32_t)((r >> 40) % SLOTS);
    }
    static const struct {
        const char *name;
        void (*g)(void), (*c)(void);
    } w[] = {
        {"mixed 8 B..4 KiB, 4000 live", gl_mixed, ck_mixed},
        {"linked list, 100k nodes x10", gl_list, ck_list},
        {"realloc growth", gl_realloc, ck_realloc},
    };
    enum { NW = sizeof w / sizeof w[0] };
    double tg[NW + 1][MAXT], tc[NW + 1][MAXT];
    for (int i = 0; i < NW; i++) {      /* warm-up: both heaps grown once */
        w[i].g();
        w[i].c();
    }
    for (int t = 0; t < trials; t++) {
        tg[NW][t] = tc[NW][t] = 0;
        for (int i = 0; i < NW; i++) {
            double t0, t1, t2;
            if (t % 2) {
                t0 = now_ms(); w[i].g(); t1 = now_ms(); w[i].c(); t2 = now_ms();
                tg[i][t] = t1 - t0;
                tc[i][t] = t2 - t1;
            } else {
                t0 = now_ms(); w[i].c(); t1 = now_ms(); w[i].g(); t2 = now_ms();
                tc[i][t] = t1 - t0;
                tg[i][t] = t2 - t1;
            }
            tg[NW][t] += tg[i][t];
            tc[NW][t] += tc[i][t];
        }
    }
    printf("| workload (median of %d) | glibc ms | ckpt ms | ckpt / glibc |\n", trials);
    printf("|---|---:|---:|---:|\n");
    for (int i = 0; i <= NW; i++) {
        double g = median(tg[i], trials), c = median(tc[i], trials);
        printf("| %s | %.1f | %.1f | %.3f |\n", i < NW ? w[i].name : "total", g, c, c / g);
    }
    return 0;
}
