/*
 * log.c: the sender log, and its sections of an image.
 *
 * Every message sent to a task of the job is kept until no rollback can ask
 * for it again (see DESIGN.md: sender-based logging): the receiver's
 * acknowledgement of what it took in the message's own epoch, a commit that
 * proves the receiver's checkpoint holds it, or the receiver's leaving the
 * job drop it.  The log keeps PVM's own send buffer rather than a copy; a
 * buffer is freed when every entry naming it is dropped and the application
 * has let go of it (pvm_initsend, pvm_freebuf).  One LOG section per channel
 * ("to tN") holds its entries; a restarted task rebuilds them, once it is
 * enrolled, and attach.c replays them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

#define PVM_INPLACE_ENC 0x20000000   /* signature libpvm3 gives PvmDataInPlace buffers */

#define LOGBUF_BUCKETS 256
static struct logbuf_node {
    struct logbuf_node *next;
    struct ckpt_logbuf lb;
} *logbufs[LOGBUF_BUCKETS];

static struct ckpt_logbuf *logbuf_find(int bufid)
{
    for (struct logbuf_node *n = logbufs[(unsigned)bufid % LOGBUF_BUCKETS]; n; n = n->next)
        if (n->lb.bufid == bufid)
            return &n->lb;
    return NULL;
}

static struct ckpt_logbuf *logbuf_add(int bufid, int len, int enc, int released)
{
    struct logbuf_node *n = calloc(1, sizeof *n);
    if (!n)
        ckpt__die("out of memory (sender log)");
    n->lb = (struct ckpt_logbuf){bufid, 0, len, enc, released};
    struct logbuf_node **head = &logbufs[(unsigned)bufid % LOGBUF_BUCKETS];
    n->next = *head;
    *head = n;
    return &n->lb;
}

static void logbuf_unref(struct ckpt_logbuf *lb)
{
    if (--lb->refs > 0)
        return;
    int bufid = lb->bufid;
    if (lb->released)
        pvm_freebuf(bufid);
    for (struct logbuf_node **pn = &logbufs[(unsigned)bufid % LOGBUF_BUCKETS]; *pn; pn = &(*pn)->next)
        if (&(*pn)->lb == lb) {
            struct logbuf_node *dead = *pn;
            *pn = dead->next;
            free(dead);
            return;
        }
}

static void log_unlink(struct ckpt_peer *p, struct ckpt_logent *e, struct ckpt_logent *prev)
{
    struct ckpt_stats *st = &ckpt__rt.st;
    if (prev)
        prev->next = e->next;
    else
        p->log_head = e->next;
    if (p->log_tail == e)
        p->log_tail = prev;
    p->log_bytes -= (uint64_t)e->buf->len;
    st->log_entries--;
    st->log_bytes -= (uint64_t)e->buf->len;
    logbuf_unref(e->buf);
    free(e);
}

static void log_append(struct ckpt_peer *p, uint64_t seq, struct ckpt_logbuf *lb, int tag, int ctx)
{
    struct ckpt_logent *e = malloc(sizeof *e);
    if (!e)
        ckpt__die("out of memory (sender log)");
    *e = (struct ckpt_logent){NULL, seq, ckpt__rt.epoch, tag, ctx, lb};
    lb->refs++;
    if (p->log_tail)
        p->log_tail->next = e;
    else
        p->log_head = e;
    p->log_tail = e;
    p->log_bytes += (uint64_t)lb->len;
    struct ckpt_stats *st = &ckpt__rt.st;
    st->log_entries++;
    st->log_bytes += (uint64_t)lb->len;
    if (st->log_bytes > st->log_peak_bytes)
        st->log_peak_bytes = st->log_bytes;
}

/* Drops the entries a committed checkpoint of the receiver proves it holds:
 * a rollback can never go behind that checkpoint again, so no replay will
 * ask for them. */
void ckpt__log_drop_upto(struct ckpt_peer *p, uint64_t seq)
{
    while (p->log_head && p->log_head->seq <= seq)
        log_unlink(p, p->log_head, NULL);
    if (seq > p->acked)
        p->acked = seq;
}

/* Checkpoints aborted since the last commit, newest last: their cuts are
 * never restored.  Bounded: one forgotten only keeps log entries longer. */
