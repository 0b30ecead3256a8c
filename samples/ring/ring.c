/*
 * ring: a token passed around a ring of SPMD tasks, ROUNDS times.
 *
 *   ring ROUNDS [NTASKS [WORK]]
 *
 * Started in either of two ways, the output is the same:
 *  - as NTASKS sibling copies (`ckpt-run -n 4 ./ring 100`, the console's
 *    `spawn -4 ring 100`): pvm_siblings() lists the ring, index 0 is the root;
 *  - as one task from the shell (`./ring 100 4`): it has no siblings, so it
 *    becomes the root and spawns NTASKS-1 copies of itself (argument "-c"
 *    marks a copy), then sends them the ring's task ids.
 *
 * Every round the root starts the token at 0; each task on the way adds its
 * contribution c(rank, round) = (rank+1)*(round+1) + spin(WORK, rank, round),
 * where spin() is a deterministic busy loop (WORK=0: spin() = 0), and the
 * token comes back to the root holding the round's total.  Only the root
 * prints (a spawned task's stdout goes to the pvmd log):
 *
 *   ring: 4 tasks, 3 rounds, work 0
 *   round 0 total 10
 *   round 1 total 20
 *   round 2 total 30
 *   task 0 sum 6          (sum of its contributions: (rank+1)*R*(R+1)/2 with WORK=0)
 *   ...
 *   checksum 10000080000180  (cs = cs*1000003 + total, mod 2^64, over rounds)
 *
 * With WORK=0 every number has a closed form; tests/samples checks it.
 * Sizes: tests `ring 50 4` (milliseconds); benchmarks `ring 20000 4 1000000`
 * (WORK=10^6 is about 1.3 ms per hop: some 100 s).
 */
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pvm3.h>

#define MAXTASKS 256
#define TAG_TIDS 1
#define TAG_TOKEN 2
#define TAG_SUM 3

/* The whole state of a ring task lives in these globals.  They are saved
 * because after a rollback the task must know:
 *   rank, ntasks, tids  who it is and who its neighbours are (the ring's
 *                       task ids do not change across a restart);
 *   rounds, work        the problem size it was started with;
 *   cur_round           how far it got: the round it is in;
 *   local_sum           what it has added so far (printed at the end);
 *   checksum            the root's fold of the round totals seen so far. */
int rank, ntasks, rounds, work, cur_round;
int tids[MAXTASKS];
uint64_t local_sum, checksum;
#pragma CKPT_SAVE(rank, ntasks, rounds, work, cur_round, tids, local_sum, checksum)

