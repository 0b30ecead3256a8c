/*
 * task.c: a task's life in the job: its one start (the image restored if
 * it restarts, then attached to the job) and its leaving (a checkpoint
 * asked for before is still taken, a final image keeps what the receivers
 * may not have consumed yet, and the coordinator learns it is no failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#include "fault.h"
#include "rt.h"

static int left;        /* left the job: pvm_exit, or exit() and a return from main */

static void exiting(int status, void *arg);

/* Runs once, at main's entry or at a PVM call made before it, whichever
 * comes first: a declaration such as `int parent = pvm_parent();` at the top
 * of main runs before main's frame is entered.  The image to restart from is
 * loaded before the task attaches, so that a restarted task introduces itself
 * under its saved id, never as a new task. */
void ckpt__start(void)
{
    static int started;
    if (started)
        return;
    started = 1;
    ckpt__restore_load();
    if (ckpt__rt.mode == CKPT_MODE_JOB) {
        if (on_exit(exiting, NULL) != 0)
            pr_warn("cannot watch for exit(): a task leaving without pvm_exit looks failed");
        /* A job task introduces itself on entering main, not at its first PVM
         * call: peers ask the coordinator whether it belongs to the job. */
        ckpt__attach();
        ckpt__watch_requests();
    }
    ckpt__restore_resume();
}

int ckpt__job(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (__builtin_expect(!rt->inited, 0))
        ckpt__init();
    if (rt->mode != CKPT_MODE_JOB)
        return 0;
    ckpt__start();
    return rt->mode == CKPT_MODE_JOB;  /* (no longer if ckpt-run refused it) */
}

/* Leaving the job, by pvm_exit or by exit() and a return from main alike.
 * The coordinator acknowledges the bye, so that it knows before PVM (or, for
 * the program it runs, waitpid) tells it the task is gone. */
void ckpt__leave(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    /* (tests) the tasks ckpt-run started keep the job from ending */
    while (rt->coord && rt->parent_vtid <= 0 && ckpt_fault_holding()) {
        struct timeval tick = {0, 10000};
        ckpt__wait_one(&tick, 0);
        ckpt__safepoint();
    }
    ckpt__poll();       /* a checkpoint asked for before we leave is still taken */
    ckpt__due();
    ckpt__reap(1);
    left = 1;
    if (!rt->coord)
        return;         /* the job is over (CTL_END): nobody to tell */
    /* The program ckpt-run runs ends the job by leaving: no rollback can
     * follow, so it needs no final image. */
    if (rt->st.log_entries > 0 && !rt->ends_job)
        ckpt__take_final();
    ckpt__bye();
}

/* exit() or a return from main without pvm_exit, as many PVM programs end:
 * a normal end all the same.  The call chain is gone (or going), so an image
 * written from here on has no frames, only the exit status: a task restarted
 * from it replays what it owes and leaves again (restore.c). */
static void exiting(int status, void *arg)
{
    struct ckpt_rt *rt = &ckpt__rt;
    (void)arg;
    if (left || !rt->coord || rt->restoring)
        return;
    rt->top = NULL;
    rt->depth = 0;
    rt->leaving = (status & 0xff) + 1;
    fflush(NULL);       /* what it printed belongs before its last image */
    ckpt__leave();
    pvm_exit();
}
