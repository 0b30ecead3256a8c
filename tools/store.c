/*
 * store.c: a host's share of a host-local checkpoint folder (ckpt-run
 * --host-local), kept by that host's ckpt-beat.  The same path names a
 * folder on each host's own disk; an image written there is also copied to
 * the folder of a partner host (FTI's level 2), so that losing a host, its
 * disk with it, loses no checkpoint.  The coordinator (tools/copies.c)
 * orders each step; here they are carried out: a local image sent in
 * pieces to the partner's ckpt-beat, a copy received and made durable, a
 * commit record written, a final image linked into an epoch, old epochs
 * removed.  Each copy and record is reported (CKPT_STORED_TAG); a piece
 * that cannot be written fails its copy, never the host's heartbeat: the
 * work is done a message at a time, between beats.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pvm3.h>

#include "image.h"
#include "proto.h"
#include "store.h"

/* A copy goes one piece at a time, the next once the partner has written
 * the last: a burst of a whole image through the pvmds, and PVM's
 * retransmission back-off after it, held up every message between the two
 * hosts for seconds (measured: 20 s and more after a host was lost with
 * copies in flight); one piece in flight does not. */
#define PIECE (1 << 16)
#define MAX_INCOMING 64
#define MAX_OUTGOING 64

static const char *folder;
static int coord;

/* Copies being received: one per sender and file. */
static struct incoming {
    int src, fd, err;
    long vtid, final;
    uint64_t epoch;
    char path[4096];
} in[MAX_INCOMING];
static int nin;

struct head {
    long op, vtid, final, epoch, err, arg, n;
};

void store_init(const char *dir, int coord_tid)
{
    folder = dir;
    coord = coord_tid;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fprintf(stderr, "ckpt-beat: cannot make %s: %s\n", dir, strerror(errno));
}

static int pack_head(int tag, int to, const struct head *h, const void *bytes)
{
    long v[CKPT_STORE_HEAD] = {h->op, h->vtid, h->final, h->epoch, h->err, h->arg, h->n};
    if (pvm_initsend(PvmDataDefault) < 0 || pvm_pklong(v, CKPT_STORE_HEAD, 1) < 0 ||
        (h->n > 0 && pvm_pkbyte((char *)bytes, (int)h->n, 1) < 0))
        return -1;
    return pvm_send(to, tag) < 0 ? -1 : 0;
}

static void report(const struct head *h, int err)
{
    struct head r = *h;
    r.err = err;
    r.n = 0;
    pack_head(CKPT_STORED_TAG, coord, &r, NULL);
}

static int file_path(char *buf, size_t len, const struct head *h)
{
    return h->final ? ckpt_final_path(buf, len, folder, (int32_t)h->vtid)
                    : ckpt_task_path(buf, len, folder, (uint64_t)h->epoch, (int32_t)h->vtid);
}

/* Copies being sent: the file, and where the next piece starts. */
static struct outgoing {
    int to, fd;
    struct head h;      /* the order */
} out[MAX_OUTGOING];
static int nout;

static void ship_end(struct outgoing *o, int err)
{
    if (err)
        report(&o->h, err);     /* the partner never heard of it, or failed */
    if (o->fd >= 0)
        close(o->fd);
    *o = out[--nout];
}

/* The next piece of copy o to its partner; the last one ends it. */
static void ship_piece(struct outgoing *o)
{
    static char buf[PIECE];
    ssize_t n = read(o->fd, buf, sizeof buf);
    if (n < 0) {
        ship_end(o, -errno);
        return;
    }
    struct stat st;
    off_t at = lseek(o->fd, 0, SEEK_CUR);
    int last = n < (ssize_t)sizeof buf || (fstat(o->fd, &st) == 0 && at >= st.st_size);
    struct head p = {STORE_SHIP, o->h.vtid, o->h.final, o->h.epoch, 0, last, n};
    if (pack_head(CKPT_COPY_TAG, o->to, &p, buf) < 0)
        ship_end(o, -EPIPE);
    else if (last)
        ship_end(o, 0);
}

/* Starts sending the local image h names to the ckpt-beat h->arg; an older
 * copy of the same task's image still going is given up (its checkpoint
 * is over). */
static void ship(const struct head *h)
{
    char path[4096];
    for (int i = 0; i < nout; i++)
        if (out[i].h.vtid == h->vtid && out[i].h.final == h->final)
            ship_end(&out[i--], 0);
    int err = nout == MAX_OUTGOING ? -EMFILE : file_path(path, sizeof path, h);
    int fd = err ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (!err && fd < 0)
        err = -errno;
    if (err) {
        report(h, err);
        return;
    }
    out[nout] = (struct outgoing){.to = (int)h->arg, .fd = fd, .h = *h};
    ship_piece(&out[nout++]);
}

/* The partner wrote a piece: the next one, or the copy failed there (it
 * reported that itself). */
static void on_piece_written(int src, const struct head *h)
{
    for (int i = 0; i < nout; i++) {
        struct outgoing *o = &out[i];
        if (o->to != src || o->h.vtid != h->vtid || o->h.final != h->final || o->h.epoch != h->epoch)
            continue;
        if (h->err) {
            close(o->fd);
            *o = out[--nout];
        } else {
            ship_piece(o);
        }
        return;
    }
}

static void incoming_drop(struct incoming *c)
{
    if (c->fd >= 0)
        ckpt_copy_abandon(c->fd, c->path);
    *c = in[--nin];
}

/* The copy a piece belongs to; a new one from src gives up what src was
 * sending of the same task before (the sender did). */
