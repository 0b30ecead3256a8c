/*
 * staticjob: a PVM job whose large state changes little between checkpoints,
 * the case incremental checkpoints are for (bench/staticbench.sh, issue 16).
 *
 *   staticjob MIB ITERS STRIDE STEPS [NTASKS]
 *
 * Every task mallocs MIB MiB of doubles and fills them deterministically
 * (values in (0,1), as incompressible as measured data), then runs ITERS
 * iterations.  Iteration `it` rewrites one contiguous window of 5 % of the
 * task's array, starting at (rank * len / NTASKS + it * STRIDE) mod len
 * (wrapping at the end): each element goes STEPS times through the logistic
 * map x -> 3.9 x (1 - x).  The window thus creeps along by STRIDE doubles per
 * iteration: over a whole run it visits much of the array, but between two
 * checkpoints only the window and the ground it moved over are written.
 * After each window the task sends the window's sum to its right neighbour
 * in a ring (pvm_send) and receives its left neighbour's (pvm_recv), folding
 * it into a running value.  At the end every task sends the sum of its
 * whole array and that running value to the root, which prints one line
 * per task, in rank order; the output depends on nothing but the arguments:
 *
 *   staticjob: 4 tasks x 256 MiB, 3000 iterations, stride 2000, 8 steps
 *   task 0 sum 1.6777123456e+07 ring 1.2345678901e+05
 *   ...
 *
 * Started from the shell (or by ckpt-run) as one task, it spawns NTASKS-1
 * copies of itself (default NTASKS 4; argument "-c" marks a copy), as
 * samples/jacobi does.  Plain C11 and PVM only: bench/staticbench.sh builds
 * it once with cc and once with ckpt-cc.
 */
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvm3.h>

#define MAXTASKS 64
#define TAG_TIDS 1
#define TAG_RING 2
#define TAG_SUM 3

static int rank, ntasks;
static int tids[MAXTASKS];

static void die(const char *what, int code)
{
    fprintf(stderr, "staticjob: %s failed (%d)\n", what, code);
    pvm_exit();
    exit(1);
}

/* splitmix64: the deterministic fill */
static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* STEPS rounds of the logistic map on a[from..to), returns their sum; in
 * blocks that stay in the L1 cache, the element loop inside (independent
 * elements: vectorised, so an element-step costs the same whatever STEPS) */
#define BLOCK 256
static double churn(double *a, size_t from, size_t to, int steps)
{
    double s = 0.0;
    for (size_t b = from; b < to; b += BLOCK) {
        size_t n = to - b < BLOCK ? to - b : BLOCK;
        double *x = a + b;
        for (int i = 0; i < steps; i++)
            for (size_t k = 0; k < n; k++)
                x[k] = 3.9 * x[k] * (1.0 - x[k]);
        for (size_t k = 0; k < n; k++)
            s += x[k];
    }
    return s;
}

static void form_group(int argc, char **argv)
{
    int me = pvm_mytid();
    if (me < 0) {
        fprintf(stderr, "staticjob: no pvmd\n");
        exit(1);
    }
    if (argc > 1 && strcmp(argv[1], "-c") == 0) {
        if (pvm_recv(pvm_parent(), TAG_TIDS) < 0)
            die("pvm_recv tids", 0);
        pvm_upkint(&ntasks, 1, 1);
        pvm_upkint(tids, ntasks, 1);
    } else {
        char *cargv[8];
        int n;
        tids[0] = me;
        cargv[0] = "-c";
        for (n = 1; n < argc && n < 7; n++)
            cargv[n] = argv[n];
        cargv[n] = NULL;
        if (ntasks > 1) {
            n = pvm_spawn(basename(argv[0]), cargv, PvmTaskDefault, "", ntasks - 1, tids + 1);
            if (n != ntasks - 1)
                die("pvm_spawn", n);
            pvm_initsend(PvmDataDefault);
            pvm_pkint(&ntasks, 1, 1);
            pvm_pkint(tids, ntasks, 1);
            pvm_mcast(tids + 1, ntasks - 1, TAG_TIDS);
        }
    }
    for (rank = 0; rank < ntasks && tids[rank] != me; rank++)
        ;
    if (rank == ntasks)
        die("finding myself among the tasks", me);
}

int main(int argc, char **argv)
{
    int a = argc > 1 && strcmp(argv[1], "-c") == 0; /* skip the copy marker */
    if (argc - a < 5) {
        fprintf(stderr, "usage: staticjob MIB ITERS STRIDE STEPS [NTASKS]\n");
        return 2;
    }
    long mib = atol(argv[1 + a]);
    long iters = atol(argv[2 + a]);
    long stride = atol(argv[3 + a]);
    int steps = atoi(argv[4 + a]);
    ntasks = argc - a > 5 ? atoi(argv[5 + a]) : 4;
    if (mib < 1 || iters < 1 || stride < 0 || steps < 1 || ntasks < 1 || ntasks > MAXTASKS) {
        fprintf(stderr, "staticjob: bad arguments\n");
        return 2;
    }
    form_group(argc, argv);

    size_t len = (size_t)mib * (1024 * 1024 / sizeof(double));
    size_t win = len / 20;
    double *v = malloc(len * sizeof *v);
    if (!v)
        die("malloc", (int)mib);
    for (size_t k = 0; k < len; k++)    /* in (0, 1): 53 random bits, never 0 */
        v[k] = ((double)(mix(k ^ ((uint64_t)rank << 48)) >> 11) + 0.5) / 9007199254740992.0;

    int right = tids[(rank + 1) % ntasks], left = tids[(rank + ntasks - 1) % ntasks];
    double ring = 0.0;
    size_t base = (size_t)rank * (len / (size_t)ntasks);
    for (long it = 0; it < iters; it++) {
        size_t from = (base + (size_t)it * (size_t)stride) % len, to = from + win;
        double s;
        if (to <= len) {
            s = churn(v, from, to, steps);
        } else {
            s = churn(v, from, len, steps);
            s += churn(v, 0, to - len, steps);
        }
        if (ntasks > 1) {
            pvm_initsend(PvmDataRaw);
            pvm_pkdouble(&s, 1, 1);
            if (pvm_send(right, TAG_RING) < 0)
                die("pvm_send", rank);
            if (pvm_recv(left, TAG_RING) < 0)
                die("pvm_recv", rank);
            pvm_upkdouble(&s, 1, 1);
        }
        ring = 0.5 * ring + s;
    }

    double sum = 0.0;
    for (size_t k = 0; k < len; k++)
        sum += v[k];
    if (rank != 0) {
        pvm_initsend(PvmDataRaw);
        pvm_pkdouble(&sum, 1, 1);
        pvm_pkdouble(&ring, 1, 1);
        if (pvm_send(tids[0], TAG_SUM) < 0)
            die("pvm_send sum", rank);
    } else {
        printf("staticjob: %d tasks x %ld MiB, %ld iterations, stride %ld, %d steps\n", ntasks, mib,
               iters, stride, steps);
        printf("task 0 sum %.10e ring %.10e\n", sum, ring);
        for (int r = 1; r < ntasks; r++) {
            double rs, rr;
            if (pvm_recv(tids[r], TAG_SUM) < 0)
                die("pvm_recv sum", r);
            pvm_upkdouble(&rs, 1, 1);
            pvm_upkdouble(&rr, 1, 1);
            printf("task %d sum %.10e ring %.10e\n", r, rs, rr);
        }
    }
    free(v);
    pvm_exit();
    return 0;
}
