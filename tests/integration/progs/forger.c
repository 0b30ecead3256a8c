/*
 * forger: a plain PVM program (built with cc, never ckpt-cc) in the same
 * virtual machine as a job of `ckpt-run -n 1 pingpong`, sending well-formed
 * runtime messages that only ckpt-run or the job's tasks may send.
 *   forger redirect   tells the master its worker now lives at the forger (CTL_MAP)
 *   forger stop       asks the master for checkpoint 2^30 (CTL_REQ): no later
 *                     checkpoint could ever be taken
 *   forger hostdel    tells ckpt-run the master's host left the machine
 *   forger output     hands ckpt-run a line of the master's output, three times
 *   forger flood N    sends the master N small application messages it never
 *                     receives (tag 99): PVM lets any task do that
 * It finds the job by name (see main).
 * It prints its own task id, and exits 1 if it cannot find the job.  (A plain
 * run of pingpong is the flood's measure in bench/floodbench.sh.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

enum { CTL_TAG = 0x7ffc4b50, OUTPUT_TAG = CTL_TAG + 2, HOSTDEL_TAG = CTL_TAG + 4 };
enum { MAGIC = 0x434b5054, VERSION = 1, CTL_REQ = 10, CTL_MAP = 13 };

static int named(const struct pvmtaskinfo *t)
{
    const char *slash = strrchr(t->ti_a_out, '/');
    return strcmp(slash ? slash + 1 : t->ti_a_out, "pingpong") == 0;
}

static void ctl(int to, int type, long *v, int n)
{
    int hdr[4] = {MAGIC, VERSION, type, n};
    pvm_initsend(PvmDataDefault);
    pvm_pkint(hdr, 4, 1);
    pvm_pklong(v, n, 1);
    pvm_send(to, CTL_TAG);
}

int main(int argc, char **argv)
{
    struct pvmtaskinfo *ti;
    int n, master = 0, worker = 0, coord = 0;
    if (argc < 2 || pvm_tasks(0, &n, &ti) < 0)
        return 2;
    /* The worker is the pingpong task that spawned nothing, the master its
     * parent (which PVM names only if it was spawned: under -n, by ckpt-run,
     * whose id is the master's parent; a plain master enrolled by itself). */
    for (int i = 0; i < n; i++) {
        int parent = 0;
        for (int k = 0; k < n; k++)
            parent |= ti[k].ti_ptid == ti[i].ti_tid;
        if (named(&ti[i]) && !parent)
            worker = ti[i].ti_tid, master = ti[i].ti_ptid;
    }
    for (int i = 0; i < n; i++)
        if (master && ti[i].ti_tid == master && named(&ti[i]))
            coord = ti[i].ti_ptid;
    printf("forger t%x: master t%x, worker t%x, ckpt-run t%x\n", pvm_mytid(), master, worker, coord);
    if (!master || !worker || (!coord && strcmp(argv[1], "flood")))
        return 1;       /* (a plain run, in bench/floodbench.sh, has no ckpt-run) */
    if (!strcmp(argv[1], "redirect")) {
        long map[2] = {worker, pvm_mytid()};
        ctl(master, CTL_MAP, map, 2);
    } else if (!strcmp(argv[1], "stop")) {
        long epoch = 1L << 30;
        ctl(master, CTL_REQ, &epoch, 1);
    } else if (!strcmp(argv[1], "hostdel")) {
        int host = pvm_tidtohost(master);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&host, 1, 1);
        pvm_send(coord, HOSTDEL_TAG);
    } else if (!strcmp(argv[1], "output")) {
        static char line[] = "forged line\n";
        int len = (int)strlen(line);
        for (int i = 0; i < 3; i++) {
            pvm_initsend(PvmDataDefault);
            pvm_pkint(&master, 1, 1);
            pvm_pkint(&len, 1, 1);
            pvm_pkbyte(line, len, 1);
            pvm_send(coord, OUTPUT_TAG);
        }
    } else if (!strcmp(argv[1], "flood") && argc > 2) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) {
            pvm_initsend(PvmDataDefault);
            pvm_pklong(&i, 1, 1);
            pvm_send(master, 99);
        }
    } else {
        return 2;
    }
    pvm_exit();
    return 0;
}
