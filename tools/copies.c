/*
 * copies.c: host-local checkpoint folders (ckpt-run --host-local), the
 * coordinator's side.  The folder's path names a folder on each host's own
 * disk, not a shared one: a host lost takes its disk with it.  So each image
 * a task writes on another host is also copied to a partner host (FTI's
 * level 2), by the ckpt-beats of the two hosts (store.c), and a checkpoint
 * commits only once every copy is durable.
 *
 * The partner is always ckpt-run's own host.  Losing it ends the job in any
 * case (ckpt-run with it), so its tasks' images need no copy; and it is the
 * one host a lost host's tasks can restart on at once: for about 200 s after
 * a host went silent, PVM's master pvmd retries its packets for it and the
 * traffic with every other remote host crawls behind them (spawns take
 * seconds, messages come in at doubling intervals: measured), so every task
 * restarts on our host then, from its copy.  Later a task restarts on the
 * host that wrote its image, if it lives.  The price: our host's disk and
 * link take every other host's images.
 *
 * The commit record is ckpt-run's, in its own folder; another host gets the
 * records a task restarting there checks its image against.  Aborted and
 * pruned epochs, and carried final images, are done on every host as on
 * ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pvm3.h>

#include "coordpriv.h"
#include "proto.h"
#include "runlog.h"

#define RECORDS_TIMEOUT_S 10.0

static int send_order(int beat, long op, long vtid, long final, uint64_t epoch, long arg,
                      const void *bytes, long n)
{
    long v[CKPT_STORE_HEAD] = {op, vtid, final, (long)epoch, 0, arg, n};
    if (!beat || pvm_initsend(PvmDataDefault) < 0 || pvm_pklong(v, CKPT_STORE_HEAD, 1) < 0 ||
        (n > 0 && pvm_pkbyte((char *)bytes, (int)n, 1) < 0))
        return -1;
    return pvm_send(beat, CKPT_STORE_TAG) < 0 ? -1 : 0;
}

/* The same order to every other host's ckpt-beat (ours shares our folder,
 * which we keep ourselves). */
static void order_all(struct job *j, long op, long vtid, uint64_t epoch, const void *bytes, long n)
{
    int beats[256], nb = hosts_other_beats(j, beats, 256);
    for (int i = 0; i < nb; i++)
        send_order(beats[i], op, vtid, 0, epoch, 0, bytes, n);
}

void copies_ship(struct job *j, struct task *t, int final)
{
    if (!j->o.host_local)
        return;
    int *held = final ? t->fheld : t->wheld, *done = final ? &t->fcopied : &t->copied;
    int here = pvm_tidtohost(j->mytid);
    held[0] = pvm_tidtohost(t->tid);
    held[1] = held[0] != here ? here : 0;
    *done = !held[1];
    if (*done)
        return;
    if (send_order(hosts_beat_of(held[0]), STORE_SHIP, t->vtid, final, final ? 0 : j->pending,
                   hosts_beat_of(held[1]), NULL, 0) < 0) {
        say("cannot ask host %s to copy t%x's image to %s: it has no copy", hosts_name_of(held[0]),
            (unsigned)t->vtid, hosts_name_of(held[1]));
        held[1] = 0;
        *done = 1;
    }
}

int copies_done(const struct job *j, const struct task *t)
{
    return !j->o.host_local || ((!t->expected || t->copied) && (!t->has_final || t->fcopied));
}

int copies_on_stored(struct job *j, int src, int bufid, char *why, size_t len)
{
    long v[CKPT_STORE_HEAD];
    int saved = pvm_setrbuf(bufid);
    int rc = pvm_upklong(v, CKPT_STORE_HEAD, 1);
    pvm_setrbuf(saved);
    struct task *t = rc < 0 ? NULL : tasks_by_vtid(j, (int)v[1]);
    int host = pvm_tidtohost(src);
    if (rc < 0 || hosts_beat_of(host) != src) {
        tasks_refuse(src, "store reports: not a ckpt-beat of this job");
        return 0;
    }
    if (v[0] == STORE_RECORD || v[0] == STORE_LINK) {
        if (v[4])
            say("host %s could not %s checkpoint %ld: %s", hosts_name_of(host),
                v[0] == STORE_LINK ? "link a final image into" : "write the commit record of",
                v[3], strerror((int)-v[4]));
        return 0;
    }
    if (v[0] != STORE_SHIP || !t)
        return 0;
    int final = v[2] != 0;
    if (!final && ((uint64_t)v[3] != j->pending || !t->expected))
        return 0;       /* a copy of a checkpoint aborted since */
    if (v[4]) {
        snprintf(why, len, "t%x's image could not be copied from host %s to %s: %s", (unsigned)t->vtid,
                 hosts_name_of(final ? t->fheld[0] : t->wheld[0]),
                 hosts_name_of(final ? t->fheld[1] : t->wheld[1]), strerror((int)-v[4]));
        return -1;
    }
    if (host != (final ? t->fheld[1] : t->wheld[1]))
        return 0;       /* not from the partner we chose */
    *(final ? &t->fcopied : &t->copied) = 1;
    return 1;
}

