/*
 * wrap_msg.c: the PVM calls that move messages in an instrumented task:
 * sends (on the channels of wire.c, logged by log.c) and receives (matched
 * against the receive queue of queue.c), and the typed sends and takes the
 * group collectives are built on.
 *
 * Each is a safe point before it moves anything: a checkpoint taken there
 * holds the task as it was before the call, which the resumed task makes again.
 */
#include <stdlib.h>
#include <pvm3.h>

#include "rt.h"

int ckpt_pvm_initsend(int encoding)
{
    if (ckpt__job())
        ckpt__log_let_go(pvm_getsbuf());    /* PVM would free it; the log may keep it */
    return pvm_initsend(encoding);
}

int ckpt_pvm_freebuf(int bufid)
{
    return ckpt__job() ? ckpt__app_free(bufid) : pvm_freebuf(bufid);
}

int ckpt_pvm_send(int tid, int msgtag)
{
    if (!ckpt__job())
        return pvm_send(tid, msgtag);
    ckpt__safepoint();
    return ckpt__send_now(tid, msgtag);
}

int ckpt_pvm_mcast(int *tids, int count, int msgtag)
{
    if (!ckpt__job())
        return pvm_mcast(tids, count, msgtag);
    ckpt__safepoint();
    if (count <= 0)
        return pvm_mcast(tids, count, msgtag);
    int *real = malloc((size_t)count * sizeof *real);
    if (!real)
        return PvmNoMem;
    int m = 0;
    for (int i = 0; i < count; i++) {
        struct ckpt_peer *p = ckpt__peer(tids[i], 1);
        if (p->gone)
            continue;   /* exited: PVM would drop its copy */
        ckpt__mark_epoch(p);
        real[m++] = p->tid;
    }
    int sb = pvm_getsbuf();
    int rc = m ? pvm_mcast(real, m, msgtag) : 0;
    free(real);
    for (int i = 0; rc >= 0 && i < count; i++) {
        struct ckpt_peer *p = ckpt__peer(tids[i], 1);
        if (!p->gone)
            ckpt__sent(p, sb, msgtag);
    }
    return rc;
}

static int pack_typed(void *buf, int len, int type, int unpack)
{
    switch (type) {
    case PVM_STR: return unpack ? pvm_upkstr(buf) : pvm_pkstr(buf);
    case PVM_BYTE: return unpack ? pvm_upkbyte(buf, len, 1) : pvm_pkbyte(buf, len, 1);
    case PVM_SHORT: return unpack ? pvm_upkshort(buf, len, 1) : pvm_pkshort(buf, len, 1);
    case PVM_INT: return unpack ? pvm_upkint(buf, len, 1) : pvm_pkint(buf, len, 1);
    case PVM_FLOAT: return unpack ? pvm_upkfloat(buf, len, 1) : pvm_pkfloat(buf, len, 1);
    case PVM_CPLX: return unpack ? pvm_upkcplx(buf, len, 1) : pvm_pkcplx(buf, len, 1);
    case PVM_DOUBLE: return unpack ? pvm_upkdouble(buf, len, 1) : pvm_pkdouble(buf, len, 1);
    case PVM_DCPLX: return unpack ? pvm_upkdcplx(buf, len, 1) : pvm_pkdcplx(buf, len, 1);
    case PVM_LONG: return unpack ? pvm_upklong(buf, len, 1) : pvm_pklong(buf, len, 1);
    case PVM_USHORT: return unpack ? pvm_upkushort(buf, len, 1) : pvm_pkushort(buf, len, 1);
    case PVM_UINT: return unpack ? pvm_upkuint(buf, len, 1) : pvm_pkuint(buf, len, 1);
    case PVM_ULONG: return unpack ? pvm_upkulong(buf, len, 1) : pvm_pkulong(buf, len, 1);
    default: return PvmBadParam;
    }
}

