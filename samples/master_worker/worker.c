/*
 * worker: the master's helper (see master.c).  Receives the chunk size by
 * multicast, then tasks one at a time; for task k it counts and sums the
 * primes in [k*chunk, (k+1)*chunk) by trial division and sends them back.
 * A task number below 0 means stop.  Prints nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include <pvm3.h>

#include "mw.h"

/* Saved: master (where results go), chunk (the work parameter, received once,
 * never sent again), and ntasks_done (how many tasks this worker finished:
 * a statistic a user would keep, and a cheap check after a rollback). */
int master;
long chunk;
long ntasks_done;
#pragma CKPT_SAVE(master, chunk, ntasks_done)

static int is_prime(long n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

static void get_params(void)
{
    pvm_recv(master, TAG_PARAMS);
    pvm_upklong(&chunk, 1, 1);
}

/* The next task from the master, or -1. */
static int get_task(void)
{
    int k;
    pvm_recv(master, TAG_TASK);
    pvm_upkint(&k, 1, 1);
    return k;
}

static void send_result(int k, long count, unsigned long sum)
{
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&k, 1, 1);
    pvm_pklong(&count, 1, 1);
    pvm_pkulong(&sum, 1, 1);
    pvm_send(master, TAG_RESULT);
}

static void work(void)
{
    int k;
    long count;
    unsigned long sum;
    /* k, count, sum: the task in hand and its result, live across the
     * send that is a safe point. */
    #pragma CKPT_SAVE(k, count, sum)
    while ((k = get_task()) >= 0) {
        count = 0;
        sum = 0;
        for (long n = k * chunk; n < (k + 1) * chunk; n++)
            if (is_prime(n)) {
                count++;
                sum += n;
            }
        send_result(k, count, sum);
        ntasks_done++;
    }
}

int main(void)
{
    if (pvm_mytid() < 0)
        return 1;
    master = pvm_parent();
    if (master < 0) {
        fprintf(stderr, "worker: must be spawned by master\n");
        pvm_exit();
        return 1;
    }
    get_params();
    work();
    pvm_exit();
    return 0;
}
