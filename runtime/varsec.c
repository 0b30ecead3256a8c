/*
 * varsec.c: a frame of variables as image sections, and back: one FRAME
 * section naming its variables (var_rec), then one data section per
 * variable (GLOBAL or VAR) and one BLOCK for the elements of a heap block.
 * The globals (globals.c) are saved as a frame "<globals>", the shadow
 * stack (state.c) as one frame per function on the call chain.  A restarted
 * task has the addresses it had (layout.c): a variable, a pointer included,
 * comes back as its bytes; a BLOCK outside the heap arena (allocated where
 * ckpt-cc did not route malloc) comes back as a new block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"
#include "sections.h"

/* (writer) The C library's own heap ([heap], its brk area): blocks there are
 * not saved, so a saved variable pointing into it dangles after a restart.
 * Such variables are named (the first few) for the parent to say. */
static uintptr_t libc_heap_lo, libc_heap_hi;
static char suspects[CKPT_SUSPECTS][64];
static int nsuspects;

static void find_libc_heap(void)
{
    char buf[8192];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    libc_heap_lo = libc_heap_hi = 1;    /* looked: none unless found */
    /* [heap] comes right after the executable, in the first page of lines */
    for (char *l = buf; n > 0 && l < buf + n; l = strchr(l, '\n') + 1) {
        buf[n] = '\0';
        char *nl = strchr(l, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (strstr(l, "[heap]")) {
            unsigned long lo, hi;
            if (sscanf(l, "%lx-%lx", &lo, &hi) == 2)
                libc_heap_lo = lo, libc_heap_hi = hi;
            break;
        }
        *nl = '\n';
    }
}

static void check_pointers(const struct ckpt_var *v)
{
    if (libc_heap_lo == 0)
        find_libc_heap();
    if (nsuspects == CKPT_SUSPECTS || v->kind == CKPT_KIND_BLOCK || libc_heap_lo == libc_heap_hi)
        return;
    const char *p = v->addr;
    for (size_t off = 0; off + sizeof(uintptr_t) <= v->size; off += sizeof(uintptr_t)) {
        uintptr_t w;
        memcpy(&w, p + off, sizeof w);
        if (w >= libc_heap_lo && w < libc_heap_hi) {
            snprintf(suspects[nsuspects++], sizeof suspects[0], "%s", v->name ? v->name : "?");
            return;
        }
    }
}

const char *ckpt__suspect(int i)
{
    return i < nsuspects ? suspects[i] : NULL;
}

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
        /* a block of the heap arena is in the HEAP section already */
        if (!r->old_block || ckpt__heap_owns((void *)(uintptr_t)r->old_block))
            r->count = 0;
    }
    snprintf(r->name, sizeof r->name, "%s", v->name ? v->name : "?");
}

/* One FRAME section and the data sections of its variables. */
int ckpt__frame_write(struct ckpt_imgw *w, const char *name, int depth, int site,
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
        check_pointers(v);
        /* a large variable's unchanged chunks may refer to the last image */
        uint64_t at = v->kind == CKPT_KIND_DATA && ckpt__shadow_track(v->addr, v->size)
                          ? (uint64_t)(uintptr_t)v->addr : 0;
        err = ckpt_imgw_section_at(w, type, vr[k].name, v->addr, v->size,
                                   v->kind == CKPT_KIND_DATA ? (uint32_t)v->elem : 0, at);
        if (!err && v->kind == CKPT_KIND_BLOCK)
            err = ckpt_imgw_section(w, CKPT_SEC_BLOCK, vr[k].name, (void *)(uintptr_t)vr[k].old_block,
                                    vr[k].count * v->elem, (uint32_t)v->elem);
    }
    free(buf);
    return err;
}

/* A FRAME section and its variables' sections, into sv[0..n). */
int ckpt__frame_read(struct ckpt_cursor *c, const struct ckpt_img_section *fs, uint32_t type,
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
        const struct ckpt_img_section *d = ckpt__next_section(c, type, NULL), *b = NULL;
        if (!d || d->len != vr[k].size)
            goto bad;
        if (vr[k].kind == CKPT_KIND_BLOCK) {
            b = ckpt__next_section(c, CKPT_SEC_BLOCK, NULL);
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

void ckpt__restore_bytes(const struct ckpt_saved_var *sv, struct ckpt_var *v)
{
    if (sv->kind != CKPT_KIND_BLOCK) {
        memcpy(v->addr, sv->data, (size_t)sv->size);
        return;
    }
    void *old = (void *)(uintptr_t)sv->old_block, *blk = old;
    if (old && !ckpt__heap_owns(old)) {
        size_t bytes = (size_t)(sv->count * sv->elem);
        blk = malloc(bytes ? bytes : 1);
        if (!blk)
            ckpt__die("out of memory restoring %s (%zu bytes)", sv->name, bytes);
        memcpy(blk, sv->block, bytes);
    }
    *(void **)v->addr = blk;
    v->count = (size_t)sv->count;
}
