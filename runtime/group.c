/*
 * group.c: PVM's group calls (libgpvm3) in an instrumented task.
 *
 * Group membership lives in the group server, which speaks to libgpvm3 by
 * remote calls: those pass untouched.  What moves application data must go
 * through the runtime's channels (sequence numbers, sender log): pvm_bcast
 * becomes a multicast to the members.  The collectives that exchange data
 * inside libgpvm3 (reduce, gather, scatter) would bypass the channels, so
 * under ckpt-run they are refused with a message instead of misbehaving.
 */
#include <stdlib.h>
#include <pvm3.h>

#include "rt.h"

int ckpt_pvm_mcast(int *tids, int count, int msgtag);
int ckpt__job(void);

int ckpt_pvm_gettid(char *group, int inst)
{
    int tid = pvm_gettid(group, inst);
    return tid > 0 && ckpt__job() ? ckpt__vtid_of(tid) : tid;
}

int ckpt_pvm_getinst(char *group, int tid)
{
    return pvm_getinst(group, ckpt__job() ? ckpt__tid_of(tid) : tid);
}

int ckpt_pvm_barrier(char *group, int count)
{
    if (ckpt__job())
        ckpt__safepoint();
    return pvm_barrier(group, count);
}

int ckpt_pvm_bcast(char *group, int msgtag)
{
    if (!ckpt__job())
        return pvm_bcast(group, msgtag);
    int n = pvm_gsize(group);
    if (n < 0)
        return n;
    int *tids = malloc(sizeof *tids * (size_t)(n ? n : 1)), m = 0;
    if (!tids)
        return PvmNoMem;
    for (int i = 0; i < n; i++) {
        int tid = pvm_gettid(group, i);
        if (tid > 0 && tid != ckpt__rt.mytid)   /* as pvm_bcast: not to ourselves */
            tids[m++] = ckpt__vtid_of(tid);
    }
    int rc = m ? ckpt_pvm_mcast(tids, m, msgtag) : 0;
    free(tids);
    return rc < 0 ? rc : 0;
}

static int refuse(const char *call)
{
    pr_err("%s is not supported under ckpt-run yet: it exchanges data inside libgpvm3, "
           "out of the checkpoint protocol's reach", call);
    return PvmNotImpl;
}

int ckpt_pvm_reduce(void (*func)(int *, void *, void *, int *, int *), void *data, int count,
                    int datatype, int msgtag, char *group, int root)
{
    return ckpt__job() ? refuse("pvm_reduce")
                       : pvm_reduce(func, data, count, datatype, msgtag, group, root);
}

int ckpt_pvm_gather(void *result, void *data, int count, int datatype, int msgtag,
                    char *group, int root)
{
    return ckpt__job() ? refuse("pvm_gather")
                       : pvm_gather(result, data, count, datatype, msgtag, group, root);
}

int ckpt_pvm_scatter(void *result, void *data, int count, int datatype, int msgtag,
                     char *group, int root)
{
    return ckpt__job() ? refuse("pvm_scatter")
                       : pvm_scatter(result, data, count, datatype, msgtag, group, root);
}
