/*
 * notify.c: pvm_notify in an instrumented task.
 *
 * PVM keeps notify requests in the pvmds, out of the image, and a notice
 * names the real task id of the task that exited.  After a rollback every
 * task of the job runs under a new real id and the pvmds know nothing of
 * what the application asked for; so the runtime keeps the requests itself,
 * by virtual id (saved in the image, META), makes them again once a
 * restarted task knows the job's new ids (CTL_MAP), and translates each
 * notice's task id back to the virtual one as the notice comes off the wire
 * (wire.c, pull_one).
 *
 * A task killed and brought back by a recovery has not exited: an exit
 * notice must reach the application only for the incarnation of a task
 * that the runtime watches now.  Notices PVM sends for any other id under a
 * watched tag are dropped, and an exit notice the image holds unread for a
 * task the rollback restarts becomes a request again (that task exits anew
 * if it had really left: a task restarted from its final image leaves again).
 *
 * Notices come from a pvmd (its task id has the TIDPVMD bit), in the message
 * context that was current when the request was made, under the request's tag.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

static struct ckpt_notify *notifies;   /* requests PVM has not answered yet */
static int nnotifies, maxnotifies;

#define PVM_TIDPVMD 0x80000000u     /* the bit of pvmd task ids, as in PVM's tid layout */
#define PVM_LOCAL_PVMD ((int)PVM_TIDPVMD)

static int add(int what, int tag, int ctx, int vtid, int tid, int count)
{
    struct ckpt_notify *n = ckpt__grow(notifies, &maxnotifies, nnotifies + 1, sizeof *n);
    if (!n)
        return PvmNoMem;
    notifies = n;
    notifies[nnotifies++] = (struct ckpt_notify){what, tag, ctx, vtid, tid, count};
    return 0;
}

static void drop(int i)
{
    notifies[i] = notifies[--nnotifies];
}

/* The request (kind what, tag, ctx) about task or host id tid; -1 if none. */
static int find(int what, int tag, int ctx, int tid)
{
    for (int i = 0; i < nnotifies; i++) {
        const struct ckpt_notify *n = &notifies[i];
        if (n->what == what && n->tag == tag && n->ctx == ctx && (what == PvmHostAdd || n->tid == tid))
            return i;
    }
    return -1;
}

/* Whether the application watches tag in ctx for what at all. */
static int watched(int what, int tag, int ctx)
{
    for (int i = 0; i < nnotifies; i++)
        if (notifies[i].what == what && notifies[i].tag == tag && notifies[i].ctx == ctx)
            return 1;
    return 0;
}

/* Files an exit notice naming vtid as if it had just come from the pvmd:
 * for a task the runtime knows is gone (PVM cannot be asked about an id it
 * no longer has), and for a notice whose real id is translated. */
static void enqueue_exit(int tag, int ctx, int vtid)
{
    int b = pvm_mkbuf(PvmDataDefault);
    if (b < 0)
        ckpt__die("cannot make an exit notice: PVM error %d", b);
    int old = pvm_setsbuf(b);
    int rc = pvm_pkint(&vtid, 1, 1);
    pvm_setsbuf(old);
    if (rc < 0)
        ckpt__die("cannot make an exit notice: PVM error %d", rc);
    ckpt__enqueue(&(struct ckpt_qinfo){b, PVM_LOCAL_PVMD, tag, ctx, ckpt__buf_len(b),
                                       PvmTaskExit, vtid});
    ckpt__restored_note(b, PVM_LOCAL_PVMD, tag);    /* what pvm_bufinfo reports */
}

/* Whether vtid is a task of the job that the rollback restarted (it is in
 * the coordinator's map), and a job task gone for good (mapped to no id). */
static int restarted(int vtid)
{
    struct ckpt_peer *p = ckpt__peer(vtid, 0);
    return vtid != ckpt__rt.myvtid && p && p->instrumented == PEER_JOB && p->tid > 0;
}

static int gone(int vtid)
{
    struct ckpt_peer *p = ckpt__peer(vtid, 0);
    return p && p->instrumented == PEER_JOB && p->tid == 0;
}

