/*
 * test_libcstate.c: runtime/libcstate.c's twins against glibc's own functions,
 * run side by side in one process and compared bit for bit: every value, every
 * returned pointer (as an offset in the caller's buffer where glibc's and
 * ours point into different buffers), every state buffer the program hands
 * over.  `test_libcstate NAME` runs one test in a fresh process (so that the
 * unseeded defaults are tested), `--list` names them; ctest runs each.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_libc.h"

static int failures;
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            if (++failures > 20)                                                \
                exit(1);                                                        \
        }                                                                       \
    } while (0)

/* The test's own choices (not the generators under test). */
static uint64_t pick_state = 0x9e3779b97f4a7c15ull;
static unsigned pick(unsigned n)
{
    pick_state = pick_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(pick_state >> 33) % n;
}

static void same_rand(int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        int g = rand(), m = ckpt_rand();
        CHECK(g == m, "%s: rand #%d: glibc %d, ckpt %d", what, i, g, m);
        long gl = random(), ml = ckpt_random();
        CHECK(gl == ml, "%s: random #%d: glibc %ld, ckpt %ld", what, i, gl, ml);
    }
}

static void test_rand_default(void)
{
    for (int i = 0; i < 20000; i++) {
        int g = rand(), m = ckpt_rand();
        CHECK(g == m, "unseeded rand #%d: glibc %d, ckpt %d", i, g, m);
    }
    same_rand(5000, "unseeded, then random");
}

static void test_random_default(void)
{
    for (int i = 0; i < 20000; i++) {
        long g = random(), m = ckpt_random();
        CHECK(g == m, "unseeded random #%d: glibc %ld, ckpt %ld", i, g, m);
    }
}

static void test_srand(void)
{
    static const unsigned seeds[] = {0, 1, 2, 3, 42, 1000, 12345, 0x7fffffff, 0x80000000u, UINT_MAX};
    char what[64];
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        srand(seeds[k]);
        ckpt_srand(seeds[k]);
        snprintf(what, sizeof what, "srand(%u)", seeds[k]);
        same_rand(3000, what);
        srandom(seeds[k] ^ 0x5555);
        ckpt_srandom(seeds[k] ^ 0x5555);
        snprintf(what, sizeof what, "srandom(%u)", seeds[k] ^ 0x5555);
        same_rand(3000, what);
    }
}

/* initstate/setstate with the program's buffers of every size class: glibc's
 * generator on one set of buffers, ours on a copy, both the same bytes. */
