/*
 * record.c: the records of a checkpoint folder: an epoch's commit record and
 * the folder's job record.  format/FORMAT.md describes them: keep both in step.
 *
 * All integers are little-endian fixed width; each record starts with a magic
 * and the format version, ends with a crc32 of every byte before it.
 *
 * Commit record  ("CKPT-CMT", version CKPT_CMT_VERSION), file `commit` of an
 * epoch folder:
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 epoch
 *    24 u64 time_ns  32 u32 ntasks  36 u32 task record size  40 u64 job id
 *    48 ntasks records of CMT_TASK_SIZE bytes:
 *       0 i32 vtid  4 u32 flags  8 u64 raw  16 u64 stored  24 u64 log
 *      32 u32 write_ms  36 u32 depth  40 u64 parent epoch
 *      48 char host[64], NUL-padded (version 4; version 3 records end at 48)
 *     then u32 crc32 of every byte before it.
 *
 * Job record  ("CKPT-JOB"), file `job` of a checkpoint folder:
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 job id
 *    24 u64 time_ns  32 u64 exe size  40 u64 exe hash  48 u32 ntasks
 *    52 u32 path length  56 char exe name[64]  120 path bytes (no NUL)
 *     then u32 crc32 of every byte before it.
 */
#define _GNU_SOURCE
#include "fmtio.h"
#include "image.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char CMT_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'C', 'M', 'T' };
static const char JOB_MAGIC[8] = { 'C', 'K', 'P', 'T', '-', 'J', 'O', 'B' };

#define CMT_HDR_SIZE 48u
#define CMT_TASK_SIZE 112u
#define CMT_TASK_SIZE_V3 48u    /* version 3: no host */
#define CMT_OLDEST_VERSION 3u
#define CMT_HOST_VERSION 4u     /* the first with hosts */
#define JOB_HDR_SIZE 120u
#define CMT_MAX_TASKS (1u << 20)

/* ---------------------------------------------------------------- commit */

static uint8_t *encode_commit(const struct ckpt_commit *c, size_t *len)
{
    size_t n = CMT_HDR_SIZE + (size_t)c->ntasks * CMT_TASK_SIZE + 4;
    uint8_t *b = calloc(1, n), *t;

    if (!b)
        return NULL;
    memcpy(b, CMT_MAGIC, 8);
    put32(b + 8, CKPT_CMT_VERSION);
    put32(b + 12, CMT_HDR_SIZE);
    put64(b + 16, c->epoch);
    put64(b + 24, c->time_ns);
    put32(b + 32, c->ntasks);
    put32(b + 36, CMT_TASK_SIZE);
    put64(b + 40, c->job);
    for (uint32_t i = 0; i < c->ntasks; i++) {
        const struct ckpt_commit_task *k = &c->tasks[i];
        t = b + CMT_HDR_SIZE + (size_t)i * CMT_TASK_SIZE;
        put32(t, (uint32_t)k->vtid);
        put32(t + 4, k->flags);
        put64(t + 8, k->raw_bytes);
        put64(t + 16, k->stored_bytes);
        put64(t + 24, k->log_bytes);
        put32(t + 32, k->write_ms);
        put32(t + 36, k->depth);
        put64(t + 40, k->depth ? k->parent_epoch : 0);
        memcpy(t + 48, k->host, strnlen(k->host, sizeof k->host - 1));  /* NUL-padded: calloc */
    }
    put32(b + n - 4, crc(0, b, n - 4));
    *len = n;
    return b;
}

