/*
 * malloc.c: the process's malloc, free, calloc and realloc, so that the FILE
 * of a stream the program opens can live in the heap arena (files.c).
 *
 * glibc lets an executable replace its allocator (ELF interposition: the
 * executable's definitions win, and the C library's own calls, fopen's
 * allocation of its FILE and fclose's free of it included, go through
 * them).  These forward to glibc's allocator under its exported names
 * (__libc_malloc & co.), so every allocation is exactly glibc's, except the
 * one files.c asks for: while ckpt__route is armed, the next malloc or
 * calloc comes from the arena (heap.c), where a checkpoint saves it and a
 * restart puts it back at its address.  free and realloc of an arena block
 * go to heap.c, whoever calls them (the C library's fclose, or a library
 * not instrumented freeing a block the program gave it).
 *
 * Not replaced, as glibc allows: memalign, posix_memalign, aligned_alloc,
 * valloc, pvalloc and malloc_usable_size stay glibc's, and never see an
 * arena block (files.c's routed allocation is the only one made here, and
 * the program's own calls are ckpt-cc's twins, which tell arena blocks
 * apart).
 *
 * A library of its own (libckptmalloc.a), which ckpt-cc links into the
 * programs it builds: in libckpt.a, any program linked with it (the unit
 * tests under AddressSanitizer, which replaces malloc itself) would get it.
 */
#include <stddef.h>

#include "ckpt_libc.h"
#include "rt.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* What ckpt-cc names on the command line (-u) so that this file is linked. */
int ckpt__malloc_routed = 1;

void *malloc(size_t n)
{
    if (__builtin_expect(ckpt__route.armed, 0)) {
        ckpt__route.armed = ckpt__route.all;
        return ckpt__route.got = ckpt_malloc(n);
    }
    return __libc_malloc(n);
}

void *calloc(size_t nmemb, size_t size)
{
    if (__builtin_expect(ckpt__route.armed, 0)) {
        ckpt__route.armed = ckpt__route.all;
        return ckpt__route.got = ckpt_calloc(nmemb, size);
    }
    return __libc_calloc(nmemb, size);
}

void free(void *p)
{
    if (__builtin_expect(ckpt__heap_in_arena(p), 0))
        ckpt_free(p);
    else
        __libc_free(p);
}

void *realloc(void *p, size_t n)
{
    if (__builtin_expect(ckpt__heap_in_arena(p) || (!p && ckpt__route.all), 0))
        return ckpt_realloc(p, n);
    return __libc_realloc(p, n);
}
