/*
 * secdump.c: the fields of every section of a task image, for `ckpt-info -s`
 * (as CRIU's crit decodes its images).  The records and their checks are the
 * format library's (format/sections.h); this file only prints them.  A section
 * whose records do not add up is said to be malformed, never guessed at.
 */
#include "secdump.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ckpt.h"
#include "sections.h"

#define DATA_PREVIEW 16   /* bytes of a variable's data shown */

static const char *kind_name(int32_t kind)
{
    switch (kind) {
    case CKPT_KIND_DATA: return "data";
    case CKPT_KIND_POINTER: return "pointer";
    case CKPT_KIND_BLOCK: return "block";
    default: return "unknown";
    }
}

/* What a pvm_notify asks for: pvm3.h's PvmTaskExit 1, PvmHostDelete 2, PvmHostAdd 3
 * (the values a notify_rec and a queued notice hold). */
static const char *notify_name(int32_t what)
{
    static const char *const names[] = { "?", "task-exit", "host-delete", "host-add" };

    return what > 0 && what < 4 ? names[what] : "unknown";
}

static void dump_meta(const struct ckpt_img_section *s)
{
    struct meta_view v;
    uint32_t version = 0;

    if (s->len >= sizeof version)
        memcpy(&version, s->data, sizeof version);
    if (ckpt__meta_view(s->data, s->len, &v) < 0) {
        printf("    malformed, or state version %" PRIu32 " (this ckpt-info reads %d)\n", version,
               STATE_VERSION);
        return;
    }
    const struct meta_rec *m = v.m;
    printf("    state version %" PRIu32 "  vtid 0x%08" PRIx32 "  tid 0x%08" PRIx32
           "  parent 0x%08" PRIx32 "  epoch %" PRIu64 "  safepoints %" PRIu64 "\n",
           m->version, (uint32_t)m->vtid, (uint32_t)m->tid, (uint32_t)m->parent_vtid, m->epoch,
           m->safepoints);
    printf("    context %" PRId32 "  contexts made %" PRId32 "  recvf fn 0x%" PRIx64
           "  leaving %" PRId32 "  output offsets %" PRId64 " %" PRId64 " %" PRId64 "\n",
           m->ctx, m->ctx_made, m->match_fn, m->leaving, m->out_off[0], m->out_off[1],
           m->out_off[2]);
    printf("    executable mapped 0x%" PRIx64 "-0x%" PRIx64 "  C library's stdout 0x%" PRIx64
           "  main's stack 0x%" PRIx64 "  argv 0x%" PRIx64 "\n",
           m->exe_start, m->exe_end, m->libc_at, m->main_sp, m->argv_at);
    for (int32_t i = 0; i < m->npeers; i++) {
        const struct peer_rec *p = &v.peers[i];
        printf("    peer 0x%08" PRIx32 "  tid 0x%08" PRIx32 "  instrumented %" PRId32
               "  sibling %" PRId32 "  out_seq %" PRIu64 "  marked_epoch %" PRIu64
               "  in_seq %" PRIu64 "  acked %" PRIu64 "\n",
               (uint32_t)p->vtid, (uint32_t)p->tid, p->instrumented, p->sibling, p->out_seq,
               p->marked_epoch, p->in_seq, p->acked);
    }
    for (int32_t i = 0; i < m->nhandlers; i++) {
        const struct handler_rec *h = &v.handlers[i];
        printf("    handler %" PRId32 "  src %" PRId32 "  tag %" PRId32 "  context %" PRId32
               "  fn 0x%" PRIx64 "\n", h->id, h->src, h->tag, h->ctx, h->fn);
    }
    for (int32_t i = 0; i < m->ngroups; i++)
        printf("    group '%.*s'  instance %" PRId32 "\n", (int)sizeof v.groups[i].name,
               v.groups[i].name, v.groups[i].inst);
    for (int32_t i = 0; i < m->nnotifies; i++) {
        const struct notify_rec *n = &v.notifies[i];
        printf("    notify %s  tag %" PRId32 "  context %" PRId32 "  on 0x%08" PRIx32
               "  count %" PRId32 "\n", notify_name(n->what), n->tag, n->ctx, (uint32_t)n->vtid,
               n->count);
    }
}

