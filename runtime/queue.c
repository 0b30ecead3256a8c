/*
 * queue.c: the receive queue of an instrumented task, and everything that
 * decides which queued message an application receive gets.
 *
 * The runtime takes every message off the wire in arrival order (wire.c), in
 * every message context, and files it here.  An application receive then
 * matches against the queue by source, tag and the application's current
 * context, or with the application's own matching function (pvm_recvf);
 * messages for the application's message handlers (pvm_addmhf) go to them
 * at safe points instead.  So the runtime's control traffic, which travels
 * in the base context under reserved tags, never meets an application
 * receive, and the matching rules stay PVM's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

/* A queued message, in two lists: arrival order (what an image saves, and
 * what pvm_recvf ranks) and the FIFO of its key.  Receives by PVM's rule look
 * only at the first message of each key they can match, so a flood on one
 * key (200,000 unread messages from one sender) costs a receive from anyone
 * else nothing, as a hash lookup, instead of a walk past the whole flood for
 * every message that arrives while it waits. */
struct qent {
    struct ckpt_qinfo m;            /* first: what the rest of the runtime sees */
    uint64_t seq;                   /* arrival number: orders the heads of keys */
    struct qent *prev, *next;       /* arrival order */
    struct qent *kprev, *knext;     /* arrival order within its key */
    struct qkey *key;
};
struct qkey {                       /* the messages of one (source, tag, context) */
    int src, tag, ctx;
    uint64_t n;                     /* messages */
    struct qent *head, *tail;
    struct qkey *hnext;             /* hash chain */
    struct qkey *prev, *next;       /* the keys that have messages */
};

static struct qent *q_head, *q_tail;
static struct qkey **table, *keys;
static size_t table_size, nkeys;
static uint64_t arrivals;
static uint64_t queued_msgs, queued_bytes, report_msgs = 65536, report_bytes = 256u << 20;

static size_t slot(int src, int tag, int ctx)
{
    uint64_t h = (uint64_t)(uint32_t)src * 0x9e3779b97f4a7c15u;
    h ^= (uint64_t)(uint32_t)tag * 0xc2b2ae3d27d4eb4fu;
    h ^= (uint64_t)(uint32_t)ctx * 0x165667b19e3779f9u;
    return (size_t)(h ^ (h >> 29)) & (table_size - 1);
}

static struct qkey *key_find(int src, int tag, int ctx)
{
    if (!table_size)
        return NULL;
    for (struct qkey *k = table[slot(src, tag, ctx)]; k; k = k->hnext)
        if (k->src == src && k->tag == tag && k->ctx == ctx)
            return k;
    return NULL;
}

static int table_grow(void)
{
    size_t n = table_size ? table_size * 2 : 64;
    struct qkey **t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    struct qkey **old = table;
    size_t old_size = table_size;
    table = t;
    table_size = n;
    for (size_t i = 0; i < old_size; i++)
        for (struct qkey *k = old[i], *next; k; k = next) {
            next = k->hnext;
            size_t s = slot(k->src, k->tag, k->ctx);
            k->hnext = table[s];
            table[s] = k;
        }
    free(old);
    return 0;
}

static struct qkey *key_get(int src, int tag, int ctx)
{
    struct qkey *k = key_find(src, tag, ctx);
    if (k)
        return k;
    if (nkeys >= table_size && table_grow() < 0)
        return NULL;
    if (!(k = calloc(1, sizeof *k)))
        return NULL;
    *k = (struct qkey){.src = src, .tag = tag, .ctx = ctx, .next = keys};
    size_t s = slot(src, tag, ctx);
    k->hnext = table[s];
    table[s] = k;
    if (keys)
        keys->prev = k;
    keys = k;
    nkeys++;
    return k;
}

static void key_free(struct qkey *k)
{
    struct qkey **at = &table[slot(k->src, k->tag, k->ctx)];
    while (*at != k)
        at = &(*at)->hnext;
    *at = k->hnext;
    if (k->prev)
        k->prev->next = k->next;
    else
        keys = k->next;
    if (k->next)
        k->next->prev = k->prev;
    nkeys--;
    free(k);
}

/* Says so when the program leaves many messages unread: they are its state,
 * held (as PVM would hold them) and saved in every checkpoint until it takes
 * them, and a flood from a neighbour shows up here first. */