int ckpt_commit_write(const char *epoch_dir, const struct ckpt_commit *c)
{
    char path[4096], tmp[4096];
    uint8_t *buf;
    size_t len;
    int fd, rc;

    if (c->ntasks > CMT_MAX_TASKS || (c->ntasks && !c->tasks))
        return -EINVAL;
    rc = fmt__join_path(path, sizeof path, epoch_dir, "commit");
    if (rc == 0)
        rc = fmt__join_path(tmp, sizeof tmp, epoch_dir, "commit.tmp");
    if (rc < 0)
        return rc;
    buf = encode_commit(c, &len);
    if (!buf)
        return -ENOMEM;
    fd = fmt__open_tmp(tmp);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    rc = fmt__write_all(fd, buf, len);
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    rc = fmt__commit_file(fd, tmp, path);
    if (rc < 0)
        unlink(tmp);
    else
        rc = fmt__fsync_parent(epoch_dir);   /* the epoch folder's own entry, too */
out:
    free(buf);
    return rc;
}

static int decode_commit(struct rd *r, struct ckpt_commit *c)
{
    const uint8_t *b = r->buf;
    uint32_t ntasks, tsize;
    int rc = fmt__check_record(r, CMT_MAGIC, "commit record", CMT_HDR_SIZE, CMT_OLDEST_VERSION,
                               CKPT_CMT_VERSION);

    if (rc < 0)
        return rc;
    tsize = (uint32_t)rc >= CMT_HOST_VERSION ? CMT_TASK_SIZE : CMT_TASK_SIZE_V3;
    ntasks = get32(b + 32);
    if (get32(b + 12) != CMT_HDR_SIZE || get32(b + 36) != tsize ||
        ntasks > CMT_MAX_TASKS ||
        r->size != CMT_HDR_SIZE + (size_t)ntasks * tsize + 4)
        return fmt__fail(r, -EBADMSG, "inconsistent lengths (%" PRIu32 " tasks in %zu bytes)",
                         ntasks, r->size);
    c->epoch = get64(b + 16);
    c->time_ns = get64(b + 24);
    c->job = get64(b + 40);
    c->tasks = calloc(ntasks ? ntasks : 1, sizeof *c->tasks);
    if (!c->tasks)
        return fmt__fail(r, -ENOMEM, "out of memory");
    c->ntasks = ntasks;
    for (uint32_t i = 0; i < ntasks; i++) {
        const uint8_t *t = b + CMT_HDR_SIZE + (size_t)i * tsize;
        struct ckpt_commit_task *k = &c->tasks[i];
        k->vtid = (int32_t)get32(t);
        k->flags = get32(t + 4);
        k->raw_bytes = get64(t + 8);
        k->stored_bytes = get64(t + 16);
        k->log_bytes = get64(t + 24);
        k->write_ms = get32(t + 32);
        k->depth = get32(t + 36);
        k->parent_epoch = get64(t + 40);
        if (tsize > CMT_TASK_SIZE_V3) {
            if (t[48 + sizeof k->host - 1] != '\0')
                return fmt__fail(r, -EBADMSG, "task %" PRIu32 ": host name not terminated", i);
            memcpy(k->host, t + 48, sizeof k->host);
        }
        if (k->depth && (k->parent_epoch >= c->epoch || (k->flags & CKPT_IMG_F_EXITED)))
            return fmt__fail(r, -EBADMSG, "task %" PRIu32 ": an incremental image on epoch %" PRIu64
                             " in checkpoint %" PRIu64, i, k->parent_epoch, c->epoch);
    }
    return 0;
}

int ckpt_commit_read(const char *epoch_dir, struct ckpt_commit *c, char *err, size_t errlen)
{
    char path[4096], fname[300];
    struct rd r = { .fname = fname, .err = err, .errlen = errlen };
    uint8_t *buf = NULL;
    int rc;

    memset(c, 0, sizeof *c);
    if (err && errlen)
        err[0] = '\0';
    snprintf(fname, sizeof fname, "%s/commit", fmt__base_of(epoch_dir));
    rc = fmt__join_path(path, sizeof path, epoch_dir, "commit");
    if (rc < 0)
        return fmt__fail(&r, rc, "path too long");
    rc = fmt__load_file(&r, path, CMT_HDR_SIZE + (uint64_t)CMT_MAX_TASKS * CMT_TASK_SIZE + 4, &buf);
    if (rc == 0)
        rc = decode_commit(&r, c);
    free(buf);
    if (rc < 0)
        ckpt_commit_free(c);
    return rc;
}

