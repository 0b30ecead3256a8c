/*
 * hosts.c: the virtual machine's hosts, as the job sees them: every host is
 * watched for its deletion or crash (PvmHostDelete), hosts that join later
 * too (PvmHostAdd), and a lost host takes the job's tasks on it with it.
 *
 * PVM notices a pvmd that died silently, or a host cut off, only at its own
 * time-out (186-189 s measured).  So every host but ours also runs a
 * heartbeat (ckpt-beat, a message every BEAT_PERIOD_MS): a host whose beats
 * stop for --host-timeout seconds is deleted from the virtual machine and
 * counted as lost at once.  A slow host is not taken for a dead one: a beat
 * is a message every half second from a task that does nothing else, so it
 * takes a host stopped (or a link down) for the whole time-out, 6 beats in
 * a row, to raise the alarm; a beat that ends while its host is alive (a
 * user killed it) is started again rather than taken for the host's loss.
 *
 * Spares (ckpt-run --hostfile, lines '&' HOST) join the virtual machine
 * right after the job's first tasks were spawned (hosts_add_spares: those
 * are spawned by one pvm_spawn, to be siblings, and PVM would put some on
 * a spare), are watched like the others, but given no task until a host is
 * lost that PVM itself reported lost (its pvmd ended, or it was deleted):
 * then one of them takes all of that host's tasks.  They are not added when
 * needed, because after a silent loss pvm_addhosts blocks for about 190 s
 * (PVM's own time-out for the lost host, measured); and a silent loss gives
 * no task to a spare, since until that time-out has run a task restarted on
 * a spare does not get going (SILENT_AFTERMATH_S, and lose()).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

/* Host names by pvmd tid: a deleted host is gone from pvm_config by the time
 * we hear of it, and its name is what the user knows it by. */
static struct {
    int dtid;
    char name[64];
    int beat;           /* its ckpt-beat's tid, 0: none */
    int restarts;       /* of its ckpt-beat, which ended while the host lived */
    int lost;           /* deleted, crashed or silent: the job is done with it */
    int spare;          /* kept free of tasks until a host is lost */
    double last;        /* job_now() of its last beat */
} hostv[256];
static int nhostv;
static char **spare_names;     /* --hostfile's '&' hosts */

/* The tasks of lost hosts that a spare took (by vtid): restarted there. */
static struct {
    int vtid, k;
} movedv[4096];
static int nmovedv;

#define BEAT_PERIOD_MS 500
#define BEAT_RESTARTS 3
/* After a host was lost silently, PVM's own time-out for it (about 190 s)
 * still runs, and meanwhile spawns on the other remote hosts take 1-12 s
 * each (measured); tasks restarted then go to ckpt-run's own host. */
#define SILENT_AFTERMATH_S 200.0
static double silent_loss_at = -1e9;

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
        if (k == nhostv) {
            nhostv++;
            for (int s = 0; spare_names && spare_names[s]; s++)
                hostv[k].spare |= !strcmp(spare_names[s], hi[i].hi_name);
        }
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

const char *hosts_name_of(int tid)
{
    const char *name = host_name(pvm_tidtohost(tid));
    return strcmp(name, "?") ? name : "";
}

static int host_index(int dtid)
{
    for (int k = 0; k < nhostv; k++)
        if (hostv[k].dtid == dtid)
            return k;
    return -1;
}

int hosts_beat_of(int dtid)
{
    int k = host_index(dtid);
    return k >= 0 && !hostv[k].lost ? hostv[k].beat : 0;
}

int hosts_other_beats(const struct job *j, int *beats, int max)
{
    int n = 0, here = pvm_tidtohost(j->mytid);
    for (int k = 0; k < nhostv && n < max; k++)
        if (hostv[k].beat && !hostv[k].lost && hostv[k].dtid != here)
            beats[n++] = hostv[k].beat;
    return n;
}

int hosts_alive(int dtid)
{
    int k = host_index(dtid);
    return k >= 0 && !hostv[k].lost;
}

int hosts_unsettled(void)
{
    return job_now() - silent_loss_at < SILENT_AFTERMATH_S;
}

