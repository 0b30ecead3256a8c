/*
 * rounds.c: checkpoint rounds.  Checkpoint k: REQ k to every live task;
 * each answers WRITTEN k once its writer child has stored its image, with
 * the cut of its receive channels.  When all have answered, the commit
 * record is written (the atomic point) and each sender gets COMMIT k with
 * what its receivers' images hold, so it can drop those log entries.  Any
 * failure before the commit, or a round longer than --stall, aborts k.
 * Owns the checkpoint folder's epochs: written, carried, pruned.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "fault.h"
#include "image.h"
#include "proto.h"
#include "runlog.h"

/* The commit record goes first, so a crash half-way leaves an uncommitted
 * folder, never a committed one with images missing. */
static void remove_epoch(struct job *j, uint64_t epoch)
{
    int err = ckpt_epoch_remove(j->o.dir, epoch);
    if (err && err != -ENOENT)
        say("cannot remove checkpoint %llu: %s", (unsigned long long)epoch, strerror(-err));
    copies_drop(j, epoch);
}

/* Keeps the newest `keep` committed epochs and those their incremental
 * images refer to; removes older ones and every uncommitted folder older
 * than the newest commit (aborted attempts). */
static void prune(struct job *j)
{
    uint64_t epochs[256];
    int n = ckpt_list_committed(j->o.dir, epochs, 256);
    if (n <= 0)
        return;
    uint64_t newest = epochs[0];
    n = ckpt_epochs_needed(j->o.dir, epochs, n < j->o.keep ? n : j->o.keep, 256);
    uint64_t which = 0;
    int err = ckpt_epochs_prune(j->o.dir, newest, epochs, n, &which);
    if (err)
        say("cannot remove checkpoint %llu: %s", (unsigned long long)which, strerror(-err));
    copies_prune(j, newest, epochs, n);
}

void rounds_request(struct job *j)
{
    if (j->pending || !tasks_alive(j))
        return;
    uint64_t k = ++j->next_epoch;
    j->pending = k;
    j->pending_start_ns = (uint64_t)(job_now() * 1e9);
    j->nudged = 0;
    j->last_ckpt = job_now();
    long v = (long)k;
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        t->expected = t->state == T_ALIVE;
        t->written = 0;
        if (t->expected && ckpt__ctl_send(t->tid, CTL_REQ, &v, 1, NULL, 0) < 0)
            say("cannot ask t%x for checkpoint %llu", (unsigned)t->vtid, (unsigned long long)k);
        if (t->expected && ckpt_fault_always("req-skew"))
            usleep(50000);
    }
    if (j->o.verbose >= 2)
        say("checkpoint %llu requested from %d tasks", (unsigned long long)k, tasks_alive(j));
}

/* A task computing in a loop with no PVM call takes the request only when
 * told: 20 ms after it (its message is there by then), the tasks that have
 * not written get SIGURG, which raises the flag the loops ckpt-cc
 * instruments test (instrument/polls.c).  Plain PVM tasks ignore SIGURG by
 * default. */
void rounds_nudge(struct job *j)
{
    if (!j->pending || j->nudged || job_now() - j->pending_start_ns / 1e9 < 0.02)
        return;
    j->nudged = 1;
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        if (t->state == T_ALIVE && t->expected && !t->written)
            pvm_sendsig(t->tid, SIGURG);
    }
}

/* A new member t spawned before its parent's cut of the checkpoint in
 * progress belongs in it. */
void rounds_take_in(struct job *j, struct task *t)
{
    if (j->pending && t->start_epoch < j->pending) {
        long k = (long)j->pending;
        t->expected = 1;
        t->written = 0;
        ckpt__ctl_send(t->tid, CTL_REQ, &k, 1, NULL, 0);
    }
}

