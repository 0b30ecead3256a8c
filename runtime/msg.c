/*
 * msg.c: the PVM calls of an instrumented task, and the runtime's traffic.
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
 */
#define _GNU_SOURCE     /* memmem */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pvm3.h>

#include "fault.h"
#include "proto.h"
#include "rt.h"
#include "sections.h"

enum { PULL_POLL, PULL_BLOCK, PULL_WAIT };

static int attached;
static int left;        /* left the job: pvm_exit, exit(), or the runtime gave up */
static int bye_noted;   /* the coordinator acknowledged our CTL_BYE (leave()) */
static int welcomed;    /* a fresh task: the coordinator answered its hello */
static int *naming, nnaming, named;     /* ckpt_pvm_spawn's tids, until CTL_VTIDS */

/* ------------------------------------------------------ control messages */

void ckpt__ctl_to_coord(int type, const long *v, int n)
{
    if (ckpt__rt.coord && ckpt__ctl_send(ckpt__rt.coord, type, v, n, NULL, 0) < 0)
        pr_warn("cannot reach the coordinator t%x", (unsigned)ckpt__rt.coord);
}

/* ------------------------------------------------------------ the wire */

static void handle_ctl(int src, int type, const long *v, int n);
static __attribute__((noreturn)) void coordinator_lost(void);
static void exiting(int status, void *arg);

/* Takes only the coordinator's control messages until *flag is no longer
 * `value`: what peers sent stays on the wire, in order, for later. */
static void await_coordinator(const int *flag, int value)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int ctx = pvm_setcontext(PvmBaseContext);    /* where the runtime's traffic travels */
    while (*flag == value) {
        static long v[CKPT_CTL_MAX];
        struct timeval tick = {0, 200000};
        int n = 0, saved = pvm_setrbuf(0);
        int got = pvm_trecv(rt->coord, CKPT_CTL_TAG, &tick);
        if (got > 0)
            pvm_setrbuf(0);
        pvm_setrbuf(saved);
        if (got == 0 && pvm_nrecv(-1, CKPT_COORD_LOST_TAG) > 0)
            coordinator_lost();
        if (got < 0)
            ckpt__die("lost the coordinator (PVM error %d)", got);
        if (got == 0)
            continue;
        int type = ckpt__ctl_decode(got, v, CKPT_CTL_MAX, &n);
        pvm_freebuf(got);
        if (type >= 0)
            handle_ctl(rt->coord, type, v, n);
    }
    pvm_setcontext(ctx);
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

/* Without its coordinator the job can neither checkpoint nor recover: stop,
 * leaving the committed checkpoints for `ckpt-run --restart`. */
static __attribute__((noreturn)) void coordinator_lost(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    ckpt__abort_writer();
    left = 1;
    pr_err("the coordinator (ckpt-run) is gone; this task stops. "
           "Resume the job with: ckpt-run --restart %s", rt->dir);
    exit(75);
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
        if (n >= 1 && rt->writer && rt->writer_epoch == (uint64_t)v[0])
            ckpt__abort_writer();
        break;
    case CTL_END:
        rt->coord = 0;      /* its exit is no failure now */
        break;
    case CTL_WELCOME: {
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
        rt->mapped = 1;
        break;
    case CTL_JOIN:
        if (n >= 1)
            ckpt__rejoin((int)v[0]);
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

/* Waits for the next message; while a writer child runs, wakes up often
 * enough to reap it and report. */
static int wait_one(const struct timeval *deadline_left)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (!rt->writer && !deadline_left)
        return pull_one(PULL_BLOCK, NULL);
    struct timeval tv = {0, 20000};
    if (deadline_left && (!rt->writer || deadline_left->tv_sec < 0 ||
                          (deadline_left->tv_sec == 0 && deadline_left->tv_usec < 20000)))
        tv = *deadline_left;
    return pull_one(PULL_WAIT, &tv);
}

/* ------------------------------------------------------ start and restart */

/* A restarted task also names the groups it was in, so that ckpt-run can
 * have the job rejoin them in the order of their instance numbers; a fresh
 * one names its parent and siblings by their PVM task ids, and learns from
 * the answer its own virtual id and theirs. */
static void hello(int parent, const int *sib, int nsib)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int ng = rt->ngroups;
    long *v = calloc(9 + (size_t)ng + (size_t)nsib, sizeof *v);
    char **strs = calloc((size_t)rt->argc + (size_t)ng + 1, sizeof *strs);
    if (!v || !strs)
        ckpt__die("out of memory");
    long head[9] = {rt->myvtid, rt->mytid, parent, (long)getpid(), (long)rt->epoch,
                    rt->restoring ? (long)rt->epoch : -1L, rt->argc, ng, nsib};
    memcpy(v, head, sizeof head);
    memcpy(strs, rt->argv, sizeof *strs * (size_t)rt->argc);
    for (int i = 0; i < ng; i++) {
        v[9 + i] = rt->groups[i].inst;
        strs[rt->argc + i] = rt->groups[i].name;
    }
    for (int i = 0; i < nsib; i++)
        v[9 + ng + i] = sib[i];
    if (ckpt__ctl_send(rt->coord, CTL_HELLO, v, 9 + ng + nsib, strs, rt->argc + ng) < 0)
        ckpt__die("cannot reach the coordinator t%x", (unsigned)rt->coord);
    free(v);
    free(strs);
}

