/*
 * globals.c: the registry of saved globals.  Rewritten code registers each
 * file-scope variable to save (ckpt_global, ckpt_global_block) from
 * constructors, before main, and each static local the first time its
 * declaration is reached (ckpt_static); their section is written and read
 * here (varsec.c's frame "<globals>").  A static local saved in the image is
 * kept aside by the restore until the restarted task registers it again.
 * Also the file-scope pointers whose heap blocks CKPT_NOSAVE leaves out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static struct ckpt_global *globals;
static int nglobals, maxglobals;

static struct pending {             /* a saved static local not registered yet */
    char key[sizeof ((struct ckpt_saved_var *)0)->name];
    void *data;
    size_t size;
} *pending;
static int npending, maxpending;

static struct nosave {              /* CKPT_NOSAVE of a global pointer */
    void **pp;
} *nosaves;
static int nnosaves, maxnosaves;

static struct ckpt_global *add_global(const char *key, void *addr, size_t size,
                                      size_t elem, unsigned kind)
{
    struct ckpt_global *g = ckpt__grow(globals, &maxglobals, nglobals + 1, sizeof *g);
    if (!g)
        ckpt__die("out of memory registering %s", key);
    globals = g;
    g = &globals[nglobals++];
    memset(g, 0, sizeof *g);
    g->key = strdup(key);
    if (!g->key)
        ckpt__die("out of memory registering %s", key);
    g->v.addr = addr;
    g->v.size = size;
    g->v.elem = elem ? elem : 1;
    g->v.kind = kind;
    g->v.name = g->key;
    g->v.reg = 1;
    return g;
}

void ckpt_global(const char *key, void *addr, size_t size, size_t elem, unsigned kind)
{
    add_global(key, addr, size, elem, kind);
}

/* Keys are compared as the image holds them: cut to its name field. */
static int same_key(const char *registered, const char *saved)
{
    return strncmp(registered, saved, sizeof ((struct ckpt_saved_var *)0)->name - 1) == 0;
}

int ckpt_static(char *once, const char *key, void *addr, size_t size, size_t elem)
{
    *once = 1;
    add_global(key, addr, size, elem, CKPT_KIND_DATA);
    for (int i = 0; i < npending; i++) {
        struct pending *p = &pending[i];
        if (!same_key(key, p->key))
            continue;
        if (p->size != size)
            ckpt__die("static %s changed size since the checkpoint", key);
        memcpy(addr, p->data, size);
        free(p->data);
        pending[i] = pending[--npending];
        break;
    }
    return 1;
}

void ckpt_nosave_global(const char *key, void **pp)
{
    struct nosave *n = ckpt__grow(nosaves, &maxnosaves, nnosaves + 1, sizeof *n);
    if (!n)
        ckpt__die("out of memory registering %s", key);
    nosaves = n;
    nosaves[nnosaves++].pp = pp;
}

void ckpt__globals_nosave(void)
{
    for (int i = 0; i < nnosaves; i++)
        if (*nosaves[i].pp)
            ckpt_nosave(*nosaves[i].pp);
}

/* A saved static local whose function has not run yet in the restarted task. */
static void keep_aside(const struct ckpt_saved_var *sv)
{
    struct pending *p = ckpt__grow(pending, &maxpending, npending + 1, sizeof *p);
    void *data = malloc(sv->size ? (size_t)sv->size : 1);
    if (!p || !data)
        ckpt__die("out of memory restoring %s", sv->name);
    pending = p;
    p = &pending[npending++];
    memcpy(p->key, sv->name, sizeof p->key);
    memcpy(data, sv->data, (size_t)sv->size);
    p->data = data;
    p->size = (size_t)sv->size;
}

/* "file.c:func:name:K" is a static local's key, "file.c:name" a global's. */
static int is_static_key(const char *key)
{
    int colons = 0;
    for (; *key; key++)
        colons += *key == ':';
    return colons >= 3;
}

void ckpt_global_block(const char *key, void *addr, size_t elem, size_t (*count)(void))
{
    struct ckpt_global *g = add_global(key, addr, sizeof(void *), elem, CKPT_KIND_BLOCK);
    g->count = count;
}

/* A FRAME "<globals>" and a GLOBAL section per registered global. */
int ckpt__globals_write(struct ckpt_imgw *w)
{
    int n = nglobals;
    struct ckpt_global *g = globals;
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
    err = ckpt__frame_write(w, "<globals>", -1, 0, vars, idx, n);
out:
    free(vars);
    free(idx);
    return err;
}

/* Each saved global back into the registered one of the same key. */
int ckpt__globals_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *fs = ckpt__next_section(c, CKPT_SEC_FRAME, "<globals>");
    struct ckpt_saved_var *sv;
    int n, site, ng = nglobals;
    if (!fs)
        return -EINVAL;
    int err = ckpt__frame_read(c, fs, CKPT_SEC_GLOBAL, &sv, &n, &site);
    if (err)
        return err;
    struct ckpt_global *g = globals;
    for (int k = 0; k < n; k++) {
        int j = 0;
        while (j < ng && !same_key(g[j].key, sv[k].name))
            j++;
        if (j == ng && is_static_key(sv[k].name)) {
            keep_aside(&sv[k]);
            continue;
        }
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
