/*
 * wrap_buf.c: the PVM calls about message buffers, contexts and handlers in
 * an instrumented task: what the runtime must know of them to save them
 * (the context the application sends in, the contexts it made, its message
 * handlers and matching function) and to show it virtual ids.
 */
#include <pvm3.h>

#include "rt.h"

int ckpt_pvm_setcontext(int ctx)
{
    if (ckpt__job())
        ckpt__rt.ctx = ctx;
    return pvm_setcontext(ctx);
}

int ckpt_pvm_newcontext(void)
{
    if (!ckpt__job())
        return pvm_newcontext();
    int ctx = pvm_newcontext();
    if (ctx > ckpt__rt.ctx_made)
        ckpt__rt.ctx_made = ctx;
    return ctx;
}

int ckpt_pvm_addmhf(int src, int tag, int ctx, int (*f)(int))
{
    if (!ckpt__job())
        return pvm_addmhf(src, tag, ctx, f);
    struct ckpt_rt *rt = &ckpt__rt;
    if (!f)
        return PvmBadParam;
    for (int i = 0; i < rt->nhandlers; i++)
        if (rt->handlers[i].src == src && rt->handlers[i].tag == tag && rt->handlers[i].ctx == ctx)
            return PvmExists;
    struct ckpt_handler *h = ckpt__grow(rt->handlers, &rt->maxhandlers, rt->nhandlers + 1, sizeof *h);
    if (!h)
        return PvmNoMem;
    rt->handlers = h;
    int id = ++rt->handler_ids;
    rt->handlers[rt->nhandlers++] = (struct ckpt_handler){id, src, tag, ctx, f};
    return id;
}

int ckpt_pvm_delmhf(int id)
{
    if (!ckpt__job())
        return pvm_delmhf(id);
    struct ckpt_rt *rt = &ckpt__rt;
    if (id < 0)
        return PvmBadParam;
    for (int i = 0; i < rt->nhandlers; i++)
        if (rt->handlers[i].id == id) {
            rt->handlers[i] = rt->handlers[--rt->nhandlers];
            return PvmOk;
        }
    return PvmNotFound;
}

int (*ckpt_pvm_recvf(int (*f)(int, int, int)))(int (*)(int, int, int))
{
    if (!ckpt__job())
        return pvm_recvf(f);
    int (*old)(int, int, int) = ckpt__rt.match_fn;
    ckpt__rt.match_fn = f;
    return (int (*)(int (*)(int, int, int)))(void (*)(void))old;   /* pvm3.h's prototype, sic */
}

int ckpt_pvm_bufinfo(int bufid, int *bytes, int *msgtag, int *tid)
{
    int rc = pvm_bufinfo(bufid, bytes, msgtag, tid);
    if (rc >= 0 && ckpt__job())
        ckpt__app_view(bufid, msgtag, tid);
    return rc;
}

int ckpt_pvm_getminfo(int bufid, struct pvmminfo *info)
{
    int rc = pvm_getminfo(bufid, info);
    if (rc >= 0 && info && ckpt__job()) {
        ckpt__app_view(bufid, &info->tag, &info->src);
        info->dst = ckpt__vtid_of(info->dst);
    }
    return rc;
}
