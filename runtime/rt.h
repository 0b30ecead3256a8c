/*
 * rt.h: libckpt's private interface, by layer, and `ckpt_rt`: who the task
 * is, how it is configured, where its epochs stand, and the channel table.
 * Every other table is static in the module that owns it (handlers.c,
 * member.c, notify.c, globals.c, layout.c, the writer in checkpoint.c, ...),
 * which writes and reads its own image section (state.c lists them).
 */
#ifndef CKPT_RT_H
#define CKPT_RT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <pvm3.h> /* the types of the wrappers' parameters */

#include "ckpt.h"
#include "image.h"

/* In every program ckpt-cc links (init.c): ckpt_pvm_spawn tells by it whether
 * a program it starts takes part in the job. */
#define CKPT_MARK "ckpt-cc instrumented task, protocol 1"

/* ---- messages to the user (say.c) ---- */
void ckpt__say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ckpt__die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define pr_err(...) ckpt__say(0, __VA_ARGS__)
#define pr_warn(...) ckpt__say(1, __VA_ARGS__)
#define pr_info(...) ckpt__say(2, __VA_ARGS__)
#define pr_debug(...) ckpt__say(3, __VA_ARGS__)

/* ---- registered globals (globals.c) ---- */
struct ckpt_global {
    char *key;
    struct ckpt_var v;
    size_t (*count)(void);  /* BLOCK globals: element count when saved */
};

/* ---- a frame as saved in an image, while it is being rebuilt ---- */
struct ckpt_saved_var {
    int32_t i, reg, kind;
    uint64_t size, elem, count;
    uint64_t old_addr;     /* where the variable was */
    uint64_t old_block;    /* BLOCK: where its elements were */
    char name[128];
    const void *data;      /* saved bytes of the variable */
    const void *block;     /* BLOCK: saved elements */
};
struct ckpt_saved_frame {
    char func[64];
    int32_t site, nvars;
    struct ckpt_saved_var *vars;
};

/* ---- channels (peers.c, log.c) ---- */
struct ckpt_logbuf {                /* a sent PVM buffer the log keeps (no copy) */
    int bufid;
    int refs;                       /* log entries naming it (a multicast has several) */
    int len, enc;                   /* body bytes and PVM encoding signature */
    int released;                   /* the application no longer holds it */
};
struct ckpt_logent {                /* one logged message on one channel */
    struct ckpt_logent *next;
    uint64_t seq;
    uint64_t epoch;                 /* ours when we sent it */
    int tag, ctx;                   /* its tag and message context */
    struct ckpt_logbuf *buf;
};
struct ckpt_peer {
    int vtid;                       /* virtual task id (what the application sees) */
    int tid;                        /* live PVM task id */
    int instrumented;               /* PEER_JOB, PEER_PLAIN or PEER_UNKNOWN (not asked yet) */
    uint64_t out_seq;               /* messages sent to it */
    uint64_t marked_epoch;          /* last epoch announced to it */
    uint64_t in_seq;                /* messages taken from the wire from it */
    uint64_t in_next;               /* sequence number of its next message on the wire */
    uint64_t acked;                 /* highest out_seq a commit proved it holds */
    uint64_t in_epoch;              /* epoch its messages now arrive from (its last MARK) */
    uint32_t ack_count, ack_bytes;  /* taken from it in its own epoch, not yet acked */
    struct ckpt_logent *log_head, *log_tail;   /* sent, not yet proven consumed */
    uint64_t log_bytes;
    int sibling;                    /* 1-based place in pvm_siblings(), 0 if none */
    int gone;                       /* left the job for good: nothing to log, send or replay */
    const void *rlog;               /* restore: its log as saved, until rebuilt */
    uint64_t rlog_len;
};
enum { PEER_UNKNOWN = -1, PEER_PLAIN = 0, PEER_JOB = 1 };
struct ckpt_qinfo {                 /* received from PVM, not yet delivered (queue.c) */
    int bufid, src_vtid, tag, ctx, len;
    int notice, subject;            /* a pvm_notify notice: its kind and the id it names */
};
#define CKPT_GROUP_NAME 120
struct ckpt_group {                 /* a group joined (pvm_joingroup) */
    char name[CKPT_GROUP_NAME];
    int inst;
};
struct ckpt_handler {               /* pvm_addmhf */
    int id, src, tag, ctx;          /* src: a virtual task id or -1 */
    int (*fn)(int);
};

