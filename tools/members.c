/*
 * members.c: who belongs to the job.  A task is a member from the moment
 * pvm_spawn returns its tid (to its parent, CTL_SPAWNED, or to us for -n)
 * or it says hello as one the job started; each gets a virtual id, the one
 * the application knows it by, kept across restarts.  Answers a task's
 * questions about who its peers are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

/* The pid of the process enrolled as tid and its parent task, as its pvmd
 * knows them: not what the task says of itself.  -1 if it is not there. */
static pid_t pid_of(int tid, int *ptid)
{
    struct pvmtaskinfo *ti;
    int n;
    if (pvm_tasks(tid, &n, &ti) < 0 || n != 1)
        return -1;
    *ptid = ti[0].ti_ptid;
    return ti[0].ti_pid;
}

/* Whether v was ever the virtual id of a task of this job. */
static int vtid_used(const struct job *j, int v)
{
    for (int i = 0; i < j->nused; i++)
        if (j->used[i] == v)
            return 1;
    return 0;
}

/* A virtual id for the new task at tid: its tid, unless a task of the job
 * had that id before (a new pvmd, after --restart, hands out the old numbers
 * again); then one from the top of tid's host's local ids, which PVM reaches
 * last, so that no two tasks of the job ever share one. */
static int fresh_vtid(const struct job *j, int tid)
{
    if (!vtid_used(j, tid))
        return tid;
    int v = (tid & ~0x3ffff) | 0x3ffff;
    while (vtid_used(j, v) || tasks_by_tid((struct job *)j, v))
        v--;
    return v;
}

/* The live task of the job at tid, made a member now if it was not: a task
 * is part of the job from the moment pvm_spawn returns its tid (its parent
 * says so, CTL_SPAWNED) or it says hello, whichever comes first.  One
 * spawned before its parent's cut of the pending checkpoint belongs in it. */
struct task *members_add(struct job *j, int tid, int parent_vtid, uint64_t start_epoch)
{
    struct task *t = tasks_by_tid(j, tid);
    if (t && t->state == T_ALIVE)
        return t;
    t = tasks_add(j, fresh_vtid(j, tid));
    t->tid = tid;
    t->parent_vtid = parent_vtid;
    t->start_epoch = start_epoch;
    t->state = T_ALIVE;
    pvm_notify(PvmTaskExit, CKPT_NOTIFY_TAG, 1, &t->tid);
    if (j->o.ntasks > 0)
        output_known(t->tid, t->vtid);
    rounds_take_in(j, t);
    return t;
}

void members_on_spawned(struct job *j, struct task *parent, const long *v, int n)
{
    if (n < 1)
        return;
    /* (members_add() may move the task table: parent is not used after it) */
    int ptid = parent->tid, pvtid = parent->vtid;
    long *pairs = malloc(sizeof *pairs * (size_t)(2 * n));
    int np = 0;
    for (int i = 1; pairs && i < n; i++) {
        if (v[i] <= 0)
            continue;
        pairs[np++] = v[i];
        pairs[np++] = members_add(j, (int)v[i], pvtid, (uint64_t)v[0])->vtid;
    }
    ckpt__ctl_send(ptid, CTL_VTIDS, pairs, np, NULL, 0);
    free(pairs);
}

/* A task asks whether a peer belongs to the job before its first message
 * either way (runtime/wire.c, job_peer).  No waiting and no guess: a spawned
 * task is a member before its parent knows its tid, and a task says hello
 * and waits for the answer before it can send anything. */
void members_on_who(struct job *j, int asker, const long *v, int n)
{
    if (n < 1)
        return;
    struct task *t = tasks_by_tid(j, (int)v[0]);
    long a[2] = {v[0], t && t->state == T_ALIVE};
    ckpt__ctl_send(asker, CTL_WHO_IS, a, 2, NULL, 0);
}

/* The groups a restarted task was in (after its command line in its hello). */
static void take_groups(struct task *t, char **strs, const long *v, int n)
{
    for (int i = 0; i < t->ngroups; i++)
        free(t->gnames[i]);
    free(t->gnames);
    free(t->ginst);
    t->gnames = NULL;
    t->ginst = NULL;
    t->ngroups = 0;
    if (n == 0)
        return;
    t->gnames = malloc(sizeof *t->gnames * (size_t)n);
    t->ginst = malloc(sizeof *t->ginst * (size_t)n);
    if (!t->gnames || !t->ginst) {
        for (int i = 0; i < n; i++)
            free(strs[i]);
        return;
    }
    memcpy(t->gnames, strs, sizeof *strs * (size_t)n);
    memcpy(t->ginst, v, sizeof *v * (size_t)n);
    t->ngroups = n;
}