/* Drops checkpoint in progress; why == NULL when that is no failure. */
void rounds_abort(struct job *j, const char *why, int tell)
{
    uint64_t k = j->pending;
    if (!k)
        return;
    j->pending = 0;
    long v = (long)k;
    for (int i = 0; tell && i < j->ntasks; i++)
        if (j->tasks[i].state == T_ALIVE)
            ckpt__ctl_send(j->tasks[i].tid, CTL_ABORT, &v, 1, NULL, 0);
    remove_epoch(j, k);
    if (!why)           /* nothing went wrong: the job simply moved on */
        return;
    j->aborted++;
    if (j->committed)
        say("checkpoint %llu aborted: %s; checkpoint %llu stays the last good one",
            (unsigned long long)k, why, (unsigned long long)j->committed);
    else
        say("checkpoint %llu aborted: %s; no checkpoint committed yet", (unsigned long long)k, why);
}

/* Whether t left the job for good before the cut of the checkpoint just
 * committed, and the senders have not been told yet. */
static int newly_gone(const struct task *t)
{
    return t->state == T_EXITED && !t->expected && !t->gone_told && !t->root;
}

/* Tells each sender what its receivers' images hold of its messages, and
 * which receivers have left for good: no rollback to this checkpoint or a
 * later one restarts those (a final image carried for what they sent has
 * consumed all it ever will), so what was sent to them is never replayed. */
static void send_commits(struct job *j, uint64_t k)
{
    long *v = malloc(sizeof(long) * (size_t)(1 + 2 * j->ntasks));
    if (!v)
        return;
    for (int s = 0; s < j->ntasks; s++) {
        struct task *snd = &j->tasks[s];
        if (snd->state != T_ALIVE)
            continue;
        int n = 0;
        v[n++] = (long)k;
        for (int r = 0; r < j->ntasks; r++) {
            const struct task *rcv = &j->tasks[r];
            if (newly_gone(rcv)) {
                v[n++] = rcv->vtid;
                v[n++] = CKPT_SEQ_GONE;
            }
            if (!rcv->expected || !rcv->written)
                continue;
            for (int c = 0; c < rcv->ncut; c++)
                if (rcv->cut[2 * c] == snd->vtid) {
                    v[n++] = rcv->vtid;
                    v[n++] = rcv->cut[2 * c + 1];
                }
        }
        ckpt__ctl_send(snd->tid, CTL_COMMIT, v, n, NULL, 0);
    }
    free(v);
    for (int r = 0; r < j->ntasks; r++)
        if (newly_gone(&j->tasks[r]))
            j->tasks[r].gone_told = 1;
}

/* Whether a task restarted from checkpoint k may miss a message that the
 * exited task t sent: then k carries t's final image. */
static int final_needed(struct job *j, const struct task *t)
{
    for (int s = 0; s < t->nsent; s++) {
        const struct task *r = tasks_by_vtid(j, (int)t->sent[2 * s]);
        if (!r || !r->expected || !r->written)
            continue;       /* not in k: it needs nothing more */
        long got = 0;
        for (int c = 0; c < r->ncut; c++)
            if (r->cut[2 * c] == t->vtid)
                got = r->cut[2 * c + 1];
        if (got < t->sent[2 * s + 1])
            return 1;
    }
    return 0;
}

static void drop_final(struct job *j, struct task *t)
{
    char path[4096];
    t->has_final = 0;
    copies_unfinal(j, t);
    if (ckpt_final_path(path, sizeof path, j->o.dir, t->vtid) == 0 && unlink(path) != 0 &&
        errno != ENOENT)
        say("cannot remove %s: %s", path, strerror(errno));
}

/* Puts the final images that checkpoint k needs into its folder (a link:
 * pruning k removes only its own name) and into ct; returns how many, or <0. */
static int carry_finals(struct job *j, const char *edir, struct ckpt_commit_task *ct)
{
    int n = 0;
    for (int i = 0; i < j->ntasks; i++) {
        struct task *t = &j->tasks[i];
        if (!t->has_final || t->state != T_EXITED || t->expected || t->root)
            continue;
        if (!final_needed(j, t)) {
            drop_final(j, t);
            continue;
        }
        char from[4096], to[4096];
        if (ckpt_final_path(from, sizeof from, j->o.dir, t->vtid) ||
            ckpt_task_path(to, sizeof to, j->o.dir, j->pending, t->vtid))
            return -ENAMETOOLONG;
        copies_link_final(j, t, j->pending);
        if ((mkdir(edir, 0700) != 0 && errno != EEXIST) ||
            (link(from, to) != 0 && errno != EEXIST && !(j->o.host_local && errno == ENOENT)))
            return -errno;
        copies_committed(t, 1);
        ct[n++] = t->final;
    }
    return n;
}

