/*
 * libcstate.c: the C library's hidden state that a program sees, kept where a
 * checkpoint saves it (issue #14).  The twins of include/ckpt_libc_calls.h for
 * the random generators, strtok and getenv (the heap's are elsewhere) give
 * exactly what glibc's functions give, but their state is this file's:
 *
 *  - rand/random/srand/srandom/initstate/setstate: glibc's generator run by
 *    its own reentrant functions (random_r & co.) on a struct random_data and
 *    a default table here; glibc starts as if initstate(1, table, 128), so
 *    does this on first use.  After initstate/setstate the state is the
 *    program's buffer, which the program saves itself.
 *  - the drand48 family: a struct drand48_data here, through the *_r
 *    functions; erand48/nrand48/jrand48 share its multiplier and addend, which
 *    lcong48 sets, as glibc's do.
 *  - strtok: its position, through strtok_r.
 *  - getenv: a copy of each value in a pool here (64 KiB), at an address a
 *    restarted task gets back, where the environment's own strings (at the
 *    stack's top) move with the new process's environment.  A name asked again
 *    gets the same copy while its value is the same.  After a restart a name
 *    asked before gets what it got before (set or unset), as long as the new
 *    environment does not change it again.  A full pool is said once; the
 *    environment's own strings are returned from then on.
 *
 * Saved as a frame "<libc>" of GLOBAL sections right after "<globals>"
 * (state.c's table), rather than through ckpt_global(): state.c calls this
 * file, so every program links it and every image of every task holds the
 * frame, in one order, whether or not the program calls these functions; the
 * getenv pool is saved only as far as it is used.  The pointers (random_r's
 * into its table, strtok's into the program's buffer) are saved as they are:
 * what they point into is where it was in a restarted task (layout.c); a
 * finished strtok is saved as finished, not as a pointer into a buffer that
 * may be gone.  Restored, like the globals, when
 * the image is loaded, before main's code goes on.
 *
 * Not thread-safe (glibc's rand and drand48 lock; PVM tasks are one thread).
 */
#define _DEFAULT_SOURCE /* random_r, drand48_r and the like */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_libc.h"
#include "rt.h"

/* ---- random(): glibc's additive generator ---- */

static struct {
    int32_t table[32];      /* glibc's randtbl: the type word, then degree 31 (TYPE_3) */
    int32_t inited;
} rnd;
static struct random_data rd;    /* its pointers point into rnd.table or the program's buffer */

/* rand_type, rand_deg, rand_sep: saved as one variable */
#define RD_INTS (offsetof(struct random_data, end_ptr) - offsetof(struct random_data, rand_type))
_Static_assert(offsetof(struct random_data, rand_sep) ==
               offsetof(struct random_data, rand_type) + 2 * sizeof(int),
               "struct random_data: rand_type, rand_deg, rand_sep in a row");

static struct random_data *random_state(void)
{
    if (!rnd.inited) {
        /* glibc's default: as if initstate(1, randtbl, 128) */
        if (initstate_r(1, (char *)rnd.table, sizeof rnd.table, &rd) != 0)
            ckpt__die("random: initstate_r of the default table failed");
        rnd.inited = 1;
    }
    if (!rd.state || !rd.fptr || !rd.rptr || !rd.end_ptr)
        ckpt__die("random: the generator's state buffer (initstate/setstate) was not saved, "
                  "so it cannot go on after the restart: save it with #pragma CKPT_SAVE");
    return &rd;
}

long ckpt_random(void)
{
    int32_t r;
    random_r(random_state(), &r);
    return r;
}

int ckpt_rand(void)
{
    return (int)ckpt_random();
}

void ckpt_srandom(unsigned int seed)
{
    srandom_r(seed, random_state());
}

void ckpt_srand(unsigned int seed)
{
    ckpt_srandom(seed);     /* one function in glibc */
}

/* As glibc: the old state's word before its table, where initstate_r and
 * setstate_r record the old generator's position. */
char *ckpt_initstate(unsigned int seed, char *statebuf, size_t n)
{
    struct random_data *r = random_state();
    char *old = (char *)&r->state[-1];
    return initstate_r(seed, statebuf, n, r) == 0 ? old : NULL;
}

char *ckpt_setstate(char *statebuf)
{
    struct random_data *r = random_state();
    char *old = (char *)&r->state[-1];
    return setstate_r(statebuf, r) == 0 ? old : NULL;
}

/* ---- the drand48 family ---- */