static uint64_t spin(int w, int r, int k)
{
    uint64_t x = (uint64_t)(r + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(k + 1);
    for (int i = 0; i < w; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return w ? x >> 54 : 0;
}

static uint64_t contribution(int r, int k)
{
    return (uint64_t)(r + 1) * (uint64_t)(k + 1) + spin(work, r, k);
}

static void die(const char *what, int code)
{
    fprintf(stderr, "ring: %s failed (%d)\n", what, code);
    pvm_exit();
    exit(1);
}

/* Send the token on to the next task of the ring. */
static void pass_token(int k, uint64_t value)
{
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&k, 1, 1);
    pvm_pkulong((unsigned long *)&value, 1, 1);
    if (pvm_send(tids[(rank + 1) % ntasks], TAG_TOKEN) < 0)
        die("pvm_send to the next task", rank);
}

/* Wait for the token from the previous task; returns its value. */
static uint64_t take_token(int k)
{
    int got;
    unsigned long value;
    if (pvm_recv(tids[(rank + ntasks - 1) % ntasks], TAG_TOKEN) < 0)
        die("pvm_recv from the previous task", rank);
    pvm_upkint(&got, 1, 1);
    pvm_upkulong(&value, 1, 1);
    if (got != k) {
        fprintf(stderr, "ring: task %d expected round %d, got %d\n", rank, k, got);
        die("token order", got);
    }
    return value;
}

/* One round as seen by this task. */
static void one_round(int k)
{
    uint64_t c, v;
    /* c: this task's contribution, added to the token once it arrives;
     * v: the token's value, folded into the checksum after it went round. */
    #pragma CKPT_SAVE(c, v)
    c = contribution(rank, k);
    local_sum += c;
    if (ntasks == 1) {
        v = c;
    } else if (rank == 0) {
        pass_token(k, c);
        v = take_token(k);
    } else {
        v = take_token(k);
        pass_token(k, v + c);
        return;
    }
    checksum = checksum * 1000003ULL + v;
    printf("round %d total %llu\n", k, (unsigned long long)v);
}

static void run_rounds(void)
{
    for (; cur_round < rounds; cur_round++)
        one_round(cur_round);
}

/* The non-root tasks send their sums; the root prints them in rank order. */
static void report(void)
{
    if (rank != 0) {
        unsigned long s = local_sum;
        pvm_initsend(PvmDataDefault);
        pvm_pkulong(&s, 1, 1);
        pvm_send(tids[0], TAG_SUM);
        return;
    }
    int r;
    #pragma CKPT_SAVE(r) /* whose sum the root is waiting for */
    printf("task 0 sum %llu\n", (unsigned long long)local_sum);
    for (r = 1; r < ntasks; r++) {
        unsigned long s;
        pvm_recv(tids[r], TAG_SUM);
        pvm_upkulong(&s, 1, 1);
        printf("task %d sum %llu\n", r, (unsigned long long)s);
    }
    printf("checksum %llu\n", (unsigned long long)checksum);
}

/* Who is in the ring: siblings, or the root and the copies it spawns. */
static void form_ring(int argc, char **argv)
{
    int *sib, nsib, me;
    int copy = argc > 1 && strcmp(argv[1], "-c") == 0;
    /* this task's id, looked up in the ring once it is known */
    #pragma CKPT_SAVE(me)
    me = pvm_mytid();

    if (copy) { /* spawned by a root: it sends the ring */
        pvm_recv(pvm_parent(), TAG_TIDS);
        pvm_upkint(&ntasks, 1, 1);
        pvm_upkint(tids, ntasks, 1);
    } else if ((nsib = pvm_siblings(&sib)) > 1) {
        if (nsib > MAXTASKS)
            die("too many siblings", nsib);
        ntasks = nsib;
        memcpy(tids, sib, nsib * sizeof *tids);
    } else { /* the root: spawn ntasks-1 copies of this program */
        char *cargv[5], *name = basename(argv[0]);
        int n;
        tids[0] = me;
        cargv[0] = "-c";
        for (n = 1; n < argc && n < 4; n++)
            cargv[n] = argv[n];
        cargv[n] = NULL;
        if (ntasks > 1) {
            n = pvm_spawn(name, cargv, PvmTaskDefault, "", ntasks - 1, tids + 1);
            if (n != ntasks - 1)
                die("pvm_spawn", n < 0 ? n : tids[1 + (n > 0 ? n : 0)]);
            pvm_initsend(PvmDataDefault);
            pvm_pkint(&ntasks, 1, 1);
            pvm_pkint(tids, ntasks, 1);
            pvm_mcast(tids + 1, ntasks - 1, TAG_TIDS);
        }
    }
    for (rank = 0; rank < ntasks && tids[rank] != me; rank++)
        ;
    if (rank == ntasks)
        die("finding myself in the ring", me);
}

int main(int argc, char **argv)
{
    int a = argc > 1 && strcmp(argv[1], "-c") == 0; /* skip the copy marker */

    if (argc - a < 2) {
        fprintf(stderr, "usage: ring ROUNDS [NTASKS [WORK]]\n");
        return 2;
    }
    rounds = atoi(argv[1 + a]);
    ntasks = argc - a > 2 ? atoi(argv[2 + a]) : 4;
    work = argc - a > 3 ? atoi(argv[3 + a]) : 0;
    if (rounds < 0 || ntasks < 1 || ntasks > MAXTASKS || work < 0) {
        fprintf(stderr, "ring: bad arguments\n");
        return 2;
    }
    if (pvm_mytid() < 0) {
        fprintf(stderr, "ring: no pvmd\n");
        return 1;
    }
    form_ring(argc, argv);
    if (rank == 0)
        printf("ring: %d tasks, %d rounds, work %d\n", ntasks, rounds, work);
    run_rounds();
    report();
    pvm_exit();
    return 0;
}
