/*
 * locate.c: where ckpt's headers and libckpt.a are, for the compile (-I) and
 * the link (-L).  A ckpt-cc run from the build tree uses the directories
 * CMake compiled in: include/ and its build directory, which holds the
 * generated ckpt_pvm_renames.h.  An installed one finds them beside itself
 * (<prefix>/bin -> <prefix>/include, <prefix>/lib*), one include directory
 * holding all.  CKPT_INCLUDE_DIR (one directory holding all, as installed)
 * and CKPT_LIB_DIR override both.
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

/* <dir>/../<libdir> that holds libckpt.a, of the install's lib directories */
static char *installed_libdir(const char *dir)
{
    static const char *const libs[] = {
#ifdef CKPT_INSTALL_LIBDIR
        CKPT_INSTALL_LIBDIR,
#endif
        "lib", "lib64", "lib/x86_64-linux-gnu", NULL};
    for (int i = 0; libs[i]; i++) {
        char *l = fmt("%s/../%s", dir, libs[i]);
        char *a = fmt("%s/libckpt.a", l);
        int found = access(a, R_OK) == 0;
        free(a);
        if (found)
            return l;
        free(l);
    }
    return fmt("%s/../lib", dir);
}

/* 1 when ckpt-cc runs from the build tree: then the directories compiled in */
static int in_build_tree(const char *dir, struct vec *incdirs, char **libdir)
{
#if defined(CKPT_BUILD_BIN_DIR) && defined(CKPT_BUILD_INCLUDE_DIR) && \
    defined(CKPT_BUILD_GEN_INCLUDE_DIR) && defined(CKPT_BUILD_LIB_DIR)
    char *b = realpath(CKPT_BUILD_BIN_DIR, NULL);
    int in = b && !strcmp(b, dir);
    free(b);
    if (in) {
        vpush(incdirs, CKPT_BUILD_INCLUDE_DIR);
        vpush(incdirs, CKPT_BUILD_GEN_INCLUDE_DIR);
        *libdir = strdup(CKPT_BUILD_LIB_DIR);
    }
    return in;
#else
    return 0;
#endif
}

void locate(struct vec *incdirs, char **libdir)
{
    const char *ei = getenv("CKPT_INCLUDE_DIR"), *el = getenv("CKPT_LIB_DIR");
    char *dir = self_dir();
    if (!in_build_tree(dir, incdirs, libdir)) {
        vpush(incdirs, fmt("%s/../include", dir));
        *libdir = installed_libdir(dir);
    }
    if (ei && *ei) {
        incdirs->n = 0;
        vpush(incdirs, ei);
    }
    if (el && *el) {
        free(*libdir);
        *libdir = strdup(el);
    }
    free(dir);
}
