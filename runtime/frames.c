/*
 * frames.c: the shadow stack, and the other calls rewritten code makes
 * (ckpt_checkpoint, ckpt_get_stats).
 *
 * Rewritten functions call in here on every entry and exit, so the normal
 * (not restoring) path is a handful of stores.  Rebuilding frames after a
 * restart is restore.c's business; this file only hands over to it.  The
 * first frame entered (main's) starts the task (task.c), or ckpt_main, which
 * calls the program's main at its fixed address (layout.c).  The globals
 * rewritten code registers are globals.c's.
 */
#include <alloca.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

void ckpt_enter(struct ckpt_frame *f, const char *func, struct ckpt_var *vars,
                int nvars, const uint64_t *live)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (__builtin_expect(!rt->inited, 0))
        ckpt__init();
    f->up = rt->top;
    f->func = func;
    f->vars = vars;
    f->nvars = nvars;
    f->site = 0;
    f->live = live;
    f->resume = 0;
    f->step = 0;
    f->saved = NULL;
    for (int i = 0; i < nvars; i++)
        vars[i].reg = 0;
    rt->top = f;
    rt->depth++;
    if (__builtin_expect(rt->depth == 1, 0))
        ckpt__start();
    if (__builtin_expect(rt->restoring, 0))
        ckpt__restore_frame(f);
}

void ckpt_leave(struct ckpt_frame *f)
{
    /* Unlink by the frame's own link, so a frame skipped by longjmp cannot
     * leave the stack pointing into dead memory for long. */
    ckpt__rt.top = f->up;
    ckpt__rt.depth--;
}

void ckpt_bind(struct ckpt_frame *f, int i, unsigned reg, void *addr, size_t size,
               size_t elem, size_t count, unsigned kind, const char *name)
{
    if (i < 0 || i >= f->nvars)
        ckpt__die("%s: variable index %d out of range (rebuild with the same ckpt-cc)", f->func, i);
    struct ckpt_var *v = &f->vars[i];
    v->addr = addr;
    v->size = size;
    v->elem = elem ? elem : 1;
    v->count = count;
    v->name = name;
    v->kind = kind;
    v->reg = reg;
    if (f->resume)
        ckpt__restore_var(f, i);
}

volatile int ckpt_requested;

/* The program's main, renamed by ckpt-cc: the task starts (restored, if it
 * restarts) before main's frame exists, which then goes where it was in the
 * first run (layout.c). */
int ckpt_main(int (*entry)(int, char **, char **), int argc, char **argv, char **envp)
{
    ckpt__init();
    ckpt__start();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t sp = ckpt__main_stack(here);
    char **args = ckpt__main_args(argc, argv, envp);
    /* The pad puts entry's frame at the same address in every run: here moves
     * with the environment, here - pad does not. */
    char *pad = alloca(here - sp);
    __asm__ volatile("" : : "r"(pad) : "memory");
    int n = 0;
    while (args[n])
        n++;
    return entry(n, args, args + n + 1);
}

void ckpt_checkpoint(void)
{
    ckpt__safepoint();
}

void ckpt_get_stats(struct ckpt_stats *st)
{
    *st = ckpt__rt.st;
    st->epoch = ckpt__rt.epoch;
}
