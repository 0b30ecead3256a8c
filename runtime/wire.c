/*
 * wire.c: what travels between this task, its peers and the coordinator.
 *
 * Application messages travel exactly as the application packed them: no
 * header is added, so pvm_bufinfo and every unpack work unchanged.  What the
 * protocol needs travels beside them on the same (sender, receiver) channel,
 * whose FIFO order PVM guarantees:
 *   - sequence numbers are implicit: both ends count the channel's messages;
 *   - a MARK control message tells the receiver that what follows was sent
 *     in a new epoch, so it checkpoints before taking any of it (no orphans);
 *   - after a restart a REPLAY message renumbers the channel before the
 *     sender re-sends its logged messages, and the receiver drops what its
 *     checkpoint already holds.
 * Every message is taken off the wire by the runtime (receive with wildcards)
 * into one arrival-ordered queue (queue.c), and application receives match
 * against that queue, so control traffic can never match, steal or reorder
 * them.  What is sent to the job's tasks is kept in the sender log (log.c).
 *
 * The wire only records what a control message asks (a checkpoint, an
 * abort, a group to rejoin, the job's new task ids); the layers above act on
 * it at their safe points and waits.  It calls nothing above the channels.
 */
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "proto.h"
#include "rt.h"

enum { PULL_POLL, PULL_BLOCK, PULL_WAIT };

static int bye_noted;   /* the coordinator acknowledged our CTL_BYE */
static int welcomed;    /* a fresh task: the coordinator answered its hello (-1: outside) */
static int *naming, nnaming, named;     /* ckpt__name_spawned's tids, until CTL_VTIDS */
static int joins[16], njoins;           /* CTL_JOIN: groups to rejoin, in order */
static int mapped;                      /* restart: the coordinator's task map has arrived */
static uint64_t last_poll_ns;           /* when the wire was last polled */

void ckpt__ctl_to_coord(int type, const long *v, int n)
{
    if (ckpt__rt.coord && ckpt__ctl_send(ckpt__rt.coord, type, v, n, NULL, 0) < 0)
        pr_warn("cannot reach the coordinator t%x", (unsigned)ckpt__rt.coord);
}

static void handle_ctl(int src, int type, const long *v, int n);

/* Without its coordinator the job can neither checkpoint nor recover: stop,
 * leaving the committed checkpoints for `ckpt-run --restart`.  A writer in
 * flight dies with the task (checkpoint.c). */
static __attribute__((noreturn)) void coordinator_lost(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    rt->coord = 0;      /* nobody to say goodbye to on the way out */
    pr_err("the coordinator (ckpt-run) is gone; this task stops. "
           "Resume the job with: ckpt-run --restart %s", rt->dir);
    exit(75);
}

/* Takes one of the coordinator's control messages, waiting up to a fifth of
 * a second: what peers sent stays on the wire, in order, for later.
 * Returns 1 if one was handled, 0 if none came. */
int ckpt__coord_take(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    static long v[CKPT_CTL_MAX];
    int ctx = pvm_setcontext(PvmBaseContext);    /* where the runtime's traffic travels */
    struct timeval tick = {0, 200000};
    int n = 0, saved = pvm_setrbuf(0);
    int got = pvm_trecv(rt->coord, CKPT_CTL_TAG, &tick);
    if (got > 0)
        pvm_setrbuf(0);
    pvm_setrbuf(saved);
    pvm_setcontext(ctx);
    if (got == 0 && pvm_nrecv(-1, CKPT_COORD_LOST_TAG) > 0)
        coordinator_lost();
    if (got < 0)
        ckpt__die("lost the coordinator (PVM error %d)", got);
    if (got == 0)
        return 0;
    int type = ckpt__ctl_decode(got, v, CKPT_CTL_MAX, &n);
    pvm_freebuf(got);
    if (type >= 0)
        handle_ctl(rt->coord, type, v, n);
    return 1;
}

/* Takes only the coordinator's control messages until *flag is no longer
 * `value`. */
