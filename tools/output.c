/*
 * output.c: what the tasks of `ckpt-run -n` print, collected through PVM and
 * written to ckpt-run's stdout exactly once, across rollbacks.
 *
 * Spawned tasks' stdout reaches us as PVM output messages (PvmOutputTid).  At
 * each checkpoint a task writes a marker into its own stdout (the runtime
 * does, when CKPT_OUTPUT_MARK is set), so the stream tells us how many bytes
 * each task had printed at its cut.  After a rollback to checkpoint k, a task
 * prints again what it printed after its mark k: of its output, only what
 * goes past all it has ever shown is written (a second rollback may come
 * before the first one's reprint has caught up).  Markers never reach the
 * user.  The runtime's own lines (warnings, errors) come in the same stream,
 * since PVM merges a task's stdout and stderr: it wraps them in an escape of
 * their own, and they go to ckpt-run's stderr, not among the program's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

#include "output.h"
#include "runlog.h"

#define MARK_PREFIX "\033]ckpt;"   /* the runtime writes MARK_PREFIX <epoch> BEL */
#define MARK_MAX 40
#define SAY_PREFIX "\033]ckpt-say;"   /* and its own lines as SAY_PREFIX <line> BEL (runtime/say.c) */
#define PART_MAX 1100

struct vout {                 /* one task's output, by virtual id */
    int vtid;
    uint64_t emitted;         /* bytes of its output so far, in the logical run */
    uint64_t shown;           /* bytes of the logical run written to stdout */
    struct { uint64_t epoch, pos; } marks[8];   /* newest checkpoints' positions */
    int nmarks;
};

struct tout {                 /* one live PVM task's output stream */
    int tid;
    struct vout *v;           /* NULL until its hello tells its virtual id */
    char *held;               /* bytes waiting for the virtual id */
    size_t nheld;
    char part[PART_MAX + 1];  /* an escape split between two messages */
    size_t npart;
    int ended;                /* its end of stream has come */
};

static struct vout **vouts;
static int nvouts;
static struct tout **touts;
static int ntouts;

static struct vout *vout_of(int vtid)
{
    for (int i = 0; i < nvouts; i++)
        if (vouts[i]->vtid == vtid)
            return vouts[i];
    struct vout **vv = realloc(vouts, sizeof *vv * (size_t)(nvouts + 1));
    struct vout *v = calloc(1, sizeof *v);
    if (!vv || !v)
        abort();
    vouts = vv;
    v->vtid = vtid;
    return vouts[nvouts++] = v;
}

static struct tout *tout_of(int tid)
{
    for (int i = 0; i < ntouts; i++)
        if (touts[i]->tid == tid)
            return touts[i];
    struct tout **tt = realloc(touts, sizeof *tt * (size_t)(ntouts + 1));
    struct tout *t = calloc(1, sizeof *t);
    if (!tt || !t)
        abort();
    touts = tt;
    t->tid = tid;
    return touts[ntouts++] = t;
}

static void note_mark(struct vout *v, uint64_t epoch)
{
    if (v->nmarks == 8) {
        memmove(v->marks, v->marks + 1, sizeof v->marks[0] * 7);
        v->nmarks--;
    }
    v->marks[v->nmarks].epoch = epoch;
    v->marks[v->nmarks++].pos = v->emitted;
}

static void emit(struct vout *v, const char *p, size_t n)
{
    uint64_t end = v->emitted + n;
    if (end > v->shown) {
        size_t seen = v->shown > v->emitted ? (size_t)(v->shown - v->emitted) : 0;
        fwrite(p + seen, 1, n - seen, stdout);
        v->shown = end;
    }
    v->emitted = end;
}

/* Which escape part[0..n) is (1 a marker, 2 a runtime line), or may still
 * become while not done; 0 if none. */
static int escape_kind(const char *part, size_t n, int done)
{
    static const char *const prefix[] = {MARK_PREFIX, SAY_PREFIX};
    static const size_t max[] = {MARK_MAX, PART_MAX};
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(prefix[i]);
        if (n < max[i] && memcmp(part, prefix[i], n < len ? n : len) == 0 && (!done || n >= len))
            return i + 1;
    }
    return 0;
}

