/*
 * state.c: a task's whole state as image sections, and back: the ordered
 * table of sections and their owners (at the end), and the sections of the
 * runtime itself: META (identity, epochs, the channel table, the handler,
 * group and notify tables), ARGV, and the shadow stack (one FRAME per
 * function from main down, each followed by one VAR (+ BLOCK) per saved
 * variable: varsec.c).
 * Writing runs in the writer child, which sees the task frozen at the fork;
 * it must not touch PVM's socket nor stdio.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

static int write_meta(struct ckpt_imgw *w)
{
    struct ckpt_rt *rt = &ckpt__rt;
    size_t len = sizeof(struct meta_rec) + (size_t)rt->npeers * sizeof(struct peer_rec) +
                 (size_t)ckpt__handler_count() * sizeof(struct handler_rec) +
                 (size_t)ckpt__member_count() * sizeof(struct group_rec) +
                 (size_t)ckpt__notify_count() * sizeof(struct notify_rec);
    char *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct meta_rec *m = (struct meta_rec *)buf;
    struct peer_rec *pr = (struct peer_rec *)(m + 1);
    struct handler_rec *hr = (struct handler_rec *)(pr + rt->npeers);
    struct group_rec *gr = (struct group_rec *)(hr + ckpt__handler_count());
    struct notify_rec *nr = (struct notify_rec *)(gr + ckpt__member_count());
    m->version = STATE_VERSION;
    m->vtid = rt->myvtid;
    m->tid = rt->mytid;
    m->parent_vtid = rt->parent_vtid;
    m->epoch = rt->epoch;
    m->safepoints = rt->safepoints;
    memcpy(m->out_off, rt->out_off, sizeof m->out_off);
    ckpt__layout_record(m);
    m->npeers = rt->npeers;
    m->ctx = rt->ctx;
    m->ctx_made = rt->ctx_made;
    m->leaving = rt->leaving;
    m->nhandlers = ckpt__handler_count();
    m->ngroups = ckpt__member_count();
    m->nnotifies = ckpt__notify_count();
    ckpt__notify_records(nr);
    ckpt__member_records(gr);
    ckpt__handler_records(hr, &m->match_fn);
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
        struct ckpt_var **vars = calloc((size_t)f->nvars + 1, sizeof *vars);
        int *idx = calloc((size_t)f->nvars + 1, sizeof *idx), n = 0;
        /* the site's live mask: (nvars + 63) / 64 words, at least one (ckpt.h) */
        int words = f->nvars > 64 ? (f->nvars + 63) / 64 : 1;
        const uint64_t *live = f->live && f->site > 0 ? f->live + (size_t)f->site * words : NULL;
        if (!vars || !idx)
            err = -ENOMEM;
        for (int i = 0; !err && live && i < f->nvars; i++)
            if ((live[i / 64] >> (i % 64) & 1) && f->vars[i].reg) {
                vars[n] = &f->vars[i];
                idx[n++] = i;
            }
        if (!err)
            err = ckpt__frame_write(w, f->func, d, f->site, vars, idx, n);
        free(vars);
        free(idx);
    }
    free(chain);
    return err;
}

static int read_meta(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s = ckpt__next_section(c, CKPT_SEC_META, NULL);
    if (!s)
        return -EINVAL;
    struct ckpt_rt *rt = &ckpt__rt;
    struct meta_view mv;
    if (ckpt__meta_view(s->data, s->len, &mv) != 0)
        return -EINVAL;
    const struct meta_rec *m = mv.m;
    char why[512];
    if (ckpt__layout_take(m, why, sizeof why) != 0)
        ckpt__die("cannot restart: %s", why);
    rt->myvtid = m->vtid;
    rt->parent_vtid = m->parent_vtid;
    rt->epoch = rt->committed = m->epoch;
    rt->safepoints = m->safepoints;
    memcpy(rt->out_off, m->out_off, sizeof rt->out_off);
    rt->ctx = m->ctx;
    rt->ctx_made = m->ctx_made;
    rt->leaving = m->leaving;
    const struct peer_rec *pr = mv.peers;
    int err = ckpt__handler_load(mv.handlers, m->nhandlers, m->match_fn);
    if (!err)
        err = ckpt__member_load(mv.groups, m->ngroups);
    if (!err)
        err = ckpt__notify_load(mv.notifies, m->nnotifies);
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

static int read_frames(struct ckpt_cursor *c)
{
    struct ckpt_rt *rt = &ckpt__rt;
    const struct ckpt_img_section *fs;
    while ((fs = ckpt__next_section(c, CKPT_SEC_FRAME, NULL))) {
        struct ckpt_saved_frame *f = realloc(rt->sframes, (size_t)(rt->nsframes + 1) * sizeof *f);
        if (!f)
            return -ENOMEM;
        rt->sframes = f;
        f = &rt->sframes[rt->nsframes];
        memset(f, 0, sizeof *f);
        snprintf(f->func, sizeof f->func, "%s", fs->name);
        int err = ckpt__frame_read(c, fs, CKPT_SEC_VAR, &f->vars, &f->nvars, &f->site);
        if (err)
            return err;
        rt->nsframes++;
    }
    return 0;
}

static int read_argv(struct ckpt_cursor *c)
{
    return ckpt__next_section(c, CKPT_SEC_ARGV, NULL) ? 0 : -EINVAL;
}

/* The image's sections in their order, each written and read by the module
 * that owns that state.  A new section: a line here, and its owner's pair. */
static const struct {
    int (*write)(struct ckpt_imgw *w);
    int (*read)(struct ckpt_cursor *c);
} sections[] = {
    {write_meta, read_meta},                    /* META: identity, channels, tables */
    {write_argv, read_argv},                    /* ARGV */
    {ckpt__heap_write, ckpt__heap_read},        /* HEAP "arena", HEAP "blocks"...: first
                                                   back, as everything may point into it */
    {ckpt__globals_write, ckpt__globals_read},  /* FRAME "<globals>", GLOBAL... */
    {ckpt__libc_write, ckpt__libc_read},        /* FRAME "<libc>", GLOBAL...: the C library's */
    {ckpt__files_write, ckpt__files_read},      /* FILES "open": after the heap, which holds
                                                   the streams' FILEs */
    {write_frames, read_frames},                /* FRAME, VAR... per function */
    {ckpt__log_write, ckpt__log_read},          /* LOG per channel */
    {ckpt__queue_write, ckpt__queue_read},      /* QUEUE "received" */
    {ckpt__appbufs_write, ckpt__appbufs_read},  /* QUEUE "application buffers" */
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

int ckpt__state_write(struct ckpt_imgw *w)
{
    int err = 0;
    ckpt__globals_nosave();     /* before the heap's section leaves their blocks out */
    for (size_t i = 0; !err && i < NSECTIONS; i++)
        err = sections[i].write(w);
    return err;
}

int ckpt__state_read(const struct ckpt_img *img)
{
    struct ckpt_cursor c = {img, 0, ckpt_img_nsections(img)};
    int err = 0;
    for (size_t i = 0; !err && i < NSECTIONS; i++)
        err = sections[i].read(&c);
    if (!err && c.i != c.n)
        err = -EINVAL;
    return err;
}
