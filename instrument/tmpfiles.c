/*
 * tmpfiles.c: ckpt-cc's temporary files live in one $TMPDIR/ckpt-cc.XXXXXX
 * directory, made on first use and removed with all it holds at exit, die()
 * included, and when ckpt-cc is ended by SIGINT, SIGTERM or SIGHUP (a make
 * interrupted with Ctrl-C), before the signal ends it as it would have.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
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

/* Like gcc, not strictly async-signal-safe: ckpt-cc is then waiting for a
 * child, not in the middle of an allocation. */
static void on_signal(int sig)
{
    cleanup_tmp();
    signal(sig, SIG_DFL);
    raise(sig);
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
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (signal(sigs[i], on_signal) == SIG_IGN)
            signal(sigs[i], SIG_IGN);   /* nohup: stays ignored */
    return tmpdir;
}
