/*
 * dispatch.c: every message ckpt-run receives, handed to the module it
 * concerns: control messages from the job's tasks (members.c, rounds.c),
 * the pvmd's notices of task exits and of hosts (hosts.c), the tasks'
 * output (output.c).  It judges an exit notice itself: a task that leaves
 * without saying goodbye has failed.  What to do about a failure is its
 * callers' to decide: the loop (coord.c), and recovery.c while it waits for
 * the tasks it restarted.
 */
#include <string.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

static long ctlv[CKPT_CTL_MAX];

/* A task's exit, as PVM notifies it.  Returns the failed task, if it failed. */
static struct task *on_exit_notice(struct job *j, int tid)
{
    struct task *t = tasks_by_tid(j, tid);
    if (!t || t->state != T_ALIVE || t->root)
        return NULL;    /* the program ckpt-run runs is judged by its exit status */
    /* A spawned task that dies before its main is a failure like any other:
     * its parent counts on it. */
    if (t->said_bye) {
        t->state = T_EXITED;
        rounds_left(j, t);
        return NULL;
    }
    return t;
}

/* What only a pvmd sends: the tasks' output, and the notices we asked for.
 * Returns a task that failed, else NULL. */
static struct task *from_pvmd(struct job *j, int tag, int bufid)
{
    switch (tag) {
    case CKPT_OUTPUT_TAG:
        output_message(bufid);
        return NULL;
    case CKPT_NOTIFY_TAG: {
        int dead;
        int saved = pvm_setrbuf(bufid);
        int rc = pvm_upkint(&dead, 1, 1);
        pvm_setrbuf(saved);
        return rc < 0 ? NULL : on_exit_notice(j, dead);
    }
    case CKPT_HOSTDEL_TAG:
        return hosts_on_lost(j, bufid);
    case CKPT_BEATEND_TAG:
        hosts_on_beat_end(j, bufid);
        return NULL;
    default:
        hosts_on_add(j, bufid);
        return NULL;
    }
}

/* CTL_BYE from src: its own exit, or a task it kills (pvm_kill). */
static void on_bye(struct job *j, int src, int n)
{
    struct task *who = n >= 1 ? tasks_by_vtid(j, (int)ctlv[0]) : NULL;
    if (who) {
        who->said_bye = 1;
        if (j->o.verbose >= 2)
            say("t%x left the job (pid %d)", (unsigned)who->vtid, (int)who->pid);
    }
    /* Noted before PVM or waitpid can tell us the task has gone. */
    ckpt__ctl_send(src, CTL_LEFT, ctlv, n >= 1 ? 1 : 0, NULL, 0);
}

/* A runtime control message from src: only a hello may come from a task
 * that is not one of the job's yet. */
static void from_task(struct job *j, int src, int bufid)
{
    int n = 0;
    int type = ckpt__ctl_decode(bufid, ctlv, CKPT_CTL_MAX, &n);
    if (type < 0) {
        say("dropped a malformed message from t%x: %s", (unsigned)src, strerror(-type));
        return;
    }
    if (type == CTL_HELLO) {
        members_on_hello(j, src, bufid, ctlv, n);
        return;
    }
    struct task *t = tasks_by_tid(j, src);
    if (!t) {
        tasks_refuse(src, "runtime control messages: not a task of the job");
        return;
    }
    switch (type) {
    case CTL_BYE:
        on_bye(j, src, n);
        break;
    case CTL_WRITTEN:
        rounds_on_written(j, t, ctlv, n);
        break;
    case CTL_WFAIL:
        rounds_on_wfail(j, t, ctlv, n);
        break;
    case CTL_WHO:
        members_on_who(j, src, ctlv, n);
        break;
    case CTL_SPAWNED:
        members_on_spawned(j, t, ctlv, n);
        break;
    case CTL_JOINED:
        if (n >= 2)
            t->joined = ctlv[1];
        break;
    default:
        tasks_refuse(src, "runtime messages of that kind");
    }
}

/* A host's ckpt-beat reports on a copy (--host-local). */
static void on_stored(struct job *j, int src, int bufid)
{
    char why[512];
    int rc = copies_on_stored(j, src, bufid, why, sizeof why);
    if (rc > 0)
        rounds_on_copied(j);
    else if (rc < 0)
        rounds_abort(j, why, 1);
}

struct task *dispatch_message(struct job *j, int bufid)
{
    int len, tag, src;
    pvm_bufinfo(bufid, &len, &tag, &src);
    if (tag == CKPT_OUTPUT_TAG || tag == CKPT_NOTIFY_TAG || tag == CKPT_HOSTDEL_TAG ||
        tag == CKPT_HOSTADD_TAG || tag == CKPT_BEATEND_TAG) {
        if (!CKPT_FROM_PVMD(src)) {
            tasks_refuse(src, "what only a pvmd sends (notices, output)");
            return NULL;
        }
        return from_pvmd(j, tag, bufid);
    }
    if (tag == CKPT_CTL_TAG)
        from_task(j, src, bufid);
    else if (tag == CKPT_BEAT_TAG)
        hosts_on_beat(j, src);
    else if (tag == CKPT_STORED_TAG)
        on_stored(j, src, bufid);
    return NULL;
}

struct task *dispatch_next(struct job *j)
{
    struct timeval tv = {0, 100000};
    int b = pvm_trecv(-1, -1, &tv);
    if (b <= 0)
        return hosts_check(j);
    struct task *dead = dispatch_message(j, b);
    pvm_freebuf(b);
    return dead;
}