/* Gives the application its buffers back under their ids.  Done before
 * anything can arrive (arrivals take ids too) and before the runtime makes
 * buffers of its own. */
static void restore_app_buffers(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    uint64_t off = 0;
    const struct msg_rec *r;
    const void *bytes;
    while (rt->rappbufs && ckpt__msg_rec_next(rt->rappbufs, rt->rappbufs_len, &off, &r, &bytes) > 0) {
        int b = ckpt__buf_make_at(r->peer, bytes, (size_t)r->len, r->enc);
        if (b < 0) {
            pr_warn("cannot give buffer %d back to the application (%d)", (int)r->peer, b);
            continue;
        }
        if (r->seq)
            ckpt__restored_note(b, (int)(r->seq >> 32), (int)(uint32_t)r->seq);
        int rc = ckpt__buf_seek(b, r->upos, ckpt__buf_raw_enc());
        if (rc < 0)
            pr_warn("buffer %d: cannot unpack from where the application had got to "
                    "(%d of %d bytes; %d): it reads from the start", b, r->upos, r->len, rc);
        if (r->tag & APPBUF_SEND)
            pvm_setsbuf(b);
        if (r->tag & APPBUF_RECV)
            pvm_setrbuf(b);
    }
    rt->rappbufs = NULL;
}

/* Rebuilds the log and the receive queue saved in the image, then tells every
 * peer where our channel to it restarts and sends what it may have missed. */
static void rebuild_and_replay(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    ckpt__log_rebuild();
    ckpt__queue_rebuild();

    ckpt_fault_die(rt->dir, "die-replay", 0);
    for (int i = 0; i < rt->npeers; i++) {
        struct ckpt_peer *p = rt->peers[i];
        if (p->instrumented != PEER_JOB || p->vtid == rt->myvtid || !p->out_seq || p->gone)
            continue;
        /* Acknowledged entries left gaps in the log: renumber the channel
         * before each run of consecutive entries, and after the last one. */
        uint64_t next = 0;
        for (struct ckpt_logent *e = p->log_head; e; e = e->next) {
            if (e->seq != next) {
                long first = (long)e->seq;
                ckpt__ctl_send(p->tid, CTL_REPLAY, &first, 1, NULL, 0);
            }
            int old = pvm_setsbuf(e->buf->bufid), ctx = pvm_setcontext(e->ctx);
            int rc = pvm_send(p->tid, e->tag);
            pvm_setcontext(ctx);
            pvm_setsbuf(old);
            if (rc < 0)
                pr_err("replay to t%x failed: PVM error %d", (unsigned)p->vtid, rc);
            next = e->seq + 1;
        }
        if (next != p->out_seq + 1) {
            long first = (long)(p->out_seq + 1);
            ckpt__ctl_send(p->tid, CTL_REPLAY, &first, 1, NULL, 0);
        }
        /* What follows is sent in our epoch, and the peer may acknowledge it. */
        long e = (long)rt->epoch;
        ckpt__ctl_send(p->tid, CTL_MARK, &e, 1, NULL, 0);
        p->marked_epoch = rt->epoch;
    }
}