/* Passes bytes on, taking escapes out; one cut by the end of a message
 * waits in t->part for the next one. */
static void filter(struct tout *t, const char *p, size_t n)
{
    while (n > 0) {
        if (t->npart) {
            size_t k = 0;
            while (k < n && t->npart < PART_MAX && p[k] != '\a')
                t->part[t->npart++] = p[k++];
            int done = k < n && p[k] == '\a';
            int kind = escape_kind(t->part, t->npart, done);
            if (done && kind) {
                t->part[t->npart] = '\0';
                if (kind == 1)
                    note_mark(t->v, strtoull(t->part + sizeof MARK_PREFIX - 1, NULL, 10));
                else
                    runlog_relay(t->part + sizeof SAY_PREFIX - 1);
                t->npart = 0;
                p += k + 1;
                n -= k + 1;
                continue;
            }
            if (kind && !done)
                return;          /* still incomplete: wait for more */
            emit(t->v, t->part, t->npart);   /* not a marker after all */
            t->npart = 0;
            p += k;
            n -= k;
            continue;
        }
        const char *esc = memchr(p, '\033', n);
        size_t plain = esc ? (size_t)(esc - p) : n;
        emit(t->v, p, plain);
        p += plain;
        n -= plain;
        if (esc) {
            t->part[t->npart++] = *p++;
            n--;
        }
    }
}

void output_setup(int mytid, int tag)
{
    pvm_setopt(PvmOutputTid, mytid);
    pvm_setopt(PvmOutputCode, tag);
}

void output_message(int bufid)
{
    int tid, n;
    int saved = pvm_setrbuf(bufid);
    if (pvm_upkint(&tid, 1, 1) < 0 || pvm_upkint(&n, 1, 1) < 0 || n <= 0) {
        if (n == 0)              /* the end of the task's stream (<0: its start) */
            output_ended(tid);
        pvm_setrbuf(saved);
        return;
    }
    char *buf = malloc((size_t)n);
    if (buf && pvm_upkbyte(buf, n, 1) >= 0) {
        struct tout *t = tout_of(tid);
        if (t->v) {
            filter(t, buf, (size_t)n);
            fflush(stdout);
        } else {
            char *h = realloc(t->held, t->nheld + (size_t)n);
            if (h) {
                memcpy(h + t->nheld, buf, (size_t)n);
                t->held = h;
                t->nheld += (size_t)n;
            }
        }
    }
    free(buf);
    pvm_setrbuf(saved);
}

void output_known(int tid, int vtid)
{
    struct tout *t = tout_of(tid);
    if (t->v)
        return;
    t->v = vout_of(vtid);
    if (t->nheld) {
        filter(t, t->held, t->nheld);
        fflush(stdout);
    }
    free(t->held);
    t->held = NULL;
    t->nheld = 0;
}

void output_ended(int tid)
{
    tout_of(tid)->ended = 1;
}

int output_open(void)
{
    int n = 0;
    for (int i = 0; i < ntouts; i++)
        n += !touts[i]->ended;
    return n;
}

void output_rollback(uint64_t epoch)
{
    for (int i = 0; i < nvouts; i++) {
        struct vout *v = vouts[i];
        /* Marks of later checkpoints belong to the run given up: the same
         * numbers come again, at other places. */
        uint64_t pos = 0;
        int keep = 0;
        for (int m = 0; m < v->nmarks; m++) {
            if (v->marks[m].epoch == epoch)
                pos = v->marks[m].pos;
            if (v->marks[m].epoch <= epoch)
                v->marks[keep++] = v->marks[m];
        }
        v->nmarks = keep;
        v->emitted = pos;       /* it prints again from there */
    }
    /* The tasks that printed are gone (drained to their ends by the caller):
     * a stray late message of theirs must not count as the new tasks'. */
    for (int i = 0; i < ntouts; i++) {
        free(touts[i]->held);
        free(touts[i]);
    }
    ntouts = 0;
}

void output_flush(void)
{
    for (int i = 0; i < ntouts; i++) {
        struct tout *t = touts[i];
        if (t->v && t->npart)
            emit(t->v, t->part, t->npart);
        t->npart = 0;
    }
    fflush(stdout);
}
