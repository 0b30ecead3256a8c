/*
 * reloc.c: pointers across a restart.
 *
 * Pointers are saved as addresses and translated here: every restored object
 * records where it was and where it is now (a reloc); a saved pointer that
 * falls inside one is moved with it, one into the executable moves with its
 * load address.  A pointer is translated once what it points to is restored
 * (a caller's local may come back after the callee's pointer to it).
 */
#include <stdlib.h>
#include <string.h>

#include "rt.h"

extern char __executable_start[] __attribute__((weak));

static struct reloc {               /* a restored object: where it was, where it is */
    uint64_t old, len;
    char *now;
} *relocs;
static int nrelocs, maxrelocs;
static struct fixup {               /* a saved pointer still to translate */
    void **where;
    uint64_t old;
    const char *name;
} *fixups;
static int nfixups, maxfixups;

static void reloc_add(uint64_t old, uint64_t len, void *now)
{
    struct reloc *r = ckpt__grow(relocs, &maxrelocs, nrelocs + 1, sizeof *r);
    if (!r)
        ckpt__die("out of memory while restoring");
    relocs = r;
    relocs[nrelocs++] = (struct reloc){old, len, now};
}

static void fixup_add(void **where, uint64_t old, const char *name)
{
    struct fixup *f = ckpt__grow(fixups, &maxfixups, nfixups + 1, sizeof *f);
    if (!f)
        ckpt__die("out of memory while restoring");
    fixups = f;
    fixups[nfixups++] = (struct fixup){where, old, name};
}

/* New address of old pointer value p, or 0 with *ok = 0 if nothing restored holds it. */
static uintptr_t translate(uint64_t p, int *ok)
{
    *ok = 1;
    if (!p)
        return 0;
    for (int i = nrelocs - 1; i >= 0; i--) {
        const struct reloc *r = &relocs[i];
        if (p >= r->old && p <= r->old + r->len)   /* one past the end is valid C */
            return (uintptr_t)r->now + (uintptr_t)(p - r->old);
    }
    uintptr_t in_exe = ckpt__exe_ptr(p);
    *ok = in_exe != 0;
    return in_exe;
}

/* Into the executable itself (a string literal, a function, an unsaved
 * global): it moved with the load address.  0 if p was not in it. */
uintptr_t ckpt__exe_ptr(uint64_t p)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (p < rt->old_exe_start || p >= rt->old_exe_end)
        return 0;
    return (uintptr_t)__executable_start + (uintptr_t)(p - rt->old_exe_start);
}

/* Translates the pending pointers that can be; with final, all of them. */
void ckpt__run_fixups(int final)
{
    int keep = 0;
    for (int i = 0; i < nfixups; i++) {
        struct fixup *fx = &fixups[i];
        int ok;
        uintptr_t now = translate(fx->old, &ok);
        if (ok || final) {
            if (!ok)
                pr_warn("pointer %s pointed outside the saved state (%#llx); it is NULL after the restart",
                        fx->name, (unsigned long long)fx->old);
            *fx->where = (void *)now;
        } else {
            fixups[keep++] = *fx;
        }
    }
    nfixups = keep;
    if (final) {
        free(fixups);
        free(relocs);
        fixups = NULL;
        relocs = NULL;
        nfixups = maxfixups = nrelocs = maxrelocs = 0;
    }
}

void ckpt__restore_bytes(const struct ckpt_saved_var *sv, struct ckpt_var *v)
{
    switch (sv->kind) {
    case CKPT_KIND_BLOCK: {
        size_t bytes = (size_t)(sv->count * sv->elem);
        char *blk = NULL;
        if (sv->old_block) {
            blk = malloc(bytes ? bytes : 1);
            if (!blk)
                ckpt__die("out of memory restoring %s (%zu bytes)", sv->name, bytes);
            memcpy(blk, sv->block, bytes);
            reloc_add(sv->old_block, bytes, blk);
        }
        *(void **)v->addr = blk;
        v->count = (size_t)sv->count;
        break;
    }
    case CKPT_KIND_POINTER: {
        uint64_t old;
        memcpy(&old, sv->data, sizeof old < sv->size ? sizeof old : sv->size);
        fixup_add((void **)v->addr, old, v->name);
        break;
    }
    default:
        memcpy(v->addr, sv->data, (size_t)sv->size);
    }
    reloc_add(sv->old_addr, sv->size, v->addr);
}