/* Enrolls in PVM and introduces the task to the coordinator; a restarted
 * task also waits for the map of the job's new task ids and replays. */
void ckpt__msg_attach(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (attached || rt->mode != CKPT_MODE_JOB)
        return;
    attached = 1;
    if (on_exit(exiting, NULL) != 0)
        pr_warn("cannot watch for exit(): a task leaving without pvm_exit looks failed");
    rt->mytid = pvm_mytid();
    if (rt->mytid < 0)
        ckpt__die("cannot enroll in PVM (error %d): is the pvmd running?", rt->mytid);
    if (ckpt__buf_selftest() != 0)
        ckpt__die("this libpvm3 does not have the message layout ckpt was built for");
    rt->npvm_own = ckpt__buf_live(rt->pvm_own, 8, NULL);  /* before the application has any */
    ckpt__buf_raw_enc();    /* (its buffer's id is free again before any is restored) */
    restore_app_buffers();

    if (rt->restoring) {
        pvm_setcontext(rt->ctx);
        ckpt__skip_made_contexts();
        hello(rt->parent_vtid, NULL, 0);
    } else {
        rt->ctx = pvm_getcontext();     /* a spawned task starts in its parent's */
        const char *e0 = getenv("CKPT_EPOCH0");
        if (e0)
            rt->epoch = rt->committed = strtoull(e0, NULL, 10);
        rt->myvtid = rt->mytid;         /* until the coordinator says */
        int parent = pvm_parent();
        if (parent == rt->coord)     /* ckpt-run -n spawned us: as if started from a shell */
            parent = PvmNoParent;
        int *sib, ns = pvm_siblings(&sib);
        /* Synchronous: once a peer has a message from us, the coordinator
         * knows us, so its answer to "is this a task of the job?" needs no
         * waiting and no guess. */
        hello(parent, sib, ns > 0 ? ns : 0);
        await_coordinator(&welcomed, 0);
        if (parent > 0)
            ckpt__job_peer_at(rt->parent_vtid, parent);
        for (int i = 0; i < rt->npeers; i++)
            rt->peers[i]->marked_epoch = rt->epoch;
    }
    pvm_notify(PvmTaskExit, CKPT_COORD_LOST_TAG, 1, &rt->coord);
    if (!rt->restoring)
        return;
    /* Peers' messages cannot be told apart before we know their new task ids. */
    await_coordinator(&rt->mapped, 0);
    rebuild_and_replay();
    ckpt__notify_restart();
}

int ckpt__job(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (__builtin_expect(!rt->inited, 0))
        ckpt__init();
    if (rt->mode != CKPT_MODE_JOB)
        return 0;
    if (!attached)
        ckpt__start();      /* a restarted task attaches as itself */
    if (!attached)
        ckpt__msg_attach();
    return 1;
}

/* ------------------------------------------------------ the wrapped calls */

int ckpt_pvm_mytid(void)
{
    return ckpt__job() ? ckpt__rt.myvtid : pvm_mytid();
}

int ckpt_pvm_parent(void)
{
    return ckpt__job() ? ckpt__rt.parent_vtid : pvm_parent();
}

int ckpt_pvm_siblings(int **tids)
{
    if (!ckpt__job())
        return pvm_siblings(tids);
    static int *list;
    struct ckpt_rt *rt = &ckpt__rt;
    int n = 0;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->sibling > n)
            n = rt->peers[i]->sibling;
    free(list);
    list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        return PvmNoMem;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->sibling)
            list[rt->peers[i]->sibling - 1] = rt->peers[i]->vtid;
    if (n == 0) {   /* started alone: PVM reports the task itself */
        list[0] = rt->myvtid;
        n = 1;
    }
    *tids = list;
    return n;
}