static void report_backlog(void)
{
    const struct qkey *top = keys;
    for (const struct qkey *k = keys; k; k = k->next)
        if (k->n > top->n)
            top = k;
    pr_warn("%llu messages (%.1f MiB) received and not yet taken by the program, the most "
            "(%llu) from t%x with tag %d: they are held and saved in every checkpoint until "
            "it takes them", (unsigned long long)queued_msgs,
            (double)queued_bytes / (1 << 20), (unsigned long long)top->n,
            (unsigned)top->src, top->tag);
    while (report_msgs <= queued_msgs)
        report_msgs *= 2;
    while (report_bytes <= queued_bytes)
        report_bytes *= 2;
}

void ckpt__enqueue(const struct ckpt_qinfo *m)
{
    struct qent *e = malloc(sizeof *e);
    struct qkey *k = e ? key_get(m->src_vtid, m->tag, m->ctx) : NULL;
    if (!k)
        ckpt__die("out of memory (receive queue)");
    *e = (struct qent){.m = *m, .seq = ++arrivals, .prev = q_tail, .kprev = k->tail, .key = k};
    if (q_tail)
        q_tail->next = e;
    else
        q_head = e;
    q_tail = e;
    if (k->tail)
        k->tail->knext = e;
    else
        k->head = e;
    k->tail = e;
    k->n++;
    queued_msgs++;
    queued_bytes += (uint64_t)(m->len > 0 ? m->len : 0);
    if (queued_msgs >= report_msgs || queued_bytes >= report_bytes)
        report_backlog();
}

const struct ckpt_qinfo *ckpt__queue_next(const struct ckpt_qinfo *after)
{
    const struct qent *e = after ? ((const struct qent *)after)->next : q_head;
    return e ? &e->m : NULL;
}

/* Takes q off both lists and frees its entry (not its PVM buffer). */
void ckpt__queue_remove(const struct ckpt_qinfo *m)
{
    struct qent *e = (struct qent *)m;
    struct qkey *k = e->key;
    if (e->prev)
        e->prev->next = e->next;
    else
        q_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q_tail = e->prev;
    if (e->kprev)
        e->kprev->knext = e->knext;
    else
        k->head = e->knext;
    if (e->knext)
        e->knext->kprev = e->kprev;
    else
        k->tail = e->kprev;
    if (!--k->n)
        key_free(k);
    queued_msgs--;
    queued_bytes -= (uint64_t)(e->m.len > 0 ? e->m.len : 0);
    free(e);
}

/* The application's message handler (pvm_addmhf) that takes k's messages. */
static const struct ckpt_handler *handler_of(const struct qkey *k)
{
    return ckpt__handler_for(k->src, k->tag, k->ctx);
}

/* The application's own matching function ranks every message in arrival
 * order, as PVM does: <0 an error, 0 no, 1 this one, >1 the highest. */
static int find_ranked(int vtid, int tag, const struct qent **found)
{
    int best = 0;
    for (const struct qent *e = q_head; e; e = e->next) {
        if (handler_of(e->key))
            continue;
        int rank = ckpt__match_fn()(e->m.bufid, vtid, tag);
        if (rank < 0)
            return rank;
        if (rank > best) {
            best = rank;
            *found = e;
            if (rank == 1)
                break;
        }
    }
    return *found != NULL;
}

/* PVM's rule: a message matches if source and tag match (-1: any) and it
 * was sent in the receiver's current context; the earliest such one.  With
 * app (an application receive, not the runtime's collectives) the
 * application's pvm_recvf function decides instead, if it set one. */