static void test_initstate(void)
{
    static const size_t sizes[] = {8, 32, 64, 128, 256, 16, 100, 300};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    static int32_t gbuf[NS][80], mbuf[NS][80];
    char what[64];
    /* the default tables, as initstate hands them back */
    char *gdef = initstate(7, (char *)gbuf[0], sizes[0]);
    char *mdef = ckpt_initstate(7, (char *)mbuf[0], sizes[0]);
    CHECK(gdef && mdef, "initstate from the default returned NULL");
    CHECK(memcmp(gdef, mdef, 128) == 0, "the default table differs");
    CHECK(memcmp(gbuf[0], mbuf[0], sizeof gbuf[0]) == 0, "initstate(7, 8 bytes): buffers differ");
    same_rand(2000, "initstate(7, 8 bytes)");
    char *gprev = (char *)gbuf[0], *mprev = (char *)mbuf[0];
    for (int k = 1; k < NS; k++) {
        unsigned seed = 100u + (unsigned)k;
        char *g = initstate(seed, (char *)gbuf[k], sizes[k]);
        char *m = ckpt_initstate(seed, (char *)mbuf[k], sizes[k]);
        CHECK(g == gprev && m == mprev, "initstate(%zu bytes) returns the previous buffer", sizes[k]);
        snprintf(what, sizeof what, "initstate(%u, %zu bytes)", seed, sizes[k]);
        same_rand(2000, what);
        CHECK(memcmp(gbuf[k], mbuf[k], sizeof gbuf[k]) == 0, "%s: buffers differ", what);
        gprev = (char *)gbuf[k];
        mprev = (char *)mbuf[k];
    }
    /* back and forth between them, each going on where it stood */
    for (int r = 0; r < 40; r++) {
        int k = (int)pick(NS);
        char *g = setstate((char *)gbuf[k]), *m = ckpt_setstate((char *)mbuf[k]);
        CHECK(g == gprev && m == mprev, "setstate returns the previous buffer");
        snprintf(what, sizeof what, "setstate(%zu bytes)", sizes[k]);
        same_rand(300, what);
        if (pick(3) == 0) {
            srand(r);
            ckpt_srand(r);
            same_rand(100, "srand after setstate");
        }
        gprev = (char *)gbuf[k];
        mprev = (char *)mbuf[k];
    }
    /* back to the default table */
    char *g = setstate(gdef), *m = ckpt_setstate(mdef);
    CHECK(g == gprev && m == mprev, "setstate(default) returns the previous buffer");
    same_rand(2000, "setstate(default)");
    CHECK(memcmp(gdef, mdef, 128) == 0, "the default table differs after use");
    for (int k = 0; k < NS; k++)
        CHECK(memcmp(gbuf[k], mbuf[k], sizeof gbuf[k]) == 0, "buffer %d differs", k);
    /* refusals, errno included */
    char small[8];
    errno = 0;
    g = initstate(1, small, 7);
    int ge = errno;
    errno = 0;
    m = ckpt_initstate(1, small, 7);
    CHECK(g == NULL && m == NULL && ge == EINVAL && errno == EINVAL, "initstate(7 bytes): %p %p %d %d",
          (void *)g, (void *)m, ge, errno);
    int32_t bad[8] = {-1}, bad2[8] = {-1};   /* type -1 % 5: none */
    errno = 0;
    g = setstate((char *)bad);
    ge = errno;
    errno = 0;
    m = ckpt_setstate((char *)bad2);
    CHECK(g == NULL && m == NULL && ge == EINVAL && errno == EINVAL, "setstate(bad type): %p %p %d %d",
          (void *)g, (void *)m, ge, errno);
    same_rand(1000, "after the refusals");
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One call of each drand48 function, picked at random, on both sides. */
static void same_48(int n, unsigned short gx[3], unsigned short mx[3], const char *what)
{
    for (int i = 0; i < n; i++) {
        switch (pick(6)) {
        case 0: {
            double g = drand48(), m = ckpt_drand48();
            CHECK(same_double(g, m), "%s: drand48 #%d: %a %a", what, i, g, m);
            break;
        }
        case 1: {
            long g = lrand48(), m = ckpt_lrand48();
            CHECK(g == m, "%s: lrand48 #%d: %ld %ld", what, i, g, m);
            break;
        }
        case 2: {
            long g = mrand48(), m = ckpt_mrand48();
            CHECK(g == m, "%s: mrand48 #%d: %ld %ld", what, i, g, m);
            break;
        }
        case 3: {
            double g = erand48(gx), m = ckpt_erand48(mx);
            CHECK(same_double(g, m), "%s: erand48 #%d: %a %a", what, i, g, m);
            break;
        }
        case 4: {
            long g = nrand48(gx), m = ckpt_nrand48(mx);
            CHECK(g == m, "%s: nrand48 #%d: %ld %ld", what, i, g, m);
            break;
        }
        default: {
            long g = jrand48(gx), m = ckpt_jrand48(mx);
            CHECK(g == m, "%s: jrand48 #%d: %ld %ld", what, i, g, m);
        }
        }
        CHECK(memcmp(gx, mx, 3 * sizeof *gx) == 0, "%s #%d: the caller's xsubi differ", what, i);
    }
}

static void test_drand48_default(void)
{
    for (int i = 0; i < 10000; i++) {
        double g = drand48(), m = ckpt_drand48();
        CHECK(same_double(g, m), "unseeded drand48 #%d: %a %a", i, g, m);
    }
}

static void test_lrand48_default(void)
{
    for (int i = 0; i < 10000; i++) {
        long g = lrand48(), m = ckpt_lrand48();
        CHECK(g == m, "unseeded lrand48 #%d: %ld %ld", i, g, m);
        g = mrand48(), m = ckpt_mrand48();
        CHECK(g == m, "unseeded mrand48 #%d: %ld %ld", i, g, m);
    }
}

/* erand48 before anything else: the shared a and c set on first use */
static void test_erand48_default(void)
{
    unsigned short gx[3] = {1, 2, 3}, mx[3] = {1, 2, 3};
    for (int i = 0; i < 5000; i++) {
        double g = erand48(gx), m = ckpt_erand48(mx);
        CHECK(same_double(g, m), "erand48 #%d: %a %a", i, g, m);
        long gl = nrand48(gx), ml = ckpt_nrand48(mx);
        CHECK(gl == ml, "nrand48 #%d: %ld %ld", i, gl, ml);
        gl = jrand48(gx), ml = ckpt_jrand48(mx);
        CHECK(gl == ml, "jrand48 #%d: %ld %ld", i, gl, ml);
    }
    same_48(5000, gx, mx, "unseeded mix");
}

static void test_drand48_seeds(void)
{
    static const long seeds[] = {0, 1, -1, 42, 123456789, LONG_MAX, LONG_MIN,
                                 0x7fffffffL, 0x1234567890L};
    unsigned short gx[3] = {0x330e, 0, 0}, mx[3] = {0x330e, 0, 0};
    char what[64];
    same_48(2000, gx, mx, "unseeded mix");
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        srand48(seeds[k]);
        ckpt_srand48(seeds[k]);
        snprintf(what, sizeof what, "srand48(%ld)", seeds[k]);
        same_48(3000, gx, mx, what);
    }
    /* seed48: the previous seed, in storage of its own */
    unsigned short s1[3] = {1, 2, 3}, s2[3] = {0xffff, 0x8000, 7};
    unsigned short *g = seed48(s1), *m = ckpt_seed48(s1);
    CHECK(g && m && memcmp(g, m, 3 * sizeof *g) == 0,
          "seed48: previous seeds %x %x %x / %x %x %x", g[0],
          g[1], g[2], m[0], m[1], m[2]);
    CHECK(m != s1, "seed48 returns its own storage");
    same_48(3000, gx, mx, "seed48(1,2,3)");
    g = seed48(s2), m = ckpt_seed48(s2);
    CHECK(memcmp(g, m, 3 * sizeof *g) == 0, "seed48: previous seeds differ");
    same_48(3000, gx, mx, "seed48(ffff,8000,7)");
    /* lcong48: a, c and the seed, also for erand48, nrand48, jrand48 */
    unsigned short p1[7] = {1, 2, 3, 0xdead, 0xbeef, 0x1234, 17};
    unsigned short p2[7] = {0x330e, 0xabcd, 0x1234, 0xe66d, 0xdeec, 0x5, 0xb};
    lcong48(p1);
    ckpt_lcong48(p1);
    same_48(5000, gx, mx, "lcong48(p1)");
    lcong48(p2);
    ckpt_lcong48(p2);
    same_48(5000, gx, mx, "lcong48(p2)");
    /* srand48 and seed48 put a and c back */
    srand48(5);
    ckpt_srand48(5);
    same_48(3000, gx, mx, "srand48(5) after lcong48");
    lcong48(p1);
    ckpt_lcong48(p1);
    g = seed48(s2), m = ckpt_seed48(s2);
    CHECK(memcmp(g, m, 3 * sizeof *g) == 0, "seed48 after lcong48: previous seeds differ");
    same_48(3000, gx, mx, "seed48 after lcong48");
}

