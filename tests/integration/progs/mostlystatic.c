/*
 * mostlystatic: workers whose large state changes a little at a time, the
 * case incremental checkpoints are for.  Each of NW workers allocates MIB
 * MiB of doubles (malloc: the heap arena), fills them, then for ROUNDS rounds
 * rewrites a 32 KiB window that moves through the array (most of it stays as
 * it was from one checkpoint to the next), and sends the master a checksum
 * of the window; at the end, a checksum of the whole array.  A 2 MiB global
 * table and a 2 MiB local one change an element now and then, and a 4 MiB
 * block is never written after it is filled: its chunks are always the last
 * image's.
 * The master prints every 50th round's sums and the final ones.  No pragma.
 *   mostlystatic NW ROUNDS MIB
 * Expectation: the output of a failure-free plain run, whatever is killed,
 * recovering from incremental checkpoints (zdtm --expect-incremental).
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#define WINDOW (32 * 1024 / sizeof(double))
#define GLOBN (256 * 1024)
#define LOCN (256 * 1024)
#define FIXEDN (512 * 1024)

static double glob[GLOBN];

static double sum(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * (double)(i % 7 + 1);
    return s;
}

static void worker(int parent)
{
    int me, rounds, mib;
    pvm_recv(parent, 1);
    pvm_upkint(&me, 1, 1);
    pvm_upkint(&rounds, 1, 1);
    pvm_upkint(&mib, 1, 1);
    size_t n = (size_t)mib * 1024 * 1024 / sizeof(double);
    double *a = malloc(n * sizeof *a);
    if (!a)
        exit(1);
    double loc[LOCN];
    double *fixed = malloc(FIXEDN * sizeof *fixed);
    if (!fixed)
        exit(1);
    for (size_t i = 0; i < FIXEDN; i++)
        fixed[i] = (double)(i % 4099) * 0.25;
    for (size_t i = 0; i < n; i++)
        a[i] = (double)((i * 2654435761u + (size_t)me) % 1000003) / 7.0;
    for (size_t i = 0; i < GLOBN; i++)
        glob[i] = (double)(i % 1009) + me;
    for (size_t i = 0; i < LOCN; i++)
        loc[i] = (double)(i % 101) - me;
    for (int r = 0; r < rounds; r++) {
        /* the window moves by a third of itself every 16 rounds */
        size_t at = (size_t)(r / 16) * (WINDOW / 3) % (n - WINDOW);
        for (int sweep = 0; sweep < 20; sweep++)
            for (size_t i = at; i < at + WINDOW; i++)
                a[i] = a[i] * 0.999 + (double)((i + (size_t)r + (size_t)sweep) % 17);
        glob[(size_t)(r / 16) * 97 % GLOBN] += 1.0;
        loc[(size_t)(r / 16) * 13 % LOCN] -= 0.5;
        double s = sum(a + at, WINDOW);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&r, 1, 1);
        pvm_pkdouble(&s, 1, 1);
        pvm_send(parent, 2);
    }
    double total = sum(a, n) + sum(glob, GLOBN) + sum(loc, LOCN) + sum(fixed, FIXEDN);
    pvm_initsend(PvmDataDefault);
    pvm_pkdouble(&total, 1, 1);
    pvm_send(parent, 3);
    free(a);
    free(fixed);
}

int main(int argc, char **argv)
{
    int nw = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 1000;
    int mib = argc > 3 ? atoi(argv[3]) : 8;
    int tids[16];
    if (pvm_parent() > 0) {
        worker(pvm_parent());
        pvm_exit();
        return 0;
    }
    if (nw < 1 || nw > 16 || pvm_spawn(argv[0], NULL, PvmTaskDefault, "", nw, tids) != nw) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    for (int w = 0; w < nw; w++) {
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&w, 1, 1);
        pvm_pkint(&rounds, 1, 1);
        pvm_pkint(&mib, 1, 1);
        pvm_send(tids[w], 1);
    }
    for (int r = 0; r < rounds; r++) {
        for (int w = 0; w < nw; w++) {
            int rr;
            double s;
            pvm_recv(tids[w], 2);
            pvm_upkint(&rr, 1, 1);
            pvm_upkdouble(&s, 1, 1);
            if (rr != r)
                printf("worker %d: round %d where %d was expected\n", w, rr, r);
            if (r % 50 == 0)
                printf("round %d worker %d %.17g\n", r, w, s);
        }
    }
    for (int w = 0; w < nw; w++) {
        double total;
        pvm_recv(tids[w], 3);
        pvm_upkdouble(&total, 1, 1);
        printf("worker %d total %.17g\n", w, total);
    }
    pvm_exit();
    return 0;
}
