/*
 * liballoc.c: the C library functions that allocate memory and hand it to
 * the program (getline's and getdelim's line, asprintf's string, realpath's
 * and getcwd's path).  glibc allocates with its own malloc, whose blocks no
 * checkpoint saves: a pointer the program keeps to one would dangle after a
 * restart.  These twins run the call with every allocation routed to the
 * heap arena (malloc.c's route, "all" mode), so the block is the program's
 * like any other; a buffer the program passes in is grown where it is
 * (realloc of an arena block stays in the arena).  Without libckptmalloc
 * (a program linked by hand) the route does nothing and the blocks are
 * glibc's, as before.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ckpt_libc.h"
#include "rt.h"

#define ROUTED_ALL(call)                                                     \
    ({                                                                       \
        ckpt__route.all = ckpt__route.armed = 1;                             \
        __typeof__(call) r_ = (call);                                        \
        ckpt__route.all = ckpt__route.armed = 0;                             \
        r_;                                                                  \
    })

ssize_t ckpt_getline(char **restrict lineptr, size_t *restrict n, FILE *restrict stream)
{
    return ROUTED_ALL(getline(lineptr, n, stream));
}

ssize_t ckpt_getdelim(char **restrict lineptr, size_t *restrict n, int delimiter,
                      FILE *restrict stream)
{
    return ROUTED_ALL(getdelim(lineptr, n, delimiter, stream));
}

int ckpt_vasprintf(char **restrict ptr, const char *restrict f, va_list arg)
{
    return ROUTED_ALL(vasprintf(ptr, f, arg));
}

int ckpt_asprintf(char **restrict ptr, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ckpt_vasprintf(ptr, fmt, ap);
    va_end(ap);
    return r;
}

char *ckpt_realpath(const char *restrict name, char *restrict resolved)
{
    return ROUTED_ALL(realpath(name, resolved));
}

char *ckpt_getcwd(char *buf, size_t size)
{
    return ROUTED_ALL(getcwd(buf, size));
}

char *ckpt_get_current_dir_name(void)
{
    return ROUTED_ALL(get_current_dir_name());
}
