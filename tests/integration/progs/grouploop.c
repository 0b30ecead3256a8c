/*
 * grouploop: a root and its copies join and leave group "loop" over and
 * over, with a little work in between and no other PVM call, then send the
 * root what they computed.  pvm_joingroup and pvm_lvgroup are the loop's
 * only safe points: a checkpoint must still commit while it runs, and a
 * task killed there must come back with its groups right.
 *   grouploop TASKS ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pvm3.h>

#define MAXT 8

/* The loop every task runs; returns what it computed. */
static long churn(int rank, int rounds)
{
    int r, inst;
    long acc = 0;
    #pragma CKPT_SAVE(rank, rounds, r, inst, acc)
    for (r = 0; r < rounds; r++) {
        inst = pvm_joingroup("loop");
        if (inst < 0) {
            fprintf(stderr, "grouploop: pvm_joingroup failed (%d)\n", inst);
            exit(1);
        }
        acc += (long)(rank + 1) * r % 97;
        usleep(3000);
        if (pvm_lvgroup("loop") < 0) {
            fprintf(stderr, "grouploop: pvm_lvgroup failed\n");
            exit(1);
        }
    }
    return acc;
}

int main(int argc, char **argv)
{
    int ntasks, rounds, tids[MAXT], k, rank;
    long acc, got;
    #pragma CKPT_SAVE(ntasks, rounds, tids, k, rank, acc, got)
    ntasks = argc > 1 ? atoi(argv[1]) : 2;
    rounds = argc > 2 ? atoi(argv[2]) : 300;
    if (ntasks < 1 || ntasks > MAXT)
        return 2;
    if (pvm_parent() > 0) {
        int *sib, n = pvm_siblings(&sib), me = pvm_mytid();
        for (k = 0; k < n; k++)
            if (sib[k] == me)
                rank = k + 1;
        acc = churn(rank, rounds);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&rank, 1, 1);
        pvm_pklong(&acc, 1, 1);
        pvm_send(pvm_parent(), 1);
        pvm_exit();
        return 0;
    }
    if (ntasks > 1 && pvm_spawn(argv[0], argv + 1, PvmTaskDefault, "", ntasks - 1, tids) != ntasks - 1) {
        fprintf(stderr, "grouploop: cannot spawn\n");
        return 1;
    }
    acc = churn(0, rounds);
    printf("task 0: %ld\n", acc);
    for (k = 1; k < ntasks; k++) {
        pvm_recv(tids[k - 1], 1);
        pvm_upkint(&rank, 1, 1);
        pvm_upklong(&got, 1, 1);
        printf("task %d: %ld\n", rank, got);
    }
    pvm_exit();
    return 0;
}
