/*
 * farm: a master hands out work to many short-lived workers, one after the
 * other, each a copy of this program spawned by name: the master sends a
 * worker a few blocks, takes its answer, and the worker leaves (pvm_exit).
 * The master's last few messages to each worker are never acknowledged (too
 * few for a batch), so the sender log must drop them once the worker is gone
 * for good, or it grows with the number of workers.  After the farm the
 * master idles a moment at safe points, so that checkpoints are taken with
 * every worker gone.
 *   farm WORKERS [IDLE_ROUNDS]
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#define BLOCKS 5            /* per worker: fewer than the runtime's acknowledgement batch */
#define BLOCK_INTS 1024     /* 4 KiB a block */
#define TAG_BLOCK 1
#define TAG_ANSWER 2
#define TAG_NEVER 3

static int block[BLOCK_INTS];

static void worker(int parent)
{
    int b, i;
    long sum;
    #pragma CKPT_SAVE(parent, b, i, sum)
    sum = 0;
    for (b = 0; b < BLOCKS; b++) {
        pvm_recv(parent, TAG_BLOCK);
        pvm_upkint(block, BLOCK_INTS, 1);
        for (i = 0; i < BLOCK_INTS; i++)
            sum += block[i] % 7;
    }
    pvm_initsend(PvmDataDefault);
    pvm_pklong(&sum, 1, 1);
    pvm_send(parent, TAG_ANSWER);
}

int main(int argc, char **argv)
{
    int parent = pvm_parent();
    int nworkers, idle, w, b, i, tid;
    long sum, total;
    struct timeval tick = {0, 20000};
    #pragma CKPT_SAVE(parent, nworkers, idle, w, b, i, tid, sum, total, tick)
    if (parent > 0) {
        worker(parent);
        pvm_exit();
        return 0;
    }
    nworkers = argc > 1 ? atoi(argv[1]) : 60;
    idle = argc > 2 ? atoi(argv[2]) : 30;
    total = 0;
    for (w = 0; w < nworkers; w++) {
        if (pvm_spawn(basename(argv[0]), NULL, PvmTaskDefault, "", 1, &tid) != 1) {
            fprintf(stderr, "farm: cannot spawn worker %d\n", w);
            pvm_exit();
            return 1;
        }
        for (b = 0; b < BLOCKS; b++) {
            for (i = 0; i < BLOCK_INTS; i++)
                block[i] = w * 31 + b * 7 + i;
            pvm_initsend(PvmDataDefault);
            pvm_pkint(block, BLOCK_INTS, 1);
            pvm_send(tid, TAG_BLOCK);
        }
        pvm_recv(tid, TAG_ANSWER);
        pvm_upklong(&sum, 1, 1);
        total += sum;
        if (w % 10 == 0) {
            printf("worker %d: %ld (total %ld)\n", w, sum, total);
            fflush(stdout);
        }
    }
    /* Nothing comes: safe points while checkpoints go on without workers. */
    for (i = 0; i < idle; i++)
        pvm_trecv(-1, TAG_NEVER, &tick);
    printf("%d workers, total %ld\n", nworkers, total);
    pvm_exit();
    return 0;
}