struct ckpt_notify {                /* a pvm_notify request PVM has not answered yet */
    int what;                       /* PvmTaskExit, PvmHostDelete or PvmHostAdd */
    int tag, ctx;                   /* the notice's tag, and the context it comes in */
    int vtid, tid;                  /* the task (virtual, and real as asked of PVM) or pvmd */
    int count;                      /* PvmHostAdd: notices still to come, -1 for ever */
};

enum ckpt_mode { CKPT_MODE_PLAIN, CKPT_MODE_STANDALONE, CKPT_MODE_JOB };

struct ckpt_rt {
    int inited;
    enum ckpt_mode mode;
    int verbose;

    /* configuration (init.c) */
    char dir[4096];                 /* CKPT_DIR */
    int chain;                      /* CKPT_CHAIN: images per chain, 1: every image full */
    int log_on;                     /* CKPT_LOG */
    long stop_at;                   /* CKPT_STOP_AT: standalone test hook */
    long safepoints;                /* safe points reached so far */
    int coord;                      /* coordinator's PVM tid, 0 when none */
    int ends_job;                   /* CKPT_ROOT: the program ckpt-run runs, whose exit ends the job */
    int leaving;                    /* on its way out through exit(): the status + 1, else 0 */
    struct ckpt_exe_id exe;
    uint64_t job;                   /* CKPT_JOB: ckpt-run's job id, written into every image */
    char exe_path[4096];
    int argc;
    char **argv;                    /* our own copy, saved in images */

    /* identity */
    int mytid, myvtid, parent_vtid;

    /* shadow stack (frames.c) */
    struct ckpt_frame *top;
    int depth;

    /* restore in progress (restore.c) */
    int restoring;                  /* frames are being rebuilt */
    struct ckpt_img *img;
    struct ckpt_saved_frame *sframes;
    int nsframes, rdepth;

    /* checkpointing (checkpoint.c) */
    uint64_t epoch;                 /* last checkpoint taken (tentative or not) */
    uint64_t committed;             /* last checkpoint known committed */
    uint64_t requested;             /* epoch asked for (coordinator or a MARK), not yet taken */
    uint64_t aborted;               /* last epoch the coordinator gave up (CTL_ABORT) */
    int forced;                     /* the request came from a peer's MARK */
    int pvm_own[8], npvm_own;       /* buffers libpvm3 holds for itself (live at enrolment) */
    int64_t out_off[3];             /* stdout/stderr length at the checkpoint, -1: not a file */

    /* channels (peers.c; the context: wrap_buf.c) */
    struct ckpt_peer **peers;
    int npeers, maxpeers;
    int ctx;                        /* the application's message context */
    int ctx_made;                   /* the highest context pvm_newcontext gave it */

    struct ckpt_stats st;
};
extern struct ckpt_rt ckpt__rt;

/* Reading an image's sections in order: each owner takes its own. */
struct ckpt_cursor {
    const struct ckpt_img *img;
    size_t i, n;
};
/* The next section if it is of type (and named name, unless NULL), else NULL. */
static inline const struct ckpt_img_section *ckpt__next_section(struct ckpt_cursor *c, uint32_t type,
                                                                const char *name)
{
    if (c->i >= c->n)
        return NULL;
    const struct ckpt_img_section *s = ckpt_img_section(c->img, c->i);
    if (s->type != type || (name && strcmp(s->name, name) != 0))
        return NULL;
    c->i++;
    return s;
}

/*
 * The runtime in layers; a file calls only into its own layer's lower
 * files and the layers below:
 *   wrappers   wrap_msg.c wrap_task.c wrap_buf.c wrap_group.c, frames.c
 *              (the PVM calls and the shadow-stack calls rewritten code makes)
 *   protocol   task.c (start, leaving), checkpoint.c (safe point, writer),
 *              restore.c, state.c (the image's sections), varsec.c, globals.c,
 *              layout.c (addresses kept across a restart), libcstate.c and heap.c (the
 *              twins of ckpt_libc_calls.h that keep C library state)
 *   channels   attach.c (join and replay), wire.c, member.c, notify.c, appbufs.c,
 *              handlers.c,
 *              log.c (sender log), queue.c (receive queue), peers.c
 *   base       pvmbuf.c, init.c, say.c; and proto/ (the control-message
 *              codec ctl.c, fault.c, outshare.c), shared with ckpt-run
 * The wire records what control messages ask; the protocol acts on it.
 */

