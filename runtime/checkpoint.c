/*
 * checkpoint.c: taking a checkpoint.  The task stops only for fork(); the
 * writer child serializes the frozen state to disk at low priority and exits
 * with _exit, while the parent computes on.  The parent reaps its writer
 * without blocking at later safe points (waiting for that pid only, never
 * for the application's own children) and reports to the coordinator.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pvm3.h>

#include "fault.h"
#include "proto.h"
#include "rt.h"

/* What the writer child reports back; a shared page, one writer at a time. */
struct writer_result {
    int err;
    int copy_failed;        /* the heap's copy could not be mapped: copy-on-write from now on */
    uint64_t time_ns;       /* the image's, which the next one names when it refers to it */
    struct ckpt_img_totals totals;
    char deflated[160];     /* whether it deflated, and why */
    char suspects[CKPT_SUSPECTS][64];   /* variables pointing where no image looks */
};
static struct writer_result *result;

static pid_t writer;                /* writer child in flight, 0 when none */
static uint64_t writer_epoch;
static int writer_copied;           /* it writes from the heap's copy */
static uint64_t base_epoch, base_time;  /* the last image written (base_epoch 0: none) */
static uint32_t writer_flags;       /* CKPT_IMG_F_EXITED: the final image */
static uint64_t write_start_ns;
static int last_write_ok;
static uint64_t *cut;               /* (vtid, in_seq) of every channel at the last fork */
static int ncut;

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time this task has used, 0 if unknown: beside the stop's wall time it
 * tells the fork's own work from time spent waiting for the CPU (on a busy
 * machine the scheduler may run someone else before fork() returns). */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int make_dirs(uint64_t epoch, char *path, size_t len)
{
    char edir[4096];
    struct ckpt_rt *rt = &ckpt__rt;
    if (mkdir(rt->dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    if (ckpt_epoch_dir(edir, sizeof edir, rt->dir, epoch) != 0)
        return -ENAMETOOLONG;
    if (mkdir(edir, 0700) != 0 && errno != EEXIST)
        return -errno;
    return ckpt_task_path(path, len, rt->dir, epoch, rt->myvtid) ? -ENAMETOOLONG : 0;
}

/* Who knows what did not change since the base: the heap's copy for the
 * heap (when it was compared with the base's), the shadows for the rest. */
static int heap_diffed;     /* writer: the heap's copy was compared with the base's */

static int unchanged(void *arg, uint64_t addr, uint64_t len)
{
    (void)arg;
    if (ckpt__heap_in_arena((const void *)(uintptr_t)addr))
        return heap_diffed && ckpt__heap_unchanged(addr, len);
    return ckpt__shadow_unchanged(addr, len);
}

/* In the writer of a checkpoint (not a final image): an incremental image
 * on the last image written, when that one is committed, its chain not too
 * long, and nothing is wrong with it (else a full image, which needs
 * nothing). */
static void on_base(struct ckpt_imgw *w, uint64_t epoch, uint64_t heap_copied)
{
    struct ckpt_rt *rt = &ckpt__rt;
    char path[4096], err[512];
    uint64_t he, ht;
    if (!base_epoch ||
        ckpt_task_path(path, sizeof path, rt->dir, base_epoch, rt->myvtid) != 0)
        return;
    heap_diffed = heap_copied && ckpt__heap_base(&he, &ht) && he == base_epoch && ht == base_time;
    int rc = ckpt_imgw_base(w, path, base_epoch, base_time, (uint32_t)rt->chain, unchanged, NULL,
                            err, sizeof err);
    if (rc)
        pr_debug("checkpoint %llu: a full image, not one on checkpoint %llu: %s",
                 (unsigned long long)epoch, (unsigned long long)base_epoch, err);
    else
        ckpt__shadow_begin(epoch, base_epoch);
}

static __attribute__((noreturn)) void writer_child(uint64_t epoch, uint32_t flags, pid_t task,
                                                   uint64_t heap_copied)
{
    struct ckpt_rt *rt = &ckpt__rt;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);   /* no application handler runs here */
    /* The task's death aborts this checkpoint (it can no longer report the
     * image written), and a recovery starts: a writer going on would only
     * take the CPU from the restarted tasks and write into a folder being
     * cleaned up.  It dies with the task. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != task)
        _exit(1);
    if (setpriority(PRIO_PROCESS, 0, 10) != 0)
        pr_debug("setpriority: %s", strerror(errno));

    char path[4096];
    struct ckpt_imgw *w = NULL;
    struct ckpt_img_header hdr = {
        .exe = rt->exe, .vtid = rt->myvtid, .flags = flags, .epoch = epoch, .time_ns = realtime_ns(),
        .job = rt->job};
    int err = !heap_copied ? 0 : ckpt_fault_always("copy-map") ? -ENOMEM : ckpt__heap_take_copy();
    if (err) {
        pr_err("checkpoint %llu: the heap's copy cannot be mapped: %s", (unsigned long long)epoch,
               strerror(-err));
        result->copy_failed = 1;
    } else
        err = flags & CKPT_IMG_F_EXITED ? ckpt_final_path(path, sizeof path, rt->dir, rt->myvtid)
                                        : make_dirs(epoch, path, sizeof path);
    uint32_t probe = 1;
    int level = ckpt__compress_choose(rt->dir, &probe, result->deflated, sizeof result->deflated);
    if (!err)
        err = ckpt_imgw_open(&w, path, &hdr, level);
    if (!err)
        ckpt_imgw_probe(w, probe);
    if (!err && !(flags & CKPT_IMG_F_EXITED) && rt->chain > 1) {
        ckpt__shadow_begin(epoch, 0);   /* compared all the same: the next image's base */
        on_base(w, epoch, heap_copied);
    }
    result->time_ns = hdr.time_ns;
    ckpt_fault_die(rt->dir, "writer-kill", epoch);
    if ((flags & CKPT_IMG_F_EXITED) && ckpt_fault_always("slow-final"))
        sleep(1);
    if (ckpt_fault(rt->dir, "stuck-write", epoch))
        for (;;)
            pause();    /* until its task dies, and it with it (PR_SET_PDEATHSIG) */
    if (!err) {
        err = ckpt__state_write(w);
        if (err)
            ckpt_imgw_abort(w);
        else
            err = ckpt_imgw_close(w, &result->totals);
    }
    for (int i = 0; i < CKPT_SUSPECTS; i++)
        snprintf(result->suspects[i], sizeof result->suspects[i], "%s",
                 ckpt__suspect(i) ? ckpt__suspect(i) : "");
    result->err = err;
    _exit(err ? 1 : 0);
}

