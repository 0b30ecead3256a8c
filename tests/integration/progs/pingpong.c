/*
 * pingpong: a master and one worker it spawns bounce a counter, with some
 * computing on each side; the master prints every round, and makes a message
 * context every 50 rounds, saying so if one comes back with a number it had
 * before (failures.sh restarts the job under a new pvmd).
 *   pingpong ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

/* Ballast in every image, so that a small file system fills up (failures.sh). */
static unsigned char ballast[40 * 1024];
#pragma CKPT_SAVE(ballast)

static long work(long x) { volatile long s = x; for (int i = 0; i < 3000000; i++) s = s * 31 + i; return s & 0xffff; }

static void worker(void) {
    int parent = pvm_parent();
    long v;
    int round;
    #pragma CKPT_SAVE(round, parent)
    for (round = 0;; round++) {
        pvm_recv(parent, 1);
        pvm_upklong(&v, 1, 1);
        if (v == 0) {      /* the end (XDR packs a long in 32 bits: no negative values) */
            pvm_initsend(PvmDataDefault);
            pvm_send(parent, 3);     /* seen: the master may leave */
            break;
        }
        v = v + work(v);
        pvm_initsend(PvmDataDefault);
        pvm_pklong(&v, 1, 1);
        pvm_send(parent, 2);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    for (unsigned i = 0; i < sizeof ballast; i++)
        ballast[i] = (unsigned char)(i * 2654435761u >> 13);
    if (pvm_parent() > 0) { worker(); pvm_exit(); return 0; }
    int child, i, made[64], nmade = 0;
    long v = 1;
    #pragma CKPT_SAVE(child, i, v, rounds, made, nmade)
    char *args[] = {"-w", NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) { fprintf(stderr, "spawn failed\n"); return 1; }
    for (i = 0; i < rounds; i++) {
        pvm_initsend(PvmDataDefault);
        pvm_pklong(&v, 1, 1);
        pvm_send(child, 1);
        pvm_recv(child, 2);
        pvm_upklong(&v, 1, 1);
        printf("round %d value %ld\n", i, v);
        if (i % 50 == 0 && nmade < 64) {
            made[nmade] = pvm_newcontext();
            for (int k = 0; k < nmade; k++)
                if (made[k] == made[nmade])
                    printf("context %d made twice\n", made[nmade]);
            nmade++;
        }
        fflush(stdout);
    }
    v = 0;
    pvm_initsend(PvmDataDefault);
    pvm_pklong(&v, 1, 1);
    pvm_send(child, 1);
    pvm_recv(child, 3);    /* leave after the worker, so that it never waits on us */
    pvm_exit();
    return 0;
}
