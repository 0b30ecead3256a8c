/*
 * selfspawn: the shape of PVM's own master/slave and SPMD examples.  One
 * executable is both: the root spawns copies of itself by name and each copy
 * tells itself apart by `int parent = pvm_parent();` at the top of main.
 * The root multicasts each round's number to its workers and takes their
 * answers with wildcard receives; a worker answers from a recursive function
 * with a safe point at its bottom; a producer copy sends its values and
 * leaves.  Every live local is saved.
 *   selfspawn ROUNDS [SPIN]
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#define NWORK 3
#define NPROD 8
#define TAG_ROUND 1
#define TAG_ANSWER 2
#define TAG_VALUE 3
#define TAG_STOP 4

static volatile double sink;

/* Works `spin` units at each level and checks for a stop at the bottom:
 * a safe point `depth` frames down. */
static long descend(int round, int depth, long spin)
{
    long k, below;
    #pragma CKPT_SAVE(round, depth, spin, k, below)
    for (k = 0; k < spin; k++)
        sink += (double)k * 0.5;
    if (depth == 0) {
        #pragma CKPT_CHECKPOINT
        return round;
    }
    below = descend(round, depth - 1, spin);
    return below * 3 + depth;
}

static void worker(int parent, int rank, long spin)
{
    int round, bufid, tag, len, src;
    long answer;
    #pragma CKPT_SAVE(parent, rank, spin, round, bufid, tag, len, src, answer)
    for (;;) {
        bufid = pvm_recv(parent, -1);
        pvm_bufinfo(bufid, &len, &tag, &src);
        if (tag == TAG_STOP)
            break;
        pvm_upkint(&round, 1, 1);
        answer = descend(round, 2 + rank, spin) + rank;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&rank, 1, 1);
        pvm_pklong(&answer, 1, 1);
        pvm_send(parent, TAG_ANSWER);
    }
}

static void producer(int parent)
{
    int i, v;
    #pragma CKPT_SAVE(parent, i, v)
    for (i = 0; i < NPROD; i++) {
        v = 1000 + i * i;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(parent, TAG_VALUE);
    }
}

/* The arguments of copy `w`: its rank, or "p" for the producer, then the
 * spin.  Built from saved values, so a resumed spawn can build them again. */
static char **copy_args(int w, long spin)
{
    static char which[16], units[32], *args[3];
    if (w < NWORK)
        snprintf(which, sizeof which, "%d", w);
    else
        snprintf(which, sizeof which, "p");
    snprintf(units, sizeof units, "%ld", spin);
    args[0] = which;
    args[1] = units;
    args[2] = NULL;
    return args;
}

int main(int argc, char **argv)
{
    int parent = pvm_parent();
    int rounds, tids[NWORK + 1], r, w, rank, v, got;
    long spin, answer, sum, total;
    #pragma CKPT_SAVE(parent, rounds, tids, r, w, rank, v, got, spin, answer, sum, total)
    spin = argc > 2 ? atol(argv[2]) : 20000;
    if (parent > 0) {
        /* a copy: argv[1] says which */
        if (strcmp(argv[1], "p") == 0)
            producer(parent);
        else
            worker(parent, atoi(argv[1]), spin);
        pvm_exit();
        return 0;
    }
    rounds = argc > 1 ? atoi(argv[1]) : 100;
    for (w = 0; w <= NWORK; w++) {
        if (pvm_spawn(basename(argv[0]), copy_args(w, spin), PvmTaskDefault, "", 1, &tids[w]) != 1) {
            fprintf(stderr, "selfspawn: cannot spawn copy %d\n", w);
            pvm_exit();
            return 1;
        }
    }
    total = 0;
    got = 0;
    for (r = 0; r < rounds; r++) {
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&r, 1, 1);
        pvm_mcast(tids, NWORK, TAG_ROUND);
        sum = 0;
        for (w = 0; w < NWORK; w++) {
            pvm_recv(-1, TAG_ANSWER);
            pvm_upkint(&rank, 1, 1);
            pvm_upklong(&answer, 1, 1);
            sum += answer * (rank + 1);
        }
        if (got < NPROD) {
            pvm_recv(tids[NWORK], TAG_VALUE);
            pvm_upkint(&v, 1, 1);
            sum += v;
            got++;
        }
        total += sum;
        if (r % 10 == 0) {
            printf("round %d: %ld (total %ld)\n", r, sum, total);
            fflush(stdout);
        }
    }
    pvm_initsend(PvmDataDefault);
    pvm_mcast(tids, NWORK, TAG_STOP);
    printf("total %ld\n", total);
    pvm_exit();
    return 0;
}
