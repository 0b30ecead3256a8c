/*
 * state.c: a task's whole state as image sections, and back.
 *
 * Sections, in order: META (runtime state and the channel table), ARGV, a
 * FRAME for the globals followed by one GLOBAL (+ BLOCK) per global, then one
 * FRAME per shadow-stack frame from main down, each followed by one VAR
 * (+ BLOCK) per saved variable, then one LOG per channel with entries (written
 * and read by log.c), then QUEUE "received" (messages taken off the wire, not
 * yet delivered: queue.c) and QUEUE
 * "application buffers" (every buffer the application may hold by id: what it
 * packed but has not sent yet, as a task is saved at a safe point such as
 * pvm_send before the send; a buffer kept aside; the message it is reading).
 * Writing runs in the writer child, which sees the task frozen at the fork;
 * it must not touch PVM's socket nor stdio.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

extern char __executable_start[] __attribute__((weak));
extern char _end[] __attribute__((weak));

static void fill_var_rec(struct var_rec *r, int i, const struct ckpt_var *v)
{
    memset(r, 0, sizeof *r);
    r->i = i;
    r->reg = (int32_t)v->reg;
    r->kind = (int32_t)v->kind;
    r->size = v->size;
    r->elem = v->elem;
    r->count = v->kind == CKPT_KIND_BLOCK ? v->count : 0;
    r->old_addr = (uintptr_t)v->addr;
    if (v->kind == CKPT_KIND_BLOCK) {
        r->old_block = (uintptr_t)*(void **)v->addr;
        if (!r->old_block)
            r->count = 0;
    }
    snprintf(r->name, sizeof r->name, "%s", v->name ? v->name : "?");
}

/* One FRAME section and the data sections of its variables. */
static int write_frame(struct ckpt_imgw *w, const char *name, int depth, int site,
                       struct ckpt_var **vars, const int *idx, int n)
{
    size_t len = sizeof(struct frame_rec) + (size_t)n * sizeof(struct var_rec);
    char *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct frame_rec *fr = (struct frame_rec *)buf;
    struct var_rec *vr = (struct var_rec *)(fr + 1);
    fr->depth = depth;
    fr->site = site;
    fr->nvars = n;
    for (int k = 0; k < n; k++)
        fill_var_rec(&vr[k], idx[k], vars[k]);
    int err = ckpt_imgw_section(w, CKPT_SEC_FRAME, name, buf, len, 0);
    for (int k = 0; !err && k < n; k++) {
        const struct ckpt_var *v = vars[k];
        uint32_t type = depth < 0 ? CKPT_SEC_GLOBAL : CKPT_SEC_VAR;
        err = ckpt_imgw_section(w, type, vr[k].name, v->addr, v->size,
                                v->kind == CKPT_KIND_DATA ? (uint32_t)v->elem : 0);
        if (!err && v->kind == CKPT_KIND_BLOCK)
            err = ckpt_imgw_section(w, CKPT_SEC_BLOCK, vr[k].name, (void *)(uintptr_t)vr[k].old_block,
                                    vr[k].count * v->elem, (uint32_t)v->elem);
    }
    free(buf);
    return err;
}

