/*
 * hosts.c: the virtual machine's hosts, as the job sees them: every host is
 * watched for its deletion or crash (PvmHostDelete), hosts that join later
 * too (PvmHostAdd), and a lost host takes the job's tasks on it with it.
 */
#include <stdio.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

/* Host names by pvmd tid: a deleted host is gone from pvm_config by the time
 * we hear of it, and its name is what the user knows it by. */
static struct { int dtid; char name[64]; } hostv[256];
static int nhostv;

static void remember_hosts(void)
{
    struct pvmhostinfo *hi;
    int nhost, narch;
    if (pvm_config(&nhost, &narch, &hi) < 0)
        return;
    for (int i = 0; i < nhost; i++) {
        int k = 0;
        while (k < nhostv && hostv[k].dtid != hi[i].hi_tid)
            k++;
        if (k == nhostv && nhostv == (int)(sizeof hostv / sizeof hostv[0]))
            continue;   /* a name we will not know: the dtid is printed then */
        nhostv += k == nhostv;
        hostv[k].dtid = hi[i].hi_tid;
        snprintf(hostv[k].name, sizeof hostv[k].name, "%s", hi[i].hi_name);
    }
}

static const char *host_name(int dtid)
{
    for (int k = 0; k < nhostv; k++)
        if (hostv[k].dtid == dtid)
            return hostv[k].name;
    return "?";
}

/* Watches every host of the virtual machine, and every host that joins it
 * later, for its deletion or crash.  PvmHostAdd is asked first, so that a
 * host joining in between is watched twice rather than not at all. */
void hosts_watch(struct job *j)
{
    pvm_notify(PvmHostAdd, CKPT_HOSTADD_TAG, -1, NULL);
    remember_hosts();
    int here = pvm_tidtohost(j->mytid), dtids[sizeof hostv / sizeof hostv[0]], n = 0;
    for (int k = 0; k < nhostv; k++)
        if (hostv[k].dtid != here)      /* losing ours, we lose the pvmd itself */
            dtids[n++] = hostv[k].dtid;
    if (n > 0 && pvm_notify(PvmHostDelete, CKPT_HOSTDEL_TAG, n, dtids) < 0)
        say("cannot watch the virtual machine's hosts: a lost host is noticed through its tasks only");
}

/* PvmHostAdd: count, then the new hosts' pvmd tids. */
void hosts_on_add(struct job *j, int bufid)
{
    int n, dtids[64];
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upkint(&n, 1, 1);
    if (rc >= 0 && n > 0)
        rc = pvm_upkint(dtids, n < 64 ? n : 64, 1);
    pvm_setrbuf(saved);
    if (rc < 0 || n <= 0)
        return;
    n = n < 64 ? n : 64;
    remember_hosts();
    pvm_notify(PvmHostDelete, CKPT_HOSTDEL_TAG, n, dtids);
    for (int i = 0; j->o.verbose >= 1 && i < n; i++)
        say("host %s (t%x) joined the virtual machine", host_name(dtids[i]), (unsigned)dtids[i]);
}

/* PvmHostDelete: a host was deleted or crashed, and every task of the job
 * that ran there with it.  Returns one of them as the failed task (the job
 * recovers once for all of them; their own exit notices, which follow, then
 * name tasks of an older incarnation and are ignored), else NULL. */
struct task *hosts_on_lost(struct job *j, int bufid)
{
    int dtid;
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upkint(&dtid, 1, 1);
    pvm_setrbuf(saved);
    if (rc < 0)
        return NULL;
    struct task *first = NULL;
    char vtids[512] = "", tids[512] = "";
    size_t vlen = 0, tlen = 0;
    int moved = 0;
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        if (t->state != T_ALIVE || t->tid <= 0 || pvm_tidtohost(t->tid) != dtid)
            continue;
        t->state = T_KILLED;    /* gone with their host: nothing left to kill */
        output_ended(t->tid);   /* and the rest of their output with it */
        first = first ? first : t;
        moved |= t->tid != t->vtid;
        if (vlen < sizeof vtids)
            vlen += (size_t)snprintf(vtids + vlen, sizeof vtids - vlen, " t%x", (unsigned)t->vtid);
        if (tlen < sizeof tids)
            tlen += (size_t)snprintf(tids + tlen, sizeof tids - tlen, " t%x", (unsigned)t->tid);
    }
    /* Restarted tasks keep the ids the application knows (vtids); PVM's tools
     * show the ones they run under now. */
    if (first) {
        say("host %s (t%x) left the virtual machine; tasks of the job that ran there:%s%s%s%s",
            host_name(dtid), (unsigned)dtid, vtids, moved ? " (running as" : "", moved ? tids : "",
            moved ? ")" : "");
    } else if (j->o.verbose >= 1) {
        say("host %s (t%x) left the virtual machine; no task of the job ran there",
            host_name(dtid), (unsigned)dtid);
    }
    return first;
}
