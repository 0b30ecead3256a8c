/*
 * exits: a consumer spawns producers that each send their values and leave
 * (pvm_exit) at staggered times, while the consumer takes their values one
 * producer after the other.  A producer that leaves just after the
 * consumer's cut of a checkpoint has values in transit across it, and is no
 * longer there to replay them after a rollback: its final image must.
 *   exits PRODUCERS VALUES
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pvm3.h>

static void producer(int rank, int values)
{
    int consumer = pvm_parent(), i, v;
    #pragma CKPT_SAVE(consumer, i, v, rank, values)
    usleep(40000 * (unsigned)rank);     /* leave at different moments */
    for (i = 0; i < values; i++) {
        v = rank * 100000 + i;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(consumer, 1);
        if (i % 16 == 0)
            usleep(1000);
    }
}

int main(int argc, char **argv)
{
    int nprod, values, tids[64], p, i, v, rank = 0;
    long sum;
    #pragma CKPT_SAVE(nprod, values, tids, p, i, v, sum, rank)
    nprod = argc > 1 ? atoi(argv[1]) : 4;
    values = argc > 2 ? atoi(argv[2]) : 1000;
    if (nprod < 1 || nprod > 64)
        return 2;
    if (pvm_parent() > 0) {
        int *sib, n = pvm_siblings(&sib), me = pvm_mytid();
        for (int k = 0; k < n; k++)
            if (sib[k] == me)
                rank = k;
        producer(rank, values);
        pvm_exit();
        return 0;
    }
    if (pvm_spawn(argv[0], argv + 1, PvmTaskDefault, "", nprod, tids) != nprod) {
        fprintf(stderr, "exits: cannot spawn the producers\n");
        return 1;
    }
    for (p = 0; p < nprod; p++) {
        sum = 0;
        for (i = 0; i < values; i++) {
            pvm_recv(tids[p], 1);
            pvm_upkint(&v, 1, 1);
            sum += v;
        }
        printf("producer %d: %d values, sum %ld\n", p, values, sum);
        fflush(stdout);
        usleep(150000);     /* time for a kill after the producers are gone */
    }
    pvm_exit();
    return 0;
}