/* Watches task vtid's exit with tag in ctx (PVM's current context). */
static int watch_exit(int tag, int ctx, int vtid)
{
    if (gone(vtid)) {
        enqueue_exit(tag, ctx, vtid);
        return 0;
    }
    int tid = ckpt__tid_of(vtid);
    int rc = add(PvmTaskExit, tag, ctx, vtid, tid, 0);
    if (rc == 0 && (rc = pvm_notify(PvmTaskExit, tag, 1, &tid)) < 0)
        drop(nnotifies - 1);
    return rc;
}

static int notify_hosts(int what, int tag, int count, int *dtids)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int rc = pvm_notify(what, tag, count, dtids);
    if (rc < 0)
        return rc;
    if (what == PvmHostAdd) {       /* PVM replaces the count, 0 turns it off */
        int i = find(PvmHostAdd, tag, rt->ctx, 0);
        if (i >= 0)
            drop(i);
        return count ? add(PvmHostAdd, tag, rt->ctx, 0, 0, count) : 0;
    }
    for (int i = 0; rc >= 0 && i < count; i++)
        rc = add(PvmHostDelete, tag, rt->ctx, dtids[i], dtids[i], 0);
    return rc;
}

/* pvm_notify in a job (wrap_task.c). */
int ckpt__notify(int what, int msgtag, int count, int *tids)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int kind = what & ~PvmNotifyCancel;
    if (kind == PvmHostAdd || (kind == PvmHostDelete && count > 0 && tids && !(what & PvmNotifyCancel)))
        return what & PvmNotifyCancel ? pvm_notify(what, msgtag, count, tids)
                                      : notify_hosts(kind, msgtag, count, tids);
    if (kind != PvmTaskExit || count <= 0 || !tids)
        return pvm_notify(what, msgtag, count, tids);
    if (what & PvmNotifyCancel) {
        /* PVM then sends the notices as if the tasks had exited: they
         * arrive under the requests kept here, which they end. */
        int *real = malloc((size_t)count * sizeof *real);
        if (!real)
            return PvmNoMem;
        for (int i = 0; i < count; i++)
            real[i] = ckpt__tid_of(tids[i]);
        int rc = pvm_notify(what, msgtag, count, real);
        free(real);
        return rc;
    }
    int rc = 0;
    for (int i = 0; i < count && rc >= 0; i++)
        rc = watch_exit(msgtag, rt->ctx, tids[i]);
    return rc < 0 ? rc : 0;
}

/* The first int of a notice's body, read from its bytes: unpacking would
 * move the position the application's own unpack starts from.  Pvmds pack
 * notices with PvmDataDefault (XDR: big-endian); a raw body is native. */
#define PVM_XDR_ENC 0x10000000      /* encoding signature of PvmDataDefault buffers */
static int first_int(int bufid, int *v)
{
    unsigned char b[4096];          /* notices are a few ints; copies are whole fragments */
    int enc, len = ckpt__buf_len(bufid);
    if (len < 4 || len > (int)sizeof b || ckpt__buf_bytes(bufid, b, sizeof b, &enc) != len)
        return -1;
    if (enc == PVM_XDR_ENC)
        *v = (int)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    else
        memcpy(v, b, sizeof *v);
    return 0;
}

/* A message from a pvmd (wire.c, pull_one): files it if it is a notice the
 * application asked for, translated, or drops it if it names an id the
 * application no longer watches.  Returns 1 if it took the message, 0 if
 * it is none of those (it is filed as any other message). */
