/*
 * ckpt-beat: the heartbeat of one host of a job's virtual machine.  ckpt-run
 * starts one on every host but its own (tools/hosts.c) and counts a host as
 * lost once its beats stop for longer than --host-timeout, without waiting
 * for PVM's own time-out (about 3 minutes for a pvmd that died silently or a
 * link that went down).  A beat is a message to ckpt-run every PERIOD ms; it
 * ends when ckpt-run tells it to, when ckpt-run exits, or when its pvmd goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pvm3.h>

#include "proto.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ckpt-beat COORD_TID PERIOD_MS\n"
        "\n"
        "The heartbeat ckpt-run starts on each host of a job's virtual machine (through\n"
        "pvm_spawn): sends task COORD_TID a message every PERIOD_MS milliseconds until\n"
        "that task tells it to stop or exits.  Not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    char *e1, *e2;
    long coord = argc == 3 ? strtol(argv[1], &e1, 0) : 0;
    long period = argc == 3 ? strtol(argv[2], &e2, 0) : 0;
    if (argc != 3 || *e1 || *e2 || coord <= 0 || period < 10 || period > 60000) {
        usage(stderr);
        return 2;
    }
    if (pvm_mytid() < 0)
        return 1;
    int ctid = (int)coord;
    if (pvm_notify(PvmTaskExit, CKPT_COORD_LOST_TAG, 1, &ctid) < 0)
        return 1;
    int rc = 0, stop = 0;
    for (int seq = 0; !stop; seq++) {
        if (pvm_initsend(PvmDataDefault) < 0 || pvm_pkint(&seq, 1, 1) < 0 ||
            pvm_send(ctid, CKPT_BEAT_TAG) < 0) {
            rc = 1;     /* our pvmd, or ckpt-run's, is gone */
            break;
        }
        /* Until the next beat, only two messages count: ckpt-run's stop,
         * and our pvmd's notice that ckpt-run exited; anything else that
         * any task may send us is dropped. */
        for (double until = now() + period / 1e3, left; !stop && (left = until - now()) > 0;) {
            struct timeval tv = {(long)left, (long)((left - (long)left) * 1e6)};
            int b = pvm_trecv(-1, -1, &tv), len, tag, src;
            if (b <= 0) {
                rc = stop = b < 0;
                break;
            }
            pvm_bufinfo(b, &len, &tag, &src);
            pvm_freebuf(b);
            stop = (src == ctid && tag == CKPT_BEAT_TAG) ||
                   (tag == CKPT_COORD_LOST_TAG && CKPT_FROM_PVMD(src));
        }
    }
    pvm_exit();
    return rc;
}