static void try_commit(struct job *j)
{
    uint64_t k = j->pending;
    int n = 0;
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        if ((t->expected && !t->written) || !copies_done(j, t))
            return;
        n += t->expected;
    }
    if (n == 0) {
        rounds_abort(j, NULL, 0);     /* every task left before its cut */
        return;
    }
    struct ckpt_commit_task *ct = calloc((size_t)j->ntasks + 1, sizeof *ct);
    if (!ct)
        return;
    uint64_t raw = 0, stored = 0;
    uint32_t ms = 0, depth = 0;
    int incremental = 0;
    n = 0;
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        if (!t->expected)
            continue;
        ct[n++] = (struct ckpt_commit_task){.vtid = t->vtid, .flags = t->root ? CKPT_COMMIT_F_ROOT : 0,
                                            .raw_bytes = t->raw, .stored_bytes = t->stored,
                                            .log_bytes = t->log, .write_ms = t->ms,
                                            .depth = t->depth, .parent_epoch = t->parent_epoch};
        snprintf(ct[n - 1].host, sizeof ct[n - 1].host, "%s", hosts_name_of(t->tid));
        raw += t->raw;
        stored += t->stored;
        ms = t->ms > ms ? t->ms : ms;
        depth = t->depth > depth ? t->depth : depth;
        incremental += t->depth > 0;
    }
    char edir[4096];
    int err = ckpt_epoch_dir(edir, sizeof edir, j->o.dir, k);
    int carried = err ? 0 : carry_finals(j, edir, ct + n);
    if (carried < 0)
        err = carried;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct ckpt_commit c = {.epoch = k, .time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
                            .ntasks = (uint32_t)(n + (carried > 0 ? carried : 0)), .tasks = ct,
                            .job = j->rec.id};
    ckpt_fault_die(j->o.dir, "coord-die-before-commit", k);
    if (!err)
        err = ckpt_commit_write(edir, &c);
    free(ct);
    ckpt_fault_die(j->o.dir, "coord-die-after-commit", k);
    if (err) {
        char why[256];
        snprintf(why, sizeof why, "cannot write its commit record: %s", strerror(-err));
        rounds_abort(j, why, 1);
        return;
    }
    j->committed = k;
    j->committed_at = job_now();
    j->pending = 0;
    j->checkpoints++;
    j->bytes_raw += raw;
    j->bytes_stored += stored;
    for (int i = 0; i < j->ntasks; i++)
        if (j->tasks[i].expected)
            copies_committed(&j->tasks[i], 0);
    send_commits(j, k);
    prune(j);
    char exited[64] = "", incr[64] = "";
    if (carried > 0)
        snprintf(exited, sizeof exited, " (+%d exited, their final images carried)", carried);
    if (incremental > 0)
        snprintf(incr, sizeof incr, " (%d incremental, chains of up to %u images)", incremental,
                 depth + 1);
    if (j->o.verbose >= 1)
        say("checkpoint %llu committed: %d tasks%s%s, %.1f MiB in %.1f MiB on disk, slowest write %u ms, round %.0f ms",
            (unsigned long long)k, n, exited, incr, raw / 1048576.0, stored / 1048576.0, ms,
            job_now() * 1e3 - j->pending_start_ns / 1e6);
}

void rounds_left(struct job *j, struct task *t)
{
    if (j->pending && t->expected && !t->written) {
        t->expected = 0;    /* left before its cut: not part of this checkpoint */
        try_commit(j);
    }
}

/* (vtid, seq) pairs after the leading values of a "written" report. */
static long *copy_pairs(const long *v, int n, int *npairs)
{
    *npairs = (n - CTL_WRITTEN_HEAD) / 2;
    long *p = malloc(sizeof(long) * (size_t)(2 * *npairs + 1));
    if (p)
        memcpy(p, v + CTL_WRITTEN_HEAD, sizeof(long) * (size_t)(2 * *npairs));
    else
        *npairs = 0;
    return p;
}