static void await_coordinator(const int *flag, int value)
{
    while (*flag == value)
        ckpt__coord_take();
}

/* A channel to a task of the job needs epoch marks (or the peer could take
 * an orphan) and a log; a plain PVM task (a console, a tool) would see marks
 * as stray messages and can be neither checkpointed nor replayed to.  Only
 * the coordinator knows the job's tasks, so a new peer is asked about once. */
static int job_peer(struct ckpt_peer *p)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (p->instrumented == PEER_UNKNOWN) {
        long v = p->tid;
        if (ckpt__ctl_send(rt->coord, CTL_WHO, &v, 1, NULL, 0) < 0)
            ckpt__die("cannot reach the coordinator t%x", (unsigned)rt->coord);
        await_coordinator(&p->instrumented, PEER_UNKNOWN);
    }
    return p->instrumented == PEER_JOB;
}

/* Acknowledges in batches what we take from p in its own epoch, so its log
 * drops those messages long before a commit (see log_drop_acked). */
#define ACK_EVERY_MSGS 32
#define ACK_EVERY_BYTES (256u * 1024u)
static void ack(struct ckpt_peer *p, int len)
{
    p->ack_count++;
    p->ack_bytes += (uint32_t)(len > 0 ? len : 0);
    if (p->ack_count < ACK_EVERY_MSGS && p->ack_bytes < ACK_EVERY_BYTES)
        return;
    long v[2] = {(long)p->in_seq, (long)ckpt__rt.epoch};
    ckpt__ctl_send(p->tid, CTL_ACK, v, 2, NULL, 0);
    p->ack_count = p->ack_bytes = 0;
}
/* PVM lets any task of the user send us anything (README, trust model):
 * the coordinator's kinds are obeyed only from the coordinator, the kinds
 * tasks exchange only from tasks of the job (asked of the coordinator once,
 * as for any peer), and the coordinator's kinds never from a task. */
static int ctl_allowed(int src, int type)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (type >= CTL_REQ && type < CTL_MARK)
        return rt->coord && src == rt->coord;
    if (type < CTL_MARK || type > CTL_ACK)
        return 0;
    struct ckpt_peer *p = ckpt__peer(ckpt__vtid_of(src), 1);
    return p->instrumented == PEER_JOB || (rt->coord && job_peer(p));
}

/* What a task that may not send it sent is dropped, and said once per
 * sender: a flood of forgeries must not become a flood of lines. */
static void refuse(int src, const char *what)
{
    static int said[64], nsaid;
    for (int i = 0; i < nsaid; i++)
        if (said[i] == src)
            return;
    if (nsaid < (int)(sizeof said / sizeof said[0]))
        said[nsaid++] = src;
    pr_warn("t%x may not send %s: ignored (said once per sender)", (unsigned)ckpt__vtid_of(src), what);
}

/* libpvm's matching function while the runtime takes a message off the
 * wire: the next one, whatever its context.  Installed only around those
 * receives, so libgpvm's own receives keep PVM's matching. */
static int take_any(int bufid, int tid, int tag)
{
    (void)bufid, (void)tid, (void)tag;
    return 1;
}

/* Takes one message off the wire (how: poll, block, or wait up to tmo) and
 * files it.  Returns 1 if one was taken, 0 if none, <0 on a PVM error.  The
 * application's active receive buffer is kept across the raw receive. */