/* strtok on two copies of each string, the tokens compared by offset */
static void test_strtok(void)
{
    static const char *const strings[] = {
        "a b c", "  leading and trailing  ", "", "   ", "one", "a,,b;;c,;d", ",,,", "x;y z,w",
        "long token with many words to split into pieces, and, punctuation; here.",
    };
    static const char *const delims[] = {" ", ",;", " ,;", "", "xyz", ";"};
    char g[128], m[128];
    for (size_t s = 0; s < sizeof strings / sizeof strings[0]; s++)
        for (size_t d = 0; d < sizeof delims / sizeof delims[0]; d++) {
            strcpy(g, strings[s]);
            strcpy(m, strings[s]);
            char *gt = strtok(g, delims[d]), *mt = ckpt_strtok(m, delims[d]);
            for (int i = 0; i < 40; i++) {
                CHECK((gt == NULL) == (mt == NULL) && (!gt || gt - g == mt - m),
                      "strtok(\"%s\", \"%s\") token %d", strings[s], delims[d], i);
                /* the delimiters may change from call to call */
                const char *dl = delims[(d + (size_t)i) % (sizeof delims / sizeof delims[0])];
                gt = strtok(NULL, dl);
                mt = ckpt_strtok(NULL, dl);
            }
            CHECK(memcmp(g, m, sizeof g) == 0, "strtok(\"%s\", \"%s\"): buffers differ",
                  strings[s], delims[d]);
        }
    /* a new string while the last one is not finished */
    strcpy(g, "p q r s");
    strcpy(m, "p q r s");
    CHECK(strtok(g, " ") - g == ckpt_strtok(m, " ") - m, "restart 1");
    char g2[] = "u:v", m2[] = "u:v";
    CHECK(strtok(g2, ":") - g2 == ckpt_strtok(m2, ":") - m2, "restart 2");
    CHECK(strtok(NULL, ":") - g2 == ckpt_strtok(NULL, ":") - m2, "restart 3");
    CHECK(strtok(NULL, ":") == NULL && ckpt_strtok(NULL, ":") == NULL, "restart 4");
}