/* NUL-terminated arguments, one after the other; the name is the executable. */
static void dump_argv(const struct ckpt_img_section *s)
{
    const char *p = s->data, *end = p + s->len;
    int i = 0;

    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul) {
            printf("    malformed: argument %d has no end\n", i);
            return;
        }
        printf("    argv[%d] %s\n", i++, p);
        p = nul + 1;
    }
}

static void dump_frame(const struct ckpt_img_section *s)
{
    const struct frame_rec *fr;
    const struct var_rec *vr;

    if (ckpt__frame_view(s->data, s->len, &fr, &vr) < 0) {
        printf("    malformed\n");
        return;
    }
    printf("    depth %" PRId32 "  site %" PRId32 "  %" PRId32 " variable%s\n", fr->depth,
           fr->site, fr->nvars, fr->nvars == 1 ? "" : "s");
    for (int32_t k = 0; k < fr->nvars; k++) {
        const struct var_rec *v = &vr[k];
        printf("    var %" PRId32 " '%.*s'  %s  registered %" PRId32 "  size %" PRIu64
               "  elem %" PRIu64 "  count %" PRIu64 "  at 0x%" PRIx64, v->i,
               (int)strnlen(v->name, sizeof v->name), v->name, kind_name(v->kind), v->reg,
               v->size, v->elem, v->count, v->old_addr);
        if (v->kind == CKPT_KIND_BLOCK)
            printf("  block at 0x%" PRIx64, v->old_block);
        putchar('\n');
    }
}

/* HEAP "arena": the extent and what its blocks hold; HEAP "blocks": bytes
 * of live blocks, one run of them. */
static void dump_heap(const struct ckpt_img_section *s)
{
    struct heap_view v;

    if (strcmp(s->name, "arena") != 0) {
        printf("    %" PRIu64 " bytes of live blocks\n", s->len);
        return;
    }
    if (ckpt__heap_view(s->data, s->len, &v) < 0) {
        printf("    malformed, or heap version other than %d\n", HEAP_VERSION);
        return;
    }
    const struct heap_rec *h = v.h;
    uint64_t live = 0, live_bytes = 0, nosave = 0, nosave_bytes = 0, large_free = 0;
    for (uint64_t i = 0; i < h->nblocks; i++) {
        const struct heap_blk_rec *b = &v.blocks[i];
        if (b->flags & 1) {
            live++;
            live_bytes += b->size;
            if (b->flags & 2) {
                nosave++;
                nosave_bytes += b->size;
            }
        } else if (b->cls == h->nclasses) {
            large_free++;
        }
    }
    printf("    arena 0x%" PRIx64 "-0x%" PRIx64 "  mapped %" PRIu64 " bytes  in use %" PRIu64
           " bytes\n", h->base, h->base + h->mapped, h->mapped, h->top);
    printf("    %" PRIu64 " live block%s  %" PRIu64 " bytes (headers included)  of which not saved"
           " %" PRIu64 " (%" PRIu64 " bytes)\n", live, live == 1 ? "" : "s", live_bytes, nosave,
           nosave_bytes);
    printf("    %" PRIu64 " free small block%s on %" PRIu32 " class lists  %" PRIu64
           " free large range%s  %" PRIu64 " run%s of saved bytes follow\n", h->nfree,
           h->nfree == 1 ? "" : "s", h->nclasses, large_free, large_free == 1 ? "" : "s",
           h->nruns, h->nruns == 1 ? "" : "s");
}

