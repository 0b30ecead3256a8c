/*
 * restore.c: bringing a restarted task back to the safe point it was saved at.
 *
 * The image is loaded and verified before main's first statement; globals are
 * restored at once.  Then each function on the saved call chain, as it is
 * entered again, is matched to its saved frame (same depth, same name), its
 * registration points are replayed to restore its locals, and it jumps to the
 * saved call site.  The innermost site is a safe point, where
 * ckpt__restore_finish() ends the rebuild and the PVM call proceeds.
 *
 * Saved pointers need nothing: every object is where it was (layout.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outshare.h"
#include "rt.h"
#include "sections.h"

/* Whether fd 2 is the file fd 1 is (`> log 2>&1`): it is cut once. */
static int same_as_stdout(int fd)
{
    struct stat a, b;
    return fd == 2 && ckpt__rt.out_off[1] >= 0 && fstat(1, &a) == 0 && fstat(2, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* In a file shared with ckpt-run (its stderr), the cut keeps ckpt-run's own
 * lines, which it recorded in CKPT_OUTPUT_KEEP, and tells it where they are
 * now (outshare.h).  Returns 1 if fd was that file. */
static int cut_shared(int fd, int64_t off, struct ckpt_outshare *share, const char *keep)
{
    if (!keep || !ckpt_outshare_is(share, fd))
        return 0;
    int err = ckpt_outshare_cut(share, fd, off);
    if (!err)
        err = ckpt_outshare_save(share, keep);
    if (err)
        pr_warn("cannot cut fd %d back to %lld bytes keeping ckpt-run's lines: %s", fd,
                (long long)off, strerror(-err));
    return 1;
}

/* Cuts stdout/stderr back to their length at the checkpoint, so what the task
 * printed after it is not printed twice. */
static void cut_output(void)
{
    struct ckpt_outshare share = {0};
    const char *keep = getenv("CKPT_OUTPUT_KEEP");
    if (keep && (!*keep || ckpt_outshare_load(&share, keep) != 0))
        keep = NULL;
    for (int fd = 1; fd <= 2; fd++) {
        int64_t off = ckpt__rt.out_off[fd];
        struct stat st;
        if (off < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || same_as_stdout(fd))
            continue;
        if (cut_shared(fd, off, &share, keep))
            continue;
        if (st.st_size > off && ftruncate(fd, off) != 0)
            pr_warn("cannot cut fd %d back to %lld bytes: %s", fd, (long long)off, strerror(errno));
        if (lseek(fd, 0, SEEK_END) < 0)
            pr_warn("lseek fd %d: %s", fd, strerror(errno));
    }
    ckpt_outshare_free(&share);
    unsetenv("CKPT_OUTPUT_KEEP");   /* for this restart only, not for tasks we spawn */
}

static const char *image_to_restore(char *buf, size_t len)
{
    const char *path = getenv("CKPT_RESTORE");
    if (path && *path) {
        /* Tasks we spawn must start afresh, not from our image. */
        snprintf(buf, len, "%s", path);
        unsetenv("CKPT_RESTORE");
        return buf;
    }
    if (!getenv("CKPT_RESTART"))
        return NULL;
    uint64_t epoch;
    if (ckpt_list_committed(ckpt__rt.dir, &epoch, 1) < 1)
        ckpt__die("CKPT_RESTART: no committed checkpoint in %s", ckpt__rt.dir);
    int32_t vtid = (int32_t)strtol(getenv("CKPT_VTID") ? getenv("CKPT_VTID") : "0", NULL, 0);
    if (ckpt_task_path(buf, len, ckpt__rt.dir, epoch, vtid) != 0)
        ckpt__die("checkpoint path too long");
    return buf;
}

/* Loads the image to restart from, if any, into the task's state: before the
 * task attaches to the job (task.c). */
static char loaded[4096];           /* the image restored, for messages */

void ckpt__restore_load(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    char err[512];
    const char *path = image_to_restore(loaded, sizeof loaded);
    if (!path)
        return;
    /* Nothing of it is restored unless it is this job's, of the checkpoint
     * its folder's commit record names, and written by this executable. */
    int rc = ckpt_img_load_bound(path, rt->job, &rt->exe, &rt->img, err, sizeof err);
    if (rc)
        ckpt__die("cannot restart from %s: %s", path, err);
    rt->restoring = 1;
    rc = ckpt__state_read(rt->img);
    if (rc)
        ckpt__die("cannot restart from %s: malformed task state", path);
    cut_output();
    pr_info("restarting from epoch %llu (%d frames)", (unsigned long long)rt->epoch, rt->nsframes);
}

/* Once attached: goes on down the saved call chain, or the rest of the way
 * out for a task saved on its way out through exit(). */
void ckpt__restore_resume(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (!rt->restoring)
        return;
    if (rt->leaving && rt->nsframes == 0) {
        ckpt__restore_finish();
        exit(rt->leaving - 1);
    }
    if (rt->nsframes == 0)
        ckpt__die("%s holds no call chain to resume", loaded);
}

/* Is a frame of func entered at depth the next one of the saved chain? */
static int next_on_chain(int depth, const char *func)
{
    const struct ckpt_rt *rt = &ckpt__rt;
    return depth == rt->rdepth && rt->rdepth < rt->nsframes &&
           strcmp(rt->sframes[rt->rdepth].func, func) == 0;
}

void ckpt__restore_frame(struct ckpt_frame *f)
{
    struct ckpt_rt *rt = &ckpt__rt;
    /* A frame entered while evaluating a call's arguments is not on the
     * saved chain: it runs normally. */
    if (!next_on_chain(rt->depth - 1, f->func))
        return;
    f->resume = 1;
    f->saved = &rt->sframes[rt->rdepth++];
    f->step = 0;
}

int ckpt_rebuilding(const char *func)
{
    return ckpt__rt.restoring && next_on_chain(ckpt__rt.depth, func);
}

void ckpt__restore_var(struct ckpt_frame *f, int i)
{
    const struct ckpt_saved_frame *sf = f->saved;
    for (int k = 0; k < sf->nvars; k++) {
        const struct ckpt_saved_var *sv = &sf->vars[k];
        if (sv->i != i)
            continue;
        struct ckpt_var *v = &f->vars[i];
        if (v->size != sv->size || v->kind != (unsigned)sv->kind)
            ckpt__die("%s: %s changed size or kind since the checkpoint", f->func, sv->name);
        ckpt__restore_bytes(sv, v);
        return;
    }
}

int ckpt_resume_next(struct ckpt_frame *f)
{
    const struct ckpt_saved_frame *sf = f->saved;
    if (!f->resume || !sf)
        ckpt__die("%s: resume dispatch outside a restart", f->func);
    while (f->step < sf->nvars) {
        const struct ckpt_saved_var *sv = &sf->vars[f->step++];
        if (sv->i >= 0 && sv->i < f->nvars && f->vars[sv->i].reg == 0)
            return -(int)sv->reg;
    }
    f->site = sf->site;
    f->resume = 0;
    return sf->site;
}

void ckpt_resume_lost(struct ckpt_frame *f)
{
    ckpt__die("%s: saved resume point %d does not exist in this build", f->func, f->site);
}

void ckpt__restore_finish(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (rt->rdepth != rt->nsframes)
        ckpt__die("reached a safe point at depth %d while rebuilding %d saved frames "
                  "(the program did not follow its saved call chain)", rt->rdepth, rt->nsframes);
    for (int i = 0; i < rt->nsframes; i++)
        free(rt->sframes[i].vars);
    free(rt->sframes);
    rt->sframes = NULL;
    rt->nsframes = rt->rdepth = 0;
    rt->restoring = 0;
    ckpt_img_free(rt->img);
    rt->img = NULL;
    pr_info("resumed at epoch %llu", (unsigned long long)rt->epoch);
}