static void test_getenv(void)
{
    CHECK(setenv("CKPT_T_A", "alpha", 1) == 0, "setenv");
    unsetenv("CKPT_T_NONE");
    char *a1 = ckpt_getenv("CKPT_T_A"), *real = getenv("CKPT_T_A");
    CHECK(a1 && strcmp(a1, "alpha") == 0, "getenv value");
    CHECK(a1 != real, "a copy, not the environment's string");
    CHECK(ckpt_getenv("CKPT_T_A") == a1, "asked again: the same copy");
    CHECK(ckpt_getenv("CKPT_T_NONE") == NULL && getenv("CKPT_T_NONE") == NULL, "unset: NULL");
    CHECK(ckpt_getenv("CKPT_T_NONE") == NULL, "unset, asked again: NULL");
    CHECK(ckpt_getenv("") == getenv(""), "empty name");
    CHECK(ckpt_getenv("CKPT_T_A=") == getenv("CKPT_T_A="), "name with '='");
    setenv("CKPT_T_A", "beta", 1);
    char *a2 = ckpt_getenv("CKPT_T_A");
    CHECK(a2 && a2 != a1 && strcmp(a2, "beta") == 0, "changed: a new copy");
    CHECK(strcmp(a1, "alpha") == 0, "the old copy keeps its value");
    setenv("CKPT_T_A", "alpha", 1);
    char *a3 = ckpt_getenv("CKPT_T_A");
    CHECK(a3 && a3 != a2 && strcmp(a3, "alpha") == 0, "changed back: a new copy");
    unsetenv("CKPT_T_A");
    CHECK(ckpt_getenv("CKPT_T_A") == NULL, "unset later: NULL");
    setenv("CKPT_T_NONE", "", 1);
    char *e = ckpt_getenv("CKPT_T_NONE");
    CHECK(e && *e == '\0' && e != getenv("CKPT_T_NONE"), "set empty later: a copy of \"\"");
    CHECK(ckpt_getenv("PATH") && getenv("PATH") &&
          strcmp(ckpt_getenv("PATH"), getenv("PATH")) == 0, "PATH");
    /* the pool fills: the environment's own strings from then on */
    static char big[20000];
    memset(big, 'x', sizeof big - 1);
    char name[32];
    char *last = NULL;
    int i;
    for (i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "CKPT_T_BIG%d", i);
        setenv(name, big, 1);
        last = ckpt_getenv(name);
        CHECK(last && strcmp(last, big) == 0, "big value %d", i);
        if (last == getenv(name))
            break;
    }
    CHECK(i == 3, "the pool holds 3 values of 20000 bytes, then gives the environment's (%d)", i);
    CHECK(ckpt_getenv("CKPT_T_NONE") == e, "an old copy still found");
    CHECK(strcmp(a1, "alpha") == 0 && strcmp(a2, "beta") == 0, "old copies kept");
}