/* zero: glibc's unseeded start (x = 0; a and c are set on first use) */
static struct drand48_data d48;

double ckpt_drand48(void)
{
    double r;
    drand48_r(&d48, &r);
    return r;
}

double ckpt_erand48(unsigned short xsubi[3])
{
    double r;
    erand48_r(xsubi, &d48, &r);
    return r;
}

long ckpt_lrand48(void)
{
    long r;
    lrand48_r(&d48, &r);
    return r;
}

long ckpt_nrand48(unsigned short xsubi[3])
{
    long r;
    nrand48_r(xsubi, &d48, &r);
    return r;
}

long ckpt_mrand48(void)
{
    long r;
    mrand48_r(&d48, &r);
    return r;
}

long ckpt_jrand48(unsigned short xsubi[3])
{
    long r;
    jrand48_r(xsubi, &d48, &r);
    return r;
}

void ckpt_srand48(long seedval)
{
    srand48_r(seedval, &d48);
}

unsigned short *ckpt_seed48(unsigned short seed16v[3])
{
    seed48_r(seed16v, &d48);
    return d48.__old_x;      /* the previous seed, as glibc's seed48 */
}

void ckpt_lcong48(unsigned short param[7])
{
    lcong48_r(param, &d48);
}

/* ---- strtok ---- */

static struct {
    char *pos;              /* strtok_r's position in the program's string */
    int32_t at_end;         /* pos is at the string's end: strtok(NULL) gives NULL */
} tok;
static char *tok_saved;     /* pos as saved: NULL once at the end */

char *ckpt_strtok(char *str, const char *delim)
{
    /* finished before a restart, or never started (where glibc would crash) */
    if (!str && !tok.pos)
        return NULL;
    char *t = strtok_r(str, delim, &tok.pos);
    tok.at_end = *tok.pos == '\0';
    return t;
}

/* ---- getenv ---- */

#define ENV_POOL 65536
/* One record per answer: '=' (set) or '!' (unset), the name and NUL, the
 * value and NUL (empty when unset).  The latest record of a name is its
 * answer. */
static struct {
    size_t used;
    char bytes[ENV_POOL];
} env;

/* After a restart: the new environment's value of each name asked before
 * (malloc'd, NULL when unset), by record offset; not saved. */
static struct env_base {
    size_t rec;
    char *value;
    int set;
} *bases;
static int nbases, maxbases;

static const char *rec_name(size_t off)
{
    return env.bytes + off + 1;
}

static char *rec_value(size_t off)
{
    return env.bytes + off + 2 + strlen(rec_name(off));
}

static size_t rec_next(size_t off)
{
    const char *v = rec_value(off);
    return (size_t)(v - env.bytes) + strlen(v) + 1;
}

/* Offset of the latest record of name, or (size_t)-1. */
static size_t env_latest(const char *name)
{
    size_t found = (size_t)-1;
    for (size_t off = 0; off < env.used; off = rec_next(off))
        if (strcmp(rec_name(off), name) == 0)
            found = off;
    return found;
}

/* Whether record off says what the environment says now (value, NULL if unset). */
static int env_same(size_t off, const char *value)
{
    if (env.bytes[off] == '!')
        return value == NULL;
    return value && strcmp(rec_value(off), value) == 0;
}

static char *env_answer(size_t off)
{
    return env.bytes[off] == '!' ? NULL : rec_value(off);
}

char *ckpt_getenv(const char *name)
{
    static int full_said;
    char *value = getenv(name);
    size_t off = env_latest(name);
    if (off != (size_t)-1) {
        if (env_same(off, value))
            return env_answer(off);
        /* restored: what the task saw before, unless the environment changed since */
        for (int i = 0; i < nbases; i++)
            if (bases[i].rec == off) {
                if (bases[i].set ? value && strcmp(bases[i].value, value) == 0 : !value)
                    return env_answer(off);
                break;
            }
    }
    size_t nlen = strlen(name), vlen = value ? strlen(value) : 0;
    if (nlen + vlen + 3 > ENV_POOL - env.used) {
        if (!full_said++)
            pr_warn("getenv(\"%s\"): the %d bytes kept for environment values are full; "
                    "from now on getenv returns the environment's own strings, "
                    "which a restart does not keep",
                    name, ENV_POOL);
        return value;
    }
    off = env.used;
    char *p = env.bytes + off;
    *p++ = value ? '=' : '!';
    memcpy(p, name, nlen + 1);
    p += nlen + 1;
    memcpy(p, value ? value : "", vlen + 1);
    env.used += nlen + vlen + 3;
    return env_answer(off);
}

