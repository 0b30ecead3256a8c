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
    return ckpt__job() ? ckpt__handler_add(src, tag, ctx, f) : pvm_addmhf(src, tag, ctx, f);
}

int ckpt_pvm_delmhf(int id)
{
    return ckpt__job() ? ckpt__handler_del(id) : pvm_delmhf(id);
}

int (*ckpt_pvm_recvf(int (*f)(int, int, int)))(int (*)(int, int, int))
{
    if (!ckpt__job())
        return pvm_recvf(f);
    ckpt_match_fn old = ckpt__match_set(f);
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
