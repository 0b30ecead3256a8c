/*
 * member.c: the groups this task is in (libgpvm3's group server holds them,
 * out of the image), kept and saved so that a restarted task rejoins them:
 * ckpt-run has the job rejoin each group in the order of the saved instance
 * numbers (CTL_JOIN, attach.c), which the group server then hands out again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

#include "proto.h"
#include "rt.h"
#include "sections.h"

static struct ckpt_group *groups;
static int ngroups, maxgroups;

/* pvm_joingroup, remembered. */
int ckpt__member_join(const char *group)
{
    struct ckpt_group *g = ckpt__grow(groups, &maxgroups, ngroups + 1, sizeof *g);
    if (!g)
        return PvmNoMem;
    groups = g;
    int inst = pvm_joingroup((char *)group);
    if (inst < 0)
        return inst;
    g = &groups[ngroups++];
    snprintf(g->name, sizeof g->name, "%s", group);
    g->inst = inst;
    return inst;
}

/* pvm_lvgroup's membership forgotten (the call itself is the caller's). */
void ckpt__member_leave(const char *group)
{
    for (int i = 0; group && i < ngroups; i++)
        if (!strcmp(groups[i].name, group)) {
            groups[i] = groups[--ngroups];
            break;
        }
}

/* Rejoins group `index` of our hello.  Our dead predecessor may still hold
 * the instance until the group server has noticed its exit: wait a little. */
void ckpt__rejoin(int index)
{
    if (index < 0 || index >= ngroups)
        return;
    struct ckpt_group *g = &groups[index];
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

/* Group i of the task's memberships and its instance; NULL past the last. */
const char *ckpt__member(int i, int *inst)
{
    if (i < 0 || i >= ngroups)
        return NULL;
    *inst = groups[i].inst;
    return groups[i].name;
}

_Static_assert(sizeof ((struct group_rec *)0)->name == CKPT_GROUP_NAME, "group name length");

/* META's group records (state.c). */
int ckpt__member_count(void)
{
    return ngroups;
}

void ckpt__member_records(struct group_rec *gr)
{
    for (int i = 0; i < ngroups; i++) {
        gr[i].inst = groups[i].inst;
        memcpy(gr[i].name, groups[i].name, sizeof gr[i].name);
    }
}

int ckpt__member_load(const struct group_rec *gr, int n)
{
    if (n == 0)
        return 0;
    groups = calloc((size_t)n, sizeof *groups);
    if (!groups)
        return -ENOMEM;
    ngroups = maxgroups = n;
    for (int i = 0; i < n; i++) {
        if (!memchr(gr[i].name, '\0', sizeof gr[i].name))
            return -EINVAL;
        memcpy(groups[i].name, gr[i].name, sizeof groups[i].name);
        groups[i].inst = gr[i].inst;
    }
    return 0;
}