static int write_meta(struct ckpt_imgw *w)
{
    struct ckpt_rt *rt = &ckpt__rt;
    size_t len = sizeof(struct meta_rec) + (size_t)rt->npeers * sizeof(struct peer_rec) +
                 (size_t)rt->nhandlers * sizeof(struct handler_rec) +
                 (size_t)rt->ngroups * sizeof(struct group_rec) +
                 (size_t)rt->nnotifies * sizeof(struct notify_rec);
    char *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct meta_rec *m = (struct meta_rec *)buf;
    struct peer_rec *pr = (struct peer_rec *)(m + 1);
    struct handler_rec *hr = (struct handler_rec *)(pr + rt->npeers);
    struct group_rec *gr = (struct group_rec *)(hr + rt->nhandlers);
    struct notify_rec *nr = (struct notify_rec *)(gr + rt->ngroups);
    m->version = STATE_VERSION;
    m->vtid = rt->myvtid;
    m->tid = rt->mytid;
    m->parent_vtid = rt->parent_vtid;
    m->epoch = rt->epoch;
    m->safepoints = rt->safepoints;
    memcpy(m->out_off, rt->out_off, sizeof m->out_off);
    m->exe_start = (uintptr_t)__executable_start;
    m->exe_end = (uintptr_t)_end;
    m->npeers = rt->npeers;
    m->ctx = rt->ctx;
    m->ctx_made = rt->ctx_made;
    m->leaving = rt->leaving;
    m->match_fn = (uintptr_t)rt->match_fn;
    m->nhandlers = rt->nhandlers;
    m->ngroups = rt->ngroups;
    m->nnotifies = rt->nnotifies;
    for (int i = 0; i < rt->nnotifies; i++) {
        const struct ckpt_notify *n = &rt->notifies[i];
        nr[i] = (struct notify_rec){n->what, n->tag, n->ctx, n->vtid, n->count, 0};
    }
    for (int i = 0; i < rt->ngroups; i++) {
        gr[i].inst = rt->groups[i].inst;
        memcpy(gr[i].name, rt->groups[i].name, sizeof gr[i].name);
    }
    for (int i = 0; i < rt->nhandlers; i++) {
        const struct ckpt_handler *h = &rt->handlers[i];
        hr[i] = (struct handler_rec){h->id, h->src, h->tag, h->ctx, (uintptr_t)h->fn};
    }
    for (int i = 0; i < rt->npeers; i++) {
        const struct ckpt_peer *p = rt->peers[i];
        pr[i].vtid = p->vtid;
        pr[i].tid = p->tid;
        pr[i].instrumented = p->instrumented;
        pr[i].sibling = p->sibling;
        pr[i].out_seq = p->out_seq;
        pr[i].marked_epoch = p->marked_epoch;
        pr[i].in_seq = p->in_seq;
        pr[i].acked = p->acked;
    }
    int err = ckpt_imgw_section(w, CKPT_SEC_META, "runtime", buf, len, 0);
    free(buf);
    return err;
}

static int write_argv(struct ckpt_imgw *w)
{
    struct ckpt_rt *rt = &ckpt__rt;
    size_t len = 0;
    for (int i = 0; i < rt->argc; i++)
        len += strlen(rt->argv[i]) + 1;
    char *buf = malloc(len + 1), *p = buf;
    if (!buf)
        return -ENOMEM;
    for (int i = 0; i < rt->argc; i++) {
        size_t n = strlen(rt->argv[i]) + 1;
        memcpy(p, rt->argv[i], n);
        p += n;
    }
    int err = ckpt_imgw_section(w, CKPT_SEC_ARGV, rt->exe_path, buf, len, 0);
    free(buf);
    return err;
}

static int write_globals(struct ckpt_imgw *w)
{
    int n;
    struct ckpt_global *g = ckpt__globals(&n);
    struct ckpt_var **vars = calloc((size_t)n + 1, sizeof *vars);
    int *idx = calloc((size_t)n + 1, sizeof *idx);
    int err = -ENOMEM;
    if (!vars || !idx)
        goto out;
    for (int i = 0; i < n; i++) {
        if (g[i].count)
            g[i].v.count = g[i].count();
        vars[i] = &g[i].v;
        idx[i] = i;
    }
    err = write_frame(w, "<globals>", -1, 0, vars, idx, n);
out:
    free(vars);
    free(idx);
    return err;
}

static int write_frames(struct ckpt_imgw *w)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int depth = 0, err = 0;
    for (struct ckpt_frame *f = rt->top; f; f = f->up)
        depth++;
    struct ckpt_frame **chain = calloc((size_t)depth + 1, sizeof *chain);
    if (!chain)
        return -ENOMEM;
    int d = depth;
    for (struct ckpt_frame *f = rt->top; f; f = f->up)
        chain[--d] = f;
    for (d = 0; d < depth && !err; d++) {
        struct ckpt_frame *f = chain[d];
        struct ckpt_var *vars[64];
        int idx[64], n = 0;
        uint64_t live = f->live && f->site > 0 ? f->live[f->site] : 0;
        for (int i = 0; i < f->nvars && i < 64; i++)
            if ((live >> i & 1) && f->vars[i].reg) {
                vars[n] = &f->vars[i];
                idx[n++] = i;
            }
        err = write_frame(w, f->func, d, f->site, vars, idx, n);
    }
    free(chain);
    return err;
}