int ckpt__type_size(int type)
{
    static const int sz[] = {1, 1, sizeof(short), sizeof(int), sizeof(float), 2 * sizeof(float),
                             sizeof(double), 2 * sizeof(double), sizeof(long), sizeof(short),
                             sizeof(int), sizeof(long)};
    return type >= 0 && type <= PVM_ULONG ? sz[type] : 1;
}

/* len items of datatype in one raw message, without a safe point. */
int ckpt__send_typed(int tid, int msgtag, void *buf, int len, int datatype)
{
    int b = pvm_mkbuf(PvmDataRaw);
    if (b < 0)
        return b;
    int old = pvm_setsbuf(b);
    int rc = pack_typed(buf, len, datatype, 0);
    if (rc >= 0)
        rc = ckpt__send_now(tid, msgtag);
    pvm_setsbuf(old);
    ckpt__app_free(b);
    return rc < 0 ? rc : 0;
}

/* pvm_psend and pvm_precv move len items' bytes as they are, whatever the
 * datatype (only its size counts), as libpvm3 does: the bytes of a message
 * packed otherwise are not converted, and strings are refused. */
static int typed_bytes(int len, int datatype)
{
    if (datatype == PVM_STR)
        return PvmNotImpl;
    if (datatype < PVM_BYTE || datatype > PVM_ULONG)
        return PvmBadParam;
    return len * ckpt__type_size(datatype);
}

int ckpt_pvm_psend(int tid, int msgtag, void *buf, int len, int datatype)
{
    if (!ckpt__job())
        return pvm_psend(tid, msgtag, buf, len, datatype);
    int bytes = typed_bytes(len, datatype);
    if (bytes < 0)
        return bytes;
    ckpt__safepoint();
    return ckpt__send_typed(tid, msgtag, buf, bytes, PVM_BYTE);
}

/* Waits until a message with msgtag from each of the n peers is queued.
 * Checkpoints may fall here: nothing is consumed yet, so a restart simply
 * redoes the caller (a collective) from its start. */
int ckpt__await_all(const int *vtids, int n, int msgtag)
{
    for (;;) {
        int missing = 0;
        const struct ckpt_qinfo *q;
        for (int i = 0; i < n && !missing; i++)
            missing = ckpt__queue_find(vtids[i], msgtag, 0, &q) == 0;
        if (!missing)
            return 0;
        int rc = ckpt__wait_one(NULL, ckpt__writing());
        if (rc < 0)
            return rc;
        ckpt__due();
        ckpt__run_handlers();
    }
}

/* Takes the queued message with msgtag from vtid into len items of datatype,
 * leaving the application's receive buffer as it was. */
int ckpt__take_typed(int vtid, int msgtag, void *buf, int len, int datatype)
{
    const struct ckpt_qinfo *q;
    if (ckpt__queue_find(vtid, msgtag, 0, &q) != 1)
        return PvmNoBuf;
    int saved = pvm_setrbuf(0);
    int b = ckpt__deliver(q);
    int rc = pack_typed(buf, len, datatype, 1);
    pvm_freebuf(b);
    pvm_setrbuf(saved);
    return rc < 0 ? rc : 0;
}

/* Receives: match the queue, else take from the wire until a match.
 * tmo: NULL blocks; {0,0} polls; else waits that long. */
/* keep_active: pvm_precv's receive, which leaves the active receive buffer
 * alone.  It stays active through the safe point, so that a checkpoint
 * taken there holds it (a partly unpacked message goes on where it was), and
 * the message found is made active on top of it for the caller to undo. */
