/*
 * jacobi: 2-D heat equation on an N x N grid, Jacobi sweeps, strip decomposition.
 *
 *   jacobi N ITERS [NTASKS [K]]
 *
 * The grid's edges are fixed (top edge 1.0, the other three 0.0), the
 * interior starts at 0.0.  Each task owns a strip of consecutive interior
 * rows, with one halo row above and below that it gets from its neighbours
 * (pvm_send/pvm_recv) before every sweep.  Every K iterations (default 10)
 * and after the last, the tasks send per-row sums of squared updates to
 * the root, which prints the global residual; at the end they send per-row
 * sums of the grid, and the root prints the checksum.  The root adds the rows
 * in row order, and each grid point is computed by the same formula whatever
 * the decomposition, so the output does not depend on NTASKS:
 *
 *   jacobi: grid 64 x 64, 100 iterations
 *   iter 10 residual 1.2345678901e-02
 *   ...
 *   checksum 1.2345678901e+02
 *
 * Started in either of two ways, the output is the same:
 *  - as NTASKS sibling copies (`ckpt-run -n 4 ./jacobi 2048 500`);
 *  - as one task from the shell (`./jacobi 2048 500 4`): it has no siblings,
 *    so it spawns NTASKS-1 copies of itself (argument "-c" marks a copy).
 *
 * Memory per task: two strips of (N/NTASKS + 2) x N doubles.  N = 4096 with
 * 4 tasks is 64 MiB of saved state per task, N = 2896 is 32 MiB.
 * Sizes: tests `jacobi 24 40 3` (milliseconds); benchmarks
 * `jacobi 4096 5000 4 100` (about 90 s on two cores).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvm3.h>

#define MAXTASKS 256
#define TAG_TIDS 1
#define TAG_HALO_UP 2   /* a row travelling to the task above */
#define TAG_HALO_DOWN 3 /* a row travelling to the task below */
#define TAG_RES 4
#define TAG_SUM 5

/* Who is who, saved because a restarted task must find its neighbours again
 * (task ids do not change across a restart) and must know its strip. */
int rank, ntasks;
int tids[MAXTASKS];
#pragma CKPT_SAVE(rank, ntasks, tids)

static void die(const char *what, int code)
{
    fprintf(stderr, "jacobi: %s failed (%d)\n", what, code);
    pvm_exit();
    exit(1);
}

/* First interior row (global index, 1..n-2) of task r's strip. */
static int strip_start(int n, int r)
{
    int rows = n - 2;
    return 1 + (int)((long)rows * r / ntasks);
}

/* Send my first and last rows to my neighbours, receive their halos.
 * u has nrows+2 rows of n: row 0 and row nrows+1 are the halos.
 * The neighbours' ids come from the saved globals at each use, so no local
 * of this function needs saving. */
#define HAS_UP (rank > 0)
#define HAS_DOWN (rank < ntasks - 1)
static void exchange(double *u, int nrows, int n)
{
    if (HAS_UP) {
        pvm_initsend(PvmDataRaw);
        pvm_pkdouble(u + (size_t)1 * n, n, 1);
        if (pvm_send(tids[rank - 1], TAG_HALO_UP) < 0)
            die("pvm_send up", rank);
    }
    if (HAS_DOWN) {
        pvm_initsend(PvmDataRaw);
        pvm_pkdouble(u + (size_t)nrows * n, n, 1);
        if (pvm_send(tids[rank + 1], TAG_HALO_DOWN) < 0)
            die("pvm_send down", rank);
    }
    if (HAS_UP) {
        if (pvm_recv(tids[rank - 1], TAG_HALO_DOWN) < 0)
            die("pvm_recv up", rank);
        pvm_upkdouble(u, n, 1);
    }
    if (HAS_DOWN) {
        if (pvm_recv(tids[rank + 1], TAG_HALO_UP) < 0)
            die("pvm_recv down", rank);
        pvm_upkdouble(u + (size_t)(nrows + 1) * n, n, 1);
    }
}

/* One sweep: unew = average of u's four neighbours, on my interior rows;
 * rowres[i] = sum over row i of (unew - u)^2. */
static void sweep(const double *u, double *unew, int nrows, int n, double *rowres)
{
    for (int i = 1; i <= nrows; i++) {
        const double *up = u + (size_t)(i - 1) * n, *mid = up + n, *dn = mid + n;
        double *out = unew + (size_t)i * n, r = 0.0;
        for (int j = 1; j < n - 1; j++) {
            double v = 0.25 * (up[j] + dn[j] + mid[j - 1] + mid[j + 1]);
            double d = v - mid[j];
            r += d * d;
            out[j] = v;
        }
        rowres[i - 1] = r;
    }
}

/* Gather one value per interior row at the root, add them in row order.
 * Returns the total at the root, 0 elsewhere. */
