/*
 * peers.c: the channel table: one entry per task this task has exchanged
 * messages with, under its virtual task id (what the application sees, the
 * same for the life of the job) and the PVM task id it lives at now, which
 * changes when a rollback restarts it.  Its sequence numbers, epoch marks
 * and log (log.c) hang off the entry.
 */
#include <stdlib.h>

#include "rt.h"

struct ckpt_peer *ckpt__peer(int vtid, int create)
{
    struct ckpt_rt *rt = &ckpt__rt;
    static struct ckpt_peer *last;
    if (last && last->vtid == vtid)
        return last;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->vtid == vtid)
            return last = rt->peers[i];
    if (!create)
        return NULL;
    struct ckpt_peer **pp = ckpt__grow(rt->peers, &rt->maxpeers, rt->npeers + 1, sizeof *pp);
    if (!pp)
        ckpt__die("out of memory (channel table)");
    rt->peers = pp;
    struct ckpt_peer *p = calloc(1, sizeof *p);
    if (!p)
        ckpt__die("out of memory (channel table)");
    p->vtid = p->tid = vtid;
    p->in_next = 1;
    /* Under ckpt-run, whether a task met for the first time belongs to the
     * job is asked of the coordinator before the first message either way
     * (wire.c, job_peer); pvmds' addresses and the task itself need no asking. */
    p->instrumented = rt->mode != CKPT_MODE_JOB || vtid <= 0 ? PEER_PLAIN
                    : vtid == rt->myvtid ? PEER_JOB : PEER_UNKNOWN;
    rt->peers[rt->npeers++] = p;
    return last = p;
}

/* The channel to task vtid of the job, which lives at tid. */
struct ckpt_peer *ckpt__job_peer_at(int vtid, int tid)
{
    struct ckpt_peer *p = ckpt__peer(vtid, 1);
    p->tid = tid;
    p->instrumented = PEER_JOB;
    return p;
}

int ckpt__vtid_of(int tid)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (tid == rt->mytid)
        return rt->myvtid;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->tid == tid)
            return rt->peers[i]->vtid;
    return tid;
}

int ckpt__tid_of(int vtid)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (vtid == rt->myvtid)
        return rt->mytid;
    struct ckpt_peer *p = ckpt__peer(vtid, 0);
    return p ? p->tid : vtid;
}