static struct incoming *incoming_for(int src, const struct head *h)
{
    for (int i = 0; i < nin; i++) {
        if (in[i].src != src || in[i].vtid != h->vtid || in[i].final != h->final)
            continue;
        if (in[i].epoch == (uint64_t)h->epoch)
            return &in[i];
        incoming_drop(&in[i--]);
    }
    if (nin == MAX_INCOMING)
        return NULL;
    struct incoming *c = &in[nin++];
    *c = (struct incoming){.src = src, .fd = -1, .vtid = h->vtid, .final = h->final,
                           .epoch = (uint64_t)h->epoch};
    c->err = file_path(c->path, sizeof c->path, h);
    if (!c->err) {
        c->fd = ckpt_copy_begin(c->path);
        c->err = c->fd < 0 ? c->fd : 0;
    }
    return c;
}

static void write_piece(struct incoming *c, const char *bytes, long n)
{
    for (long off = 0; !c->err && off < n;) {
        ssize_t w = write(c->fd, bytes + off, (size_t)(n - off));
        if (w < 0 && errno != EINTR)
            c->err = -errno;
        off += w > 0 ? w : 0;
    }
}

/* A piece of a partner's image: the last one makes the copy durable and is
 * reported, with the first error met, if any. */
static void on_piece(int src, const struct head *h, const char *bytes)
{
    struct incoming *c = incoming_for(src, h);
    if (!c) {
        report(h, -EMFILE);
        return;
    }
    write_piece(c, bytes, h->n);
    if (!h->arg) {
        struct head ack = {STORE_ACK, h->vtid, h->final, h->epoch, c->err, 0, 0};
        pack_head(CKPT_COPY_TAG, src, &ack, NULL);
        if (c->err) {
            report(h, c->err);
            incoming_drop(c);
        }
        return;
    }
    int err = c->err;
    if (c->fd >= 0 && err)
        ckpt_copy_abandon(c->fd, c->path);
    else if (c->fd >= 0)
        err = ckpt_copy_end(c->fd, c->path);
    report(h, err);
    *c = in[--nin];
}

static int write_record(const struct head *h, const char *bytes)
{
    char edir[4096], path[4200];
    if (ckpt_epoch_dir(edir, sizeof edir, folder, (uint64_t)h->epoch) ||
        snprintf(path, sizeof path, "%s/commit", edir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = ckpt_copy_begin(path);
    if (fd < 0)
        return fd;
    for (long off = 0; off < h->n;) {
        ssize_t w = write(fd, bytes + off, (size_t)(h->n - off));
        if (w < 0 && errno != EINTR) {
            int err = -errno;
            ckpt_copy_abandon(fd, path);
            return err;
        }
        off += w > 0 ? w : 0;
    }
    return ckpt_copy_end(fd, path);
}

static int link_final(const struct head *h)
{
    char from[4096], to[4096], edir[4096];
    if (ckpt_final_path(from, sizeof from, folder, (int32_t)h->vtid) ||
        ckpt_task_path(to, sizeof to, folder, (uint64_t)h->epoch, (int32_t)h->vtid) ||
        ckpt_epoch_dir(edir, sizeof edir, folder, (uint64_t)h->epoch))
        return -ENAMETOOLONG;
    if ((mkdir(edir, 0700) != 0 && errno != EEXIST) || (link(from, to) != 0 && errno != EEXIST))
        return -errno;
    return 0;
}

static void prune(uint64_t newest, const long *keep, long n)
{
    uint64_t epochs[256], which;
    for (long i = 0; i < n && i < 256; i++)
        epochs[i] = (uint64_t)keep[i];
    ckpt_epochs_prune(folder, newest, epochs, n < 256 ? (int)n : 256, &which);
}

static void on_order(const struct head *h, const char *bytes)
{
    char path[4096];
    int err;
    switch (h->op) {
    case STORE_SHIP: ship(h); break;
    case STORE_RECORD: report(h, write_record(h, bytes)); break;
    case STORE_LINK:
        if ((err = link_final(h)) != 0)
            report(h, err);
        break;
    case STORE_DROP: ckpt_epoch_remove(folder, (uint64_t)h->epoch); break;
    case STORE_PRUNE: prune((uint64_t)h->epoch, (const long *)bytes, h->n / (long)sizeof(long)); break;
    case STORE_UNFINAL:
        if (ckpt_final_path(path, sizeof path, folder, (int32_t)h->vtid) == 0)
            unlink(path);
        break;
    default: break;
    }
}

int store_message(int bufid, int tag, int src)
{
    static char bytes[PIECE];
    long v[CKPT_STORE_HEAD];
    if (!folder || (tag != CKPT_STORE_TAG && tag != CKPT_COPY_TAG) ||
        (tag == CKPT_STORE_TAG && src != coord))
        return 0;
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upklong(v, CKPT_STORE_HEAD, 1);
    struct head h = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    if (rc >= 0 && h.n > 0 && h.n <= PIECE)
        rc = pvm_upkbyte(bytes, (int)h.n, 1);
    pvm_setrbuf(saved);
    if (rc < 0 || h.n < 0 || h.n > PIECE || h.epoch < 0) {
        fprintf(stderr, "ckpt-beat: a message from t%x that is not a store order: dropped\n",
                (unsigned)src);
        return 1;
    }
    if (tag == CKPT_COPY_TAG && h.op == STORE_ACK)
        on_piece_written(src, &h);
    else if (tag == CKPT_COPY_TAG)
        on_piece(src, &h, bytes);
    else
        on_order(&h, bytes);
    return 1;
}