static int pull_one(int how, struct timeval *tmo)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int saved = pvm_setrbuf(0);
    /* pvm3.h gets pvm_recvf's return type wrong: it returns the old function. */
    int (*match)(int, int, int) = (int (*)(int, int, int))(void (*)(void))pvm_recvf(take_any);
    int b = how == PULL_POLL ? pvm_nrecv(-1, -1)
          : how == PULL_BLOCK ? pvm_recv(-1, -1) : pvm_trecv(-1, -1, tmo);
    pvm_recvf(match);
    if (b > 0)
        pvm_setrbuf(0);
    pvm_setrbuf(saved);
    if (b <= 0)
        return b;

    struct pvmminfo mi;
    pvm_getminfo(b, &mi);
    int len = mi.len, tag = mi.tag, src = mi.src;
    if (tag == CKPT_COORD_LOST_TAG && rt->coord) {
        pvm_freebuf(b);
        if (!CKPT_FROM_PVMD(src)) {
            refuse(src, "a notice of the coordinator's exit");
            return 1;
        }
        coordinator_lost();
    }
    if (tag == CKPT_CTL_TAG) {
        static long v[CKPT_CTL_MAX];
        int n = 0;
        int type = ckpt__ctl_decode(b, v, CKPT_CTL_MAX, &n);
        pvm_freebuf(b);
        if (type < 0)
            pr_warn("dropped a malformed runtime message from t%x: %s",
                    (unsigned)ckpt__vtid_of(src), strerror(-type));
        else if (!ctl_allowed(src, type))
            refuse(src, "runtime control messages");
        else
            handle_ctl(src, type, v, n);
        return 1;
    }
    if (ckpt__notice(b, src, tag, mi.ctx, len))
        return 1;       /* a pvm_notify notice, filed with virtual ids (or dropped) */
    int vtid = ckpt__vtid_of(src);
    struct ckpt_peer *p = ckpt__peer(vtid, 1);
    uint64_t seq = p->in_next++;
    if (seq <= p->in_seq) {
        pvm_freebuf(b);
        rt->st.duplicates_dropped++;
        return 1;
    }
    int job = job_peer(p);
    if (seq > p->in_seq + 1 && job)
        pr_err("%llu message(s) from t%x were lost in transit across the restart%s",
               (unsigned long long)(seq - p->in_seq - 1), (unsigned)vtid,
               rt->log_on ? "" : " (the sender log is off: CKPT_LOG=off)");
    p->in_seq = seq;
    ckpt__enqueue(&(struct ckpt_qinfo){b, vtid, tag, mi.ctx, len, 0, 0});
    if (job && p->in_epoch == rt->epoch && rt->log_on)
        ack(p, len);
    return 1;
}