/* ckpt-beat is installed beside ckpt-run, and found at the same path on every
 * host (a shared or identical installation, as PVM's own spawn needs).  With
 * --host-local ours runs one too: it keeps our host's share of the copies. */
static void beat_start(struct job *j, int k)
{
    static char path[PATH_MAX];
    int here = hostv[k].dtid == pvm_tidtohost(j->mytid);
    if ((j->o.host_timeout <= 0 && !j->o.host_local) || hostv[k].lost || (here && !j->o.host_local))
        return;
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
        path[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(path, '/');
        if (!slash) {
            say("cannot find ckpt-beat: lost hosts are noticed at PVM's time-out only");
            j->o.host_timeout = 0;
            return;
        }
        strcpy(slash + 1, "ckpt-beat");
    }
    char coord[16], period[16];
    snprintf(coord, sizeof coord, "%d", j->mytid);
    snprintf(period, sizeof period, "%d", BEAT_PERIOD_MS);
    char *args[] = {coord, period, j->o.host_local ? j->o.dir : NULL, NULL};
    int tid = 0, n = pvm_spawn(path, args, PvmTaskHost, hostv[k].name, 1, &tid);
    if (n != 1 || tid < 0) {
        say("cannot start %s on host %s (PVM error %d): its loss is noticed at PVM's time-out only",
            path, hostv[k].name, n == 1 ? tid : n);
        hostv[k].beat = 0;
        return;
    }
    hostv[k].beat = tid;
    hostv[k].last = job_now();
    pvm_notify(PvmTaskExit, CKPT_BEATEND_TAG, 1, &tid);
}

/* Watches every host of the virtual machine, and every host that joins it
 * later, for its deletion or crash.  PvmHostAdd is asked first, so that a
 * host joining in between is watched twice rather than not at all. */
void hosts_watch(struct job *j)
{
    spare_names = j->o.spares;
    pvm_notify(PvmHostAdd, CKPT_HOSTADD_TAG, -1, NULL);
    remember_hosts();
    int here = pvm_tidtohost(j->mytid), dtids[sizeof hostv / sizeof hostv[0]], n = 0;
    for (int k = 0; k < nhostv; k++)
        if (hostv[k].dtid != here)      /* losing ours, we lose the pvmd itself */
            dtids[n++] = hostv[k].dtid;
    if (n > 0 && pvm_notify(PvmHostDelete, CKPT_HOSTDEL_TAG, n, dtids) < 0)
        say("cannot watch the virtual machine's hosts: a lost host is noticed through its tasks only");
    for (int k = 0; k < nhostv; k++)
        beat_start(j, k);
}

void hosts_add_spares(struct job *j)
{
    int n = 0;
    while (spare_names && spare_names[n])
        n++;
    if (n == 0)
        return;
    int st[n];
    double t0 = job_now();
    int rc = pvm_addhosts(spare_names, n, st);
    for (int i = 0; i < n; i++)
        if (rc < 0 || st[i] < 0)
            say("spare host %s did not start (PVM error %d)", spare_names[i], rc < 0 ? rc : st[i]);
    if (j->o.verbose >= 1)
        say("spare hosts added in %.2f s", job_now() - t0);
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
    for (int i = 0; i < n; i++) {
        int k = host_index(dtids[i]);
        if (j->o.verbose >= 1)
            say("host %s (t%x) joined the virtual machine", host_name(dtids[i]), (unsigned)dtids[i]);
        if (k >= 0 && !hostv[k].beat) {
            hostv[k].lost = 0;      /* a host of the same name back, under a new pvmd */
            beat_start(j, k);
        }
    }
}

void hosts_on_beat(struct job *j, int src)
{
    int k = host_index(pvm_tidtohost(src));
    if (k < 0 || hostv[k].beat != src) {
        tasks_refuse(src, "heartbeats: not a ckpt-beat of this job");
        return;
    }
    (void)j;
    hostv[k].last = job_now();
}

/* A ckpt-beat ended.  Its host's pvmd told us, so the host lives: the beat
 * is started again (a few times), not taken for the host's loss. */
