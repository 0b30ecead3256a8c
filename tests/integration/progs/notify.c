/*
 * notify: a master spawns workers (copies of itself), asks PVM to tell it of
 * each one's exit (pvm_notify PvmTaskExit), and takes their results until
 * every worker's exit notice has come.  Workers leave at staggered times.
 * The notices must survive a rollback (the master waits for them), name the
 * workers by the ids the master knows (virtual ids), and come only for a
 * real exit: a worker killed and restarted by a recovery has not exited.
 *   notify WORKERS ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pvm3.h>

enum { T_RESULT = 1, T_BYE = 2, T_EXIT = 77, MAXW = 16 };

static void worker(int k, int rounds)
{
    int master = pvm_parent(), r, msg[2];
    #pragma CKPT_SAVE(master, r, msg, k, rounds)
    for (r = 0; r <= rounds + k * rounds / 2; r++) {
        msg[0] = k;
        msg[1] = r <= rounds + k * rounds / 2 - 1 ? k * 100000 + r : -1;    /* -1: the last */
        pvm_initsend(PvmDataDefault);
        pvm_pkint(msg, 2, 1);
        pvm_send(master, T_RESULT);
        usleep(4000);
    }
    pvm_recv(master, T_BYE);    /* leaves once the master has every result */
}

/* Where tid is in tids[0..n), -1 if nowhere. */
static int index_of(const int *tids, int n, int tid)
{
    for (int i = 0; i < n; i++)
        if (tids[i] == tid)
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    int nw, rounds, tids[MAXW], finished[MAXW], exited[MAXW], left, k, b, len, tag, src, msg[2];
    long sum[MAXW];
    #pragma CKPT_SAVE(nw, rounds, tids, finished, exited, left, k, b, len, tag, src, msg, sum)
    if (argc > 3 && pvm_parent() > 0) {
        worker(atoi(argv[3]), atoi(argv[2]));
        pvm_exit();
        return 0;
    }
    nw = argc > 1 ? atoi(argv[1]) : 3;
    rounds = argc > 2 ? atoi(argv[2]) : 200;
    if (nw < 1 || nw > MAXW)
        return 2;
    for (k = 0; k < nw; k++) {
        char ks[16], rs[16], *wargs[] = {"worker", rs, ks, NULL};
        snprintf(ks, sizeof ks, "%d", k);
        snprintf(rs, sizeof rs, "%d", rounds);
        if (pvm_spawn(argv[0], wargs, PvmTaskDefault, "", 1, &tids[k]) != 1) {
            fprintf(stderr, "notify: cannot spawn worker %d\n", k);
            return 1;
        }
        sum[k] = finished[k] = exited[k] = 0;
    }
    if (pvm_notify(PvmTaskExit, T_EXIT, nw, tids) < 0) {
        fprintf(stderr, "notify: pvm_notify failed\n");
        return 1;
    }
    for (left = nw; left > 0;) {
        b = pvm_recv(-1, -1);
        pvm_bufinfo(b, &len, &tag, &src);
        if (tag == T_RESULT) {
            pvm_upkint(msg, 2, 1);
            k = msg[0];
            if (msg[1] >= 0) {
                sum[k] += msg[1];
                continue;
            }
            finished[k] = 1;
            pvm_initsend(PvmDataDefault);
            pvm_send(tids[k], T_BYE);
            continue;
        }
        if (tag != T_EXIT) {
            printf("unexpected message, tag %d from t%x\n", tag, (unsigned)src);
            continue;
        }
        pvm_upkint(msg, 1, 1);
        k = index_of(tids, nw, msg[0]);
        if (!(src & 0x80000000))
            printf("an exit notice from t%x, not from a pvmd\n", (unsigned)src);
        if (k < 0)
            printf("an exit notice for t%x, which is none of the workers\n", (unsigned)msg[0]);
        else if (!finished[k])
            printf("worker %d looked dead before it had finished\n", k);
        else if (exited[k])
            printf("worker %d exited twice\n", k);
        else {
            exited[k] = 1;
            left--;
        }
    }
    for (k = 0; k < nw; k++)
        printf("worker %d: sum %ld, exit noticed\n", k, sum[k]);
    pvm_exit();
    return 0;
}
