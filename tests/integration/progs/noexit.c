/*
 * noexit: PVM programs often end without pvm_exit: a worker returns from
 * main, the master calls exit() with a status of its own.  Either is a normal
 * end, not a failure: no rollback, and ckpt-run exits with the master's status.
 * (A PVM task that leaves without pvm_exit can lose what it sent last, so each
 * worker leaves only once the master has all its values and says so, and the
 * master only once PVM has told it the workers are gone.)
 *   noexit WORKERS ROUNDS
 * Expectation: the output and exit status (3) of a failure-free plain run,
 * whatever is killed, and no recovery in a run where nothing is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

static int work(int rank, int rounds)
{
    int master = pvm_parent(), r, v = 0;
    #pragma CKPT_SAVE(master, r, v, rank, rounds)
    for (r = 0; r < rounds; r++) {
        for (int k = 0; k < 20000; k++)
            v = (v * 31 + k + rank) % 1000003;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(master, 1);
    }
    pvm_recv(master, 2);
    return 0;       /* no pvm_exit: main returns */
}

int main(int argc, char **argv)
{
    int nw, rounds, tids[16], w, r, v;
    long sum = 0;
    #pragma CKPT_SAVE(nw, rounds, tids, w, r, v, sum)
    nw = argc > 1 ? atoi(argv[1]) : 2;
    rounds = argc > 2 ? atoi(argv[2]) : 100;
    if (nw < 1 || nw > 16)
        return 2;
    if (pvm_parent() > 0) {
        int *sib, n = pvm_siblings(&sib), me = pvm_mytid(), rank = 0;
        for (int k = 0; k < n; k++)
            if (sib[k] == me)
                rank = k;
        return work(rank, rounds);
    }
    if (pvm_spawn(argv[0], argv + 1, PvmTaskDefault, "", nw, tids) != nw) {
        fprintf(stderr, "noexit: cannot spawn the workers\n");
        exit(1);
    }
    pvm_notify(PvmTaskExit, 3, nw, tids);
    for (r = 0; r < rounds; r++) {
        for (w = 0; w < nw; w++) {
            pvm_recv(tids[w], 1);
            pvm_upkint(&v, 1, 1);
            sum += v;
        }
        if (r % 10 == 9)
            printf("round %d: %ld\n", r + 1, sum);
    }
    pvm_initsend(PvmDataDefault);
    pvm_mcast(tids, nw, 2);
    for (w = 0; w < nw; w++)
        pvm_recv(-1, 3);
    fflush(stdout);
    exit(3);        /* no pvm_exit, and a status of its own */
}