static uint64_t aborted[64];
static int naborted;

void ckpt__log_aborted(uint64_t k)
{
    if (naborted == (int)(sizeof aborted / sizeof aborted[0]))
        memmove(aborted, aborted + 1, sizeof aborted[0] * (size_t)--naborted);
    aborted[naborted++] = k;
}

/* A commit of k: no rollback reaches behind it, so aborts before it no
 * longer matter. */
void ckpt__log_committed(uint64_t k)
{
    int keep = 0;
    for (int i = 0; i < naborted; i++)
        if (aborted[i] > k)
            aborted[keep++] = aborted[i];
    naborted = keep;
}

/* Whether every cut between epochs sent and taken (cut j begins epoch j)
 * was aborted: then no checkpoint that a rollback can reach falls between. */
static int no_cut_between(uint64_t sent, uint64_t taken)
{
    if (taken <= sent)
        return 1;
    if (taken - sent > (uint64_t)naborted)
        return 0;
    for (uint64_t j = sent + 1; j <= taken; j++) {
        int found = 0;
        for (int i = 0; i < naborted && !found; i++)
            found = aborted[i] == j;
        if (!found)
            return 0;
    }
    return 1;
}

/* The receiver took every message up to seq while in `epoch`.  One we sent in
 * that same epoch can never be needed again: a rollback to that epoch's
 * checkpoint or an earlier one puts us before the send, so we send it anew;
 * any later checkpoint of the receiver holds it.  So can one sent in an
 * earlier epoch if only aborted checkpoints lie between: while checkpoints
 * keep failing (a full disk, a writer short of memory) the log must not grow
 * without bound.  The others crossed a cut in transit and wait for a commit
 * (ckpt__log_drop_upto). */
void ckpt__log_acked(struct ckpt_peer *p, uint64_t seq, uint64_t epoch)
{
    struct ckpt_logent *prev = NULL, *e = p->log_head;
    while (e && e->seq <= seq) {
        struct ckpt_logent *next = e->next;
        if (no_cut_between(e->epoch, epoch))
            log_unlink(p, e, prev);
        else
            prev = e;
        e = next;
    }
}

/* The peer has left the job for good, before the cut of a committed
 * checkpoint (or it is not among the tasks a rollback restarted): every
 * checkpoint a rollback can still reach has it gone, or restarts us from an
 * image that holds our log as it was then, so nothing we sent it can be
 * needed again; kept, those entries would stay in every later image. */
void ckpt__log_peer_gone(struct ckpt_peer *p)
{
    while (p->log_head)
        log_unlink(p, p->log_head, NULL);
    p->gone = 1;
}

/* The log's buffer for a message just sent from buffer bufid: the same PVM
 * buffer, kept (no copy), unless it was packed in place: that references the
 * application's memory, which may change, so its bytes are copied. */
static struct ckpt_logbuf *logbuf_for_sent(int bufid)
{
    struct ckpt_logbuf *lb = logbuf_find(bufid);
    if (lb)
        return lb;
    struct pvmminfo mi;
    if (pvm_getminfo(bufid, &mi) < 0)
        ckpt__die("cannot read sent buffer %d for the log", bufid);
    int len = ckpt__buf_len(bufid);
    if (len < 0)
        ckpt__die("cannot read sent buffer %d for the log", bufid);
    if (mi.enc != PVM_INPLACE_ENC)
        return logbuf_add(bufid, len, mi.enc, 0);
    char *tmp = len > 0 ? malloc((size_t)len) : NULL;
    if (len > 0 && !tmp)
        ckpt__die("out of memory (sender log)");
    ckpt__buf_bytes(bufid, tmp, (size_t)len, NULL);
    int b = ckpt__buf_make(tmp, (size_t)len, ckpt__buf_raw_enc());
    free(tmp);
    if (b < 0)
        ckpt__die("cannot copy sent buffer %d for the log: PVM error %d", bufid, b);
    return logbuf_add(b, len, ckpt__buf_raw_enc(), 1);
}

/* Logs the message just sent to p from bufid as p's channel's latest. */
void ckpt__log_sent(struct ckpt_peer *p, int bufid, int tag, int ctx)
{
    log_append(p, p->out_seq, logbuf_for_sent(bufid), tag, ctx);
}

