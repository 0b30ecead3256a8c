/*
 * tasks.c: the job's task table (struct job's tasks, and every virtual id
 * the job has used), and the task ids whose messages are not reported
 * again: senders already refused, and earlier incarnations of tasks.
 */
#include <stdlib.h>
#include <string.h>

#include "coordpriv.h"
#include "runlog.h"

struct task *tasks_by_tid(struct job *j, int tid)
{
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].tid == tid)
            return &j->tasks[i];
    return NULL;
}

struct task *tasks_by_vtid(struct job *j, int vtid)
{
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].vtid == vtid)
            return &j->tasks[i];
    return NULL;
}

/* Task ids not to report about: senders already reported, and tasks of
 * earlier incarnations, whose last messages may still come in. */
static int *hushed, nhushed, maxhushed;

static int is_hushed(int tid)
{
    for (int i = 0; i < nhushed; i++)
        if (hushed[i] == tid)
            return 1;
    return 0;
}

static void hush(int tid)
{
    if (tid <= 0 || is_hushed(tid))
        return;
    if (nhushed == maxhushed) {
        int max = 2 * maxhushed + 16, *h = realloc(hushed, sizeof *h * (size_t)max);
        if (!h)
            return;     /* it may be reported again: no harm */
        hushed = h;
        maxhushed = max;
    }
    hushed[nhushed++] = tid;
}

void tasks_refuse(int src, const char *what)
{
    if (is_hushed(src))
        return;
    hush(src);
    say("t%x may not send %s: ignored (said once per sender)", (unsigned)src, what);
}

void tasks_drop(struct task *t)
{
    hush(t->tid);       /* what it still sends is an earlier incarnation's */
    for (int i = 0; i < t->argc; i++)
        free(t->argv[i]);
    free(t->argv);
    free(t->cut);
    free(t->sent);
    for (int i = 0; i < t->ngroups; i++)
        free(t->gnames[i]);
    free(t->gnames);
    free(t->ginst);
    memset(t, 0, sizeof *t);
}

struct task *tasks_add(struct job *j, int vtid)
{
    if (j->ntasks == j->maxtasks) {
        int max = j->maxtasks ? 2 * j->maxtasks : 16;
        struct task *t = realloc(j->tasks, (size_t)max * sizeof *t);
        if (!t) {
            say("out of memory");
            exit(70);
        }
        j->tasks = t;
        j->maxtasks = max;
    }
    struct task *t = &j->tasks[j->ntasks++];
    memset(t, 0, sizeof *t);
    t->vtid = vtid;
    int *u = j->nused < j->maxused ? j->used : realloc(j->used, sizeof *u * (size_t)(j->maxused = 2 * j->maxused + 16));
    if (!u) {
        say("out of memory");
        exit(70);
    }
    j->used = u;
    j->used[j->nused++] = vtid;
    return t;
}

int tasks_alive(const struct job *j)
{
    int n = 0;
    for (int i = 0; i < j->ntasks; i++)
        n += j->tasks[i].state == T_ALIVE;
    return n;
}
