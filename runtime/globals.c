/*
 * globals.c: the registry of saved globals.  Rewritten code registers each
 * file-scope and static variable to save (ckpt_global, ckpt_global_block)
 * from constructors, before main; their section is written and read here
 * (varsec.c's frame "<globals>").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static struct ckpt_global *globals;
static int nglobals, maxglobals;

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
