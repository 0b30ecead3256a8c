/*
 * queue.c: the receive queue of an instrumented task, and everything that
 * decides which queued message an application receive gets.
 *
 * The runtime takes every message off the wire in arrival order (msg.c), in
 * every message context, and files it here.  An application receive then
 * matches against the queue by source, tag and the application's current
 * context, or with the application's own matching function (pvm_recvf);
 * messages for the application's message handlers (pvm_addmhf) go to them
 * at safe points instead.  So the runtime's control traffic, which travels
 * in the base context under reserved tags, never meets an application
 * receive, and the matching rules stay PVM's.
 */
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"

void ckpt__enqueue(int bufid, int src_vtid, int tag, int ctx, int len)
{
    struct ckpt_rt *rt = &ckpt__rt;
    struct ckpt_qmsg *q = malloc(sizeof *q);
    if (!q)
        ckpt__die("out of memory (receive queue)");
    *q = (struct ckpt_qmsg){NULL, bufid, src_vtid, tag, ctx, len, 0, 0};
    if (rt->q_tail)
        rt->q_tail->next = q;
    else
        rt->q_head = q;
    rt->q_tail = q;
}

static const struct ckpt_handler *handler_for(const struct ckpt_qmsg *q)
{
    struct ckpt_rt *rt = &ckpt__rt;
    for (int i = 0; i < rt->nhandlers; i++) {
        const struct ckpt_handler *h = &rt->handlers[i];
        if ((h->src == -1 || h->src == q->src_vtid) && (h->tag == -1 || h->tag == q->tag) &&
            h->ctx == q->ctx)
            return h;
    }
    return NULL;
}

/* PVM's rule: a message matches if source and tag match (-1: any) and it
 * was sent in the receiver's current context.  With the application's own
 * function (app: an application receive, not the runtime's collectives),
 * PVM's ranking: <0 an error, 0 no, 1 this one, >1 the highest. */
int ckpt__queue_find(int vtid, int tag, int app, struct ckpt_qmsg **found, struct ckpt_qmsg **prev)
{
    struct ckpt_rt *rt = &ckpt__rt;
    struct ckpt_qmsg *pv = NULL;
    int best = 0;
    *found = NULL;
    for (struct ckpt_qmsg *q = rt->q_head; q; pv = q, q = q->next) {
        if (rt->nhandlers && handler_for(q))
            continue;
        int rank;
        if (app && rt->match_fn)
            rank = rt->match_fn(q->bufid, vtid, tag);
        else
            rank = (vtid == -1 || q->src_vtid == vtid) && (tag == -1 || q->tag == tag) &&
                   q->ctx == rt->ctx;
        if (rank < 0)
            return rank;
        if (rank > best) {
            best = rank;
            *found = q;
            *prev = pv;
            if (rank == 1)
                break;
        }
    }
    return *found != NULL;
}

/* Sources of delivered messages that PVM itself would report wrongly
 * (messages rebuilt after a restart were sent by the task to itself),
 * indexed by buffer id: a restored queue may hold any number of them. */
static struct restored {
    int set, src_vtid, tag;
} *restored_src;
static int nrestored;       /* entries allocated */

void ckpt__restored_note(int bufid, int src_vtid, int tag)
{
    if (bufid <= 0)
        return;
    struct restored *r = ckpt__grow(restored_src, &nrestored, bufid + 1, sizeof *r);
    if (!r)
        ckpt__die("out of memory (restored messages)");
    restored_src = r;
    restored_src[bufid] = (struct restored){1, src_vtid, tag};
}

void ckpt__restored_forget(int bufid)
{
    if (bufid > 0 && bufid < nrestored)
        restored_src[bufid].set = 0;
}

static void unlink_msg(struct ckpt_qmsg *q, struct ckpt_qmsg *prev)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (prev)
        prev->next = q->next;
    else
        rt->q_head = q->next;
    if (rt->q_tail == q)
        rt->q_tail = prev;
}