/* The application lets go of bufid as its send buffer (pvm_initsend): a
 * buffer the log keeps is set aside for it instead of being freed. */
void ckpt__log_let_go(int bufid)
{
    struct ckpt_logbuf *lb = bufid > 0 ? logbuf_find(bufid) : NULL;
    if (lb) {
        pvm_setsbuf(0);
        lb->released = 1;
    }
}

/* Whether bufid is the runtime's alone (queued messages aside): a sent
 * buffer the log keeps after the application let go of it. */
int ckpt__buf_is_runtimes(int bufid)
{
    for (int i = 0; i < ckpt__rt.npvm_own; i++)
        if (ckpt__rt.pvm_own[i] == bufid)
            return 1;       /* libpvm3's own, in fact */
    struct ckpt_logbuf *lb = logbuf_find(bufid);
    if (lb)
        return lb->released;
    return 0;
}

/* The application lets go of bufid: a buffer the log still names is freed
 * when its last entry is dropped, any other now. */
int ckpt__app_free(int bufid)
{
    struct ckpt_logbuf *lb = logbuf_find(bufid);
    if (lb) {
        if (pvm_getsbuf() == bufid)
            pvm_setsbuf(0);
        lb->released = 1;
        return 0;
    }
    ckpt__restored_forget(bufid);   /* its id may come back for another message */
    return pvm_freebuf(bufid);
}

/* ------------------------------------------------------ image sections */

/* Entries are (record, bytes padded to 8); bytes come from the kept PVM buffer. */
static int write_channel(struct ckpt_imgw *w, const struct ckpt_peer *p)
{
    size_t len = 0;
    for (const struct ckpt_logent *e = p->log_head; e; e = e->next)
        len += sizeof(struct msg_rec) + PAD8(e->buf->len);
    if (!len)
        return 0;
    char *buf = calloc(1, len), *at = buf;
    if (!buf)
        return -ENOMEM;
    for (const struct ckpt_logent *e = p->log_head; e; e = e->next) {
        struct msg_rec *r = (struct msg_rec *)at;
        r->seq = e->seq;
        r->peer = p->vtid;
        r->tag = e->tag;
        r->ctx = e->ctx;
        r->enc = e->buf->enc;
        r->len = e->buf->len;
        if (ckpt__buf_bytes(e->buf->bufid, r + 1, (size_t)r->len, NULL) != r->len) {
            free(buf);
            return -EIO;
        }
        at += sizeof *r + PAD8(r->len);
    }
    char name[32];
    snprintf(name, sizeof name, "to t%x", (unsigned)p->vtid);
    int err = ckpt_imgw_section(w, CKPT_SEC_LOG, name, buf, len, 0);
    free(buf);
    return err;
}

int ckpt__log_write(struct ckpt_imgw *w)
{
    int err = 0;
    for (int i = 0; !err && i < ckpt__rt.npeers; i++)
        err = write_channel(w, ckpt__rt.peers[i]);
    return err;
}

/* Keeps each channel's saved entries (the image stays mapped) until the task
 * is enrolled and can make PVM buffers of them: one LOG section a channel. */
int ckpt__log_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s;
    while ((s = ckpt__next_section(c, CKPT_SEC_LOG, NULL))) {
        const struct msg_rec *r = s->data;
        if (s->len < sizeof *r)
            return -EINVAL;
        struct ckpt_peer *p = ckpt__peer(r->peer, 1);
        p->rlog = s->data;
        p->rlog_len = s->len;
    }
    return 0;
}

void ckpt__log_rebuild(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    for (int i = 0; i < rt->npeers; i++) {
        struct ckpt_peer *p = rt->peers[i];
        uint64_t off = 0;
        const struct msg_rec *r;
        const void *bytes;
        while (p->rlog && !p->gone && ckpt__msg_rec_next(p->rlog, p->rlog_len, &off, &r, &bytes) > 0) {
            int b = ckpt__buf_make(bytes, (size_t)r->len, r->enc);
            if (b < 0)
                ckpt__die("cannot rebuild a logged message: PVM error %d", b);
            log_append(p, r->seq, logbuf_add(b, r->len, r->enc, 1), r->tag, r->ctx);
        }
        p->rlog = NULL;
    }
}