/* FILES "open": each fd the program had open, then its streams. */
static void dump_files(const struct ckpt_img_section *s)
{
    static const char *const kinds[] = {"?", "file", "pipe", "socket", "popen", "other"};
    struct files_view v;
    if (ckpt__files_view(s->data, s->len, &v) < 0) {
        printf("    malformed, or files version other than %d\n", FILES_VERSION);
        return;
    }
    uint64_t off = 0;
    const char *path;
    for (uint32_t i = 0; i < v.h->nfds; i++) {
        const struct file_fd_rec *r = ckpt__files_fd(&v, &off, &path);
        printf("    fd %" PRId32 "  %s%s%s  flags 0x%" PRIx32 "%s  description %" PRIu32
               "  offset %" PRId64, r->fd, kinds[r->kind], *path ? " " : "", path,
               (uint32_t)r->flags, r->fdflags & 1 ? "  close-on-exec" : "", r->desc, r->pos);
        if (r->size >= 0)
            printf("  written, %" PRId64 " bytes", r->size);
        putchar('\n');
    }
    for (uint32_t i = 0; i < v.h->nstreams; i++) {
        const struct file_stream_rec *st = &v.streams[i];
        printf("    stream FILE at 0x%" PRIx64 "  fd %" PRId32 "  mode \"%s\"  position %" PRId64
               "%s%s%s\n", st->addr, st->fd, st->mode, st->pos,
               st->flags & FILE_STREAM_EOF ? "  at end" : "",
               st->flags & FILE_STREAM_ERR ? "  error" : "",
               st->flags & FILE_STREAM_ARENA ? "  in the heap arena" : "");
    }
    if (!v.h->nfds && !v.h->nstreams)
        printf("    no files open\n");
}

/* A variable's bytes are the program's own: their first bytes, in hex. */
static void dump_data(const struct ckpt_img_section *s)
{
    const unsigned char *p = s->data;
    uint64_t n = s->len < DATA_PREVIEW ? s->len : DATA_PREVIEW;

    printf("    %" PRIu64 " bytes:", s->len);
    for (uint64_t i = 0; i < n; i++)
        printf(" %02x", p[i]);
    printf("%s\n", n < s->len ? " ..." : "");
}

static void dump_msg(uint32_t type, const char *name, const struct msg_rec *r)
{
    if (type == CKPT_SEC_LOG) {
        printf("    seq %" PRIu64 "  to 0x%08" PRIx32, r->seq, (uint32_t)r->peer);
    } else if (strcmp(name, "application buffers") == 0) {
        printf("    buffer %" PRId32 "%s%s  unpacked %" PRId32, r->peer,
               r->tag & APPBUF_SEND ? " (active send)" : "",
               r->tag & APPBUF_RECV ? " (active receive)" : "", r->upos);
        if (r->seq)
            printf("  received from 0x%08" PRIx32 " tag %" PRId32, (uint32_t)(r->seq >> 32),
                   (int32_t)(uint32_t)r->seq);
    } else if (r->notice) {
        printf("    notice %s  on 0x%08" PRIx32 "  from 0x%08" PRIx32, notify_name(r->notice),
               (uint32_t)r->subject, (uint32_t)r->peer);
    } else {
        printf("    from 0x%08" PRIx32, (uint32_t)r->peer);
    }
    if (strcmp(name, "application buffers") != 0)
        printf("  tag %" PRId32 "  context %" PRId32, r->tag, r->ctx);
    printf("  encoding %" PRId32 "  %" PRId32 " bytes\n", r->enc, r->len);
}

/* LOG: messages sent and kept; QUEUE "received": taken off the wire, not yet
 * delivered; QUEUE "application buffers": buffers the application holds. */
static void dump_msgs(const struct ckpt_img_section *s)
{
    const struct msg_rec *r;
    const void *bytes;
    uint64_t off = 0;
    int rc;

    while ((rc = ckpt__msg_rec_next(s->data, s->len, &off, &r, &bytes)) > 0)
        dump_msg(s->type, s->name, r);
    if (rc < 0)
        printf("    malformed at byte %" PRIu64 "\n", off);
}

void secdump_image(const struct ckpt_img *img)
{
    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);

        printf("  section %zu: %s '%s'\n", i, ckpt_sec_type_name(s->type), s->name);
        switch (s->type) {
        case CKPT_SEC_META: dump_meta(s); break;
        case CKPT_SEC_ARGV: dump_argv(s); break;
        case CKPT_SEC_FRAME: dump_frame(s); break;
        case CKPT_SEC_GLOBAL:
        case CKPT_SEC_VAR:
        case CKPT_SEC_BLOCK: dump_data(s); break;
        case CKPT_SEC_LOG:
        case CKPT_SEC_QUEUE: dump_msgs(s); break;
        case CKPT_SEC_HEAP: dump_heap(s); break;
        case CKPT_SEC_FILES: dump_files(s); break;
        default: printf("    %" PRIu64 " bytes of an unknown kind\n", s->len); break;
        }
    }
}