/* Makes q the active receive buffer (the caller has let go of the previous one). */
int ckpt__deliver(struct ckpt_qmsg *q, struct ckpt_qmsg *prev)
{
    unlink_msg(q, prev);
    pvm_setrbuf(q->bufid);
    int b = q->bufid;
    free(q);
    ckpt__rt.st.msgs_received++;
    return b;
}

/* Runs the handler of every queued message that has one, as PVM does: with
 * the application's buffers set aside, the message as the active receive
 * buffer, freed afterwards unless the handler kept or freed it.  Never
 * inside a handler, and a handler's own PVM calls take no checkpoint. */
void ckpt__run_handlers(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (!rt->nhandlers || rt->in_handler)
        return;
    struct ckpt_qmsg *pv = NULL, *q = rt->q_head;
    while (q) {
        const struct ckpt_handler *h = handler_for(q);
        if (!h) {
            pv = q;
            q = q->next;
            continue;
        }
        int (*fn)(int) = h->fn;
        int b = q->bufid;
        unlink_msg(q, pv);
        free(q);
        rt->st.msgs_received++;
        int sb = pvm_setsbuf(0), rb = pvm_setrbuf(b);
        rt->in_handler = 1;
        fn(b);
        rt->in_handler = 0;
        if (pvm_getrbuf() == b)
            pvm_freebuf(b);
        ckpt__restored_forget(b);
        pvm_setrbuf(rb);
        pvm_setsbuf(sb);
        pv = NULL;      /* the handler may have changed the queue: from the top */
        q = rt->q_head;
    }
}

/* ------------------------------------------------------ the wrapped calls */

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

/* A pvmd numbers contexts from the start (its host bits, then 1, 2, ...), so
 * under the new pvmd of `ckpt-run --restart` a context made from now on could
 * get the number of one the job made before and still uses.  Take numbers
 * from this host's pvmd until past the highest this task made there (each
 * task does so for its own, and a host's tasks share one pvmd); under the
 * same pvmd the first one taken is already past. */
#define PVM_TIDHOST 0x3ffc0000      /* host bits of task ids and contexts, as in PVM's tid layout */
void ckpt__skip_made_contexts(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int made = rt->ctx_made, host = rt->mytid & PVM_TIDHOST;
    if (made <= 0)
        return;
    if ((made & PVM_TIDHOST) != host) {
        pr_warn("restarted on another host than the one it made message contexts on: "
                "a context made there from now on may repeat one of them (up to %d)", made);
        return;
    }
    int ctx, n = 0;
    while ((ctx = pvm_newcontext()) > 0 && (ctx & PVM_TIDHOST) == host && ctx <= made)
        n++;        /* kept: freed, the pvmd would hand it out again */
    if (ctx > 0)
        pvm_freecontext(ctx);
    if (n)
        pr_info("skipped %d message context number(s) the job made before the restart", n);
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

/* What the application sees of a message's header: virtual task ids, and
 * for a message rebuilt after a restart its original sender and tag. */
static void app_view(int bufid, int *msgtag, int *tid)
{
    if (bufid > 0 && bufid < nrestored && restored_src[bufid].set) {
        if (msgtag)
            *msgtag = restored_src[bufid].tag;
        if (tid)
            *tid = restored_src[bufid].src_vtid;
    } else if (tid) {
        *tid = ckpt__vtid_of(*tid);
    }
}

int ckpt_pvm_bufinfo(int bufid, int *bytes, int *msgtag, int *tid)
{
    int rc = pvm_bufinfo(bufid, bytes, msgtag, tid);
    if (rc >= 0 && ckpt__job())
        app_view(bufid, msgtag, tid);
    return rc;
}

int ckpt_pvm_getminfo(int bufid, struct pvmminfo *info)
{
    int rc = pvm_getminfo(bufid, info);
    if (rc >= 0 && info && ckpt__job()) {
        app_view(bufid, &info->tag, &info->src);
        info->dst = ckpt__vtid_of(info->dst);
    }
    return rc;
}