int ckpt__notice(int bufid, int src, int tag, int ctx, int len)
{
    int id, i;
    if (!((unsigned)src & PVM_TIDPVMD) || first_int(bufid, &id) < 0)
        return 0;
    if ((i = find(PvmTaskExit, tag, ctx, id)) >= 0) {
        int vtid = notifies[i].vtid;
        drop(i);
        if (vtid == id) {
            ckpt__enqueue(&(struct ckpt_qinfo){bufid, src, tag, ctx, len, PvmTaskExit, vtid});
        } else {
            pvm_freebuf(bufid);
            enqueue_exit(tag, ctx, vtid);
        }
        return 1;
    }
    if ((i = find(PvmHostDelete, tag, ctx, id)) >= 0) {
        drop(i);
    } else if ((i = find(PvmHostAdd, tag, ctx, 0)) >= 0) {
        if (notifies[i].count > 0 && --notifies[i].count == 0)
            drop(i);
    } else if (watched(PvmTaskExit, tag, ctx)) {
        /* An id under a watched tag that no request names: a task of an
         * incarnation a rollback replaced (its new one is watched). */
        pr_debug("dropped an exit notice for t%x: no request names it now", (unsigned)id);
        pvm_freebuf(bufid);
        return 1;
    } else {
        return 0;
    }
    ckpt__enqueue(&(struct ckpt_qinfo){bufid, src, tag, ctx, len, 0, 0});
    return 1;
}

/* Exit notices the image held unread for tasks the rollback restarted were
 * sent for an incarnation that no longer exists (it was killed after its
 * checkpoint) or that exits again (restarted from its final image): either
 * way the application must wait for the new one's exit. */
static void requeue_restarted(void)
{
    const struct ckpt_qinfo *q = ckpt__queue_next(NULL), *next;
    for (; q; q = next) {
        next = ckpt__queue_next(q);
        if (q->notice == PvmTaskExit && restarted(q->subject) &&
            add(PvmTaskExit, q->tag, q->ctx, q->subject, 0, 0) == 0) {
            ckpt__restored_forget(q->bufid);
            pvm_freebuf(q->bufid);
            ckpt__queue_remove(q);
        }
    }
}

/* Makes every saved request again, under the job's new task ids (after
 * CTL_MAP and the rebuild of the receive queue). */
void ckpt__notify_restart(void)
{
    requeue_restarted();
    int saved_ctx = pvm_getcontext();
    for (int i = 0; i < nnotifies;) {
        struct ckpt_notify *n = &notifies[i];
        int rc;
        pvm_setcontext(n->ctx);     /* PVM sends the notice in the requester's context */
        if (n->what == PvmTaskExit && gone(n->vtid)) {
            enqueue_exit(n->tag, n->ctx, n->vtid);
            drop(i);
            continue;
        }
        if (n->what == PvmTaskExit)
            n->tid = ckpt__tid_of(n->vtid);
        rc = n->what == PvmHostAdd ? pvm_notify(PvmHostAdd, n->tag, n->count, NULL)
                                   : pvm_notify(n->what, n->tag, 1, &n->tid);
        if (rc < 0)
            pr_err("cannot make notify request %d (tag %d, t%x) again: PVM error %d",
                   n->what, n->tag, (unsigned)n->vtid, rc);
        i++;
    }
    pvm_setcontext(saved_ctx);
}

/* META's notify records (state.c). */
int ckpt__notify_count(void)
{
    return nnotifies;
}

void ckpt__notify_records(struct notify_rec *nr)
{
    for (int i = 0; i < nnotifies; i++) {
        const struct ckpt_notify *q = &notifies[i];
        nr[i] = (struct notify_rec){q->what, q->tag, q->ctx, q->vtid, q->count, 0};
    }
}

/* The saved requests; each is made again once the job's new task ids are
 * known (ckpt__notify_restart). */
int ckpt__notify_load(const struct notify_rec *nr, int n)
{
    if (n == 0)
        return 0;
    notifies = calloc((size_t)n, sizeof *notifies);
    if (!notifies)
        return -ENOMEM;
    nnotifies = maxnotifies = n;
    for (int i = 0; i < n; i++) {
        if (nr[i].what != PvmTaskExit && nr[i].what != PvmHostDelete && nr[i].what != PvmHostAdd)
            return -EINVAL;
        notifies[i] = (struct ckpt_notify){nr[i].what, nr[i].tag, nr[i].ctx, nr[i].vtid,
                                           nr[i].vtid, nr[i].count};
    }
    return 0;
}