/* A restarted task gets each back under the same id (the application keeps
 * ids in its variables), as its active send or receive buffer again, and
 * with a received buffer's unpack position where it was. */
#define APPBUF_MAX 1024
static uint8_t *queued;         /* ids of queued messages (the queue may be long) */
static int nqueued;

static int runtimes(int bufid)
{
    return (bufid < nqueued && queued[bufid]) || ckpt__buf_is_runtimes(bufid);
}

static int write_app_buffers(struct ckpt_imgw *w)
{
    struct ckpt_rt *rt = &ckpt__rt;
    for (const struct ckpt_qinfo *q = ckpt__queue_next(NULL); q; q = ckpt__queue_next(q))
        if (q->bufid >= nqueued)
            nqueued = q->bufid + 1;
    queued = calloc((size_t)nqueued + 1, 1);
    if (!queued)
        return -ENOMEM;
    for (const struct ckpt_qinfo *q = ckpt__queue_next(NULL); q; q = ckpt__queue_next(q))
        queued[q->bufid] = 1;
    int ids[APPBUF_MAX], n = ckpt__buf_live(ids, APPBUF_MAX, runtimes);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int blen = ckpt__buf_len(ids[i]);
        if (blen < 0)
            ids[i] = 0;
        else
            len += sizeof(struct msg_rec) + PAD8(blen);
    }
    if (!len)
        return 0;
    char *buf = calloc(1, len), *at = buf;
    if (!buf)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        if (!ids[i])
            continue;
        struct msg_rec *r = (struct msg_rec *)at;
        struct pvmminfo mi;
        r->peer = ids[i];
        r->tag = (ids[i] == rt->sbuf ? APPBUF_SEND : 0) | (ids[i] == rt->rbuf ? APPBUF_RECV : 0);
        if (pvm_getminfo(ids[i], &mi) == 0 && mi.src > 0 && mi.src != rt->mytid)   /* received: for pvm_bufinfo */
            r->seq = (uint64_t)(uint32_t)ckpt__vtid_of(mi.src) << 32 | (uint32_t)mi.tag;
        r->upos = ckpt__buf_upos(ids[i]);
        r->len = ckpt__buf_bytes(ids[i], r + 1, len - (size_t)(at - buf) - sizeof *r, &r->enc);
        if (r->len < 0) {
            free(buf);
            return -EIO;
        }
        at += sizeof *r + PAD8(r->len);
    }
    int err = ckpt_imgw_section(w, CKPT_SEC_QUEUE, "application buffers", buf, (size_t)(at - buf), 0);
    free(buf);
    return err;
}

int ckpt__state_write(struct ckpt_imgw *w)
{
    int err = write_meta(w);
    if (!err)
        err = write_argv(w);
    if (!err)
        err = write_globals(w);
    if (!err)
        err = write_frames(w);
    if (!err)
        err = ckpt__log_write(w);
    if (!err)
        err = ckpt__queue_write(w);
    if (!err)
        err = write_app_buffers(w);
    return err;
}

/* ---- reading ---- */

struct cursor {
    const struct ckpt_img *img;
    size_t i, n;
};

static const struct ckpt_img_section *next(struct cursor *c, uint32_t type)
{
    if (c->i >= c->n)
        return NULL;
    const struct ckpt_img_section *s = ckpt_img_section(c->img, c->i);
    if (s->type != type)
        return NULL;
    c->i++;
    return s;
}

/* The application's matching function and message handlers: functions of
 * the executable, which has moved with its load address. */
static int read_handlers(const struct meta_rec *m, const struct handler_rec *hr)
{
    struct ckpt_rt *rt = &ckpt__rt;
    uintptr_t fn = ckpt__exe_ptr(m->match_fn);
    if (m->match_fn && !fn)
        return -EINVAL;
    rt->match_fn = (int (*)(int, int, int))fn;
    if (m->nhandlers == 0)
        return 0;
    rt->handlers = calloc((size_t)m->nhandlers, sizeof *rt->handlers);
    if (!rt->handlers)
        return -ENOMEM;
    rt->nhandlers = rt->maxhandlers = m->nhandlers;
    for (int i = 0; i < m->nhandlers; i++) {
        if (!(fn = ckpt__exe_ptr(hr[i].fn)))
            return -EINVAL;
        rt->handlers[i] = (struct ckpt_handler){hr[i].id, hr[i].src, hr[i].tag, hr[i].ctx,
                                                (int (*)(int))fn};
        if (hr[i].id > rt->handler_ids)
            rt->handler_ids = hr[i].id;
    }
    return 0;
}

