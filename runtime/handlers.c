/*
 * handlers.c: the application's message handlers (pvm_addmhf) and its
 * matching function (pvm_recvf), which the receive queue (queue.c) obeys,
 * and their records in META.  Both are functions of the executable, which
 * moves with its load address across a restart.
 */
#include <errno.h>
#include <stdlib.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

static struct ckpt_handler *handlers;
static int nhandlers, maxhandlers, last_id;
static int (*match_fn)(int, int, int);     /* NULL: PVM's rule */
static int running;                         /* a handler runs now */

int ckpt__handler_add(int src, int tag, int ctx, int (*f)(int))
{
    if (!f)
        return PvmBadParam;
    for (int i = 0; i < nhandlers; i++)
        if (handlers[i].src == src && handlers[i].tag == tag && handlers[i].ctx == ctx)
            return PvmExists;
    struct ckpt_handler *h = ckpt__grow(handlers, &maxhandlers, nhandlers + 1, sizeof *h);
    if (!h)
        return PvmNoMem;
    handlers = h;
    int id = ++last_id;
    handlers[nhandlers++] = (struct ckpt_handler){id, src, tag, ctx, f};
    return id;
}

int ckpt__handler_del(int id)
{
    if (id < 0)
        return PvmBadParam;
    for (int i = 0; i < nhandlers; i++)
        if (handlers[i].id == id) {
            handlers[i] = handlers[--nhandlers];
            return PvmOk;
        }
    return PvmNotFound;
}

/* The handler that takes messages from src with tag in ctx, NULL if none. */
const struct ckpt_handler *ckpt__handler_for(int src, int tag, int ctx)
{
    for (int i = 0; i < nhandlers; i++) {
        const struct ckpt_handler *h = &handlers[i];
        if ((h->src == -1 || h->src == src) && (h->tag == -1 || h->tag == tag) && h->ctx == ctx)
            return h;
    }
    return NULL;
}

int ckpt__handler_count(void)
{
    return nhandlers;
}

/* Runs h on bufid; a handler's own PVM calls take no checkpoint meanwhile. */
void ckpt__handler_run(const struct ckpt_handler *h, int bufid)
{
    int (*fn)(int) = h->fn;
    running = 1;
    fn(bufid);
    running = 0;
}

int ckpt__in_handler(void)
{
    return running;
}

ckpt_match_fn ckpt__match_fn(void)
{
    return match_fn;
}

ckpt_match_fn ckpt__match_set(ckpt_match_fn f)
{
    ckpt_match_fn old = match_fn;
    match_fn = f;
    return old;
}

/* META's handler records and the matching function (state.c). */
void ckpt__handler_records(struct handler_rec *hr, uint64_t *match)
{
    for (int i = 0; i < nhandlers; i++) {
        const struct ckpt_handler *h = &handlers[i];
        hr[i] = (struct handler_rec){h->id, h->src, h->tag, h->ctx, (uintptr_t)h->fn};
    }
    *match = (uintptr_t)match_fn;
}

int ckpt__handler_load(const struct handler_rec *hr, int n, uint64_t match)
{
    match_fn = (ckpt_match_fn)(uintptr_t)match;   /* at its address still (layout.c) */
    if (n == 0)
        return 0;
    handlers = calloc((size_t)n, sizeof *handlers);
    if (!handlers)
        return -ENOMEM;
    nhandlers = maxhandlers = n;
    for (int i = 0; i < n; i++) {
        handlers[i] = (struct ckpt_handler){hr[i].id, hr[i].src, hr[i].tag, hr[i].ctx,
                                            (int (*)(int))(uintptr_t)hr[i].fn};
        if (hr[i].id > last_id)
            last_id = hr[i].id;
    }
    return 0;
}