static void handle_ctl(int src, int type, const long *v, int n)
{
    struct ckpt_rt *rt = &ckpt__rt;
    struct ckpt_peer *p;
    switch (type) {
    case CTL_REQ:
        if (n >= 1 && (uint64_t)v[0] > rt->requested)
            rt->requested = (uint64_t)v[0];
        break;
    case CTL_MARK:
        p = ckpt__peer(ckpt__vtid_of(src), 1);
        if (n >= 1)
            p->in_epoch = (uint64_t)v[0];
        if (n >= 1 && (uint64_t)v[0] > rt->epoch && (uint64_t)v[0] > rt->requested) {
            rt->requested = (uint64_t)v[0];
            rt->forced = 1;
        }
        break;
    case CTL_REPLAY:
        p = ckpt__peer(ckpt__vtid_of(src), 1);
        p->in_epoch = 0;    /* replayed messages come from earlier epochs */
        if (n >= 1)
            p->in_next = (uint64_t)v[0];
        break;
    case CTL_ACK:
        if (n >= 2 && (p = ckpt__peer(ckpt__vtid_of(src), 0)))
            ckpt__log_acked(p, (uint64_t)v[0], (uint64_t)v[1]);
        break;
    case CTL_COMMIT:
        if (n >= 1 && (uint64_t)v[0] > rt->committed)
            rt->committed = (uint64_t)v[0];
        ckpt__log_committed(rt->committed);
        for (int i = 1; i + 1 < n; i += 2) {
            if (!(p = ckpt__peer((int)v[i], 0)))
                continue;
            if (v[i + 1] == CKPT_SEQ_GONE)
                ckpt__log_peer_gone(p);
            else
                ckpt__log_drop_upto(p, (uint64_t)v[i + 1]);
        }
        pr_debug("epoch %ld committed; log %llu bytes", n ? v[0] : 0L,
                 (unsigned long long)rt->st.log_bytes);
        break;
    case CTL_ABORT:
        if (n >= 1)
            ckpt__log_aborted((uint64_t)v[0]);
        if (n >= 1 && (uint64_t)v[0] > rt->aborted)
            rt->aborted = (uint64_t)v[0];
        break;
    case CTL_END:
        rt->coord = 0;      /* its exit is no failure now */
        break;
    case CTL_WELCOME: {
        if (n == 0) {       /* not a task of this job: it carries on outside */
            welcomed = -1;
            break;
        }
        if (n < 2)
            break;
        rt->myvtid = (int)v[0];
        rt->parent_vtid = (int)v[1];
        int sib = 0;
        for (int i = 2; i + 1 < n; i += 2)
            ckpt__job_peer_at((int)v[i + 1], (int)v[i])->sibling = ++sib;
        welcomed = 1;
        break;
    }
    case CTL_VTIDS:
        for (int i = 0; i + 1 < n; i += 2)
            for (int k = 0; k < nnaming; k++)
                if (naming[k] == (int)v[i]) {
                    ckpt__job_peer_at((int)v[i + 1], (int)v[i])->marked_epoch = rt->epoch;
                    naming[k] = (int)v[i + 1];
                }
        named = 1;
        break;
    case CTL_LEFT:      /* (pvm_kill's byes, for other tasks, are answered too) */
        if (n >= 1 && (int)v[0] == rt->myvtid)
            bye_noted = 1;
        break;
    case CTL_MAP:
        /* The job's tasks now live at new task ids, which may equal some old
         * ones: forget every old id before taking the new ones. */
        for (int i = 0; i < rt->npeers; i++)
            if (rt->peers[i]->instrumented == PEER_JOB)
                rt->peers[i]->tid = 0;
        if ((p = ckpt__peer(rt->myvtid, 0)))
            p->tid = rt->mytid;
        for (int i = 0; i + 1 < n; i += 2) {
            if ((int)v[i] == rt->myvtid)
                continue;
            p = ckpt__peer((int)v[i], 1);
            p->tid = (int)v[i + 1];
            p->instrumented = PEER_JOB;
        }
        /* A task of the job that the rollback did not restart had left
         * before the cut: nothing is replayed or sent to it any more. */
        for (int i = 0; i < rt->npeers; i++)
            if (rt->peers[i]->instrumented == PEER_JOB && !rt->peers[i]->tid)
                ckpt__log_peer_gone(rt->peers[i]);
        mapped = 1;
        break;
    case CTL_JOIN:
        if (n >= 1 && njoins < (int)(sizeof joins / sizeof joins[0]))
            joins[njoins++] = (int)v[0];
        break;
    case CTL_WHO_IS:
        for (int i = 0; n >= 2 && i < rt->npeers; i++) {
            p = rt->peers[i];
            if (p->tid != (int)v[0] || p->instrumented != PEER_UNKNOWN)
                continue;
            p->instrumented = v[1] ? PEER_JOB : PEER_PLAIN;
            if (!v[1])
                pr_warn("t%x is not a task of this job: messages with it pass, but are "
                        "outside the recovery guarantee (not logged, not replayed)",
                        (unsigned)p->vtid);
        }
        break;
    }
}


/* Files what is waiting on the wire, stopping early when a checkpoint is
 * due: nothing sent after a peer's MARK may be taken before it. */
int ckpt__poll(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int taken = 0;
    while (taken < 256 && rt->requested <= rt->epoch && pull_one(PULL_POLL, NULL) > 0)
        taken++;
    return taken;
}

/* A poll of the wire is a system call; a request waits at most a millisecond
 * for one anyway, and a task blocked in a receive takes what comes in, so a
 * busy message loop polls once a millisecond rather than at every call. */
#define POLL_EVERY_NS 1000000u
void ckpt__poll_if_due(void)
{
    uint64_t now = ckpt__now_ns();
    if (now - last_poll_ns < POLL_EVERY_NS)
        return;
    last_poll_ns = now;
    ckpt__poll();
}

/* Takes one message if one is there: 1, else 0 (or a PVM error). */
int ckpt__poll_one(void)
{
    return pull_one(PULL_POLL, NULL);
}

