/*
 * recovery.c: the job's processes, started and started again.  A fresh
 * start runs the program (or spawns -n copies); a task that exits without
 * pvm_exit is a failure: every other task is killed, every task of the
 * newest committed checkpoint is started again from its image, and once all
 * of them have said hello (and rejoined their groups) they get the map of
 * the job's new task ids; they replay their logs and run on.  --restart
 * does the same for a job whose whole virtual machine was lost.
 *
 * While it waits for the restarted tasks, their messages are handled
 * through dispatch_next(): task pointers are not held across it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "jobrec.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

#define HELLO_TIMEOUT_S 30.0

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

/* Spawns count copies of argv through PVM (task vtid restarted, or the
 * copies of a fresh start: vtid 0); their tids in tids[count].  Where they
 * go: on host `on` when it is not NULL (the one that holds the image of a
 * --host-local job), else hosts_place. */
static int launch_spawned(struct job *j, char **argv, const char *restore, int vtid, int count, int *tids,
                          const char *on)
{
    if (restore)
        setenv("CKPT_RESTORE", restore, 1);
    else
        unsetenv("CKPT_RESTORE");
    int n = 0;
    for (int got = 0; n < count; n += got) {
        char *where = (char *)(on ? on : hosts_place(j, vtid));
        got = pvm_spawn(argv[0], argv + 1, *where ? PvmTaskHost : PvmTaskDefault, where,
                        *where ? 1 : count - n, tids + n);
        if (got <= 0)
            break;
    }
    unsetenv("CKPT_RESTORE");
    if (n < count) {
        say("cannot spawn %s: %d of %d started (PVM error %d)", argv[0], n < 0 ? 0 : n, count,
            n < 0 ? n : (count > 0 ? tids[n > 0 ? n : 0] : 0));
        return -1;
    }
    return 0;
}

/* Starts the job from its beginning.  The copies of -n are members from
 * pvm_spawn's return, as a task's children are: only members say hello. */
int recovery_launch_fresh(struct job *j)
{
    for (int i = 0; i < j->ntasks; i++)
        tasks_drop(&j->tasks[i]);
    j->ntasks = 0;
    if (j->o.ntasks == 0)
        return launch_root(j, j->o.argv, NULL);
    int tids[j->o.ntasks];
    if (launch_spawned(j, j->o.argv, NULL, 0, j->o.ntasks, tids, NULL))
        return -1;
    for (int i = 0; i < j->o.ntasks; i++)
        members_add(j, tids[i], PvmNoParent, 0);
    return 0;
}

void recovery_reap_root(struct job *j, int block)
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

void recovery_kill_all(struct job *j)
{
    hosts_fence(j);
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        if (t->state != T_ALIVE)
            continue;
        t->state = T_KILLED;
        pvm_kill(t->tid);
    }
    if (j->root_pid && !j->root_done) {
        kill(j->root_pid, SIGKILL);
        recovery_reap_root(j, 1);
    }
}

/* After the job's tasks were killed: drops what they still sent, but takes
 * in the rest of their output (under -n; none comes otherwise), which a
 * rollback must count, marks included; so it waits (a second at most) for
 * the end of every output stream. */
