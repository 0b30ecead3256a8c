/*
 * coord.c: the job coordinator (see coord.h).
 *
 * Checkpoint k: REQ k to every live task; each answers WRITTEN k once its
 * writer child has stored its image, with the cut of its receive channels.
 * When all have answered, the commit record is written (the atomic point)
 * and each sender gets COMMIT k with what its receivers' images hold, so it
 * can drop those log entries.  Any failure before the commit aborts k.
 *
 * Recovery: a task that exits without pvm_exit is a failure.  Every other
 * task is killed, every task of the newest committed checkpoint is started
 * again from its image, and once all of them have said hello they get the
 * map of the job's new task ids; they replay their logs and run on.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "jobrec.h"
#include "output.h"
#include "runlog.h"
#include "fault.h"
#include "image.h"
#include "proto.h"

#define HELLO_TIMEOUT_S 30.0

static long ctlv[CKPT_CTL_MAX];

double coord_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ who may send */

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

/* ------------------------------------------------------------ launching */

static int launch_root(struct job *j, char **argv, const char *restore)
{
    /* A restarted root cuts its output back to the checkpoint: it must keep
     * what we wrote there since, if it is our stderr too. */
    const char *keep = restore ? runlog_keep_file(j->o.dir) : NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        say("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (restore)
            setenv("CKPT_RESTORE", restore, 1);
        else
            unsetenv("CKPT_RESTORE");
        setenv("CKPT_ROOT", "1", 1);
        if (keep)
            setenv("CKPT_OUTPUT_KEEP", keep, 1);
        else
            unsetenv("CKPT_OUTPUT_KEEP");
        signal(SIGUSR1, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], argv);
        fprintf(stderr, "ckpt-run: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    j->root_pid = pid;
    j->root_done = 0;
    return 0;
}

/* Spawns count copies of argv through PVM; their tids in tids[count]. */
static int launch_spawned(char **argv, const char *restore, int count, int *tids)
{
    if (restore)
        setenv("CKPT_RESTORE", restore, 1);
    else
        unsetenv("CKPT_RESTORE");
    int n = pvm_spawn(argv[0], argv + 1, PvmTaskDefault, "", count, tids);
    unsetenv("CKPT_RESTORE");
    if (n < count) {
        say("cannot spawn %s: %d of %d started (PVM error %d)", argv[0], n < 0 ? 0 : n, count,
            n < 0 ? n : (count > 0 ? tids[n > 0 ? n : 0] : 0));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ who is who */

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
static struct task *member(struct job *j, int tid, int parent_vtid, uint64_t start_epoch)
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

/* Starts the job from its beginning.  The copies of -n are members from
 * pvm_spawn's return, as a task's children are: only members say hello. */
static int launch_fresh(struct job *j)
{
    for (int i = 0; i < j->ntasks; i++)
        tasks_drop(&j->tasks[i]);
    j->ntasks = 0;
    if (j->o.ntasks == 0)
        return launch_root(j, j->o.argv, NULL);
    int tids[j->o.ntasks];
    if (launch_spawned(j->o.argv, NULL, j->o.ntasks, tids))
        return -1;
    for (int i = 0; i < j->o.ntasks; i++)
        member(j, tids[i], PvmNoParent, 0);
    return 0;
}

static void on_spawned(struct job *j, struct task *parent, const long *v, int n)
{
    if (n < 1)
        return;
    /* (member() may move the task table: parent is not used after it) */
    int ptid = parent->tid, pvtid = parent->vtid;
    long *pairs = malloc(sizeof *pairs * (size_t)(2 * n));
    int np = 0;
    for (int i = 1; pairs && i < n; i++) {
        if (v[i] <= 0)
            continue;
        pairs[np++] = v[i];
        pairs[np++] = member(j, (int)v[i], pvtid, (uint64_t)v[0])->vtid;
    }
    ckpt__ctl_send(ptid, CTL_VTIDS, pairs, np, NULL, 0);
    free(pairs);
}

/* A task asks whether a peer belongs to the job before its first message
 * either way (runtime/msg.c, job_peer).  No waiting and no guess: a spawned
 * task is a member before its parent knows its tid, and a task says hello
 * and waits for the answer before it can send anything. */
static void on_who(struct job *j, int asker, const long *v, int n)
{
    if (n < 1)
        return;
    struct task *t = tasks_by_tid(j, (int)v[0]);
    long a[2] = {v[0], t && t->state == T_ALIVE};
    ckpt__ctl_send(asker, CTL_WHO_IS, a, 2, NULL, 0);
}

/* ------------------------------------------------------------ messages */

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
 * siblings become members here if they were not: member() may move the task
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
        w[n++] = sib[i] == me.tid ? me.vtid : member(j, (int)sib[i], me.parent_vtid, me.start_epoch)->vtid;
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

static void on_hello(struct job *j, int src, int bufid, const long *v, int n)
{
    if (n < 9 || v[6] < 0 || v[6] > 4096 || v[7] < 0 || v[7] > 4096 || v[8] < 0 || v[8] > 65536 ||
        n != 9 + v[7] + v[8]) {
        say("malformed hello from t%x", (unsigned)src);
        return;
    }
    if (!hello_allowed(j, src, v)) {
        tasks_refuse(src, "a hello: not a task this job started");
        return;
    }
    int fresh = v[5] < 0;
    struct task *t, *parent = fresh && v[2] > 0 ? tasks_by_tid(j, (int)v[2]) : NULL;
    if (fresh) {
        t = member(j, (int)v[1], parent ? parent->vtid : (int)v[2], (uint64_t)v[4]);
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

/* Handles one message; returns a task that failed, else NULL. */
static struct task *handle(struct job *j, int bufid)
{
    int len, tag, src, n = 0;
    pvm_bufinfo(bufid, &len, &tag, &src);
    if (tag == CKPT_OUTPUT_TAG || tag == CKPT_NOTIFY_TAG || tag == CKPT_HOSTDEL_TAG || tag == CKPT_HOSTADD_TAG) {
        if (!CKPT_FROM_PVMD(src)) {
            tasks_refuse(src, "what only a pvmd sends (notices, output)");
            return NULL;
        }
    }
    if (tag == CKPT_OUTPUT_TAG) {
        output_message(bufid);
        return NULL;
    }
    if (tag == CKPT_NOTIFY_TAG) {
        int dead;
        int saved = pvm_setrbuf(bufid);
        int rc = pvm_upkint(&dead, 1, 1);
        pvm_setrbuf(saved);
        return rc < 0 ? NULL : on_exit_notice(j, dead);
    }
    if (tag == CKPT_HOSTDEL_TAG)
        return hosts_on_lost(j, bufid);
    if (tag == CKPT_HOSTADD_TAG) {
        hosts_on_add(j, bufid);
        return NULL;
    }
    if (tag != CKPT_CTL_TAG)
        return NULL;
    int type = ckpt__ctl_decode(bufid, ctlv, CKPT_CTL_MAX, &n);
    if (type < 0) {
        say("dropped a malformed message from t%x: %s", (unsigned)src, strerror(-type));
        return NULL;
    }
    if (type == CTL_HELLO) {
        on_hello(j, src, bufid, ctlv, n);
        return NULL;
    }
    struct task *t = tasks_by_tid(j, src);
    if (!t) {
        tasks_refuse(src, "runtime control messages: not a task of the job");
        return NULL;
    }
    switch (type) {
    case CTL_BYE: {     /* its own exit, or a task it kills (pvm_kill) */
        struct task *who = n >= 1 ? tasks_by_vtid(j, (int)ctlv[0]) : NULL;
        if (who) {
            who->said_bye = 1;
            if (j->o.verbose >= 2)
                say("t%x left the job (pid %d)", (unsigned)who->vtid, (int)who->pid);
        }
        /* Noted before PVM or waitpid can tell us the task has gone. */
        ckpt__ctl_send(src, CTL_LEFT, ctlv, n >= 1 ? 1 : 0, NULL, 0);
        break;
    }
    case CTL_WRITTEN:
        rounds_on_written(j, t, ctlv, n);
        break;
    case CTL_WFAIL:
        rounds_on_wfail(j, t, ctlv, n);
        break;
    case CTL_WHO:
        on_who(j, src, ctlv, n);
        break;
    case CTL_SPAWNED:
        on_spawned(j, t, ctlv, n);
        break;
    case CTL_JOINED:
        if (n >= 2)
            t->joined = ctlv[1];
        break;
    default:
        tasks_refuse(src, "runtime messages of that kind");
    }
    return NULL;
}

/* ------------------------------------------------------------ recovery */

static void reap_root(struct job *j, int block)
{
    int st;
    if (!j->root_pid || j->root_done)
        return;
    pid_t r = waitpid(j->root_pid, &st, block ? 0 : WNOHANG);
    if (r == j->root_pid) {
        j->root_done = 1;
        j->root_status = st;
    }
}

void coord_kill_all(struct job *j)
{
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        if (t->state != T_ALIVE)
            continue;
        t->state = T_KILLED;
        pvm_kill(t->tid);
    }
    if (j->root_pid && !j->root_done) {
        kill(j->root_pid, SIGKILL);
        reap_root(j, 1);
    }
}

/* After the job's tasks were killed: drops what they still sent, but takes
 * in the rest of their output (under -n; none comes otherwise), which a
 * rollback must count, marks included; so it waits (a second at most) for
 * the end of every output stream. */
static void drain(double seconds)
{
    double end = coord_now() + seconds, last = end + 1.0;
    while (coord_now() < end || (output_open() && coord_now() < last)) {
        struct timeval tv = {0, 20000};
        int b = pvm_trecv(-1, -1, &tv);
        if (b <= 0)
            continue;
        int len, tag, src;
        pvm_bufinfo(b, &len, &tag, &src);
        if (tag == CKPT_OUTPUT_TAG && CKPT_FROM_PVMD(src))
            output_message(b);
        pvm_freebuf(b);
    }
}

/* One group a restarted task was in.  The task by its index: waiting for
 * its answer handles messages, and a hello or CTL_SPAWNED among them may
 * move the task table. */
struct membership {
    int task;           /* in j->tasks */
    int index;          /* in the task's hello */
    char *group;        /* its gnames[index] and ginst[index] */
    long inst;
};

static int by_group_then_instance(const void *a, const void *b)
{
    const struct membership *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    if (c)
        return c;
    return (x->inst > y->inst) - (x->inst < y->inst);
}

/* Handles what comes within 0.1 s, while a restart waits for the tasks;
 * returns a task that failed meanwhile, else NULL. */
static struct task *handle_next(struct job *j)
{
    struct timeval tv = {0, 100000};
    int b = pvm_trecv(-1, -1, &tv);
    if (b <= 0)
        return NULL;
    struct task *dead = handle(j, b);
    pvm_freebuf(b);
    return dead;
}

/* Waits for the answer of task i to CTL_JOIN; -1 if a task fails or none
 * comes.  (handle_next() may move the task table: no pointer is kept.) */
static int await_joined(struct job *j, int i)
{
    double end = coord_now() + HELLO_TIMEOUT_S;
    while (j->tasks[i].joined < 0 && coord_now() < end)
        if (handle_next(j))
            return -1;
    return j->tasks[i].joined < 0 ? -1 : 0;
}

/* A member that left a group for good leaves its instance free, and pvmgs
 * gives a joining task the lowest free one: rejoined in order, the members
 * above the hole would each come back one lower.  ckpt-run holds the first
 * hole of each group itself while the members rejoin, and leaves once they
 * have; a second hole in one group still shifts (the task says so). */
static void hold_hole(char *group, long hole, char **held, int *nheld)
{
    int got = pvm_joingroup(group);
    if (got == hole)
        held[(*nheld)++] = group;
    else if (got >= 0)
        pvm_lvgroup(group);     /* not the hole: taken meanwhile, let it be */
}

/* The restarted tasks rejoin their groups one at a time, each group in the
 * order of the saved instance numbers: the group server hands out the
 * lowest free instance, so each gets its own back. */
static int rejoin_groups(struct job *j)
{
    int n = 0;
    for (int i = 0; i < j->ntasks; i++)
        n += j->tasks[i].ngroups;
    if (n == 0)
        return 0;
    struct membership *m = malloc(sizeof *m * (size_t)n);
    char **held = calloc((size_t)n, sizeof *held);
    if (!m || !held) {
        free(m);
        free(held);
        return -1;
    }
    n = 0;
    for (int i = 0; i < j->ntasks; i++)
        for (int g = 0; g < j->tasks[i].ngroups; g++)
            m[n++] = (struct membership){i, g, j->tasks[i].gnames[g], j->tasks[i].ginst[g]};
    qsort(m, (size_t)n, sizeof *m, by_group_then_instance);
    int rc = 0, nheld = 0;
    long next = 0;      /* the instance the group's next member would get */
    for (int i = 0; i < n && !rc; i++) {
        char *group = m[i].group;
        long index = m[i].index, inst = m[i].inst;
        if (i == 0 || strcmp(group, m[i - 1].group) != 0)
            next = 0;
        if (inst > next && (nheld == 0 || strcmp(held[nheld - 1], group) != 0))
            hold_hole(group, next, held, &nheld);
        j->tasks[m[i].task].joined = -1;
        ckpt__ctl_send(j->tasks[m[i].task].tid, CTL_JOIN, &index, 1, NULL, 0);
        rc = await_joined(j, m[i].task);
        if (rc)
            say("t%x did not rejoin group %s", (unsigned)j->tasks[m[i].task].vtid, group);
        next = inst + 1;
    }
    for (int k = 0; k < nheld; k++)
        pvm_lvgroup(held[k]);
    free(held);
    free(m);
    return rc;
}

static int restart_epoch(struct job *j, uint64_t k)
{
    char edir[4096], err[512], path[4096];
    struct ckpt_commit c;
    if (ckpt_epoch_dir(edir, sizeof edir, j->o.dir, k) || ckpt_commit_read(edir, &c, err, sizeof err)) {
        say("checkpoint %llu unreadable: %s", (unsigned long long)k, err);
        return -1;
    }
    if (jobrec_check_images(j, &c) != 0) {
        ckpt_commit_free(&c);
        return -1;
    }
    /* The new table: the tasks of the checkpoint, with what we knew of them. */
    struct task *old = j->tasks;
    int nold = j->ntasks;
    j->tasks = NULL;
    j->ntasks = j->maxtasks = 0;
    int rc = 0;
    for (uint32_t i = 0; i < c.ntasks && !rc; i++) {
        struct task *t = tasks_add(j, c.tasks[i].vtid);
        t->root = !!(c.tasks[i].flags & CKPT_COMMIT_F_ROOT);
        t->state = T_KILLED;     /* until it says hello */
        t->tid = -1;
        for (int o = 0; o < nold; o++)
            if (old[o].vtid == t->vtid && old[o].argv) {
                t->argv = old[o].argv;
                t->argc = old[o].argc;
                old[o].argv = NULL;
                old[o].argc = 0;
            }
        if (!t->argv) {      /* --restart: the command line from the image, checked */
            if (ckpt_task_path(path, sizeof path, j->o.dir, k, t->vtid) ||
                jobrec_restart_argv(j, t, path, err, sizeof err)) {
                say("cannot restart t%x: %s", (unsigned)t->vtid, err);
                rc = -1;
            }
        }
    }
    for (int o = 0; o < nold; o++)
        tasks_drop(&old[o]);
    free(old);
    ckpt_commit_free(&c);
    for (int i = 0; i < j->ntasks && !rc; i++) {
        struct task *t = &j->tasks[i];
        if (ckpt_task_path(path, sizeof path, j->o.dir, k, t->vtid))
            return -1;
        rc = t->root ? launch_root(j, t->argv, path) : launch_spawned(t->argv, path, 1, &t->tid);
    }
    if (rc)
        return -1;
    /* Wait until every task is back, then tell them where everyone lives. */
    double end = coord_now() + HELLO_TIMEOUT_S;
    while (coord_now() < end) {
        int back = 0;
        for (int i = 0; i < j->ntasks; i++)
            back += j->tasks[i].state == T_ALIVE;
        if (back == j->ntasks)
            break;
        reap_root(j, 0);
        if (j->root_done) {
            say("the restarted program exited before rejoining (status %d)", j->root_status);
            return -1;
        }
        struct task *dead = handle_next(j);
        if (dead) {
            say("t%x failed while restarting", (unsigned)dead->vtid);
            return -1;
        }
    }
    if (rejoin_groups(j) != 0)
        return -1;
    long *map = malloc(sizeof(long) * (size_t)(2 * j->ntasks + 1));
    int n = 0;
    for (int i = 0; map && i < j->ntasks; i++) {
        if (j->tasks[i].state != T_ALIVE) {
            say("t%x did not come back within %.0f s", (unsigned)j->tasks[i].vtid, HELLO_TIMEOUT_S);
            free(map);
            return -1;
        }
        map[n++] = j->tasks[i].vtid;
        map[n++] = j->tasks[i].tid;
    }
    for (int i = 0; map && i < j->ntasks; i++)
        ckpt__ctl_send(j->tasks[i].tid, CTL_MAP, map, n, NULL, 0);
    free(map);
    j->committed = k;
    return 0;
}

static void cut_stdout(struct job *j)
{
    struct stat st;
    int err;
    if (j->out_start >= 0 && fstat(1, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > j->out_start &&
        (err = runlog_cut(1, j->out_start)) != 0)
        say("cannot cut stdout back: %s", strerror(-err));
}

/* Rolls the job back after a failure; 0 when it runs again. */
static int recover(struct job *j, const char *what)
{
    double t0 = coord_now();
    rounds_abort(j, "a task failed", 0);
    coord_kill_all(j);
    drain(0.05);
    for (;;) {
        if (++j->recoveries > j->o.max_restarts) {
            say("giving up after %d recoveries (--max-restarts)", j->o.max_restarts);
            j->failed = 1;
            return -1;
        }
        uint64_t epochs[64];
        jobrec_say_bad_commits(j);
        int n = ckpt_list_committed(j->o.dir, epochs, 64);
        int rc = -1;
        for (int i = 0; i < n && rc; i++) {
            if (j->o.ntasks > 0)
                output_rollback(epochs[i]);
            rc = restart_epoch(j, epochs[i]);
            runlog_reload();    /* the restarted root may have moved our lines */
            if (rc) {
                coord_kill_all(j);
                drain(0.2);
            } else {
                /* work since that checkpoint is done again (from the start: all of it) */
                j->lost_s += t0 - (j->committed == epochs[i] && j->committed_at > 0 ? j->committed_at : j->started_at);
                say("%s; recovered from checkpoint %llu in %.2f s", what,
                    (unsigned long long)epochs[i], coord_now() - t0);
            }
        }
        if (rc) {
            cut_stdout(j);
            if (j->o.ntasks > 0)
                output_rollback(0);
            rc = launch_fresh(j);
            if (!rc)
                say("%s; no checkpoint to go back to: restarted the job from the beginning", what);
        }
        if (!rc) {
            j->recovery_s += coord_now() - t0;
            if (j->next_epoch < j->committed)
                j->next_epoch = j->committed;
            j->last_ckpt = coord_now();
            return 0;
        }
    }
}

/* The tasks' last output may still be on its way through the pvmd. */
static void drain_output(struct job *j)
{
    if (j->o.ntasks == 0)
        return;
    double end = coord_now() + 0.3;
    while (coord_now() < end) {
        struct timeval tv = {0, 50000};
        int b = pvm_trecv(-1, CKPT_OUTPUT_TAG, &tv);
        if (b > 0) {
            handle(j, b);
            pvm_freebuf(b);
            end = coord_now() + 0.3;
        }
    }
    output_flush();
}

/* ------------------------------------------------------------ the loop */

static volatile sig_atomic_t want_ckpt, want_stop;
static void on_usr1(int sig) { (void)sig; want_ckpt = 1; }
static void on_stop(int sig) { want_stop = sig; }

/* Before the pid file names us: ckpt-ctl may signal us as soon as it does,
 * and SIGUSR1's default action would end the job. */
void coord_catch_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int coord_start(struct job *j)
{
    struct stat st;
    j->out_start = fstat(1, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
    j->last_ckpt = j->started_at = coord_now();
    /* -n: the tasks' output comes to us (a program run directly keeps its own
     * stdout, and tasks we restart for it print where its children did). */
    output_setup(j->o.ntasks > 0 ? j->mytid : 0, CKPT_OUTPUT_TAG);
    if (j->o.ntasks > 0)
        setenv("CKPT_OUTPUT_MARK", "1", 1);
    hosts_watch(j);
    if (j->o.restart_dir) {
        uint64_t epochs[64];
        jobrec_say_bad_commits(j);
        int n = ckpt_list_committed(j->o.dir, epochs, 64);
        if (n <= 0) {
            say("%s holds no committed checkpoint", j->o.dir);
            return -1;
        }
        for (int i = 0; i < n; i++) {
            int rc = restart_epoch(j, epochs[i]);
            runlog_reload();
            if (rc == 0) {
                j->next_epoch = epochs[0];
                say("restarted the job from checkpoint %llu", (unsigned long long)epochs[i]);
                return 0;
            }
            coord_kill_all(j);
            drain(0.2);
        }
        say("no checkpoint in %s could be restarted", j->o.dir);
        return -1;
    }
    return launch_fresh(j);
}

/* The program has returned, but a task of its job may still be on its way
 * out, writing its final image: give the job's other tasks a moment to end,
 * so that nothing is written into the checkpoint folder once ckpt-run has
 * returned.  A task still running after that is on its own. */
#define LEAVE_GRACE_S 2.0
static void let_tasks_leave(struct job *j)
{
    double end = coord_now() + LEAVE_GRACE_S;
    while (coord_now() < end) {
        int running = 0;
        for (int i = 0; i < j->ntasks; i++)
            running += j->tasks[i].state == T_ALIVE && !j->tasks[i].root;
        if (!running)
            return;
        struct task *dead = handle_next(j);
        if (dead)
            dead->state = T_KILLED;     /* no recovery now: the program has ended */
    }
}

static int finished(struct job *j)
{
    if (j->o.ntasks == 0)
        return j->root_done;    /* as a shell would: the program has returned */
    return tasks_alive(j) == 0 && j->ntasks > 0;
}

/* Runs the job to its end; returns ckpt-run's exit status. */
int coord_loop(struct job *j)
{
    for (;;) {
        if (want_stop) {
            say("stopped by signal %d", (int)want_stop);
            coord_kill_all(j);
            return 128 + want_stop;
        }
        /* Kept until it can start: a request while the program has not
         * said hello yet (ckpt-ctl right after the start) or while another
         * checkpoint is under way is the user's, and would be lost. */
        if (want_ckpt && !j->pending && tasks_alive(j)) {
            want_ckpt = 0;
            rounds_request(j);
        }
        if (j->o.interval > 0 && !j->pending && coord_now() - j->last_ckpt >= j->o.interval)
            rounds_request(j);
        rounds_check_stall(j);

        struct timeval tv = {0, 50000};
        int b = pvm_trecv(-1, -1, &tv);
        struct task *dead = NULL;
        if (b > 0) {
            dead = handle(j, b);
            pvm_freebuf(b);
        } else if (b < 0 && b != PvmNoBuf) {
            say("lost the pvmd (PVM error %d)", b);
            return 1;
        }
        reap_root(j, 0);
        if (!dead && j->root_done && j->o.ntasks == 0) {
            /* The program ended: a clean end, or a failure if it was killed or
             * left without pvm_exit while its job was under way. */
            struct task *t = NULL;
            for (int i = 0; i < j->ntasks; i++)
                if (j->tasks[i].root)
                    t = &j->tasks[i];
            int clean = WIFEXITED(j->root_status) && (WEXITSTATUS(j->root_status) == 0 || (t && t->said_bye));
            static struct task unknown;   /* died before it said hello */
            if (!clean)
                dead = t ? t : &unknown;
        }
        if (dead) {
            char what[160];
            if (dead->root && j->root_done && WIFSIGNALED(j->root_status))
                snprintf(what, sizeof what, "task t%x failed (%s)", (unsigned)dead->vtid,
                         strsignal(WTERMSIG(j->root_status)));
            else if (dead->root && j->root_done)
                snprintf(what, sizeof what, "task t%x failed (exit status %d without pvm_exit)",
                         (unsigned)dead->vtid, WEXITSTATUS(j->root_status));
            else
                snprintf(what, sizeof what, "task t%x failed", (unsigned)dead->vtid);
            dead->state = T_KILLED;
            if (recover(j, what) != 0)
                return 1;
            continue;
        }
        if (finished(j))
            break;
    }
    if (j->o.ntasks == 0)
        let_tasks_leave(j);
    if (j->pending)
        rounds_abort(j, NULL, 0);     /* the job ended first */
    for (int i = 0; i < j->ntasks; i++)     /* what outlives the program is on its own */
        if (j->tasks[i].state == T_ALIVE)
            ckpt__ctl_send(j->tasks[i].tid, CTL_END, NULL, 0, NULL, 0);
    drain_output(j);
    if (j->o.ntasks == 0)
        return WIFEXITED(j->root_status) ? WEXITSTATUS(j->root_status) : 128 + WTERMSIG(j->root_status);
    return 0;
}