/* Waits for the next message, up to *left if given; with `often` (a writer
 * child runs, to be reaped and reported) it wakes up within 20 ms. */
int ckpt__wait_one(const struct timeval *left, int often)
{
    if (!often && !left)
        return pull_one(PULL_BLOCK, NULL);
    struct timeval tv = {0, 20000};
    if (left && (!often || left->tv_sec < 0 || (left->tv_sec == 0 && left->tv_usec < 20000)))
        tv = *left;
    return pull_one(PULL_WAIT, &tv);
}

/* Announces a new epoch on the channel before its first message of it. */
void ckpt__mark_epoch(struct ckpt_peer *p)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (p->marked_epoch >= rt->epoch || !job_peer(p))
        return;
    long e = (long)rt->epoch;
    ckpt__ctl_send(p->tid, CTL_MARK, &e, 1, NULL, 0);
    p->marked_epoch = rt->epoch;
}

/* Counts (and logs) the message bufid just sent to p. */
void ckpt__sent(struct ckpt_peer *p, int bufid, int tag)
{
    struct ckpt_rt *rt = &ckpt__rt;
    p->out_seq++;
    rt->st.msgs_sent++;
    if (rt->log_on && p->vtid != rt->myvtid && job_peer(p))
        ckpt__log_sent(p, bufid, tag, rt->ctx);
}

/* Sends the active send buffer to the task with virtual id tid, on its channel. */
int ckpt__send_now(int tid, int msgtag)
{
    struct ckpt_peer *p = ckpt__peer(tid, 1);
    if (p->gone)
        return 0;   /* as PVM does for a task that has exited: the message is dropped */
    ckpt__mark_epoch(p);
    int sb = pvm_getsbuf();
    int rc = pvm_send(p->tid, msgtag);
    if (rc >= 0)
        ckpt__sent(p, sb, msgtag);
    /* Sending a large message outlasts a poll interval, and the receiver's
     * acknowledgement of the previous one has come in meanwhile: taking it
     * now frees that buffer before the application packs its next message,
     * so the task holds one message fewer (and reuses warmer memory). */
    ckpt__poll_if_due();
    return rc;
}

/* The coordinator learns of tasks we spawned before anything we send later
 * (our next image's report included), and answers with their virtual ids,
 * which replace the real ones in tids. */
void ckpt__name_spawned(int *tids, int n)
{
    long *v = malloc(sizeof *v * ((size_t)n + 1));
    if (!v)
        ckpt__die("out of memory");
    v[0] = (long)ckpt__rt.epoch;
    for (int i = 0; i < n; i++)
        v[1 + i] = tids[i];
    naming = tids;
    nnaming = n;
    named = 0;
    ckpt__ctl_to_coord(CTL_SPAWNED, v, n + 1);
    free(v);
    await_coordinator(&named, 0);
    naming = NULL;
    nnaming = 0;
}

/* Tells the coordinator that task vtid's exit is intended (pvm_kill): no failure. */
void ckpt__bye_for(int vtid)
{
    long v = vtid;
    ckpt__ctl_to_coord(CTL_BYE, &v, 1);
}

/* This task leaves the job: waits until the coordinator knows, before PVM
 * (or waitpid) tells it the task is gone. */
void ckpt__bye(void)
{
    ckpt__bye_for(ckpt__rt.myvtid);
    await_coordinator(&bye_noted, 0);
}

/* A fresh task: waits for the answer to its hello; 0 if the coordinator
 * says it is no task of the job. */
int ckpt__await_welcome(void)
{
    await_coordinator(&welcomed, 0);
    return welcomed > 0;
}

/* The next group index the coordinator asked us to rejoin, -1 if none. */
int ckpt__join_asked(void)
{
    if (!njoins)
        return -1;
    int i = joins[0];
    memmove(joins, joins + 1, sizeof joins[0] * (size_t)--njoins);
    return i;
}

/* A restarted task: whether the map of the job's new task ids has come. */
int ckpt__mapped(void)
{
    return mapped;
}
