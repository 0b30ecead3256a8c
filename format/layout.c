/*
 * layout.c: the folder layout of a checkpoint folder (format/FORMAT.md): the
 * names of epoch folders and images, which epochs are committed, and removing
 * an epoch so that a crash never leaves a committed epoch with images missing.
 */
#define _GNU_SOURCE
#include "fmtio.h"
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ckpt_epoch_dir(char *buf, size_t len, const char *dir, uint64_t epoch)
{
    int n = snprintf(buf, len, "%s/epoch.%" PRIu64, dir, epoch);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ckpt_final_path(char *buf, size_t len, const char *dir, int32_t vtid)
{
    int n = snprintf(buf, len, "%s/exited/task.%08" PRIx32 ".img", dir, (uint32_t)vtid);
    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ckpt_task_path(char *buf, size_t len, const char *dir, uint64_t epoch, int32_t vtid)
{
    int n = snprintf(buf, len, "%s/epoch.%" PRIu64 "/task.%08" PRIx32 ".img", dir,
                     epoch, (uint32_t)vtid);

    if (n < 0)
        return -EINVAL;
    return (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* ---------------------------------------------------------------- listing */

/* "epoch.<k>" exactly as ckpt_epoch_dir spells it (no sign, no leading zero). */
static int parse_epoch_name(const char *s, uint64_t *k)
{
    uint64_t v = 0;

    if (strncmp(s, "epoch.", 6) != 0)
        return -1;
    s += 6;
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *k = v;
    return 0;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Whether dir/epoch.<k> has a commit record that verifies and names epoch k. */
static int epoch_committed(const char *dir, uint64_t k)
{
    char edir[4096];
    struct ckpt_commit c;
    int ok;

    if (ckpt_epoch_dir(edir, sizeof edir, dir, k) < 0)
        return 0;
    if (ckpt_commit_read(edir, &c, NULL, 0) < 0)
        return 0;
    ok = c.epoch == k;
    ckpt_commit_free(&c);
    return ok;
}

int ckpt_list_committed(const char *dir, uint64_t *epochs, int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t *all = NULL, k;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d)
        return -errno;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (parse_epoch_name(e->d_name, &k) < 0 || !epoch_committed(dir, k))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *p = realloc(all, ncap * sizeof *p);
            if (!p) {
                rc = -ENOMEM;
                goto out;
            }
            all = p;
            cap = ncap;
        }
        all[n++] = k;
    }
    if (errno) {
        rc = -errno;
        goto out;
    }
    if (n > 1)
        qsort(all, n, sizeof *all, cmp_desc);
    if (max < 0)
        max = 0;
    rc = n < (size_t)max ? (int)n : max;
    if (rc > 0)
        memcpy(epochs, all, (size_t)rc * sizeof *epochs);
out:
    closedir(d);
    free(all);
    return rc;
}

int ckpt_bad_commits(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char edir[4096], why[1024];
    struct ckpt_commit c;
    uint64_t k;
    int n = 0, rc;

    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        if (parse_epoch_name(e->d_name, &k) < 0 || ckpt_epoch_dir(edir, sizeof edir, dir, k) < 0)
            continue;
        rc = ckpt_commit_read(edir, &c, why, sizeof why);
        if (rc == -ENOENT)
            continue;       /* a checkpoint in progress, or aborted */
        if (rc == 0 && c.epoch != k)
            snprintf(why, sizeof why, "%s/commit: names epoch %" PRIu64, e->d_name, c.epoch);
        if (rc < 0 || c.epoch != k) {
            if (n++ == 0 && err && errlen)
                snprintf(err, errlen, "%s", why);
        }
        ckpt_commit_free(&c);
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- removal */

/* Names ckpt puts in an epoch folder; nothing else is ever removed. */
static int own_name(const char *s)
{
    size_t n = strlen(s);

    if (!strcmp(s, "commit") || !strcmp(s, "commit.tmp"))
        return 1;
    if (strncmp(s, "task.", 5) != 0)
        return 0;
    return (n > 9 && !strcmp(s + n - 4, ".img")) || (n > 13 && !strcmp(s + n - 8, ".img.tmp"));
}

static int remove_own_files(const char *edir)
{
    DIR *d = opendir(edir);
    struct dirent *e;
    int rc = 0;

    if (!d)
        return -errno;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (own_name(e->d_name) && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    if (rc == 0 && errno)
        rc = -errno;
    closedir(d);
    return rc;
}

int ckpt_epoch_remove(const char *dir, uint64_t epoch)
{
    char edir[4096], path[4200];
    int rc = ckpt_epoch_dir(edir, sizeof edir, dir, epoch);

    if (rc == 0)
        rc = fmt__join_path(path, sizeof path, edir, "commit");
    if (rc < 0)
        return rc;
    /* The commit record goes first and durably: a crash from here on leaves an
     * uncommitted folder, never a committed epoch with images missing. */
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    rc = fmt__fsync_dir(edir);
    if (rc == 0)
        rc = remove_own_files(edir);
    if (rc == 0 && rmdir(edir) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fmt__fsync_dir(dir);
    return rc;
}

int ckpt_epochs_prune(const char *dir, uint64_t newest, const uint64_t *keep, int n, uint64_t *which)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int first = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        unsigned long long k;
        char tail;
        int kept = 0;

        if (sscanf(e->d_name, "epoch.%llu%c", &k, &tail) != 1 || k >= newest)
            continue;
        for (int i = 0; i < n; i++)
            kept |= keep[i] == k;
        int rc = kept ? 0 : ckpt_epoch_remove(dir, k);
        if (rc && rc != -ENOENT && !first) {
            first = rc;
            *which = k;
        }
    }
    closedir(d);
    return first;
}

/* Adds k to set (n of max) unless it is there; returns the new n. */
static int set_add(uint64_t *set, int n, int max, uint64_t k)
{
    for (int i = 0; i < n; i++)
        if (set[i] == k)
            return n;
    if (n < max)
        set[n++] = k;
    return n;
}

int ckpt_epochs_needed(const char *dir, uint64_t *epochs, int n, int max)
{
    /* A set that grows while it is walked: each epoch's parents join it. */
    for (int i = 0; i < n; i++) {
        char edir[4096];
        struct ckpt_commit c;
        if (ckpt_epoch_dir(edir, sizeof edir, dir, epochs[i]) != 0 ||
            ckpt_commit_read(edir, &c, NULL, 0) != 0)
            continue;
        for (uint32_t t = 0; t < c.ntasks; t++)
            if (c.tasks[t].depth)
                n = set_add(epochs, n, max, c.tasks[t].parent_epoch);
        ckpt_commit_free(&c);
    }
    return n;
}

/* path + ".tmp": ckpt_epoch_remove takes it for one of its own temporaries. */
static int copy_tmp(char *buf, size_t len, const char *path)
{
    int n = snprintf(buf, len, "%s.tmp", path);
    return n < 0 ? -EINVAL : (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ckpt_copy_begin(const char *path)
{
    char tmp[4200];
    int rc = copy_tmp(tmp, sizeof tmp, path);
    return rc < 0 ? rc : fmt__open_tmp(tmp);
}

int ckpt_copy_end(int fd, const char *path)
{
    char tmp[4200];
    int rc = copy_tmp(tmp, sizeof tmp, path);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fmt__commit_file(fd, tmp, path);
}

void ckpt_copy_abandon(int fd, const char *path)
{
    char tmp[4200];
    close(fd);
    if (copy_tmp(tmp, sizeof tmp, path) == 0)
        unlink(tmp);
}
