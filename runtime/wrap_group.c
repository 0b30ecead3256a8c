/*
 * wrap_group.c: PVM's group calls (libgpvm3) in an instrumented task.
 *
 * Group membership lives in the group server, which speaks to libgpvm3 by
 * remote calls: those pass untouched.  What moves application data must go
 * through the runtime's channels (sequence numbers, sender log), so the
 * collectives are built here on them: pvm_bcast is a multicast to the
 * members; reduce, gather and scatter send one message per member.
 *
 * A collective has one safe point, at its start.  The sending side sends
 * everything without another; the receiving side first waits until every
 * contribution is queued (a checkpoint may fall there: nothing is consumed,
 * so a restart redoes the call) and then takes them all at once.
 */
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"

/* Joining and leaving are safe points, before the call, like every other
 * wrapped call that talks to another task (here the group server): a job
 * that joins and leaves in a loop would otherwise never checkpoint.  The
 * image then holds the memberships as they were before the call, which is
 * what the task rejoins (member.c); the resumed task makes the call again. */
int ckpt_pvm_joingroup(char *group)
{
    if (!ckpt__job())
        return pvm_joingroup(group);
    if (!group || strlen(group) >= CKPT_GROUP_NAME) {
        pr_err("pvm_joingroup: a group name must be shorter than %d bytes under ckpt-run",
               CKPT_GROUP_NAME);
        return PvmBadParam;
    }
    ckpt__safepoint();
    return ckpt__member_join(group);
}

int ckpt_pvm_lvgroup(char *group)
{
    if (ckpt__job()) {
        ckpt__safepoint();
        ckpt__member_leave(group);
    }
    return pvm_lvgroup(group);
}

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

/* The other members of group in instance order (virtual ids), and our
 * place in that order; returns how many others, or a PVM error. */
static int others(char *group, int **out, int *mine)
{
    int n = pvm_gsize(group);
    if (n < 0)
        return n;
    int *v = malloc(sizeof *v * (size_t)(n ? n : 1)), m = 0, found = 0;
    if (!v)
        return PvmNoMem;
    *mine = -1;
    /* instances may have holes where members left: scan until all are seen */
    for (int inst = 0; found < n && inst < n + 4096; inst++) {
        int tid = pvm_gettid(group, inst);
        if (tid < 0)
            continue;
        if (tid == ckpt__rt.mytid)
            *mine = found;
        else
            v[m++] = ckpt__vtid_of(tid);
        found++;
    }
    if (*mine < 0) {
        free(v);
        return PvmNotInGroup;
    }
    *out = v;
    return m;
}

/* The root's virtual id, and whether that is us. */
static int root_of(char *group, int root, int *me)
{
    int tid = pvm_gettid(group, root);
    if (tid < 0)
        return tid;
    *me = tid == ckpt__rt.mytid;
    return ckpt__vtid_of(tid);
}

/* Where reduce and gather start, at their one safe point: a member sends
 * its data to the root (*member = 1; returns the send's result); the root
 * waits until every other member's is queued and returns how many, in from[]
 * in instance order (its own place: *mine). */
static int contributions(char *group, int root, void *data, int count, int datatype,
                         int msgtag, int *member, int **from, int *mine)
{
    ckpt__safepoint();
    int am_root = 0, rvtid = root_of(group, root, &am_root);
    *member = !am_root;
    if (rvtid < 0)
        return rvtid;
    if (!am_root)
        return ckpt__send_typed(rvtid, msgtag, data, count, datatype);
    int n = others(group, from, mine);
    int rc = n < 0 ? n : ckpt__await_all(*from, n, msgtag);
    if (rc < 0 && n >= 0)
        free(*from);
    return rc < 0 ? rc : n;
}

int ckpt_pvm_reduce(void (*func)(int *, void *, void *, int *, int *), void *data, int count,
                    int datatype, int msgtag, char *group, int root)
{
    if (!ckpt__job())
        return pvm_reduce(func, data, count, datatype, msgtag, group, root);
    int member, *from, mine;
    int n = contributions(group, root, data, count, datatype, msgtag, &member, &from, &mine);
    if (member || n < 0)
        return n < 0 ? n : 0;
    char *tmp = malloc((size_t)ckpt__type_size(datatype) * (size_t)(count > 0 ? count : 1));
    int rc = tmp ? 0 : PvmNoMem;
    for (int i = 0; rc >= 0 && i < n; i++) {
        int info = 0;
        rc = ckpt__take_typed(from[i], msgtag, tmp, count, datatype);
        if (rc >= 0)
            func(&datatype, data, tmp, &count, &info);
        if (info < 0)
            rc = info;
    }
    free(tmp);
    free(from);
    return rc < 0 ? rc : 0;
}

int ckpt_pvm_gather(void *result, void *data, int count, int datatype, int msgtag,
                    char *group, int root)
{
    if (!ckpt__job())
        return pvm_gather(result, data, count, datatype, msgtag, group, root);
    int member, *from, mine;
    int n = contributions(group, root, data, count, datatype, msgtag, &member, &from, &mine);
    if (member || n < 0)
        return n < 0 ? n : 0;
    size_t slice = (size_t)ckpt__type_size(datatype) * (size_t)count;
    int rc = 0;
    memcpy((char *)result + slice * (size_t)mine, data, slice);
    for (int i = 0; rc >= 0 && i < n; i++)     /* member i of the others sits at i or i+1 */
        rc = ckpt__take_typed(from[i], msgtag, (char *)result + slice * (size_t)(i < mine ? i : i + 1),
                              count, datatype);
    free(from);
    return rc < 0 ? rc : 0;
}

int ckpt_pvm_scatter(void *result, void *data, int count, int datatype, int msgtag,
                     char *group, int root)
{
    if (!ckpt__job())
        return pvm_scatter(result, data, count, datatype, msgtag, group, root);
    int am_root, rvtid = root_of(group, root, &am_root);
    if (rvtid < 0)
        return rvtid;
    if (!am_root)
        return ckpt_pvm_precv(rvtid, msgtag, result, count, datatype, NULL, NULL, NULL);
    ckpt__safepoint();
    int *to, mine, n = others(group, &to, &mine);
    if (n < 0)
        return n;
    size_t slice = (size_t)ckpt__type_size(datatype) * (size_t)count;
    memcpy(result, (char *)data + slice * (size_t)mine, slice);
    int rc = 0;
    for (int i = 0; rc >= 0 && i < n; i++)
        rc = ckpt__send_typed(to[i], msgtag, (char *)data + slice * (size_t)(i < mine ? i : i + 1),
                              count, datatype);
    free(to);
    return rc < 0 ? rc : 0;
}