/* ---- base ---- */
void ckpt__init(void);              /* init.c */
uint64_t ckpt__now_ns(void);

/* ---- protocol ---- */
/* task.c */
void ckpt__start(void);     /* restore (if restarting), then attach: once */
int ckpt__job(void);        /* 1 in a job under ckpt-run (started on first use) */
void ckpt__leave(void);

/* checkpoint.c */
void ckpt__safepoint(void);
void ckpt__watch_requests(void);
void ckpt__due(void);
void ckpt__take_final(void);
void ckpt__reap(int block);
int ckpt__writing(void);

/* restore.c */
void ckpt__restore_load(void);
void ckpt__restore_resume(void);
void ckpt__restore_var(struct ckpt_frame *f, int i);
void ckpt__restore_frame(struct ckpt_frame *f);
void ckpt__restore_finish(void);

/* state.c: the task's state as image sections, in order, each by its owner */
int ckpt__state_write(struct ckpt_imgw *w);
int ckpt__state_read(const struct ckpt_img *img);

/* varsec.c: a frame of variables as sections */
int ckpt__frame_write(struct ckpt_imgw *w, const char *name, int depth, int site,
                      struct ckpt_var **vars, const int *idx, int n);
int ckpt__frame_read(struct ckpt_cursor *c, const struct ckpt_img_section *fs, uint32_t type,
                     struct ckpt_saved_var **out, int *nout, int *site);

void ckpt__restore_bytes(const struct ckpt_saved_var *sv, struct ckpt_var *v);
#define CKPT_SUSPECTS 4
const char *ckpt__suspect(int i);   /* (writer) saved variables pointing into libc's heap */

/* layout.c: the addresses a restarted task gets back */
struct meta_rec;
void ckpt__layout_record(struct meta_rec *m);
int ckpt__layout_take(const struct meta_rec *m, char *why, size_t n);
uintptr_t ckpt__main_stack(uintptr_t here);
char **ckpt__main_args(int argc, char **argv, char **envp);

/* heap.c: the program's heap arena (the ckpt_ twins of ckpt_libc.h), and its sections */
int ckpt__heap_write(struct ckpt_imgw *w);
int ckpt__heap_read(struct ckpt_cursor *c);
int ckpt__heap_owns(const void *p);     /* 1 if p is inside a live block of the arena */
int ckpt__heap_in_arena(const void *p); /* 1 if p is in the arena's extent (cheap) */
uint64_t ckpt__heap_copy(void);      /* before the writer's fork: bytes copied, 0: shared */
void ckpt__heap_forked(void);        /* after it, in the task (when something was copied) */
int ckpt__heap_take_copy(void);      /* in the writer: the copy at the arena's address */
void ckpt__heap_no_copy(void);       /* CKPT_SNAPSHOT=off: copy-on-write instead */
/* Incremental images: the image the copy was compared with (0: none), and
 * whether the bytes at [addr, addr+len) are exactly those it saved. */
int ckpt__heap_base(uint64_t *epoch, uint64_t *time_ns);
int ckpt__heap_unchanged(uint64_t addr, uint64_t len);
void ckpt__heap_written(uint64_t epoch, uint64_t time_ns);   /* the copy's image is on disk */
uint64_t ckpt__mem_available(void);  /* /proc/meminfo's MemAvailable, bytes (0: unknown) */
/* compress.c: whether the next image is deflated, from what the last writer measured */
void ckpt__compress_setup(int level, double disk_mbs);  /* level -1: auto */
void ckpt__compress_learn(const struct ckpt_img_totals *t);
int ckpt__compress_choose(const char *dir, uint32_t *probe, char *why, size_t len);
/* shadow.c: large variables compared by the writer (incremental images) */
void ckpt__shadow_prepare(void);                    /* task, before the writer's fork */
void ckpt__shadow_begin(uint64_t epoch, uint64_t base);  /* writer: base 0 for none */
int ckpt__shadow_track(const void *p, uint64_t len);     /* writer: 1 if compared */
int ckpt__shadow_unchanged(uint64_t addr, uint64_t len);