/* stdout/stderr lengths, so that a restart can cut them back. */
static void note_output(uint64_t epoch, int mark)
{
    fflush(stdout);
    fflush(stderr);
    /* Under ckpt-run -n our stdout goes to ckpt-run, which takes this mark
     * out and learns where the cut falls in what we printed.  A final image
     * is no cut of its own: no mark. */
    if (mark && getenv("CKPT_OUTPUT_MARK")) {
        char mark[48];
        int n = snprintf(mark, sizeof mark, "\033]ckpt;%llu\a", (unsigned long long)epoch);
        if (write(STDOUT_FILENO, mark, (size_t)n) != n)
            pr_warn("cannot mark the output: %s", strerror(errno));
    }
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st;
        ckpt__rt.out_off[fd] = fd > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    }
}

/* What the coordinator learns of our channels with the image: how much we
 * took from each peer (a cut), or for a final image how much we sent. */
static void note_cut(int sent)
{
    struct ckpt_rt *rt = &ckpt__rt;
    free(cut);
    cut = calloc((size_t)rt->npeers * 2 + 1, sizeof *cut);
    if (!cut)
        ckpt__die("out of memory");
    ncut = rt->npeers;
    for (int i = 0; i < rt->npeers; i++) {
        cut[2 * i] = (uint64_t)(int64_t)rt->peers[i]->vtid;
        cut[2 * i + 1] = sent ? rt->peers[i]->out_seq : rt->peers[i]->in_seq;
    }
}

static void start_writer(uint64_t epoch, uint32_t flags)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (writer)
        ckpt__reap(1);
    if (!result) {
        result = mmap(NULL, sizeof *result, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (result == MAP_FAILED)
            ckpt__die("mmap: %s", strerror(errno));
    }
    memset(result, 0, sizeof *result);
    note_output(epoch, !(flags & CKPT_IMG_F_EXITED));
    ckpt__files_note();
    note_cut(flags & CKPT_IMG_F_EXITED);
    if (rt->mode == CKPT_MODE_JOB)
        ckpt__appbufs_active(pvm_getsbuf(), pvm_getrbuf());
    rt->epoch = epoch;
    writer_flags = flags;
    if (!(flags & CKPT_IMG_F_EXITED)) {
        rt->st.checkpoints++;
        if (rt->forced)
            rt->st.forced++;
        rt->forced = 0;
    }

    uint64_t c0 = cpu_ns();
    uint64_t t0 = ckpt__now_ns();
    /* No handler of the program runs (and forks) while its heap is left out of forks. */
    sigset_t all, was;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &was);
    ckpt__shadow_prepare();
    uint64_t heap_copied = ckpt__heap_copy();
    pid_t task = getpid(), pid = fork();
    if (pid == 0)
        writer_child(epoch, flags, task, heap_copied);
    if (heap_copied)
        ckpt__heap_forked();
    sigprocmask(SIG_SETMASK, &was, NULL);
    uint64_t stop = ckpt__now_ns() - t0;
    uint64_t c1 = cpu_ns();
    if (stop > rt->st.max_stop_ns)
        rt->st.max_stop_ns = stop;
    rt->st.last_stop_ns = stop;
    if (pid < 0) {
        pr_err("checkpoint %llu: fork: %s", (unsigned long long)epoch, strerror(errno));
        long v[2] = {(long)epoch, -errno};
        ckpt__ctl_to_coord(CTL_WFAIL, v, 2);
        return;
    }
    writer = pid;
    writer_epoch = epoch;
    writer_copied = heap_copied != 0;
    write_start_ns = t0;
    pr_debug("checkpoint %llu: writer %d started after a %.3f ms stop (%.3f ms on the CPU; "
             "heap copied: %llu bytes)", (unsigned long long)epoch, (int)pid, stop / 1e6,
             c0 && c1 ? (c1 - c0) / 1e6 : -1.0, (unsigned long long)heap_copied);
}