/* Restored: each name's value in the new environment, against which
 * ckpt_getenv tells a change made since from the restart's own. */
static void env_restored(void)
{
    for (size_t off = 0; off < env.used; off = rec_next(off)) {
        if (env_latest(rec_name(off)) != off)
            continue;
        struct env_base *b = ckpt__grow(bases, &maxbases, nbases + 1, sizeof *b);
        if (!b)
            ckpt__die("out of memory restoring the environment's values");
        bases = b;
        const char *now = getenv(rec_name(off));
        b[nbases].rec = off;
        b[nbases].set = now != NULL;
        b[nbases].value = now ? strdup(now) : NULL;
        if (now && !b[nbases].value)
            ckpt__die("out of memory restoring the environment's values");
        nbases++;
    }
}

/* ---- the image: a frame "<libc>" ---- */

/* The saved variables, by name; their sizes are the ones written, except
 * the pool's, which is as long as it is used. */
static struct ckpt_var vars[] = {
    {&rnd, sizeof rnd, sizeof(int32_t), 0, "<libc>:random", CKPT_KIND_DATA, 1},
    {&rd.rand_type, RD_INTS, sizeof(int), 0, "<libc>:random.type", CKPT_KIND_DATA, 1},
    {&rd.fptr, sizeof rd.fptr, sizeof rd.fptr, 0, "<libc>:random.fptr", CKPT_KIND_POINTER, 1},
    {&rd.rptr, sizeof rd.rptr, sizeof rd.rptr, 0, "<libc>:random.rptr", CKPT_KIND_POINTER, 1},
    {&rd.state, sizeof rd.state, sizeof rd.state, 0, "<libc>:random.state", CKPT_KIND_POINTER, 1},
    {&rd.end_ptr, sizeof rd.end_ptr, sizeof rd.end_ptr, 0, "<libc>:random.end", CKPT_KIND_POINTER, 1},
    {&d48, sizeof d48, sizeof(unsigned short), 0, "<libc>:drand48", CKPT_KIND_DATA, 1},
    {&tok.at_end, sizeof tok.at_end, sizeof tok.at_end, 0, "<libc>:strtok.end", CKPT_KIND_DATA, 1},
    {&tok_saved, sizeof tok_saved, sizeof tok_saved, 0, "<libc>:strtok", CKPT_KIND_POINTER, 1},
    {env.bytes, 0, 1, 0, "<libc>:getenv", CKPT_KIND_DATA, 1},
};
#define NVARS (int)(sizeof vars / sizeof vars[0])
#define V_ENV (NVARS - 1)

int ckpt__libc_write(struct ckpt_imgw *w)
{
    struct ckpt_var *v[NVARS];
    int idx[NVARS];
    tok_saved = tok.at_end ? NULL : tok.pos;
    vars[V_ENV].size = env.used;
    for (int i = 0; i < NVARS; i++) {
        v[i] = &vars[i];
        idx[i] = i;
    }
    return ckpt__frame_write(w, "<libc>", -1, 0, v, idx, NVARS);
}

int ckpt__libc_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *fs = ckpt__next_section(c, CKPT_SEC_FRAME, "<libc>");
    struct ckpt_saved_var *sv;
    int n, site;
    if (!fs)
        return -EINVAL;
    int err = ckpt__frame_read(c, fs, CKPT_SEC_GLOBAL, &sv, &n, &site);
    if (err)
        return err;
    for (int k = 0; k < n; k++) {
        int j = 0;
        while (j < NVARS && strcmp(vars[j].name, sv[k].name) != 0)
            j++;
        if (j == NVARS) {
            pr_warn("saved C library state %s is not known to this runtime; skipped", sv[k].name);
            continue;
        }
        struct ckpt_var *v = &vars[j];
        if (j == V_ENV && sv[k].size <= ENV_POOL)
            v->size = env.used = (size_t)sv[k].size;
        if (v->size != sv[k].size || v->kind != (unsigned)sv[k].kind)
            ckpt__die("C library state %s changed size or kind since the checkpoint", sv[k].name);
        if (v->addr == &tok_saved)
            v->addr = &tok.pos;     /* translated into the position itself */
        ckpt__restore_bytes(&sv[k], v);
        if (v->addr == &tok.pos)
            v->addr = &tok_saved;
    }
    free(sv);
    env_restored();
    return 0;
}
