/*
 * slowstart: a root that spawns its workers in waves, each worker slow to
 * reach main (a constructor that takes SLOW ms, as a big executable on a
 * network file system or a loaded host would), so that checkpoints are
 * requested while the root has spawned a worker that has not said a word
 * yet.  Each wave's workers answer ROUNDS questions and leave once the next
 * wave is there; after a restart on a new pvmd, the next wave gets as real
 * task ids the virtual ids of the restored workers still running.
 *   slowstart WAVES ROUNDS [SLOW]
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pvm3.h>

#define NWORK 2
#define TAG_ASK 1
#define TAG_ANSWER 2

/* glibc hands argc and argv to constructors: a worker's argv[1] is "w". */
__attribute__((constructor)) static void slow_start(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "w") == 0) {
        long ms = atol(argv[2]);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void worker(int parent)
{
    int q;
    long a;
    #pragma CKPT_SAVE(parent, q, a)
    for (;;) {
        pvm_recv(parent, TAG_ASK);
        pvm_upkint(&q, 1, 1);
        if (q < 0)
            break;
        a = (long)q * q;
        pvm_initsend(PvmDataDefault);
        pvm_pklong(&a, 1, 1);
        pvm_send(parent, TAG_ANSWER);
    }
}

/* A wave's workers leave once the next wave is there. */
static void stop(int *tids)
{
    int q = -1;
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&q, 1, 1);
    pvm_mcast(tids, NWORK, TAG_ASK);
}

int main(int argc, char **argv)
{
    int parent = pvm_parent();
    int waves, rounds, tids[NWORK], next[NWORK], wave, r, k, q;
    long a, sum, slow;
    static char ms[32], *args[3] = {"w", ms, NULL};
    #pragma CKPT_SAVE(parent, waves, rounds, tids, next, wave, r, k, q, a, sum, slow)
    if (parent > 0) {
        worker(parent);
        pvm_exit();
        return 0;
    }
    waves = argc > 1 ? atoi(argv[1]) : 3;
    rounds = argc > 2 ? atoi(argv[2]) : 200;
    slow = argc > 3 ? atol(argv[3]) : 1000;
    for (wave = 0; wave < waves; wave++) {
        snprintf(ms, sizeof ms, "%ld", slow);
        if (pvm_spawn(argv[0], args, PvmTaskDefault, "", NWORK, next) != NWORK) {
            fprintf(stderr, "slowstart: cannot spawn wave %d\n", wave);
            pvm_exit();
            return 1;
        }
        if (wave > 0)
            stop(tids);
        for (k = 0; k < NWORK; k++)
            tids[k] = next[k];
        sum = 0;
        for (r = 0; r < rounds; r++)
            for (k = 0; k < NWORK; k++) {
                q = wave * 1000 + r * NWORK + k;
                pvm_initsend(PvmDataDefault);
                pvm_pkint(&q, 1, 1);
                pvm_send(tids[k], TAG_ASK);
                pvm_recv(tids[k], TAG_ANSWER);
                pvm_upklong(&a, 1, 1);
                sum += a % 9973;
            }
        printf("wave %d: %ld\n", wave, sum);
        fflush(stdout);
    }
    stop(tids);
    pvm_exit();
    return 0;
}