static int receive_msg(int tid, int msgtag, const struct timeval *tmo, int keep_active)
{
    struct ckpt_rt *rt = &ckpt__rt;
    uint64_t deadline = 0;
    if (tmo)
        deadline = ckpt__now_ns() + (uint64_t)tmo->tv_sec * 1000000000u + (uint64_t)tmo->tv_usec * 1000u;
    if (ckpt__in_handler()) {
        pr_err("a receive inside a message handler is not allowed (PVM forbids it too)");
        return PvmNotImpl;
    }
    /* As in PVM, a receive frees the active receive buffer first, whether or
     * not a message comes; the next message then reuses its memory, still in
     * the cache, instead of growing the task's footprint by a message. */
    if (!keep_active) {
        int old = pvm_setrbuf(0);
        if (old > 0)
            ckpt__app_free(old);
    }
    ckpt__safepoint();
    for (;;) {
        const struct ckpt_qinfo *q;
        int rc = ckpt__queue_find(tid, msgtag, 1, &q);
        if (rc != 0)
            return rc < 0 ? rc : ckpt__deliver(q);
        struct timeval left, *lp = NULL;
        if (tmo) {
            uint64_t now = ckpt__now_ns();
            if (now >= deadline) {
                while (ckpt__poll_one() > 0 && rt->requested <= rt->epoch) {
                    ckpt__run_handlers();
                    if ((rc = ckpt__queue_find(tid, msgtag, 1, &q)) != 0)
                        return rc < 0 ? rc : ckpt__deliver(q);
                }
                return 0;
            }
            left.tv_sec = (time_t)((deadline - now) / 1000000000u);
            left.tv_usec = (suseconds_t)((deadline - now) % 1000000000u / 1000u);
            lp = &left;
        }
        rc = ckpt__wait_one(lp, ckpt__writing());
        if (rc < 0)
            return rc;
        ckpt__due();
        ckpt__run_handlers();
    }
}

static int receive(int tid, int msgtag, const struct timeval *tmo)
{
    return receive_msg(tid, msgtag, tmo, 0);
}

int ckpt_pvm_recv(int tid, int msgtag)
{
    return ckpt__job() ? receive(tid, msgtag, NULL) : pvm_recv(tid, msgtag);
}

int ckpt_pvm_nrecv(int tid, int msgtag)
{
    static const struct timeval zero = {0, 0};
    return ckpt__job() ? receive(tid, msgtag, &zero) : pvm_nrecv(tid, msgtag);
}

int ckpt_pvm_trecv(int tid, int msgtag, struct timeval *tmout)
{
    return ckpt__job() ? receive(tid, msgtag, tmout) : pvm_trecv(tid, msgtag, tmout);
}

int ckpt_pvm_probe(int tid, int msgtag)
{
    if (!ckpt__job())
        return pvm_probe(tid, msgtag);
    ckpt__safepoint();
    const struct ckpt_qinfo *q;
    int rc = ckpt__queue_find(tid, msgtag, 1, &q);
    if (rc == 0) {      /* like PVM's probe, look at the wire too */
        ckpt__poll();
        ckpt__due();
        ckpt__run_handlers();
        rc = ckpt__queue_find(tid, msgtag, 1, &q);
    }
    return rc <= 0 ? rc : q->bufid;
}

int ckpt_pvm_precv(int tid, int msgtag, void *buf, int len, int datatype,
                   int *rtid, int *rtag, int *rlen)
{
    if (!ckpt__job())
        return pvm_precv(tid, msgtag, buf, len, datatype, rtid, rtag, rlen);
    int max = typed_bytes(len, datatype);
    if (max < 0)
        return max;
    int rb = pvm_getrbuf();     /* pvm_precv leaves the active receive buffer alone */
    int b = receive_msg(tid, msgtag, NULL, 1);
    if (b < 0)
        return b;
    int bytes, tag, src;
    ckpt_pvm_bufinfo(b, &bytes, &tag, &src);
    pvm_upkbyte(buf, bytes < max ? bytes : max, 1);
    ckpt__app_free(pvm_setrbuf(rb));
    if (rtid)
        *rtid = src;
    if (rtag)
        *rtag = tag;
    if (rlen)
        *rlen = bytes;      /* in bytes, as libpvm3 reports it */
    return 0;
}