int ckpt__queue_find(int vtid, int tag, int app, const struct ckpt_qinfo **found)
{
    struct ckpt_rt *rt = &ckpt__rt;
    const struct qent *best = NULL;
    int rc = 1;
    if (app && ckpt__match_fn()) {
        rc = find_ranked(vtid, tag, &best);
    } else if (vtid != -1 && tag != -1) {
        const struct qkey *k = key_find(vtid, tag, rt->ctx);
        if (k && !handler_of(k))
            best = k->head;
    } else {
        for (const struct qkey *k = keys; k; k = k->next)
            if ((vtid == -1 || k->src == vtid) && (tag == -1 || k->tag == tag) &&
                k->ctx == rt->ctx && (!best || k->head->seq < best->seq) && !handler_of(k))
                best = k->head;
    }
    *found = best ? &best->m : NULL;
    return rc < 0 ? rc : best != NULL;
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

/* Makes m the active receive buffer (the caller has let go of the previous one). */
int ckpt__deliver(const struct ckpt_qinfo *m)
{
    int b = m->bufid;
    ckpt__queue_remove(m);
    pvm_setrbuf(b);
    ckpt__rt.st.msgs_received++;
    return b;
}

/* The earliest queued message that one of the application's handlers takes. */
static const struct qent *first_handled(const struct ckpt_handler **h)
{
    const struct qent *first = NULL;
    for (const struct qkey *k = keys; k; k = k->next) {
        const struct ckpt_handler *kh = handler_of(k);
        if (kh && (!first || k->head->seq < first->seq)) {
            first = k->head;
            *h = kh;
        }
    }
    return first;
}

/* Runs the handler of every queued message that has one, in arrival order,
 * as PVM does: with the application's buffers set aside, the message as the
 * active receive buffer, freed afterwards unless the handler kept or freed
 * it.  Never inside a handler, and a handler's own PVM calls take no
 * checkpoint. */
void ckpt__run_handlers(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    const struct ckpt_handler *h = NULL;
    const struct qent *e;
    if (!ckpt__handler_count() || ckpt__in_handler())
        return;
    while ((e = first_handled(&h))) {
        int b = e->m.bufid;
        ckpt__queue_remove(&e->m);
        rt->st.msgs_received++;
        int sb = pvm_setsbuf(0), rb = pvm_setrbuf(b);
        ckpt__handler_run(h, b);
        if (pvm_getrbuf() == b)
            pvm_freebuf(b);
        ckpt__restored_forget(b);
        pvm_setrbuf(rb);
        pvm_setsbuf(sb);
    }
}

/* ------------------------------------------------------ image sections */

/* QUEUE "received": every queued message in arrival order, its bytes from
 * the PVM buffer (written by the writer child: no PVM call that talks). */
int ckpt__queue_write(struct ckpt_imgw *w)
{
    size_t len = 0;
    for (const struct ckpt_qinfo *q = ckpt__queue_next(NULL); q; q = ckpt__queue_next(q))
        len += sizeof(struct msg_rec) + PAD8(q->len);
    if (!len)
        return 0;
    char *buf = calloc(1, len), *at = buf;
    if (!buf)
        return -ENOMEM;
    for (const struct ckpt_qinfo *q = ckpt__queue_next(NULL); q; q = ckpt__queue_next(q)) {
        struct msg_rec *r = (struct msg_rec *)at;
        r->peer = q->src_vtid;
        r->tag = q->tag;
        r->ctx = q->ctx;
        r->len = q->len;
        r->notice = q->notice;
        r->subject = q->subject;
        if (ckpt__buf_bytes(q->bufid, r + 1, (size_t)r->len, &r->enc) != r->len) {
            free(buf);
            return -EIO;
        }
        at += sizeof *r + PAD8(r->len);
    }
    int err = ckpt_imgw_section(w, CKPT_SEC_QUEUE, "received", buf, len, 0);
    free(buf);
    return err;
}

/* The saved queue (the image stays mapped) until the task is enrolled. */
static const void *rqueue;
static uint64_t rqueue_len;

int ckpt__queue_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s = ckpt__next_section(c, CKPT_SEC_QUEUE, "received");
    if (s) {
        rqueue = s->data;
        rqueue_len = s->len;
    }
    return 0;
}

void ckpt__queue_rebuild(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    uint64_t off = 0;
    const struct msg_rec *r;
    const void *bytes;
    while (rqueue && ckpt__msg_rec_next(rqueue, rqueue_len, &off, &r, &bytes) > 0) {
        /* A buffer becomes readable only by arriving: send it to ourselves,
         * in the context it was sent in. */
        int b = ckpt__buf_make(bytes, (size_t)r->len, r->enc);
        int old = pvm_setsbuf(b), ctx = pvm_setcontext(r->ctx);
        int rc = pvm_send(rt->mytid, r->tag);
        pvm_setsbuf(old);
        pvm_freebuf(b);
        int saved = pvm_setrbuf(0);
        int got = rc < 0 ? rc : pvm_recv(rt->mytid, r->tag);
        if (got > 0)
            pvm_setrbuf(0);
        pvm_setrbuf(saved);
        pvm_setcontext(ctx);
        if (got < 0)
            ckpt__die("cannot rebuild a received message: PVM error %d", got);
        ckpt__enqueue(&(struct ckpt_qinfo){got, r->peer, r->tag, r->ctx, r->len, r->notice, r->subject});
        ckpt__restored_note(got, r->peer, r->tag);
    }
    rqueue = NULL;
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

/* What the application sees of a message's header: virtual task ids, and
 * for a message rebuilt after a restart its original sender and tag. */
void ckpt__app_view(int bufid, int *msgtag, int *tid)
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