/* Everything at once, in a random order, as a program would. */
static void test_mixed(void)
{
    unsigned short gx[3] = {9, 8, 7}, mx[3] = {9, 8, 7};
    static int32_t gb[64], mb[64];
    char *gdef = NULL, *mdef = NULL;
    char gs[] = "mixed calls; of every kind, strtok among them; to the end";
    char ms[] = "mixed calls; of every kind, strtok among them; to the end";
    char *gt = strtok(gs, " "), *mt = ckpt_strtok(ms, " ");
    for (int i = 0; i < 200000; i++) {
        switch (pick(12)) {
        case 0: {
            unsigned s = pick(1000);
            srand(s);
            ckpt_srand(s);
            break;
        }
        case 1: {
            long s = (long)pick(100000) - 50000;
            srand48(s);
            ckpt_srand48(s);
            break;
        }
        case 2:
            if (!gdef) {
                gdef = initstate(3, (char *)gb, sizeof gb);
                mdef = ckpt_initstate(3, (char *)mb, sizeof mb);
            } else if (pick(2)) {
                int g = setstate(gdef) == (char *)gb, m = ckpt_setstate(mdef) == (char *)mb;
                CHECK(g == m, "mixed setstate %d", i);
            } else {
                setstate((char *)gb);
                ckpt_setstate((char *)mb);
            }
            break;
        case 3:
            gt = strtok(NULL, " ;,");
            mt = ckpt_strtok(NULL, " ;,");
            CHECK((gt == NULL) == (mt == NULL) && (!gt || gt - gs == mt - ms), "mixed strtok %d", i);
            break;
        case 4: {
            unsigned short p[7];
            for (int k = 0; k < 7; k++)
                p[k] = (unsigned short)pick(65536);
            if (pick(2)) {
                lcong48(p);
                ckpt_lcong48(p);
            } else {
                unsigned short *g = seed48(p), *m = ckpt_seed48(p);
                CHECK(memcmp(g, m, 6) == 0, "mixed seed48 %d", i);
            }
            break;
        }
        case 5:
        case 6:
            same_48(1, gx, mx, "mixed");
            break;
        default:
            same_rand(1, "mixed");
        }
    }
    CHECK(memcmp(gb, mb, sizeof gb) == 0, "mixed: initstate buffers differ");
    (void)gt;
    (void)mt;
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"rand_default", test_rand_default},       {"random_default", test_random_default},
    {"srand", test_srand},                     {"initstate", test_initstate},
    {"drand48_default", test_drand48_default}, {"lrand48_default", test_lrand48_default},
    {"erand48_default", test_erand48_default}, {"drand48_seeds", test_drand48_seeds},
    {"strtok", test_strtok},                   {"getenv", test_getenv},
    {"mixed", test_mixed},
};

int main(int argc, char **argv)
{
    size_t n = sizeof tests / sizeof tests[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_libcstate NAME | --list\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], tests[i].name) == 0) {
            tests[i].fn();
            if (failures)
                fprintf(stderr, "FAIL %s: %d check%s failed\n", argv[1], failures,
                        failures == 1 ? "" : "s");
            else
                printf("ok   %s\n", argv[1]);
            return failures != 0;
        }
    fprintf(stderr, "no test %s\n", argv[1]);
    return 2;
}