/* files.c: the files the program opens (the file twins of ckpt_libc.h), their
 * state at a checkpoint, and their section */
void ckpt__files_note(void);    /* (parent, before the fork) flush, positions, lengths */
int ckpt__files_write(struct ckpt_imgw *w);
int ckpt__files_read(struct ckpt_cursor *c);
/* The C library's allocation of a stream's FILE, routed to the arena by
 * runtime/malloc.c (when it is linked, as ckpt-cc does): armed by files.c
 * around its fopen-like calls, the next malloc or calloc comes from the
 * arena and disarms it; got is that block.  With all set (liballoc.c),
 * every allocation comes from the arena until it is cleared. */
struct ckpt_route {
    int armed;
    int all;
    void *got;
};
extern struct ckpt_route ckpt__route;

/* globals.c: the registry of saved globals, and their sections */
int ckpt__globals_write(struct ckpt_imgw *w);
int ckpt__globals_read(struct ckpt_cursor *c);
void ckpt__globals_nosave(void);    /* (writer) CKPT_NOSAVE of global pointers */

/* libcstate.c: the C library's state the program sees (random generators,
 * strtok, getenv's values), and its section */
int ckpt__libc_write(struct ckpt_imgw *w);
int ckpt__libc_read(struct ckpt_cursor *c);

/* ---- channels ---- */
/* attach.c */
void ckpt__attach(void);

/* appbufs.c: the application's buffers */
int ckpt__appbufs_write(struct ckpt_imgw *w);
int ckpt__appbufs_read(struct ckpt_cursor *c);
void ckpt__appbufs_restore(void);
void ckpt__appbufs_active(int send, int recv);

/* wire.c */
void ckpt__ctl_to_coord(int type, const long *v, int n);
int ckpt__coord_take(void);
int ckpt__poll(void);
void ckpt__poll_if_due(void);
int ckpt__poll_one(void);
int ckpt__wait_one(const struct timeval *left, int often);
void ckpt__mark_epoch(struct ckpt_peer *p);
void ckpt__sent(struct ckpt_peer *p, int bufid, int tag);
int ckpt__send_now(int tid, int msgtag);
void ckpt__name_spawned(int *tids, int n);
void ckpt__bye_for(int vtid);
void ckpt__bye(void);
int ckpt__await_welcome(void);
int ckpt__join_asked(void);
int ckpt__mapped(void);

/* member.c: the groups this task is in (and META's group records) */
struct group_rec;
int ckpt__member_join(const char *group);
void ckpt__member_leave(const char *group);
void ckpt__rejoin(int index);
const char *ckpt__member(int i, int *inst);
int ckpt__member_count(void);
void ckpt__member_records(struct group_rec *gr);
int ckpt__member_load(const struct group_rec *gr, int n);

/* notify.c: pvm_notify's requests (and META's notify records) */
struct notify_rec;
int ckpt__notify(int what, int msgtag, int count, int *tids);
int ckpt__notify_count(void);
void ckpt__notify_records(struct notify_rec *nr);
int ckpt__notify_load(const struct notify_rec *nr, int n);
int ckpt__notice(int bufid, int src, int tag, int ctx, int len);
void ckpt__notify_restart(void);

/* log.c: the sender log */
void ckpt__log_sent(struct ckpt_peer *p, int bufid, int tag, int ctx);
void ckpt__log_let_go(int bufid);
int ckpt__app_free(int bufid);
void ckpt__log_acked(struct ckpt_peer *p, uint64_t seq, uint64_t epoch);
void ckpt__log_drop_upto(struct ckpt_peer *p, uint64_t seq);
void ckpt__log_aborted(uint64_t k);
void ckpt__log_committed(uint64_t k);
void ckpt__log_peer_gone(struct ckpt_peer *p);
int ckpt__log_write(struct ckpt_imgw *w);
int ckpt__log_read(struct ckpt_cursor *c);
void ckpt__log_rebuild(void);

