/*
 * sections.c: the records of a task image's sections (sections.h) checked and
 * walked in place, for the runtime's restore and for ckpt-info.  The data come
 * from ckpt_img_load, which allocates each section, so records are aligned.
 */
#include <errno.h>
#include <string.h>

#include "sections.h"

int ckpt__meta_view(const void *data, uint64_t len, struct meta_view *v)
{
    const struct meta_rec *m = data;

    if (len < sizeof *m || m->version != STATE_VERSION || m->npeers < 0 || m->nhandlers < 0 ||
        m->ngroups < 0 || m->nnotifies < 0 ||
        len != sizeof *m + (uint64_t)m->npeers * sizeof(struct peer_rec) +
                   (uint64_t)m->nhandlers * sizeof(struct handler_rec) +
                   (uint64_t)m->ngroups * sizeof(struct group_rec) +
                   (uint64_t)m->nnotifies * sizeof(struct notify_rec))
        return -EINVAL;
    v->m = m;
    v->peers = (const struct peer_rec *)(m + 1);
    v->handlers = (const struct handler_rec *)(v->peers + m->npeers);
    v->groups = (const struct group_rec *)(v->handlers + m->nhandlers);
    v->notifies = (const struct notify_rec *)(v->groups + m->ngroups);
    return 0;
}

int ckpt__frame_view(const void *data, uint64_t len, const struct frame_rec **fr,
                     const struct var_rec **vars)
{
    const struct frame_rec *f = data;

    if (len < sizeof *f || f->nvars < 0 || f->nvars > 65536 ||
        len != sizeof *f + (uint64_t)f->nvars * sizeof(struct var_rec))
        return -EINVAL;
    *fr = f;
    *vars = (const struct var_rec *)(f + 1);
    return 0;
}

int ckpt__msg_rec_next(const void *data, uint64_t len, uint64_t *off,
                       const struct msg_rec **rec, const void **bytes)
{
    if (*off >= len)
        return 0;
    if (len - *off < sizeof(struct msg_rec))
        return -EINVAL;
    const struct msg_rec *r = (const struct msg_rec *)((const char *)data + *off);
    if (r->len < 0 || (uint64_t)PAD8(r->len) > len - *off - sizeof *r)
        return -EINVAL;
    *rec = r;
    *bytes = r + 1;
    *off += sizeof *r + PAD8(r->len);
    return 1;
}

int ckpt__heap_view(const void *data, uint64_t len, struct heap_view *v)
{
    const struct heap_rec *h = data;

    if (len < sizeof *h || h->version != HEAP_VERSION || h->nclasses > 4096 ||
        h->nblocks > len / sizeof(struct heap_blk_rec) || h->nfree > len / 8 ||
        len != sizeof *h + (uint64_t)h->nclasses * 8 +
                   h->nblocks * sizeof(struct heap_blk_rec) + h->nfree * 8)
        return -EINVAL;
    v->h = h;
    v->counts = (const uint64_t *)(h + 1);
    v->blocks = (const struct heap_blk_rec *)(v->counts + h->nclasses);
    v->free_offs = (const uint64_t *)(v->blocks + h->nblocks);
    uint64_t sum = 0;
    for (uint32_t c = 0; c < h->nclasses; c++) {
        if (v->counts[c] > h->nfree - sum)
            return -EINVAL;
        sum += v->counts[c];
    }
    return sum == h->nfree ? 0 : -EINVAL;
}

int ckpt__files_view(const void *data, uint64_t len, struct files_view *v)
{
    const struct files_rec *h = data;

    if (len < sizeof *h || h->version != FILES_VERSION)
        return -EINVAL;
    uint64_t off = sizeof *h;
    for (uint32_t i = 0; i < h->nfds; i++) {
        if (len - off < sizeof(struct file_fd_rec))
            return -EINVAL;
        const struct file_fd_rec *r = (const void *)((const char *)data + off);
        off += sizeof *r;
        if (r->pathlen > FILES_PATH_MAX || PAD8(r->pathlen) > len - off || r->fd < 0 ||
            r->kind < FILE_KIND_FILE || r->kind > FILE_KIND_OTHER ||
            (r->kind == FILE_KIND_FILE &&
             (r->pathlen < 2 || memchr((const char *)(r + 1), 0, r->pathlen) !=
                                    (const char *)(r + 1) + r->pathlen - 1)))
            return -EINVAL;
        off += PAD8(r->pathlen);
    }
    if ((len - off) / sizeof(struct file_stream_rec) != h->nstreams ||
        (len - off) % sizeof(struct file_stream_rec))
        return -EINVAL;
    v->h = h;
    v->fds = (const unsigned char *)(h + 1);
    v->streams = (const void *)((const char *)data + off);
    for (uint32_t i = 0; i < h->nstreams; i++)
        if (!memchr(v->streams[i].mode, 0, sizeof v->streams[i].mode) || v->streams[i].fd < 0)
            return -EINVAL;
    return 0;
}

const struct file_fd_rec *ckpt__files_fd(const struct files_view *v, uint64_t *off,
                                         const char **path)
{
    const struct file_fd_rec *r = (const void *)(v->fds + *off);
    *path = r->pathlen ? (const char *)(r + 1) : "";
    *off += sizeof *r + PAD8(r->pathlen);
    return r;
}