static double reduce_rows(const double *rows, int nrows, int n, int tag)
{
    double total;
    int r;
    /* total: the sum so far; r: the task whose rows the root waits for. */
    #pragma CKPT_SAVE(total, r)
    total = 0.0;
    if (rank != 0) {
        pvm_initsend(PvmDataRaw);
        pvm_pkdouble((double *)rows, nrows, 1);
        if (pvm_send(tids[0], tag) < 0)
            die("pvm_send to root", tids[0]);
        return 0.0;
    }
    for (int i = 0; i < nrows; i++)
        total += rows[i];
    for (r = 1; r < ntasks; r++) {
        if (pvm_recv(tids[r], tag) < 0)
            die("pvm_recv from", tids[r]);
        int len = strip_start(n, r + 1) - strip_start(n, r);
        double *buf = malloc((len ? len : 1) * sizeof *buf);
        if (!buf)
            die("malloc", len);
        pvm_upkdouble(buf, len, 1);
        for (int i = 0; i < len; i++)
            total += buf[i];
        free(buf);
    }
    return total;
}

static void solve(int n, int iters, int every)
{
    int nrows = strip_start(n, rank + 1) - strip_start(n, rank);
    size_t cells = (size_t)(nrows + 2) * n;
    double *u = calloc(cells, sizeof *u);
    double *unew = calloc(cells, sizeof *unew);
    double *rowres = calloc(nrows + 1, sizeof *rowres);
    int it;
    /* Saved: it (the iteration in progress), the two strips (u holds the
     * current grid with its halos; unew's edge columns and the fixed boundary
     * rows are set once and never recomputed, so it is saved too) and
     * rowres[] (the residuals of the last sweep, sent after a safe point).
     * nrows and cells follow from n and the rank, but they are locals the
     * code uses after a resume, so they are saved too. */
    #pragma CKPT_SAVE(it, nrows, cells, u[cells], unew[cells], rowres[nrows + 1])
    if (!u || !unew || !rowres)
        die("malloc", (int)cells);
    if (rank == 0) /* the top edge is the halo above the first strip */
        for (int j = 0; j < n; j++)
            u[j] = unew[j] = 1.0;

    for (it = 1; it <= iters; it++) {
        exchange(u, nrows, n);
        sweep(u, unew, nrows, n, rowres);
        {
            double *t = u;
            u = unew;
            unew = t;
        }
        if (it % every == 0 || it == iters) {
            double res = reduce_rows(rowres, nrows, n, TAG_RES);
            if (rank == 0)
                printf("iter %d residual %.10e\n", it, res);
        }
    }
    for (int i = 0; i < nrows; i++) {
        const double *row = u + (size_t)(i + 1) * n;
        double s = 0.0;
        for (int j = 1; j < n - 1; j++)
            s += row[j];
        rowres[i] = s;
    }
    double sum = reduce_rows(rowres, nrows, n, TAG_SUM);
    if (rank == 0)
        printf("checksum %.10e\n", sum);
    free(rowres);
    free(unew);
    free(u);
}

/* Who is in the job: siblings, or the root and the copies it spawns. */
static void form_group(int argc, char **argv)
{
    int *sib, nsib, me;
    int copy = argc > 1 && strcmp(argv[1], "-c") == 0;
    /* this task's id, looked up in the list once it is known */
    #pragma CKPT_SAVE(me)
    me = pvm_mytid();

    if (copy) {
        pvm_recv(pvm_parent(), TAG_TIDS);
        pvm_upkint(&ntasks, 1, 1);
        pvm_upkint(tids, ntasks, 1);
    } else if ((nsib = pvm_siblings(&sib)) > 1) {
        if (nsib > MAXTASKS)
            die("too many siblings", nsib);
        ntasks = nsib;
        memcpy(tids, sib, nsib * sizeof *tids);
    } else {
        char *cargv[6], *name = basename(argv[0]);
        int n;
        #pragma CKPT_SAVE(n)       /* die() leaves through pvm_exit, a safe point */
        tids[0] = me;
        cargv[0] = "-c";
        for (n = 1; n < argc && n < 5; n++)
            cargv[n] = argv[n];
        cargv[n] = NULL;
        if (ntasks > 1) {
            n = pvm_spawn(name, cargv, PvmTaskDefault, "", ntasks - 1, tids + 1);
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
    int n, iters, every;
    /* The problem size, saved: main's locals are needed to call solve()
     * again when the task resumes. */
    #pragma CKPT_SAVE(n, iters, every)

    if (argc - a < 3) {
        fprintf(stderr, "usage: jacobi N ITERS [NTASKS [K]]\n");
        return 2;
    }
    n = atoi(argv[1 + a]);
    iters = atoi(argv[2 + a]);
    ntasks = argc - a > 3 ? atoi(argv[3 + a]) : 1;
    every = argc - a > 4 ? atoi(argv[4 + a]) : 10;
    if (n < 3 || iters < 1 || ntasks < 1 || ntasks > MAXTASKS || every < 1) {
        fprintf(stderr, "jacobi: bad arguments\n");
        return 2;
    }
    if (pvm_mytid() < 0) {
        fprintf(stderr, "jacobi: no pvmd\n");
        return 1;
    }
    form_group(argc, argv);
    if (ntasks > n - 2)
        die("more tasks than interior rows", ntasks);
    if (rank == 0)
        printf("jacobi: grid %d x %d, %d iterations\n", n, n, iters);
    solve(n, iters, every);
    pvm_exit();
    return 0;
}