/* pvm_exit with messages the receivers may not have consumed: a rollback to
 * a later checkpoint would need them, and we will not be there to replay.
 * So the task leaves a final image (its state at exit, log included), which
 * commits carry until the receivers' cuts hold every message in it; a
 * restart from it replays and leaves again. */
void ckpt__take_final(void)
{
    start_writer(ckpt__rt.epoch, CKPT_IMG_F_EXITED);
    ckpt__reap(1);
}

static int wait_writer(int block, int *status)
{
    for (;;) {
        pid_t r = waitpid(writer, status, block ? 0 : WNOHANG);
        if (r >= 0)
            return r > 0;
        if (errno != EINTR)
            return -errno;
    }
}

static void report(int ok, uint32_t ms)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (!ok && (writer_flags & CKPT_IMG_F_EXITED)) {
        pr_err("no final image: a rollback after this task's exit may lose its last messages");
        return;
    }
    if (!ok) {
        long v[2] = {(long)writer_epoch, result->err ? result->err : -EIO};
        ckpt__ctl_to_coord(CTL_WFAIL, v, 2);
        return;
    }
    int n = CTL_WRITTEN_HEAD + 2 * ncut;
    long *v = calloc((size_t)n, sizeof *v);
    if (!v)
        ckpt__die("out of memory");
    v[0] = (long)writer_epoch;
    v[1] = (long)result->totals.raw_bytes;
    v[2] = (long)result->totals.stored_bytes;
    v[3] = (long)result->totals.log_bytes;
    v[4] = (long)ms;
    v[5] = (long)writer_flags;
    v[6] = (long)result->totals.depth;
    v[7] = (long)result->totals.parent_epoch;
    for (int i = 0; i < 2 * ncut; i++)
        v[CTL_WRITTEN_HEAD + i] = (long)cut[i];
    ckpt__ctl_to_coord(CTL_WRITTEN, v, n);
    free(v);
    if (!(writer_flags & CKPT_IMG_F_EXITED))
        ckpt_fault_die(rt->dir, "die-written", writer_epoch);
}

/* The coordinator gave up the checkpoint being written (CTL_ABORT): its
 * writer stops, and reports nothing. */
static void abort_writer(void)
{
    int status;
    kill(writer, SIGKILL);
    wait_writer(1, &status);
    writer = 0;
}

/* Collects a finished writer (or waits for it with block) and reports. */
/* Once per variable: a saved pointer into the C library's own heap (a block
 * a library allocated, which no image holds) dangles after a restart. */
static void say_suspects(void)
{
    static char said[16][64];
    static int nsaid;
    for (int i = 0; i < CKPT_SUSPECTS && result->suspects[i][0]; i++) {
        int seen = 0;
        for (int k = 0; k < nsaid && !seen; k++)
            seen = !strcmp(said[k], result->suspects[i]);
        if (seen || nsaid == 16)
            continue;
        memcpy(said[nsaid++], result->suspects[i], sizeof said[0]);
        pr_warn("'%s' holds a pointer into memory the C library allocated (a library's "
                "malloc, not the program's heap): it is not saved, and after a restart the "
                "pointer is not valid",
                result->suspects[i]);
    }
}

