/*
 * jobrec.c: a checkpoint folder's job, and what a restart runs (jobrec.h).
 */
#define _GNU_SOURCE     /* strndup, getrandom */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobrec.h"
#include "runlog.h"

/* The folder's entries, from the start: a dup of dfd would share (and move)
 * its offset. */
static DIR *entries(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    return d;
}

/* What a job leaves in its folder that belongs to it alone. */
static int job_entry(const char *name)
{
    return !strncmp(name, "epoch.", 6) || !strcmp(name, "exited") || !strcmp(name, "job");
}

/* Whether the folder holds checkpoints of an earlier job (not just a record). */
static int holds_checkpoints(int dfd)
{
    DIR *d = entries(dfd);
    struct dirent *e;
    int found = 0;
    if (!d)
        return -1;
    while (!found && (e = readdir(d)))
        found = job_entry(e->d_name) && strcmp(e->d_name, "job") != 0;
    closedir(d);
    return found;
}

/* Moves every entry of the earlier job into the new folder `aside`. */
static int move_entries(int dfd, const char *aside)
{
    if (mkdirat(dfd, aside, 0700) != 0 && errno != EEXIST)
        return -errno;
    int rc = 0;
    DIR *d = entries(dfd);
    struct dirent *e;
    if (!d)
        return -errno;
    int afd = openat(dfd, aside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (afd < 0)
        rc = -errno;
    while (!rc && (errno = 0, e = readdir(d)))
        if (job_entry(e->d_name) && renameat(dfd, e->d_name, afd, e->d_name) != 0)
            rc = -errno;
    if (afd >= 0 && fsync(afd) != 0 && !rc)
        rc = -errno;
    if (afd >= 0 && close(afd) != 0 && !rc)
        rc = -errno;
    if (!rc && fsync(dfd) != 0 && errno != EINVAL)
        rc = -errno;
    closedir(d);
    return rc;
}

/* A fresh job never resumes from an earlier job's checkpoints; they are kept
 * aside, where --restart can still resume that job. */
static int set_aside(struct job *j, int dfd)
{
    int has = holds_checkpoints(dfd);
    if (has <= 0)
        return has;
    struct ckpt_job old;
    char aside[64], err[512];
    if (ckpt_job_read(j->o.dir, &old, err, sizeof err) == 0)
        snprintf(aside, sizeof aside, "job.%016" PRIx64, old.id);
    else
        snprintf(aside, sizeof aside, "job.unknown.%lld", (long long)time(NULL));
    int rc = move_entries(dfd, aside);
    if (rc) {
        say("%s holds checkpoints of an earlier job and they cannot be moved aside into %s: %s; "
            "resume that job with ckpt-run --restart %s, or give this job another folder (--dir)",
            j->o.dir, aside, strerror(-rc), j->o.dir);
        return -1;
    }
    say("%s held the checkpoints of an earlier job: moved to %s/%s "
        "(ckpt-run --restart %s/%s resumes that job; remove it when done)",
        j->o.dir, j->o.dir, aside, j->o.dir, aside);
    return 0;
}

static int fresh(struct job *j, int dfd)
{
    if (set_aside(j, dfd) != 0)
        return -1;
    struct ckpt_job *r = &j->rec;
    struct timespec now;
    memset(r, 0, sizeof *r);
    while (r->id == 0)
        if (getrandom(&r->id, sizeof r->id, 0) != (ssize_t)sizeof r->id) {
            say("getrandom: %s", strerror(errno));
            return -1;
        }
    clock_gettime(CLOCK_REALTIME, &now);
    r->time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    r->ntasks = (uint32_t)j->o.ntasks;
    snprintf(r->path, sizeof r->path, "%s", j->o.argv[0]);
    int err = ckpt_exe_id_of(r->path, &r->exe);
    if (!err)
        err = ckpt_job_write(j->o.dir, r);
    if (err) {
        say("cannot record the job in %s: %s", j->o.dir, strerror(-err));
        return -1;
    }
    return 0;
}

static int same_exe(const struct ckpt_exe_id *a, const struct ckpt_exe_id *b)
{
    return a->size == b->size && a->hash == b->hash;
}

/* --restart runs what the job's own ckpt-run recorded, if it is still that. */
static int restarting(struct job *j)
{
    char err[1024];
    struct ckpt_exe_id now;
    if (ckpt_job_read(j->o.dir, &j->rec, err, sizeof err) != 0) {
        say("%s: no job to restart: %s", j->o.dir, err);
        return -1;
    }
    int rc = ckpt_exe_id_of(j->rec.path, &now);
    if (rc || !same_exe(&now, &j->rec.exe)) {
        say("refusing to restart %s: %s%s", j->rec.path,
            rc ? strerror(-rc) : "it is not the executable the job ran (its size or contents changed)",
            rc ? "" : "; rebuild nothing between a job and its restart, or start the job afresh");
        return -1;
    }
    return 0;
}

int jobrec_claim(struct job *j, int dfd)
{
    return j->o.restart_dir ? restarting(j) : fresh(j, dfd);
}

/* The command line saved in img, into t; 0 or -1. */
static int take_argv(const struct ckpt_img *img, struct task *t)
{
    for (size_t s = 0; s < ckpt_img_nsections(img) && !t->argv; s++) {
        const struct ckpt_img_section *sec = ckpt_img_section(img, s);
        if (sec->type != CKPT_SEC_ARGV)
            continue;
        const char *p = sec->data, *end = p + sec->len;
        t->argv = calloc(sec->len + 2, sizeof *t->argv);
        if (!t->argv || !(t->argv[t->argc++] = strdup(sec->name)))
            return -1;
        for (; p < end; p += strnlen(p, (size_t)(end - p)) + 1)
            if (p != sec->data && !(t->argv[t->argc++] = strndup(p, (size_t)(end - p))))
                return -1;
    }
    return t->argv ? 0 : -1;
}

int jobrec_restart_argv(const struct job *j, struct task *t, const char *path, char *err,
                        size_t errlen)
{
    struct ckpt_img *img;
    struct ckpt_exe_id now;
    if (ckpt_img_load_bound(path, j->rec.id, NULL, &img, err, errlen) != 0)
        return -1;
    int rc = -1;
    /* The program ckpt-run runs itself is the one the user started; what it
     * spawned must still be the executable that wrote its image. */
    if (take_argv(img, t) != 0)
        snprintf(err, errlen, "its image has no command line");
    else if (t->root && strcmp(t->argv[0], j->rec.path) != 0)
        snprintf(err, errlen, "its image names %s, but the job's program is %s", t->argv[0],
                 j->rec.path);
    else if (ckpt_exe_id_of(t->argv[0], &now) != 0 || !same_exe(&now, &ckpt_img_header(img)->exe))
        snprintf(err, errlen, "%s is not the executable that wrote its image", t->argv[0]);
    else
        rc = 0;
    ckpt_img_free(img);
    return rc;
}

int jobrec_check_images(const struct job *j, const struct ckpt_commit *c)
{
    for (uint32_t i = 0; i < c->ntasks; i++) {
        char path[4096], err[1024];
        struct ckpt_img_header h;
        uint64_t len;
        int rc = ckpt_task_path(path, sizeof path, j->o.dir, c->epoch, c->tasks[i].vtid);
        if (!rc)
            rc = ckpt_img_peek(path, &h, &len, err, sizeof err);
        if (!rc)
            rc = ckpt_img_bound(&h, len, j->rec.id, c, &c->tasks[i], err, sizeof err);
        if (!rc)
            rc = ckpt_img_check_chain(path, &h, err, sizeof err);
        if (rc) {
            say("checkpoint %llu refused: %s", (unsigned long long)c->epoch,
                rc == -ENAMETOOLONG ? "path too long" : err);
            return -1;
        }
    }
    return 0;
}

void jobrec_say_bad_commits(const struct job *j)
{
    static int said;
    char err[1024] = "";
    int n = ckpt_bad_commits(j->o.dir, err, sizeof err);
    if (n > 0 && n != said)
        say("%d damaged commit record%s in %s, not restored from (%s)", n, n == 1 ? "" : "s",
            j->o.dir, err);
    said = n > 0 ? n : said;
}
