/*
 * master: counts and sums the primes below NTASKS*CHUNK with W workers.
 *
 *   master W NTASKS CHUNK
 *
 * The master spawns W copies of `worker`, multicasts the work parameters
 * (CHUNK), and hands out tasks: task k is the range [k*CHUNK, (k+1)*CHUNK).
 * Each worker gets one task at a time; results come back with a wildcard
 * pvm_recv(-1, TAG_RESULT), in whatever order the workers finish, and the
 * worker that sent a result gets the next task.  The results are printed in
 * task order, so the output is deterministic:
 *
 *   master: 3 workers, 20 tasks, chunk 5000
 *   task 0 [0,5000) primes 669 sum 1548136
 *   ...
 *   total primes 9592 sum 454396537
 *
 * Workers use trial division on purpose: CHUNK sets how long a task takes
 * (tests: `master 3 20 5000`, well under a second; benchmarks:
 * `master 2 200 500000`, the primes below 10^8, a minute or more).
 */
#include <stdio.h>
#include <stdlib.h>

#include <pvm3.h>

#include "mw.h"

static void die(const char *what, int code)
{
    fprintf(stderr, "master: %s failed (%d)\n", what, code);
    pvm_exit();
    exit(1);
}

/* Start the workers and tell all of them the chunk size. */
static void start_workers(int nw, int *wtids, long chunk)
{
    int n = pvm_spawn(WORKER_NAME, NULL, PvmTaskDefault, "", nw, wtids);
    #pragma CKPT_SAVE(n)
    if (n < nw)
        die("pvm_spawn of " WORKER_NAME, n < 0 ? n : wtids[n]);
    pvm_initsend(PvmDataDefault);
    pvm_pklong(&chunk, 1, 1);
    if (pvm_mcast(wtids, nw, TAG_PARAMS) < 0)
        die("pvm_mcast", 0);
}

/* Give task k to worker tid (k < 0: no more work, the worker stops). */
static void assign(int tid, int k)
{
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&k, 1, 1);
    if (pvm_send(tid, TAG_TASK) < 0)
        die("pvm_send", tid);
}

/* Wait for any worker's result; stores it and returns the worker's tid. */
static int collect(struct result *res)
{
    int bufid = pvm_recv(-1, TAG_RESULT), bytes, tag, tid, k;
    struct result r;
    #pragma CKPT_SAVE(bufid)
    if (bufid < 0)
        die("pvm_recv", bufid);
    pvm_bufinfo(bufid, &bytes, &tag, &tid);
    pvm_upkint(&k, 1, 1);
    pvm_upklong(&r.count, 1, 1);
    pvm_upkulong(&r.sum, 1, 1);
    res[k] = r;
    return tid;
}

/* Hand out every task, one at a time per worker, until all are back. */
static void farm(int nw, int *wtids, int ntasks, struct result *res)
{
    int next, done, w, tid, k;
    #pragma CKPT_SAVE(next, done, w, tid, k)
    /* next: the first task not handed out yet; done: results received.
     * Together with res[] they say exactly which work is still out.
     * w, tid, k: the worker being served and its task when a send is a safe
     * point (k is taken in a statement of its own: a call that can reach a
     * safe point is made again on restart, and next++ must not be). */
    next = 0;
    done = 0;
    for (w = 0; w < nw; w++) {
        k = next < ntasks ? next++ : -1;
        assign(wtids[w], k);
    }
    while (done < ntasks) {
        tid = collect(res);
        done++;
        k = next < ntasks ? next++ : -1;
        assign(tid, k);
    }
}

int main(int argc, char **argv)
{
    int nw, ntasks, k;
    long chunk;
    int *wtids;
    struct result *res;
    long total;
    unsigned long sum;

    if (argc != 4) {
        fprintf(stderr, "usage: master WORKERS NTASKS CHUNK\n");
        return 2;
    }
    nw = atoi(argv[1]);
    ntasks = atoi(argv[2]);
    chunk = atol(argv[3]);
    if (nw < 1 || ntasks < 1 || chunk < 1) {
        fprintf(stderr, "master: bad arguments\n");
        return 2;
    }
    wtids = malloc(nw * sizeof *wtids);
    res = calloc(ntasks, sizeof *res);
    /* Saved: the problem (nw, ntasks, chunk), the workers' task ids (they do
     * not change across a restart), and res[], every result received so far,
     * which after a rollback must not be asked for again. */
    #pragma CKPT_SAVE(nw, ntasks, chunk, wtids[nw], res[ntasks])
    if (!wtids || !res)
        die("malloc", 0);
    if (pvm_mytid() < 0)
        die("pvm_mytid", 0);

    printf("master: %d workers, %d tasks, chunk %ld\n", nw, ntasks, chunk);
    start_workers(nw, wtids, chunk);
    farm(nw, wtids, ntasks, res);

    total = 0;
    sum = 0;
    for (k = 0; k < ntasks; k++) {
        printf("task %d [%ld,%ld) primes %ld sum %lu\n", k, k * chunk, (k + 1) * chunk,
               res[k].count, res[k].sum);
        total += res[k].count;
        sum += res[k].sum;
    }
    printf("total primes %ld sum %lu\n", total, sum);
    free(res);
    free(wtids);
    pvm_exit();
    return 0;
}