void hosts_on_beat_end(struct job *j, int bufid)
{
    int tid;
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upkint(&tid, 1, 1);
    pvm_setrbuf(saved);
    int k = rc < 0 ? -1 : host_index(pvm_tidtohost(tid));
    if (k < 0 || hostv[k].beat != tid || hostv[k].lost)
        return;
    hostv[k].beat = 0;
    if (++hostv[k].restarts > BEAT_RESTARTS) {
        say("the heartbeat of host %s ended %d times: its loss is noticed at PVM's time-out only",
            hostv[k].name, BEAT_RESTARTS + 1);
        return;
    }
    if (j->o.verbose >= 1)
        say("the heartbeat of host %s ended: started again", hostv[k].name);
    beat_start(j, k);
}

static int moved_to(int vtid)
{
    for (int m = 0; m < nmovedv; m++)
        if (movedv[m].vtid == vtid)
            return hostv[movedv[m].k].lost ? -1 : movedv[m].k;
    return -1;
}

const char *hosts_place(struct job *j, int vtid)
{
    static int next;
    int k, lost = 0, spares = 0;
    if (job_now() - silent_loss_at < SILENT_AFTERMATH_S) {
        k = host_index(pvm_tidtohost(j->mytid));
        return k >= 0 ? hostv[k].name : "";
    }
    if ((k = moved_to(vtid)) >= 0)
        return hostv[k].name;
    for (k = 0; k < nhostv; k++) {
        lost |= hostv[k].lost;
        spares |= hostv[k].spare && !hostv[k].lost;
    }
    /* (the copies of a fresh start are spawned by one pvm_spawn, so that
     * they are siblings: PVM places them, spares or not) */
    if (!lost && (!spares || !vtid))
        return "";
    for (int i = 0; i < nhostv; i++) {
        k = (next + i) % nhostv;
        if (!hostv[k].lost && !hostv[k].spare) {
            next = k + 1;
            return hostv[k].name;
        }
    }
    return "";
}

void hosts_fence(struct job *j)
{
    int here = pvm_tidtohost(j->mytid);
    for (int k = 0; k < nhostv; k++) {
        int pids[256], n = 0;
        for (int i = 0; i < j->ntasks && n < 256; i++) {
            const struct task *t = &j->tasks[i];
            if (t->state == T_ALIVE && t->pid > 0 && pvm_tidtohost(t->tid) == hostv[k].dtid)
                pids[n++] = (int)t->pid;
        }
        if (n == 0 || !hostv[k].beat || hostv[k].lost || hostv[k].dtid == here)
            continue;
        if (pvm_initsend(PvmDataDefault) < 0 || pvm_pkint(&n, 1, 1) < 0 ||
            pvm_pkint(pids, n, 1) < 0 || pvm_send(hostv[k].beat, CKPT_FENCE_TAG) < 0)
            say("cannot ask host %s to kill the job's tasks there: PVM's own kill will do", hostv[k].name);
    }
}

void hosts_stop_beats(void)
{
    for (int k = 0; k < nhostv; k++) {
        if (!hostv[k].beat)
            continue;
        pvm_initsend(PvmDataDefault);
        pvm_send(hostv[k].beat, CKPT_BEAT_TAG);
        hostv[k].beat = 0;
    }
}

static int on_host(const struct task *t, int dtid)
{
    return t->state == T_ALIVE && t->tid > 0 && pvm_tidtohost(t->tid) == dtid;
}

/* The first live spare, which takes the tasks of lost host dtid (their
 * vtids in movedv): -1 if none is left. */
static int take_spare(const struct job *j, int dtid)
{
    int s = 0, any = 0;
    for (int i = 0; i < j->ntasks; i++)
        any |= on_host(&j->tasks[i], dtid);
    while (any && s < nhostv && (!hostv[s].spare || hostv[s].lost))
        s++;
    if (!any || s == nhostv)
        return -1;
    hostv[s].spare = 0;     /* it is a host of the job now */
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        if (!on_host(t, dtid))
            continue;
        int m = 0;
        while (m < nmovedv && movedv[m].vtid != t->vtid)
            m++;
        if (m == (int)(sizeof movedv / sizeof movedv[0]))
            continue;   /* placed as any other task then */
        nmovedv += m == nmovedv;
        movedv[m].vtid = t->vtid;
        movedv[m].k = s;
    }
    return s;
}