void ckpt_commit_free(struct ckpt_commit *c)
{
    free(c->tasks);
    memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- job */

int ckpt_job_write(const char *dir, const struct ckpt_job *jr)
{
    char path[4200], tmp[4200];
    size_t plen = strlen(jr->path), n = JOB_HDR_SIZE + plen + 4;
    uint8_t *b;
    int fd, rc = fmt__join_path(path, sizeof path, dir, "job");

    if (rc == 0)
        rc = fmt__join_path(tmp, sizeof tmp, dir, "job.tmp");
    if (rc < 0)
        return rc;
    b = calloc(1, n);
    if (!b)
        return -ENOMEM;
    memcpy(b, JOB_MAGIC, 8);
    put32(b + 8, CKPT_IMG_VERSION);
    put32(b + 12, JOB_HDR_SIZE);
    put64(b + 16, jr->id);
    put64(b + 24, jr->time_ns);
    put64(b + 32, jr->exe.size);
    put64(b + 40, jr->exe.hash);
    put32(b + 48, jr->ntasks);
    put32(b + 52, (uint32_t)plen);
    memcpy(b + 56, jr->exe.name, sizeof jr->exe.name);
    b[56 + sizeof jr->exe.name - 1] = '\0';
    memcpy(b + JOB_HDR_SIZE, jr->path, plen);
    put32(b + n - 4, crc(0, b, n - 4));
    fd = fmt__open_tmp(tmp);
    rc = fd < 0 ? fd : fmt__write_all(fd, b, n);
    if (fd >= 0 && rc < 0)
        close(fd);
    if (rc == 0)
        rc = fmt__commit_file(fd, tmp, path);
    if (rc < 0)
        unlink(tmp);
    free(b);
    return rc;
}

static int decode_job(struct rd *r, struct ckpt_job *jr)
{
    const uint8_t *b = r->buf;
    uint32_t plen;
    int rc = fmt__check_record(r, JOB_MAGIC, "job record", JOB_HDR_SIZE, CKPT_IMG_VERSION,
                               CKPT_IMG_VERSION);

    if (rc < 0)
        return rc;
    plen = get32(b + 52);
    if (get32(b + 12) != JOB_HDR_SIZE || plen >= sizeof jr->path ||
        r->size != JOB_HDR_SIZE + (size_t)plen + 4 || memchr(b + JOB_HDR_SIZE, '\0', plen))
        return fmt__fail(r, -EBADMSG, "inconsistent lengths (a %" PRIu32 "-byte path in %zu bytes)",
                         plen, r->size);
    memset(jr, 0, sizeof *jr);
    jr->id = get64(b + 16);
    jr->time_ns = get64(b + 24);
    jr->exe.size = get64(b + 32);
    jr->exe.hash = get64(b + 40);
    jr->ntasks = get32(b + 48);
    memcpy(jr->exe.name, b + 56, sizeof jr->exe.name);
    jr->exe.name[sizeof jr->exe.name - 1] = '\0';
    memcpy(jr->path, b + JOB_HDR_SIZE, plen);
    return 0;
}

int ckpt_job_read(const char *dir, struct ckpt_job *jr, char *err, size_t errlen)
{
    char path[4200];
    struct rd r = { .fname = "job", .err = err, .errlen = errlen };
    uint8_t *buf = NULL;
    int rc = fmt__join_path(path, sizeof path, dir, "job");

    if (err && errlen)
        err[0] = '\0';
    if (rc < 0)
        return fmt__fail(&r, rc, "path too long");
    rc = fmt__load_file(&r, path, JOB_HDR_SIZE + sizeof jr->path + 4, &buf);
    if (rc == 0)
        rc = decode_job(&r, jr);
    free(buf);
    return rc;
}
