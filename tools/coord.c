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
        members_add(j, tids[i], PvmNoParent, 0);
    return 0;
}

/* ------------------------------------------------------------ messages */

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
        members_on_hello(j, src, bufid, ctlv, n);
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