/* A task leaving with messages in its log wrote a final image
 * (runtime/checkpoint.c, ckpt__take_final). */
static void on_final(struct job *j, struct task *t, const long *v, int n)
{
    free(t->sent);
    t->sent = copy_pairs(v, n, &t->nsent);
    t->final = (struct ckpt_commit_task){.vtid = t->vtid, .flags = CKPT_IMG_F_EXITED,
                                         .raw_bytes = (uint64_t)v[1], .stored_bytes = (uint64_t)v[2],
                                         .log_bytes = (uint64_t)v[3], .write_ms = (uint32_t)v[4]};
    t->has_final = 1;
    copies_ship(j, t, 1);
}

void rounds_on_written(struct job *j, struct task *t, const long *v, int n)
{
    if (n < CTL_WRITTEN_HEAD)
        return;
    if (v[5] & CKPT_IMG_F_EXITED) {
        on_final(j, t, v, n);
        return;
    }
    if ((uint64_t)v[0] != j->pending || !t->expected)
        return;
    t->written = 1;
    t->raw = (uint64_t)v[1];
    t->stored = (uint64_t)v[2];
    t->log = (uint64_t)v[3];
    t->ms = (uint32_t)v[4];
    t->depth = (uint32_t)v[6];
    t->parent_epoch = (uint64_t)v[7];
    if (t->depth && t->parent_epoch >= j->pending) {
        char why[128];
        snprintf(why, sizeof why, "task t%x reported an image on a later checkpoint (%llu)",
                 (unsigned)t->vtid, (unsigned long long)t->parent_epoch);
        rounds_abort(j, why, 1);
        return;
    }
    free(t->cut);
    t->cut = copy_pairs(v, n, &t->ncut);
    copies_ship(j, t, 0);
    try_commit(j);
}

void rounds_on_copied(struct job *j)
{
    if (j->pending)
        try_commit(j);
}

void rounds_on_wfail(struct job *j, const struct task *t, const long *v, int n)
{
    char why[256];
    snprintf(why, sizeof why, "task t%x could not write it: %s", (unsigned)t->vtid,
             n >= 2 ? strerror((int)-v[1]) : "unknown error");
    if (n >= 1 && (uint64_t)v[0] == j->pending)
        rounds_abort(j, why, 1);
}

/* A task's scheduling state as its kernel shows it ('T': stopped), or '?'
 * when its process is not on this computer or cannot be read. */
static char proc_state(const struct job *j, const struct task *t)
{
    char path[64], buf[512];
    if (t->pid <= 0 || pvm_tidtohost(t->tid) != pvm_tidtohost(j->mytid))
        return '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)t->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');    /* the command may hold spaces */
    return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}

/* A checkpoint that has not been written by every task within --stall: a
 * task stopped (SIGSTOP, a debugger), spinning, or starved of CPU.  It is
 * reported, naming those tasks, and aborted, so that the next one is tried
 * after the interval; each one stalled is reported again.  A stopped task is
 * not killed: it may be stopped on purpose (job control, a debugger), and
 * `kill -CONT` lets the job go on; killing it makes it a failure and the job
 * recovers. */
void rounds_check_stall(struct job *j)
{
    if (!j->pending || job_now() - j->pending_start_ns / 1e9 < j->o.stall)
        return;
    char names[512] = "", why[700];
    size_t len = 0;
    for (int i = 0; i < j->ntasks; i++) {
        const struct task *t = &j->tasks[i];
        if (t->state != T_ALIVE || !t->expected || t->written || len >= sizeof names)
            continue;
        char st = proc_state(j, t);
        len += (size_t)snprintf(names + len, sizeof names - len, " t%x%s", (unsigned)t->vtid,
                                st == 'T' || st == 't' ? " (stopped)" : "");
    }
    snprintf(why, sizeof why, "not written within %g s (--stall) by%s", j->o.stall, names);
    rounds_abort(j, why, 1);
}
