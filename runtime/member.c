/*
 * member.c: the groups this task is in (libgpvm3's group server holds them,
 * out of the image), kept and saved so that a restarted task rejoins them:
 * ckpt-run has the job rejoin each group in the order of the saved instance
 * numbers (CTL_JOIN, attach.c), which the group server then hands out again.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

#include "proto.h"
#include "rt.h"

/* pvm_joingroup, remembered. */
int ckpt__member_join(const char *group)
{
    struct ckpt_rt *rt = &ckpt__rt;
    struct ckpt_group *g = ckpt__grow(rt->groups, &rt->maxgroups, rt->ngroups + 1, sizeof *g);
    if (!g)
        return PvmNoMem;
    rt->groups = g;
    int inst = pvm_joingroup((char *)group);
    if (inst < 0)
        return inst;
    g = &rt->groups[rt->ngroups++];
    snprintf(g->name, sizeof g->name, "%s", group);
    g->inst = inst;
    return inst;
}

/* pvm_lvgroup's membership forgotten (the call itself is the caller's). */
void ckpt__member_leave(const char *group)
{
    struct ckpt_rt *rt = &ckpt__rt;
    for (int i = 0; group && i < rt->ngroups; i++)
        if (!strcmp(rt->groups[i].name, group)) {
            rt->groups[i] = rt->groups[--rt->ngroups];
            break;
        }
}

/* Rejoins group `index` of our hello.  Our dead predecessor may still hold
 * the instance until the group server has noticed its exit: wait a little. */
void ckpt__rejoin(int index)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (index < 0 || index >= rt->ngroups)
        return;
    struct ckpt_group *g = &rt->groups[index];
    for (int tries = 0; tries < 100; tries++) {
        int tid = pvm_gettid(g->name, g->inst);
        if (tid < 0 || pvm_pstat(tid) == PvmOk)
            break;
        usleep(20000);
    }
    int inst = pvm_joingroup(g->name);
    if (inst >= 0 && inst != g->inst)
        pr_warn("rejoined group %s as instance %d, not %d as before the restart",
                g->name, inst, g->inst);
    if (inst >= 0)
        g->inst = inst;
    long v[2] = {index, inst};
    ckpt__ctl_to_coord(CTL_JOINED, v, 2);
}