/* A fresh task learns its virtual id, its parent's and its siblings'.  (Its
 * siblings become members here if they were not: members_add() may move the task
 * table, so t is read once, first.) */
static void welcome(struct job *j, const struct task *t, const long *sib, int nsib)
{
    struct task me = *t;
    long *w = malloc(sizeof *w * (size_t)(2 + 2 * nsib));
    if (!w)
        return;
    int n = 0;
    w[n++] = me.vtid;
    w[n++] = me.parent_vtid;
    for (int i = 0; i < nsib; i++) {
        w[n++] = sib[i];
        w[n++] = sib[i] == me.tid ? me.vtid : members_add(j, (int)sib[i], me.parent_vtid, me.start_epoch)->vtid;
    }
    ckpt__ctl_send(me.tid, CTL_WELCOME, w, n, NULL, 0);
    free(w);
}

/* Whether pid, a task's as its pvmd knows it, is the program we run (our
 * child), which has not said hello yet. */
static int is_root(struct job *j, pid_t pid)
{
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].root && j->tasks[i].state == T_ALIVE)
            return 0;
    return j->root_pid && !j->root_done && pid == j->root_pid;
}

static int is_member(struct job *j, int tid)
{
    struct task *t = tasks_by_tid(j, tid);
    return t && t->state == T_ALIVE;
}

/* A fresh task says hello only as a member (spawned by a task of the job,
 * or by us for -n; its hello may come before its parent's CTL_SPAWNED, so
 * its parent as the pvmd knows it counts too) or as the program we run; a
 * restarted one only as the task we started to restart it.  So no other
 * task can take a task's place in the job, or join it. */
static int hello_allowed(struct job *j, int src, const long *v)
{
    int ptid = 0;
    if (src != (int)v[1])
        return 0;
    if (v[5] < 0) {
        if (is_member(j, src))
            return 1;
        pid_t pid = pid_of(src, &ptid);
        return (ptid > 0 && is_member(j, ptid)) || is_root(j, pid);
    }
    struct task *t = tasks_by_vtid(j, (int)v[0]);
    if (!t || t->state != T_KILLED)
        return 0;
    return t->root ? is_root(j, pid_of(src, &ptid)) : t->tid == src;
}

void members_on_hello(struct job *j, int src, int bufid, const long *v, int n)
{
    if (n < 9 || v[6] < 0 || v[6] > 4096 || v[7] < 0 || v[7] > 4096 || v[8] < 0 || v[8] > 65536 ||
        n != 9 + v[7] + v[8]) {
        say("malformed hello from t%x", (unsigned)src);
        return;
    }
    if (!hello_allowed(j, src, v)) {
        tasks_refuse(src, "a hello: not a task this job started");
        /* A fresh task started by a plain PVM program of the virtual machine
         * waits for the answer: it then runs as a plain task, outside the job. */
        if (v[5] < 0 && src == (int)v[1])
            ckpt__ctl_send(src, CTL_WELCOME, NULL, 0, NULL, 0);
        return;
    }
    int fresh = v[5] < 0;
    struct task *t, *parent = fresh && v[2] > 0 ? tasks_by_tid(j, (int)v[2]) : NULL;
    if (fresh) {
        t = members_add(j, (int)v[1], parent ? parent->vtid : (int)v[2], (uint64_t)v[4]);
    } else {
        t = tasks_by_vtid(j, (int)v[0]);
        if (!t)
            t = tasks_add(j, (int)v[0]);
        t->tid = (int)v[1];
        t->parent_vtid = (int)v[2];
        t->start_epoch = (uint64_t)v[4];
        pvm_notify(PvmTaskExit, CKPT_NOTIFY_TAG, 1, &t->tid);
        if (j->o.ntasks > 0)
            output_known(t->tid, t->vtid);
    }
    t->pid = (pid_t)v[3];
    t->state = T_ALIVE;
    t->said_bye = 0;
    if (j->root_pid && t->pid == j->root_pid)
        t->root = 1;
    int argc = (int)v[6], ng = (int)v[7];
    char **strs = calloc((size_t)(argc + ng) + 1, sizeof *strs);
    if (strs && ckpt__ctl_strings(bufid, strs, argc + ng) == 0) {
        for (int i = 0; i < t->argc; i++)
            free(t->argv[i]);
        free(t->argv);
        take_groups(t, strs + argc, v + 9, ng);
        strs[argc] = NULL;
        t->argv = strs;
        t->argc = argc;
    } else {
        free(strs);
    }
    if (j->o.verbose >= 2)
        say("t%x joined (pid %d, tid t%x)", (unsigned)t->vtid, (int)t->pid, (unsigned)t->tid);
    if (fresh)
        welcome(j, t, v + 9 + ng, (int)v[8]);
}
