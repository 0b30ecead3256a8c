/* mw.h: what the master and its workers agree on. */
#ifndef MW_H
#define MW_H

#define WORKER_NAME "worker"

#define TAG_PARAMS 10 /* master -> all workers (mcast): long chunk */
#define TAG_TASK 11   /* master -> worker: int k, the task; k < 0: stop */
#define TAG_RESULT 12 /* worker -> master: int k, long count, unsigned long sum */

struct result {
    long count;        /* primes in [k*chunk, (k+1)*chunk) */
    unsigned long sum; /* their sum (mod 2^64) */
};

#endif