/* Tasks of the job are shown with their virtual ids. */
int ckpt_pvm_tasks(int where, int *ntask, struct pvmtaskinfo **taskp)
{
    if (!ckpt__job())
        return pvm_tasks(where, ntask, taskp);
    int rc = pvm_tasks(where > 0 && !(where & 0x80000000) ? ckpt__tid_of(where) : where,
                       ntask, taskp);
    for (int i = 0; rc >= 0 && i < *ntask; i++) {
        (*taskp)[i].ti_tid = ckpt__vtid_of((*taskp)[i].ti_tid);
        (*taskp)[i].ti_ptid = ckpt__vtid_of((*taskp)[i].ti_ptid);
    }
    return rc;
}

/* A bare name is looked up beside the running program first, so jobs work
 * without copying executables into ~/pvm3/bin. */
static char *spawn_path(char *file, char *buf, size_t len)
{
    if (!file || strchr(file, '/'))
        return file;
    const char *slash = strrchr(ckpt__rt.exe_path, '/');
    if (!slash)
        return file;
    snprintf(buf, len, "%.*s/%s", (int)(slash - ckpt__rt.exe_path), ckpt__rt.exe_path, file);
    return access(buf, X_OK) == 0 ? buf : file;
}

/* Whether the program at path was built with ckpt-cc (carries CKPT_MARK):
 * 1, 0, or -1 when it cannot be told from here (found by the pvmd's own
 * search path, or on another host), where it is taken for one that was. */
static int instrumented(const char *path)
{
    int fd = strchr(path, '/') ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    int yes = memmem(m, (size_t)st.st_size, CKPT_MARK, sizeof CKPT_MARK - 1) != NULL;
    munmap(m, (size_t)st.st_size);
    return yes;
}

/* A task is part of the job from the moment pvm_spawn returns its tid: the
 * coordinator hears of it before anything we send later (our next image's
 * report included), and gives each its virtual id, unique for the life of
 * the job whatever tids a new pvmd hands out.  A program not built with
 * ckpt-cc is a plain peer, outside the recovery guarantee. */
int ckpt_pvm_spawn(char *file, char **argv, int flag, char *where, int count, int *tids)
{
    if (!ckpt__job())
        return pvm_spawn(file, argv, flag, where, count, tids);
    struct ckpt_rt *rt = &ckpt__rt;
    char path[4096], epoch[32];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)rt->epoch);
    setenv("CKPT_EPOCH0", epoch, 1);
    char *run = spawn_path(file, path, sizeof path);
    int n = pvm_spawn(run, argv, flag, where, count, tids);
    if (n <= 0)
        return n;
    if (instrumented(run) == 0) {
        for (int i = 0; i < n; i++)
            ckpt__peer(tids[i], 1)->instrumented = PEER_PLAIN;
        pr_warn("%s was not built with ckpt-cc: its %d task(s) are outside the recovery "
                "guarantee (messages with them are not logged or replayed)", run, n);
        return n;
    }
    long *v = malloc(sizeof *v * ((size_t)n + 1));
    if (!v)
        ckpt__die("out of memory");
    v[0] = (long)rt->epoch;
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
    return n;
}

/* Leaving the job, by pvm_exit or by exit() and a return from main alike:
 * a checkpoint asked for before is still taken, a final image keeps what
 * the receivers may not have consumed yet, and the coordinator learns that
 * this exit is no failure.  It acknowledges the bye, so that it knows before
 * PVM (or, for the program it runs, waitpid) tells it the task is gone. */