_Static_assert(sizeof ((struct group_rec *)0)->name == CKPT_GROUP_NAME, "group name length");

static int read_groups(const struct meta_rec *m, const struct group_rec *gr)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (m->ngroups == 0)
        return 0;
    rt->groups = calloc((size_t)m->ngroups, sizeof *rt->groups);
    if (!rt->groups)
        return -ENOMEM;
    rt->ngroups = rt->maxgroups = m->ngroups;
    for (int i = 0; i < m->ngroups; i++) {
        if (!memchr(gr[i].name, '\0', sizeof gr[i].name))
            return -EINVAL;
        memcpy(rt->groups[i].name, gr[i].name, sizeof rt->groups[i].name);
        rt->groups[i].inst = gr[i].inst;
    }
    return 0;
}

/* The notify requests; each is made again once the job's new task ids are
 * known (notify.c, ckpt__notify_restart). */
static int read_notifies(const struct meta_rec *m, const struct notify_rec *nr)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (m->nnotifies == 0)
        return 0;
    rt->notifies = calloc((size_t)m->nnotifies, sizeof *rt->notifies);
    if (!rt->notifies)
        return -ENOMEM;
    rt->nnotifies = rt->maxnotifies = m->nnotifies;
    for (int i = 0; i < m->nnotifies; i++) {
        if (nr[i].what != PvmTaskExit && nr[i].what != PvmHostDelete && nr[i].what != PvmHostAdd)
            return -EINVAL;
        rt->notifies[i] = (struct ckpt_notify){nr[i].what, nr[i].tag, nr[i].ctx, nr[i].vtid,
                                               nr[i].vtid, nr[i].count};
    }
    return 0;
}

static int read_meta(const struct ckpt_img_section *s)
{
    struct ckpt_rt *rt = &ckpt__rt;
    struct meta_view mv;
    if (ckpt__meta_view(s->data, s->len, &mv) != 0)
        return -EINVAL;
    const struct meta_rec *m = mv.m;
    rt->myvtid = m->vtid;
    rt->parent_vtid = m->parent_vtid;
    rt->epoch = rt->committed = m->epoch;
    rt->safepoints = m->safepoints;
    memcpy(rt->out_off, m->out_off, sizeof rt->out_off);
    rt->old_exe_start = m->exe_start;
    rt->old_exe_end = m->exe_end;
    rt->ctx = m->ctx;
    rt->ctx_made = m->ctx_made;
    rt->leaving = m->leaving;
    const struct peer_rec *pr = mv.peers;
    int err = read_handlers(m, mv.handlers);
    if (!err)
        err = read_groups(m, mv.groups);
    if (!err)
        err = read_notifies(m, mv.notifies);
    if (err)
        return err;
    for (int i = 0; i < m->npeers; i++) {
        struct ckpt_peer *p = ckpt__peer(pr[i].vtid, 1);
        p->tid = pr[i].tid;
        p->instrumented = pr[i].instrumented;
        p->sibling = pr[i].sibling;
        p->out_seq = pr[i].out_seq;
        p->marked_epoch = pr[i].marked_epoch;
        p->in_seq = pr[i].in_seq;
        p->in_next = p->in_seq + 1;
        p->acked = pr[i].acked;
    }
    return 0;
}