/* The job's tasks on host dtid are gone with it.  Returns one of them as
 * the failed task (the job recovers once for all of them; their own exit
 * notices, which follow, then name tasks of an older incarnation and are
 * ignored), else NULL. */
static struct task *lose(struct job *j, int dtid, const char *why)
{
    int k = host_index(dtid);
    if (k >= 0) {
        if (hostv[k].lost)
            return NULL;        /* said already */
        hostv[k].lost = 1;
        hostv[k].beat = 0;
    }
    /* (after a silent loss, measured on namespace hosts: one task restarted
     * on the spare came back after 4.3 s, 5.5 s, two after 35 s, and then
     * none checkpointed within 120 s, while the tasks on the other remote
     * host did; so they go to our host then, as every task does) */
    int spare = job_now() - silent_loss_at < SILENT_AFTERMATH_S ? -1 : take_spare(j, dtid);
    struct task *first = NULL;
    char vtids[512] = "", tids[512] = "";
    size_t vlen = 0, tlen = 0;
    int moved = 0;
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        if (!on_host(t, dtid))
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
        say("host %s (t%x) left the virtual machine%s; tasks of the job that ran there:%s%s%s%s",
            host_name(dtid), (unsigned)dtid, why, vtids, moved ? " (running as" : "",
            moved ? tids : "", moved ? ")" : "");
        if (spare >= 0)
            say("spare host %s takes the tasks of host %s:%s", hostv[spare].name, host_name(dtid), vtids);
    } else if (j->o.verbose >= 1) {
        say("host %s (t%x) left the virtual machine%s; no task of the job ran there",
            host_name(dtid), (unsigned)dtid, why);
    }
    return first;
}

/* PvmHostDelete: a host was deleted or crashed, and every task of the job
 * that ran there with it. */
struct task *hosts_on_lost(struct job *j, int bufid)
{
    int dtid;
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upkint(&dtid, 1, 1);
    pvm_setrbuf(saved);
    return rc < 0 ? NULL : lose(j, dtid, "");
}

static int overdue(const struct job *j, int k, double now)
{
    return j->o.host_timeout > 0 && hostv[k].beat && !hostv[k].lost &&
           hostv[k].dtid != pvm_tidtohost(j->mytid) && now - hostv[k].last >= j->o.host_timeout;
}

/* A host whose beats stopped for --host-timeout: deleted from the virtual
 * machine (PVM would keep its tasks' messages waiting for minutes), lost. */
struct task *hosts_check(struct job *j)
{
    double now = job_now();
    int late = 0;
    for (int k = 0; k < nhostv; k++)
        late |= overdue(j, k, now);
    if (!late)
        return NULL;
    /* Beats that came while we were busy (a commit record's fsync on a busy
     * disk can take seconds) are counted before any host is judged silent. */
    for (int b; (b = pvm_nrecv(-1, CKPT_BEAT_TAG)) > 0; pvm_freebuf(b)) {
        int len, tag, src;
        pvm_bufinfo(b, &len, &tag, &src);
        hosts_on_beat(j, src);
    }
    for (int k = 0; k < nhostv; k++) {
        if (!overdue(j, k, now))
            continue;
        char why[96], *name = hostv[k].name;
        int dtid = hostv[k].dtid, st = 0;
        double silent = now - hostv[k].last;
        int rc = pvm_delhosts(&name, 1, &st);
        snprintf(why, sizeof why, " (no heartbeat for %.1f s: %s)", silent,
                 rc >= 0 && st >= 0 ? "deleted from it" : "PVM could not delete it");
        silent_loss_at = now;
        struct task *t = lose(j, dtid, why);
        if (t)
            return t;
    }
    return NULL;
}