static void leave(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    /* (tests) the tasks ckpt-run started keep the job from ending */
    while (rt->coord && rt->parent_vtid <= 0 && ckpt_fault_holding()) {
        struct timeval tick = {0, 10000};
        pull_one(PULL_WAIT, &tick);
        ckpt__safepoint();
    }
    ckpt__poll();       /* a checkpoint asked for before we leave is still taken */
    ckpt__due();
    ckpt__reap(1);
    left = 1;
    if (!rt->coord)
        return;         /* the job is over (CTL_END): nobody to tell */
    /* The program ckpt-run runs ends the job by leaving: no rollback can
     * follow, so it needs no final image. */
    if (rt->st.log_entries > 0 && !rt->ends_job)
        ckpt__take_final();
    long v = rt->myvtid;
    ckpt__ctl_to_coord(CTL_BYE, &v, 1);
    await_coordinator(&bye_noted, 0);
}

int ckpt_pvm_exit(void)
{
    if (!ckpt__job())
        return pvm_exit();
    ckpt__safepoint();  /* also where a task restarted from its final image resumes */
    leave();
    return pvm_exit();
}

/* exit() or a return from main without pvm_exit, as many PVM programs end:
 * a normal end all the same.  The call chain is gone (or going), so an image
 * written from here on has no frames, only the exit status: a task restarted
 * from it replays what it owes and leaves again (restore.c). */
static void exiting(int status, void *arg)
{
    struct ckpt_rt *rt = &ckpt__rt;
    (void)arg;
    if (left || !rt->coord || rt->restoring)
        return;
    rt->top = NULL;
    rt->depth = 0;
    rt->leaving = (status & 0xff) + 1;
    fflush(NULL);       /* what it printed belongs before its last image */
    leave();
    pvm_exit();
}

int ckpt_pvm_kill(int tid)
{
    if (!ckpt__job())
        return pvm_kill(tid);
    long v = tid;
    ckpt__ctl_to_coord(CTL_BYE, &v, 1);  /* an intended exit, not a failure */
    return pvm_kill(ckpt__tid_of(tid));
}

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

/* Announces a new epoch on the channel before its first message of it. */
static void mark(struct ckpt_peer *p)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (p->marked_epoch >= rt->epoch || !job_peer(p))
        return;
    long e = (long)rt->epoch;
    ckpt__ctl_send(p->tid, CTL_MARK, &e, 1, NULL, 0);
    p->marked_epoch = rt->epoch;
}

static void record_sent(struct ckpt_peer *p, int bufid, int tag)
{
    struct ckpt_rt *rt = &ckpt__rt;
    p->out_seq++;
    rt->st.msgs_sent++;
    if (rt->log_on && p->vtid != rt->myvtid && job_peer(p))
        ckpt__log_sent(p, bufid, tag, rt->ctx);
}

/* A send without a safe point: the caller has had its own. */
static int send_now(int tid, int msgtag)
{
    struct ckpt_peer *p = ckpt__peer(tid, 1);
    if (p->gone)
        return 0;   /* as PVM does for a task that has exited: the message is dropped */
    mark(p);
    int sb = pvm_getsbuf();
    int rc = pvm_send(p->tid, msgtag);
    if (rc >= 0)
        record_sent(p, sb, msgtag);
    /* Sending a large message outlasts a poll interval, and the receiver's
     * acknowledgement of the previous one has come in meanwhile: taking it
     * now frees that buffer before the application packs its next message,
     * so the task holds one message fewer (and reuses warmer memory). */
    ckpt__poll_if_due();
    return rc;
}

int ckpt_pvm_send(int tid, int msgtag)
{
    if (!ckpt__job())
        return pvm_send(tid, msgtag);
    ckpt__safepoint();
    return send_now(tid, msgtag);
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
        mark(p);
        real[m++] = p->tid;
    }
    int sb = pvm_getsbuf();
    int rc = m ? pvm_mcast(real, m, msgtag) : 0;
    free(real);
    for (int i = 0; rc >= 0 && i < count; i++) {
        struct ckpt_peer *p = ckpt__peer(tids[i], 1);
        if (!p->gone)
            record_sent(p, sb, msgtag);
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
        rc = send_now(tid, msgtag);
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
        int rc = wait_one(NULL);
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
    if (rt->in_handler) {
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
                while (pull_one(PULL_POLL, NULL) > 0 && rt->requested <= rt->epoch) {
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
        rc = wait_one(lp);
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
