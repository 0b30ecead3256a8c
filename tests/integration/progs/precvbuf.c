/*
 * precvbuf: a worker unpacks the first half of a message, then waits in
 * pvm_precv for another one before it unpacks the second half: pvm_precv
 * leaves the active receive buffer alone, so the second half must still be
 * there.  The master takes its time before the pvm_psend, so most
 * checkpoints of the worker are taken inside that pvm_precv, with a partly
 * unpacked message active, and a rollback resumes there.
 *   precvbuf ROUNDS [raw]
 * raw: the message is PvmDataRaw and begins with 3 bytes, so the worker waits
 * 7 bytes into it (a restarted task found its place by a unit of 4 bytes).
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pvm3.h>

#define TAG_PAIR 1
#define TAG_ONE 2
#define TAG_BACK 3

static void worker(int parent, int raw)
{
    int first, second, one, rtid, rtag, rlen, back;
    char head[4] = "";
    #pragma CKPT_SAVE(parent, raw, first, second, one, rtid, rtag, rlen, back, head)
    for (;;) {
        pvm_recv(parent, TAG_PAIR);
        if (raw)
            pvm_upkbyte(head, 3, 1);
        pvm_upkint(&first, 1, 1);
        if (first < 0)
            break;
        pvm_precv(parent, TAG_ONE, &one, 1, PVM_INT, &rtid, &rtag, &rlen);
        if (pvm_upkint(&second, 1, 1) < 0)
            second = -1;
        back = second == 3 * first + 1 && one == first && (!raw || !strcmp(head, "pvm")) ? first * 7 : -first;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&back, 1, 1);
        pvm_send(parent, TAG_BACK);
    }
}

int main(int argc, char **argv)
{
    int child, rounds, r, v, back, raw = argc > 2 && !strcmp(argv[2], "raw");
    long sum;
    struct timespec pause = {0, 20000000};
    #pragma CKPT_SAVE(child, rounds, r, v, back, sum, raw)
    if (pvm_parent() > 0) {
        worker(pvm_parent(), raw);
        pvm_exit();
        return 0;
    }
    rounds = argc > 1 ? atoi(argv[1]) : 100;
    char *args[] = {"-w", raw ? "raw" : NULL, NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) {
        fprintf(stderr, "precvbuf: cannot spawn the worker\n");
        return 1;
    }
    sum = 0;
    for (r = 0; r < rounds; r++) {
        pvm_initsend(raw ? PvmDataRaw : PvmDataDefault);
        if (raw)
            pvm_pkbyte("pvm", 3, 1);
        pvm_pkint(&r, 1, 1);
        v = 3 * r + 1;
        pvm_pkint(&v, 1, 1);
        pvm_send(child, TAG_PAIR);
        nanosleep(&pause, NULL);    /* the worker waits in pvm_precv meanwhile */
        pvm_psend(child, TAG_ONE, &r, 1, PVM_INT);
        pvm_recv(child, TAG_BACK);
        pvm_upkint(&back, 1, 1);
        sum += back;
        if (back != r * 7)
            printf("round %d: the worker lost the rest of its message (%d)\n", r, back);
        if (r % 10 == 0) {
            printf("round %d: sum %ld\n", r, sum);
            fflush(stdout);
        }
    }
    v = -1;
    pvm_initsend(raw ? PvmDataRaw : PvmDataDefault);
    if (raw)
        pvm_pkbyte("pvm", 3, 1);
    pvm_pkint(&v, 1, 1);
    pvm_send(child, TAG_PAIR);
    pvm_exit();
    return 0;
}