/* handlers.c: the application's message handlers and matching function */
struct handler_rec;
typedef int (*ckpt_match_fn)(int bufid, int tid, int tag);
int ckpt__handler_add(int src, int tag, int ctx, int (*f)(int));
int ckpt__handler_del(int id);
const struct ckpt_handler *ckpt__handler_for(int src, int tag, int ctx);
int ckpt__handler_count(void);
void ckpt__handler_run(const struct ckpt_handler *h, int bufid);
int ckpt__in_handler(void);
ckpt_match_fn ckpt__match_fn(void);
ckpt_match_fn ckpt__match_set(ckpt_match_fn f);
void ckpt__handler_records(struct handler_rec *hr, uint64_t *match);
int ckpt__handler_load(const struct handler_rec *hr, int n, uint64_t match);

/* queue.c: the receive queue */
void ckpt__enqueue(const struct ckpt_qinfo *m);
const struct ckpt_qinfo *ckpt__queue_next(const struct ckpt_qinfo *after);  /* NULL: the first */
void ckpt__queue_remove(const struct ckpt_qinfo *m);
int ckpt__queue_find(int vtid, int tag, int app, const struct ckpt_qinfo **found);
int ckpt__deliver(const struct ckpt_qinfo *m);
void ckpt__skip_made_contexts(void);
int ckpt__queue_write(struct ckpt_imgw *w);
int ckpt__queue_read(struct ckpt_cursor *c);
void ckpt__queue_rebuild(void);
void ckpt__run_handlers(void);
void ckpt__restored_note(int bufid, int src_vtid, int tag);
void ckpt__restored_forget(int bufid);
void ckpt__app_view(int bufid, int *msgtag, int *tid);

/* peers.c: the channel table */
struct ckpt_peer *ckpt__peer(int vtid, int create);
struct ckpt_peer *ckpt__job_peer_at(int vtid, int tid);
int ckpt__vtid_of(int tid);
int ckpt__tid_of(int vtid);

/* ---- wrappers ---- */
/* wrap_msg.c: typed sends and takes, for the collectives of wrap_group.c */
int ckpt__send_typed(int tid, int msgtag, void *buf, int len, int datatype);
int ckpt__await_all(const int *vtids, int n, int msgtag);
int ckpt__take_typed(int vtid, int msgtag, void *buf, int len, int datatype);
int ckpt__type_size(int datatype);

/* the wrappers of ckpt_pvm.h (which the runtime does not include: it calls PVM by its
 * own names), so that each definition is checked against ckpt_pvm_calls.h */
#define CKPT_PVM_CALL(name, ret, params, safe) ret ckpt_pvm_##name params;
#include "ckpt_pvm_calls.h"
#undef CKPT_PVM_CALL

/* The runtime's tables grow by doubling: arr (of *max elements of size
 * bytes) made to hold need, the new ones zeroed.  Returns the table (arr
 * itself when it is big enough), or NULL with arr and *max untouched. */
static inline void *ckpt__grow(void *arr, int *max, int need, size_t size)
{
    if (need <= *max)
        return arr;
    int n = *max ? *max : 8;
    while (n < need)
        n *= 2;
    char *a = realloc(arr, (size_t)n * size);
    if (!a)
        return NULL;
    memset(a + (size_t)*max * size, 0, (size_t)(n - *max) * size);
    *max = n;
    return a;
}

/* pvmbuf.c: message bytes through libpvm's internals */
int ckpt__buf_bytes(int bufid, void *out, size_t max, int *enc);
int ckpt__buf_len(int bufid);
int ckpt__buf_raw_enc(void);
int ckpt__buf_upos(int bufid);
int ckpt__buf_seek(int bufid, int upos, int raw_enc);
int ckpt__buf_make(const void *bytes, size_t len, int enc);
int ckpt__buf_make_at(int want, const void *bytes, size_t len, int enc);
int ckpt__buf_is_runtimes(int bufid);    /* log.c */
int ckpt__buf_live(int *ids, int max, int (*skip)(int bufid));
int ckpt__buf_selftest(void);

#endif /* CKPT_RT_H */
