/* nsprobe: a small PVM program for tests/lib/nshosts_selftest.sh and
 * nshosts_loss.sh: where do tasks run, and what does a task see when a host
 * is lost.  Built by the scripts with `cc nsprobe.c -lpvm3`; spawned copies
 * must be found as "nsprobe" (pvmvm_start --ep).
 *
 *   nsprobe run HOST...    spawns one copy on each HOST (PvmTaskHost); each
 *                          answers with its pid and its network namespace
 *                          (readlink /proc/self/ns/net); prints one line
 *                          "HOST TID PID NET" per copy, tids in hex; the
 *                          copies then exit and so does nsprobe
 *   nsprobe hold HOST...   the same, but the copies stay (blocked in
 *                          pvm_recv from their parent), and nsprobe then
 *                          blocks in pvm_recv from the copy on the last HOST;
 *                          when that returns it prints
 *                          "recv RC at MS" (MS: ms since the epoch)
 *   nsprobe watch HOST [TID...]
 *                          asks PVM for PvmHostDelete of HOST and PvmTaskExit
 *                          of each TID (hex), prints "watching", then one
 *                          line per notice, "hostdelete HOSTTID at MS" or
 *                          "taskexit TID at MS", until HOST's has come and
 *                          no other has for 5 s
 * Lines are flushed as printed.  Exit status 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <pvm3.h>

enum { TAG_HELLO = 1, TAG_GO = 2, TAG_NEVER = 3, TAG_HOSTDEL = 10, TAG_TASKEXIT = 11 };

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "nsprobe: %s: %d\n", what, rc);
    pvm_exit();
    return 1;
}

static int child(void)
{
    char net[256];
    ssize_t n = readlink("/proc/self/ns/net", net, sizeof net - 1);
    int pid = getpid();
    net[n > 0 ? n : 0] = '\0';
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&pid, 1, 1);
    pvm_pkstr(net);
    pvm_send(pvm_parent(), TAG_HELLO);
    pvm_recv(pvm_parent(), TAG_GO);
    pvm_exit();
    return 0;
}

static int spawn(int hold, int nhosts, char **hosts)
{
    int *tids = calloc(nhosts, sizeof *tids);
    int i, rc, pid;
    char net[256];
    for (i = 0; i < nhosts; i++) {
        rc = pvm_spawn("nsprobe", NULL, PvmTaskHost, hosts[i], 1, &tids[i]);
        if (rc != 1)
            return die(hosts[i], tids[i]);
    }
    for (i = 0; i < nhosts; i++) {
        if ((rc = pvm_recv(tids[i], TAG_HELLO)) < 0)
            return die("recv hello", rc);
        pvm_upkint(&pid, 1, 1);
        pvm_upkstr(net);
        printf("%s %x %d %s\n", hosts[i], tids[i], pid, net);
    }
    fflush(stdout);
    if (hold) {
        rc = pvm_recv(tids[nhosts - 1], TAG_NEVER);
        printf("recv %d at %lld\n", rc, now_ms());
        fflush(stdout);
    } else {
        pvm_initsend(PvmDataDefault);
        pvm_mcast(tids, nhosts, TAG_GO);
    }
    pvm_exit();
    return 0;
}

static int watch(const char *host, int ntids, char **tidv)
{
    struct pvmhostinfo *hi;
    int nhost, narch, i, dtid = 0, tid, tag, what, rc, done = 0;
    struct timeval after = { 5, 0 };
    if (pvm_config(&nhost, &narch, &hi) < 0)
        return die("pvm_config", -1);
    for (i = 0; i < nhost; i++)
        if (strcmp(hi[i].hi_name, host) == 0)
            dtid = hi[i].hi_tid;
    if (!dtid)
        return die("no such host", 0);
    pvm_notify(PvmHostDelete, TAG_HOSTDEL, 1, &dtid);
    for (i = 0; i < ntids; i++) {
        tid = (int)strtol(tidv[i], NULL, 16);
        pvm_notify(PvmTaskExit, TAG_TASKEXIT, 1, &tid);
    }
    printf("watching\n");
    fflush(stdout);
    for (;;) {
        rc = done ? pvm_trecv(-1, -1, &after) : pvm_recv(-1, -1);
        if (rc == 0)
            break;
        if (rc < 0)
            return die("recv", rc);
        pvm_bufinfo(rc, NULL, &tag, NULL);
        pvm_upkint(&what, 1, 1);
        printf("%s %x at %lld\n", tag == TAG_HOSTDEL ? "hostdelete" : "taskexit", what, now_ms());
        fflush(stdout);
        done |= tag == TAG_HOSTDEL;
    }
    pvm_exit();
    return 0;
}

int main(int argc, char **argv)
{
    if (pvm_mytid() < 0)
        return 1;
    if (pvm_parent() > 0)
        return child();
    if (argc > 2 && strcmp(argv[1], "run") == 0)
        return spawn(0, argc - 2, argv + 2);
    if (argc > 2 && strcmp(argv[1], "hold") == 0)
        return spawn(1, argc - 2, argv + 2);
    if (argc > 2 && strcmp(argv[1], "watch") == 0)
        return watch(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: nsprobe run|hold HOST... | watch HOST [TID...]\n");
    pvm_exit();
    return 2;
}