void copies_committed(struct task *t, int final)
{
    const int *from = final ? t->fheld : t->wheld;
    t->held[0] = from[0];
    t->held[1] = from[1];
}

void copies_link_final(struct job *j, const struct task *t, uint64_t epoch)
{
    int here = pvm_tidtohost(j->mytid);
    for (int i = 0; j->o.host_local && i < 2; i++)
        if (t->fheld[i] && t->fheld[i] != here)
            send_order(hosts_beat_of(t->fheld[i]), STORE_LINK, t->vtid, 1, epoch, 0, NULL, 0);
}

void copies_drop(struct job *j, uint64_t epoch)
{
    if (j->o.host_local)
        order_all(j, STORE_DROP, 0, epoch, NULL, 0);
}

void copies_prune(struct job *j, uint64_t newest, const uint64_t *kept, int n)
{
    long v[256];
    for (int i = 0; i < n && i < 256; i++)
        v[i] = (long)kept[i];
    if (j->o.host_local)
        order_all(j, STORE_PRUNE, 0, newest, v, (long)(sizeof(long) * (size_t)(n < 256 ? n : 256)));
}

void copies_unfinal(struct job *j, const struct task *t)
{
    int here = pvm_tidtohost(j->mytid);
    for (int i = 0; j->o.host_local && i < 2; i++)
        if (t->fheld[i] && t->fheld[i] != here)
            send_order(hosts_beat_of(t->fheld[i]), STORE_UNFINAL, t->vtid, 1, 0, 0, NULL, 0);
}

int copies_host_for(const struct job *j, const struct task *t)
{
    int here = pvm_tidtohost(j->mytid);
    if (t->root || !t->held[0] || t->held[0] == here || t->held[1] == here)
        return !hosts_unsettled() && t->held[0] && hosts_alive(t->held[0]) ? t->held[0] : here;
    return t->held[0] && hosts_alive(t->held[0]) ? t->held[0] : 0;
}

/* The bytes of the commit record of epoch e in our folder, malloc'd. */
static char *read_record(const struct job *j, uint64_t e, long *n)
{
    char edir[4096], path[4200];
    struct stat st;
    if (ckpt_epoch_dir(edir, sizeof edir, j->o.dir, e) ||
        snprintf(path, sizeof path, "%s/commit", edir) >= (int)sizeof path)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = fd >= 0 && fstat(fd, &st) == 0 && st.st_size < (1 << 20) ? malloc((size_t)st.st_size + 1) : NULL;
    if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
        free(buf);
        buf = NULL;
    }
    if (fd >= 0)
        close(fd);
    *n = buf ? (long)st.st_size : 0;
    return buf;
}

/* Waits for the reports of `want` records written; -1 on a failure or when
 * they do not all come in time. */
static int await_records(int want)
{
    double end = job_now() + RECORDS_TIMEOUT_S;
    while (want > 0 && job_now() < end) {
        struct timeval tv = {0, 100000};
        int b = pvm_trecv(-1, CKPT_STORED_TAG, &tv);
        if (b <= 0)
            continue;
        long v[CKPT_STORE_HEAD];
        int saved = pvm_setrbuf(b);
        int rc = pvm_upklong(v, CKPT_STORE_HEAD, 1), len, tag, src;
        pvm_setrbuf(saved);
        pvm_bufinfo(b, &len, &tag, &src);
        pvm_freebuf(b);
        if (rc < 0 || v[0] != STORE_RECORD || hosts_beat_of(pvm_tidtohost(src)) != src)
            continue;
        if (v[4]) {
            say("a host could not write the commit record of checkpoint %ld: %s", v[3],
                strerror((int)-v[4]));
            return -1;
        }
        want--;
    }
    return want > 0 ? -1 : 0;
}

int copies_records(struct job *j, uint64_t k, const int *dtids, int n)
{
    uint64_t epochs[64] = {k};
    int ne = j->o.host_local ? ckpt_epochs_needed(j->o.dir, epochs, 1, 64) : 0, want = 0;
    ne = j->o.host_local && ne < 1 ? 1 : ne;
    int here = pvm_tidtohost(j->mytid);
    for (int h = 0; h < n; h++) {
        int dup = dtids[h] == here;
        for (int g = 0; g < h; g++)
            dup |= dtids[g] == dtids[h];
        for (int e = 0; !dup && e < ne; e++) {
            long len;
            char *rec = read_record(j, epochs[e], &len);
            if (!rec || send_order(hosts_beat_of(dtids[h]), STORE_RECORD, 0, 0, epochs[e], 0, rec, len) < 0) {
                say("cannot send the commit record of checkpoint %llu to host %s",
                    (unsigned long long)epochs[e], hosts_name_of(dtids[h]));
                free(rec);
                return -1;
            }
            free(rec);
            want++;
        }
    }
    return await_records(want);
}
