/*
 * locate.c: where ckpt.h and libckpt.a are, for the compile (-I) and the
 * link (-L).  A ckpt-cc run from the build tree uses the directories CMake
 * compiled in; an installed one finds them beside itself (<prefix>/bin ->
 * <prefix>/include, <prefix>/lib*); CKPT_INCLUDE_DIR and CKPT_LIB_DIR
 * override both.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *self_dir(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return strdup(".");
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    return strdup(self);
}

void locate(char **incdir, char **libdir)
{
    const char *ei = getenv("CKPT_INCLUDE_DIR"), *el = getenv("CKPT_LIB_DIR");
    char *dir = self_dir();
    *incdir = NULL;
    *libdir = NULL;
#if defined(CKPT_BUILD_BIN_DIR) && defined(CKPT_BUILD_INCLUDE_DIR) && defined(CKPT_BUILD_LIB_DIR)
    {
        char *b = realpath(CKPT_BUILD_BIN_DIR, NULL);
        if (b && !strcmp(b, dir)) {
            *incdir = strdup(CKPT_BUILD_INCLUDE_DIR);
            *libdir = strdup(CKPT_BUILD_LIB_DIR);
        }
        free(b);
    }
#endif
    if (!*incdir) {
        *incdir = fmt("%s/../include", dir);
        static const char *const libs[] = {
#ifdef CKPT_INSTALL_LIBDIR
            CKPT_INSTALL_LIBDIR,
#endif
            "lib", "lib64", "lib/x86_64-linux-gnu", NULL};
        for (int i = 0; libs[i]; i++) {
            char *l = fmt("%s/../%s", dir, libs[i]);
            char *a = fmt("%s/libckpt.a", l);
            if (access(a, R_OK) == 0) {
                *libdir = l;
                free(a);
                break;
            }
            free(a);
            free(l);
        }
        if (!*libdir)
            *libdir = fmt("%s/../lib", dir);
    }
    if (ei && *ei) {
        free(*incdir);
        *incdir = strdup(ei);
    }
    if (el && *el) {
        free(*libdir);
        *libdir = strdup(el);
    }
    free(dir);
}
