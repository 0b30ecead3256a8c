/*
 * attach.c: a task's entry into the job's channels.
 *
 * A fresh task enrolls in PVM and says hello to the coordinator, which
 * answers with its virtual task id and its siblings'.  A restarted task
 * gets the application's PVM buffers back (appbufs.c), says hello under
 * its saved id, rejoins its groups, learns the job's new task ids, rebuilds
 * its sender log and receive queue from the image and replays to each peer
 * what it may have missed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

#include "fault.h"
#include "proto.h"
#include "rt.h"

/* A restarted task also names the groups it was in, so that ckpt-run can
 * have the job rejoin them in the order of their instance numbers; a fresh
 * one names its parent and siblings by their PVM task ids, and learns from
 * the answer its own virtual id and theirs. */
static void hello(int parent, const int *sib, int nsib)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int ng = ckpt__member_count();
    long *v = calloc(9 + (size_t)ng + (size_t)nsib, sizeof *v);
    char **strs = calloc((size_t)rt->argc + (size_t)ng + 1, sizeof *strs);
    if (!v || !strs)
        ckpt__die("out of memory");
    long head[9] = {rt->myvtid, rt->mytid, parent, (long)getpid(), (long)rt->epoch,
                    rt->restoring ? (long)rt->epoch : -1L, rt->argc, ng, nsib};
    memcpy(v, head, sizeof head);
    memcpy(strs, rt->argv, sizeof *strs * (size_t)rt->argc);
    for (int i = 0; i < ng; i++) {
        int inst = 0;
        strs[rt->argc + i] = (char *)ckpt__member(i, &inst);
        v[9 + i] = inst;
    }
    for (int i = 0; i < nsib; i++)
        v[9 + ng + i] = sib[i];
    if (ckpt__ctl_send(rt->coord, CTL_HELLO, v, 9 + ng + nsib, strs, rt->argc + ng) < 0)
        ckpt__die("cannot reach the coordinator t%x", (unsigned)rt->coord);
    free(v);
    free(strs);
}

/* Rebuilds the log and the receive queue saved in the image, then tells every
 * peer where our channel to it restarts and sends what it may have missed. */
static void rebuild_and_replay(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    ckpt__log_rebuild();
    ckpt__queue_rebuild();

    ckpt_fault_die(rt->dir, "die-replay", 0);
    for (int i = 0; i < rt->npeers; i++) {
        struct ckpt_peer *p = rt->peers[i];
        if (p->instrumented != PEER_JOB || p->vtid == rt->myvtid || !p->out_seq || p->gone)
            continue;
        /* Acknowledged entries left gaps in the log: renumber the channel
         * before each run of consecutive entries, and after the last one. */
        uint64_t next = 0;
        for (struct ckpt_logent *e = p->log_head; e; e = e->next) {
            if (e->seq != next) {
                long first = (long)e->seq;
                ckpt__ctl_send(p->tid, CTL_REPLAY, &first, 1, NULL, 0);
            }
            int old = pvm_setsbuf(e->buf->bufid), ctx = pvm_setcontext(e->ctx);
            int rc = pvm_send(p->tid, e->tag);
            pvm_setcontext(ctx);
            pvm_setsbuf(old);
            if (rc < 0)
                pr_err("replay to t%x failed: PVM error %d", (unsigned)p->vtid, rc);
            next = e->seq + 1;
        }
        if (next != p->out_seq + 1) {
            long first = (long)(p->out_seq + 1);
            ckpt__ctl_send(p->tid, CTL_REPLAY, &first, 1, NULL, 0);
        }
        /* What follows is sent in our epoch, and the peer may acknowledge it. */
        long e = (long)rt->epoch;
        ckpt__ctl_send(p->tid, CTL_MARK, &e, 1, NULL, 0);
        p->marked_epoch = rt->epoch;
    }
}

/* Enrolls in PVM and introduces the task to the coordinator; a restarted
 * task also rejoins its groups as the coordinator asks, waits for the map of
 * the job's new task ids, and replays.  Once. */
void ckpt__attach(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    static int attached;
    if (attached || rt->mode != CKPT_MODE_JOB)
        return;
    attached = 1;
    rt->mytid = pvm_mytid();
    if (rt->mytid < 0)
        ckpt__die("cannot enroll in PVM (error %d): is the pvmd running?", rt->mytid);
    if (ckpt__buf_selftest() != 0)
        ckpt__die("this libpvm3 does not have the message layout ckpt was built for");
    rt->npvm_own = ckpt__buf_live(rt->pvm_own, 8, NULL);  /* before the application has any */
    ckpt__buf_raw_enc();    /* (its buffer's id is free again before any is restored) */
    ckpt__appbufs_restore();

    if (rt->restoring) {
        pvm_setcontext(rt->ctx);
        ckpt__skip_made_contexts();
        hello(rt->parent_vtid, NULL, 0);
    } else {
        rt->ctx = pvm_getcontext();     /* a spawned task starts in its parent's */
        const char *e0 = getenv("CKPT_EPOCH0");
        if (e0)
            rt->epoch = rt->committed = strtoull(e0, NULL, 10);
        rt->myvtid = rt->mytid;         /* until the coordinator says */
        int parent = pvm_parent();
        if (parent == rt->coord)     /* ckpt-run -n spawned us: as if started from a shell */
            parent = PvmNoParent;
        int *sib, ns = pvm_siblings(&sib);
        /* Synchronous: once a peer has a message from us, the coordinator
         * knows us, so its answer to "is this a task of the job?" needs no
         * waiting and no guess. */
        hello(parent, sib, ns > 0 ? ns : 0);
        if (!ckpt__await_welcome()) {
            /* Started by a task outside the job (a plain PVM program), as
             * without ckpt-run: it runs as one, taking no part in the job. */
            pr_warn("started by t%x, which is not a task of this job: this task runs as a "
                    "plain PVM task, without checkpoints or recovery", (unsigned)parent);
            rt->mode = CKPT_MODE_PLAIN;
            rt->coord = 0;
            return;
        }
        if (parent > 0)
            ckpt__job_peer_at(rt->parent_vtid, parent);
        for (int i = 0; i < rt->npeers; i++)
            rt->peers[i]->marked_epoch = rt->epoch;
    }
    pvm_notify(PvmTaskExit, CKPT_COORD_LOST_TAG, 1, &rt->coord);
    if (!rt->restoring)
        return;
    /* Peers' messages cannot be told apart before we know their new task ids;
     * the groups are rejoined before, in the order ckpt-run asks. */
    while (!ckpt__mapped()) {
        ckpt__coord_take();
        for (int g; (g = ckpt__join_asked()) >= 0;) {
            int ctx = pvm_setcontext(PvmBaseContext);
            ckpt__rejoin(g);
            pvm_setcontext(ctx);
        }
    }
    rebuild_and_replay();
    ckpt__notify_restart();
}
