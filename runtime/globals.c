/*
 * globals.c: the registry of saved globals.  Rewritten code registers each
 * file-scope and static variable to save (ckpt_global, ckpt_global_block)
 * from constructors, before main; state.c writes and reads them.
 */
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

struct ckpt_global *ckpt__globals(int *n)
{
    *n = nglobals;
    return globals;
}