/* A FRAME section and its variables' sections, into sv[0..n). */
static int read_frame(struct cursor *c, const struct ckpt_img_section *fs, uint32_t type,
                      struct ckpt_saved_var **out, int *nout, int *site)
{
    const struct frame_rec *fr;
    const struct var_rec *vr;
    if (ckpt__frame_view(fs->data, fs->len, &fr, &vr) != 0)
        return -EINVAL;
    struct ckpt_saved_var *sv = calloc((size_t)fr->nvars + 1, sizeof *sv);
    if (!sv)
        return -ENOMEM;
    for (int k = 0; k < fr->nvars; k++) {
        const struct ckpt_img_section *d = next(c, type), *b = NULL;
        if (!d || d->len != vr[k].size)
            goto bad;
        if (vr[k].kind == CKPT_KIND_BLOCK) {
            b = next(c, CKPT_SEC_BLOCK);
            if (!b || b->len != vr[k].count * vr[k].elem)
                goto bad;
        }
        sv[k].i = vr[k].i;
        sv[k].reg = vr[k].reg;
        sv[k].kind = vr[k].kind;
        sv[k].size = vr[k].size;
        sv[k].elem = vr[k].elem;
        sv[k].count = vr[k].count;
        sv[k].old_addr = vr[k].old_addr;
        sv[k].old_block = vr[k].old_block;
        memcpy(sv[k].name, vr[k].name, sizeof sv[k].name);
        sv[k].name[sizeof sv[k].name - 1] = '\0';
        sv[k].data = d->data;
        sv[k].block = b ? b->data : NULL;
    }
    *out = sv;
    *nout = fr->nvars;
    *site = fr->site;
    return 0;
bad:
    free(sv);
    return -EINVAL;
}

static int read_globals(struct cursor *c)
{
    const struct ckpt_img_section *fs = next(c, CKPT_SEC_FRAME);
    struct ckpt_saved_var *sv;
    int n, site, ng;
    if (!fs || strcmp(fs->name, "<globals>"))
        return -EINVAL;
    int err = read_frame(c, fs, CKPT_SEC_GLOBAL, &sv, &n, &site);
    if (err)
        return err;
    struct ckpt_global *g = ckpt__globals(&ng);
    for (int k = 0; k < n; k++) {
        int j = 0;
        while (j < ng && strcmp(g[j].key, sv[k].name) != 0)
            j++;
        if (j == ng) {
            pr_warn("saved global %s is not registered in this program; skipped", sv[k].name);
            continue;
        }
        if (g[j].v.size != sv[k].size || g[j].v.kind != (unsigned)sv[k].kind)
            ckpt__die("global %s changed size or kind since the checkpoint", sv[k].name);
        ckpt__restore_bytes(&sv[k], &g[j].v);
    }
    free(sv);
    return 0;
}

static int read_frames(struct cursor *c)
{
    struct ckpt_rt *rt = &ckpt__rt;
    const struct ckpt_img_section *fs;
    while ((fs = next(c, CKPT_SEC_FRAME))) {
        struct ckpt_saved_frame *f = realloc(rt->sframes, (size_t)(rt->nsframes + 1) * sizeof *f);
        if (!f)
            return -ENOMEM;
        rt->sframes = f;
        f = &rt->sframes[rt->nsframes];
        memset(f, 0, sizeof *f);
        snprintf(f->func, sizeof f->func, "%s", fs->name);
        int err = read_frame(c, fs, CKPT_SEC_VAR, &f->vars, &f->nvars, &f->site);
        if (err)
            return err;
        rt->nsframes++;
    }
    return 0;
}

static int read_logs(struct cursor *c)
{
    const struct ckpt_img_section *s;
    int err;
    while ((s = next(c, CKPT_SEC_LOG)))
        if ((err = ckpt__log_read(s)) < 0)
            return err;
    while ((s = next(c, CKPT_SEC_QUEUE))) {
        if (!strcmp(s->name, "received")) {
            ckpt__queue_read(s);
        } else if (!strcmp(s->name, "application buffers")) {
            ckpt__rt.rappbufs = s->data;
            ckpt__rt.rappbufs_len = s->len;
        } else {
            return -EINVAL;
        }
    }
    return 0;
}

int ckpt__state_read(const struct ckpt_img *img)
{
    struct cursor c = {img, 0, ckpt_img_nsections(img)};
    const struct ckpt_img_section *m = next(&c, CKPT_SEC_META);
    int err = m ? read_meta(m) : -EINVAL;
    if (!err && !next(&c, CKPT_SEC_ARGV))
        err = -EINVAL;
    if (!err)
        err = read_globals(&c);
    if (!err)
        err = read_frames(&c);
    if (!err)
        err = read_logs(&c);
    if (!err && c.i != c.n)
        err = -EINVAL;
    return err;
}
