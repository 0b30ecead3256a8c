/*
 * coord.c: the job coordinator's loop (see coord.h, and coordpriv.h for its
 * modules), on top of them all.  It owns the signals ckpt-run obeys and the
 * job's start and end; it hands each message to dispatch.c, starts
 * checkpoint rounds (by interval or on demand), and starts a recovery when
 * a task failed, the program ckpt-run runs included.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pvm3.h>

#include "coord.h"
#include "coordpriv.h"
#include "output.h"
#include "proto.h"
#include "runlog.h"

/* The tasks' last output may still be on its way through the pvmd. */
static void drain_output(struct job *j)
{
    if (j->o.ntasks == 0)
        return;
    double end = job_now() + 0.3;
    while (job_now() < end) {
        struct timeval tv = {0, 50000};
        int b = pvm_trecv(-1, CKPT_OUTPUT_TAG, &tv);
        if (b > 0) {
            dispatch_message(j, b);
            pvm_freebuf(b);
            end = job_now() + 0.3;
        }
    }
    output_flush();
}

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
    j->last_ckpt = j->started_at = job_now();
    /* -n: the tasks' output comes to us (a program run directly keeps its own
     * stdout, and tasks we restart for it print where its children did). */
    output_setup(j->o.ntasks > 0 ? j->mytid : 0, CKPT_OUTPUT_TAG);
    if (j->o.ntasks > 0)
        setenv("CKPT_OUTPUT_MARK", "1", 1);
    hosts_watch(j);
    int rc = j->o.restart_dir ? recovery_restart(j) : recovery_launch_fresh(j);
    if (rc == 0)
        hosts_add_spares(j);
    return rc;
}

/* The program has returned, but a task of its job may still be on its way
 * out, writing its final image: give the job's other tasks a moment to end,
 * so that nothing is written into the checkpoint folder once ckpt-run has
 * returned.  A task still running after that is on its own. */
#define LEAVE_GRACE_S 2.0
static void let_tasks_leave(struct job *j)
{
    double end = job_now() + LEAVE_GRACE_S;
    while (job_now() < end) {
        int running = 0;
        for (int i = 0; i < j->ntasks; i++)
            running += j->tasks[i].state == T_ALIVE && !j->tasks[i].root;
        if (!running)
            return;
        struct task *dead = dispatch_next(j);
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

/* Starts a checkpoint when one is due: asked for (SIGUSR1, ckpt-ctl) or by
 * --interval; aborts one that has stalled. */
static void rounds_due(struct job *j)
{
    /* Kept until it can start: a request while the program has not
     * said hello yet (ckpt-ctl right after the start) or while another
     * checkpoint is under way is the user's, and would be lost. */
    if (want_ckpt && !j->pending && tasks_alive(j)) {
        want_ckpt = 0;
        rounds_request(j);
    }
    if (j->o.interval > 0 && !j->pending && job_now() - j->last_ckpt >= j->o.interval)
        rounds_request(j);
    rounds_nudge(j);
    rounds_check_stall(j);
}

/* The program run directly (no -n) has ended: a clean end, or a failure if
 * it was killed or left without pvm_exit while its job was under way.
 * Returns the failed task, else NULL. */
static struct task *root_failure(struct job *j)
{
    struct task *t = NULL;
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].root)
            t = &j->tasks[i];
    int clean = WIFEXITED(j->root_status) && (WEXITSTATUS(j->root_status) == 0 || (t && t->said_bye));
    static struct task unknown;   /* died before it said hello */
    return clean ? NULL : t ? t : &unknown;
}

/* The failure of task dead, in words, into what[size]. */
static void describe_failure(const struct job *j, const struct task *dead, char *what, size_t size)
{
    if (dead->root && j->root_done && WIFSIGNALED(j->root_status))
        snprintf(what, size, "task t%x failed (%s)", (unsigned)dead->vtid, strsignal(WTERMSIG(j->root_status)));
    else if (dead->root && j->root_done)
        snprintf(what, size, "task t%x failed (exit status %d without pvm_exit)", (unsigned)dead->vtid,
                 WEXITSTATUS(j->root_status));
    else
        snprintf(what, size, "task t%x failed", (unsigned)dead->vtid);
}

/* The job has ended; returns ckpt-run's exit status. */
static int end_job(struct job *j)
{
    if (j->o.ntasks == 0)
        let_tasks_leave(j);
    if (j->pending)
        rounds_abort(j, NULL, 0);     /* the job ended first */
    for (int i = 0; i < j->ntasks; i++)     /* what outlives the program is on its own */
        if (j->tasks[i].state == T_ALIVE)
            ckpt__ctl_send(j->tasks[i].tid, CTL_END, NULL, 0, NULL, 0);
    hosts_stop_beats();
    drain_output(j);
    if (j->o.ntasks == 0)
        return WIFEXITED(j->root_status) ? WEXITSTATUS(j->root_status) : 128 + WTERMSIG(j->root_status);
    return 0;
}

/* Runs the job to its end; returns ckpt-run's exit status. */
int coord_loop(struct job *j)
{
    for (;;) {
        if (want_stop) {
            say("stopped by signal %d", (int)want_stop);
            hosts_stop_beats();
            recovery_kill_all(j);
            return 128 + want_stop;
        }
        rounds_due(j);
        struct timeval tv = {0, 50000};
        int b = pvm_trecv(-1, -1, &tv);
        struct task *dead = NULL;
        if (b > 0) {
            dead = dispatch_message(j, b);
            pvm_freebuf(b);
        } else if (b < 0 && b != PvmNoBuf) {
            say("lost the pvmd (PVM error %d)", b);
            return 1;
        }
        recovery_reap_root(j, 0);
        if (!dead)
            dead = hosts_check(j);
        if (!dead && j->root_done && j->o.ntasks == 0)
            dead = root_failure(j);
        if (dead) {
            char what[160];
            describe_failure(j, dead, what, sizeof what);
            dead->state = T_KILLED;
            if (recovery_rollback(j, what) != 0)
                return 1;
            continue;
        }
        if (finished(j))
            return end_job(j);
    }
}
