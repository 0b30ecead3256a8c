/*
 * appbufs.c: the application's PVM buffers, section QUEUE "application
 * buffers": every buffer the application may hold by id (what it packed but
 * has not sent yet, as a task is saved at a safe point such as pvm_send
 * before the send; a buffer kept aside; the message it is reading).
 */
#include <errno.h>
#include <stdlib.h>
#include <pvm3.h>

#include "rt.h"
#include "sections.h"

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

static int sbuf, rbuf;              /* the application's active buffers at the fork */

/* At the fork (checkpoint.c): which buffers are the active ones. */
void ckpt__appbufs_active(int send, int recv)
{
    sbuf = send;
    rbuf = recv;
}

int ckpt__appbufs_write(struct ckpt_imgw *w)
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
        r->tag = (ids[i] == sbuf ? APPBUF_SEND : 0) | (ids[i] == rbuf ? APPBUF_RECV : 0);
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

static const void *saved;          /* the section, until the buffers are rebuilt */
static uint64_t saved_len;

int ckpt__appbufs_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s = ckpt__next_section(c, CKPT_SEC_QUEUE, "application buffers");
    if (s) {
        saved = s->data;
        saved_len = s->len;
    }
    return 0;
}

/* Gives the application its buffers back under their ids.  Done before
 * anything can arrive (arrivals take ids too) and before the runtime makes
 * buffers of its own. */
void ckpt__appbufs_restore(void)
{
    uint64_t off = 0;
    const struct msg_rec *r;
    const void *bytes;
    while (saved && ckpt__msg_rec_next(saved, saved_len, &off, &r, &bytes) > 0) {
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
    saved = NULL;
}