void ckpt__reap(int block)
{
    struct ckpt_rt *rt = &ckpt__rt;
    int status = 0;
    if (writer && rt->aborted == writer_epoch)
        abort_writer();
    if (!writer || wait_writer(block, &status) == 0)
        return;
    uint32_t ms = (uint32_t)((ckpt__now_ns() - write_start_ns) / 1000000u);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && result->err == 0;
    writer = 0;
    if (result->copy_failed)
        ckpt__heap_no_copy();   /* the next writers share the heap: they can be written */
    rt->st.bytes_saved = result->totals.raw_bytes;
    if (!ok)
        pr_err("checkpoint %llu was not written: %s", (unsigned long long)writer_epoch,
               result->err ? strerror(-result->err)
                           : WIFSIGNALED(status) ? "the writer was killed" : "the writer failed");
    else
        pr_debug("checkpoint %llu written in %u ms: %llu bytes, %llu on disk, %llu left in "
                 "checkpoint %llu; %s", (unsigned long long)writer_epoch, ms,
                 (unsigned long long)result->totals.raw_bytes,
                 (unsigned long long)result->totals.stored_bytes,
                 (unsigned long long)result->totals.ref_bytes,
                 (unsigned long long)result->totals.parent_epoch, result->deflated);
    if (ok) {
        say_suspects();
        ckpt__compress_learn(&result->totals);
    }
    if (ok && !(writer_flags & CKPT_IMG_F_EXITED)) {
        base_epoch = writer_epoch;
        base_time = result->time_ns;
        if (writer_copied)
            ckpt__heap_written(writer_epoch, result->time_ns);
    } else if (!(writer_flags & CKPT_IMG_F_EXITED)) {
        base_epoch = 0;         /* its shadows may be half updated: no base */
    }
    if (rt->mode == CKPT_MODE_JOB)
        report(ok, ms);
    last_write_ok = ok;
}

void ckpt__due(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    ckpt__reap(0);
    if (rt->requested > rt->epoch && !rt->restoring)
        start_writer(rt->requested, 0);
}

/* CKPT_STOP_AT: checkpoint here, commit it alone (there is no coordinator),
 * and stop as if killed right after.  Tests resume with CKPT_RESTART=1. */
static __attribute__((noreturn)) void stop_here(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    uint64_t epoch = rt->epoch + 1;
    start_writer(epoch, 0);
    ckpt__reap(1);
    if (!last_write_ok)
        exit(1);
    char edir[4096];
    struct ckpt_commit_task t = {.vtid = rt->myvtid,
                                 .raw_bytes = result->totals.raw_bytes,
                                 .stored_bytes = result->totals.stored_bytes,
                                 .log_bytes = result->totals.log_bytes,
                                 .depth = result->totals.depth,
                                 .parent_epoch = result->totals.parent_epoch};
    struct ckpt_commit c = {.epoch = epoch, .time_ns = realtime_ns(), .ntasks = 1, .tasks = &t,
                            .job = rt->job};
    int err = ckpt_epoch_dir(edir, sizeof edir, rt->dir, epoch);
    if (!err)
        err = ckpt_commit_write(edir, &c);
    if (err) {
        pr_err("cannot commit checkpoint %llu: %s", (unsigned long long)epoch, strerror(-err));
        exit(1);
    }
    pr_info("stopped at safe point %ld after checkpoint %llu", rt->safepoints, (unsigned long long)epoch);
    exit(75);
}

static void on_urg(int sig)
{
    (void)sig;
    ckpt_requested = 1;
}

/* ckpt-run signals a task that is slow to take a checkpoint request (it may
 * be computing in a loop with no PVM call): SIGURG raises the flag those
 * loops test.  A program's own SIGURG handler stays, and the loops then wait
 * for its next PVM call. */
void ckpt__watch_requests(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_urg;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, NULL, &old) == 0 && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
        pr_info("the program handles SIGURG: loops wait for a PVM call to checkpoint");
        return;
    }
    if (sigaction(SIGURG, &sa, NULL) != 0)
        pr_warn("cannot catch SIGURG: %s", strerror(errno));
}

void ckpt__safepoint(void)
{
    struct ckpt_rt *rt = &ckpt__rt;
    if (__builtin_expect(!rt->inited, 0))
        ckpt__init();
    if (rt->restoring)
        ckpt__restore_finish();
    else
        rt->safepoints++;
    switch (rt->mode) {
    case CKPT_MODE_STANDALONE:
        if (rt->stop_at && rt->safepoints == rt->stop_at && !writer)
            stop_here();
        break;
    case CKPT_MODE_JOB:
        if (ckpt__in_handler())
            break;      /* the runtime is on the stack: no checkpoint could resume here */
        if (ckpt_requested) {
            ckpt_requested = 0;     /* ckpt-run's SIGURG: its request is waiting */
            ckpt__poll();
        } else {
            ckpt__poll_if_due();
        }
        ckpt__due();
        ckpt__run_handlers();
        break;
    default:
        break;
    }
}

/* Whether a writer child is in flight: waits then wake up often to reap it. */
int ckpt__writing(void)
{
    return writer != 0;
}
