/*
 * tmpfiles.c: ckpt-cc's temporary files live in one $TMPDIR/ckpt-cc.XXXXXX
 * directory, made on first use and removed with all it holds at exit, die()
 * included.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmpdir;

static void remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = fmt("%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && depth < 4)
                remove_tree(p, depth + 1);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void cleanup_tmp(void)
{
    if (!tmpdir)
        return;
    remove_tree(tmpdir, 0);
    tmpdir = NULL;
}

const char *tmp_dir(void)
{
    if (tmpdir)
        return tmpdir;
    const char *td = getenv("TMPDIR");
    tmpdir = fmt("%s/ckpt-cc.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir))
        die("cannot create a temporary directory %s: %s", tmpdir, strerror(errno));
    atexit(cleanup_tmp);
    return tmpdir;
}
