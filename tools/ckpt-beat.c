/*
 * ckpt-beat: the heartbeat of one host of a job's virtual machine.  ckpt-run
 * starts one on every host but its own (tools/hosts.c) and counts a host as
 * lost once its beats stop for longer than --host-timeout, without waiting
 * for PVM's own time-out (about 3 minutes for a pvmd that died silently or a
 * link that went down).  A beat is a message to ckpt-run every PERIOD ms; it
 * ends when ckpt-run tells it to, when ckpt-run exits, or when its pvmd goes.
 * Given a folder (ckpt-run --host-local, on every host then, ckpt-run's own
 * too), it also keeps this host's share of the checkpoints (store.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pvm3.h>

#include "proto.h"
#include "store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ctid;
static long period_ms;
static double next_beat;

/* A beat, if one is due: 0, or -1 when it cannot be sent (our pvmd, or
 * ckpt-run's, is gone). */
static int beat_if_due(void)
{
    static int seq;
    double t = now();
    if (t < next_beat)
        return 0;
    next_beat = t + period_ms / 1e3;
    seq++;
    if (pvm_initsend(PvmDataDefault) < 0 || pvm_pkint(&seq, 1, 1) < 0 ||
        pvm_send(ctid, CKPT_BEAT_TAG) < 0)
        return -1;
    return 0;
}

/* Whether process pid was started by our pvmd (its parent is ours): a
 * task of this host, not a process a reused pid now names. */
static int our_pvmds(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    int ppid = 0;
    return paren && sscanf(paren + 1, " %*c %d", &ppid) == 1 && ppid == (int)getppid();
}

/* ckpt-run rolls the job back: the job's tasks here must be gone before
 * their restarted copies run.  Its pvm_kill goes through the pvmds, which
 * after a host's silent loss hand it on seconds late (tasks were seen
 * running 15 s on beside their copies); this order comes straight. */
static void fence(int bufid)
{
    int n, pids[256];
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upkint(&n, 1, 1);
    if (rc >= 0 && n > 0 && n <= 256)
        rc = pvm_upkint(pids, n, 1);
    pvm_setrbuf(saved);
    for (int i = 0; rc >= 0 && i < n && n <= 256; i++)
        if (pids[i] > 1 && our_pvmds(pids[i]))
            kill(pids[i], SIGKILL);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ckpt-beat COORD_TID PERIOD_MS [DIR]\n"
        "\n"
        "The heartbeat ckpt-run starts on each host of a job's virtual machine (through\n"
        "pvm_spawn): sends task COORD_TID a message every PERIOD_MS milliseconds until\n"
        "that task tells it to stop or exits.  With DIR, a checkpoint folder local to\n"
        "this host, it also keeps the job's images there and their partner copies, as\n"
        "COORD_TID orders.  Not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    char *e1, *e2;
    int ok = argc == 3 || (argc == 4 && argv[3][0] == '/');
    long coord = ok ? strtol(argv[1], &e1, 0) : 0;
    long period = ok ? strtol(argv[2], &e2, 0) : 0;
    if (!ok || *e1 || *e2 || coord <= 0 || period < 10 || period > 60000) {
        usage(stderr);
        return 2;
    }
    if (pvm_mytid() < 0)
        return 1;
    ctid = (int)coord;
    period_ms = period;
    /* Our messages go over a TCP connection of their own, not through the
     * pvmds: after a host was lost silently, the master pvmd hands on what
     * other remote hosts send only at its retries for the lost one, seconds
     * apart (measured), and a beat held there would raise a false alarm. */
    pvm_setopt(PvmRoute, PvmRouteDirect);
    if (pvm_notify(PvmTaskExit, CKPT_COORD_LOST_TAG, 1, &ctid) < 0)
        return 1;
    if (argc == 4)
        store_init(argv[3], ctid);
    int rc = 0;
    /* Between beats, only these messages count: ckpt-run's stop and its
     * orders to kill the job's tasks here, our pvmd's notice that ckpt-run
     * exited, and with a folder, store orders and copies; anything else that
     * any task may send us is dropped. */
    for (int stop = 0; !stop;) {
        if (beat_if_due() < 0) {
            rc = 1;
            break;
        }
        double left = next_beat - now();
        left = left > 0 ? left : 0;
        struct timeval tv = {(long)left, (long)((left - (long)left) * 1e6)};
        int b = pvm_trecv(-1, -1, &tv), len, tag, src;
        if (b < 0) {
            rc = 1;
            break;
        }
        if (b == 0)
            continue;
        pvm_bufinfo(b, &len, &tag, &src);
        if (src == ctid && tag == CKPT_FENCE_TAG)
            fence(b);
        else
            store_message(b, tag, src);
        pvm_freebuf(b);
        stop = (src == ctid && tag == CKPT_BEAT_TAG) || (tag == CKPT_COORD_LOST_TAG && CKPT_FROM_PVMD(src));
    }
    pvm_exit();
    return rc;
}