static void drain(double seconds)
{
    double end = job_now() + seconds, last = end + 1.0;
    while (job_now() < end || (output_open() && job_now() < last)) {
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

/* Waits for the answer of task i to CTL_JOIN; -1 if a task fails or none
 * comes.  (dispatch_next() may move the task table: no pointer is kept.) */
static int await_joined(struct job *j, int i)
{
    double end = job_now() + HELLO_TIMEOUT_S;
    while (j->tasks[i].joined < 0 && job_now() < end)
        if (dispatch_next(j))
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

/* --host-local: where each task of checkpoint k restarts (on[i], a pvmd
 * tid): a live host whose folder holds its image; those hosts get the
 * commit records its images are checked against. */
static int place_local(struct job *j, uint64_t k, int *on)
{
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        on[i] = copies_host_for(j, t);
        if (!on[i]) {
            say("checkpoint %llu: the image of t%x was on host %s and its copy on %s, both lost",
                (unsigned long long)k, (unsigned)t->vtid, hosts_name_of(t->held[0]), hosts_name_of(t->held[1]));
            return -1;
        }
    }
    return copies_records(j, k, on, j->ntasks);
}

static int restart_epoch(struct job *j, uint64_t k)
{
    char edir[4096], err[512], path[4096];
    struct ckpt_commit c;
    if (ckpt_epoch_dir(edir, sizeof edir, j->o.dir, k) || ckpt_commit_read(edir, &c, err, sizeof err)) {
        say("checkpoint %llu unreadable: %s", (unsigned long long)k, err);
        return -1;
    }
    /* (With --host-local our folder holds a copy of every image too.) */
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
                memcpy(t->held, old[o].held, sizeof t->held);
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
    int *on = j->o.host_local ? calloc((size_t)j->ntasks + 1, sizeof *on) : NULL;
    if (j->o.host_local && (!on || place_local(j, k, on) != 0))
        rc = -1;
    for (int i = 0; i < j->ntasks && !rc; i++) {
        struct task *t = &j->tasks[i];
        if (ckpt_task_path(path, sizeof path, j->o.dir, k, t->vtid))
            return -1;
        rc = t->root ? launch_root(j, t->argv, path)
                     : launch_spawned(j, t->argv, path, t->vtid, 1, &t->tid, on ? hosts_name_of(on[i]) : NULL);
    }
    free(on);
    if (rc)
        return -1;
    /* Wait until every task is back, then tell them where everyone lives. */
    double end = job_now() + HELLO_TIMEOUT_S;
    while (job_now() < end) {
        int back = 0;
        for (int i = 0; i < j->ntasks; i++)
            back += j->tasks[i].state == T_ALIVE;
        if (back == j->ntasks)
            break;
        recovery_reap_root(j, 0);
        if (j->root_done) {
            say("the restarted program exited before rejoining (status %d)", j->root_status);
            return -1;
        }
        struct task *dead = dispatch_next(j);
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
int recovery_rollback(struct job *j, const char *what)
{
    double t0 = job_now();
    rounds_abort(j, "a task failed", 0);
    recovery_kill_all(j);
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
                recovery_kill_all(j);
                drain(0.2);
            } else {
                /* work since that checkpoint is done again (from the start: all of it) */
                j->lost_s += t0 - (j->committed == epochs[i] && j->committed_at > 0 ? j->committed_at : j->started_at);
                say("%s; recovered from checkpoint %llu in %.2f s", what,
                    (unsigned long long)epochs[i], job_now() - t0);
            }
        }
        if (rc) {
            cut_stdout(j);
            if (j->o.ntasks > 0)
                output_rollback(0);
            rc = recovery_launch_fresh(j);
            if (!rc)
                say("%s; no checkpoint to go back to: restarted the job from the beginning", what);
        }
        if (!rc) {
            j->recovery_s += job_now() - t0;
            if (j->next_epoch < j->committed)
                j->next_epoch = j->committed;
            j->last_ckpt = job_now();
            return 0;
        }
    }
}

/* --restart: the job again from the newest of its folder's checkpoints
 * that can be restarted. */
int recovery_restart(struct job *j)
{
    uint64_t epochs[64];
    jobrec_say_bad_commits(j);
    int n = ckpt_list_committed(j->o.dir, epochs, 64);
    if (n <= 0) {
        say("%s holds no committed checkpoint", j->o.dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (j->o.has_epoch && epochs[i] != j->o.epoch)
            continue;       /* --epoch: that one or none */
        int rc = restart_epoch(j, epochs[i]);
        runlog_reload();
        if (rc == 0) {
            j->next_epoch = epochs[0];
            say("restarted the job from checkpoint %llu", (unsigned long long)epochs[i]);
            return 0;
        }
        recovery_kill_all(j);
        drain(0.2);
    }
    if (j->o.has_epoch)
        say("checkpoint %llu of %s is not committed or could not be restarted",
            (unsigned long long)j->o.epoch, j->o.dir);
    else
        say("no checkpoint in %s could be restarted", j->o.dir);
    return -1;
}
