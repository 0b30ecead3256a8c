/*
 * fault.c: failure injection for the test suite (CKPT_FAULT), in the spirit
 * of CRIU's fault injection.  CKPT_FAULT is a comma-separated list of
 * WHAT[:EPOCH]; each fires once per job (a marker file in the checkpoint
 * folder remembers it), so a restarted task does not fail again.
 *
 *   writer-kill:K     the writer child of checkpoint K dies (SIGKILL)
 *   die-written:K     a task dies right after reporting checkpoint K written
 *   die-replay        a restarted task dies while replaying its log
 *   coord-die-before-commit:K   ckpt-run dies before commit record K
 *   coord-die-after-commit:K    ckpt-run dies after commit record K is on disk
 *   stuck-write:K     the first writer child of checkpoint K never writes: it
 *                     waits until its task dies (and dies with it)
 *   slow-final        (no epoch; every time) the writer of a task's final image
 *                     waits 1 s first, as a large image would take
 *   copy-map          (no epoch; every time) a writer cannot map the copy of
 *                     its task's heap (runtime/heap.c), as without memory
 *   req-skew          (no epoch; every time) ckpt-run waits 50 ms after each
 *                     checkpoint request it sends, as a slow network would:
 *                     the tasks' cuts drift apart and messages sent in between
 *                     are in transit across them
 *
 * CKPT_HOLD=FILE: while FILE exists, a task that ckpt-run started (the
 * program, or its -n copies) waits where it leaves the job (pvm_exit, exit, a
 * return from main), at a safe point, still checkpointing and recovering.  A test holds the job that way until the failures it injects
 * on job events (a commit, a recovery) have landed, so no test depends on
 * how fast the machine runs the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"

static int wanted(const char *what, uint64_t epoch)
{
    const char *list = getenv("CKPT_FAULT");
    size_t wl = strlen(what);
    while (list && *list) {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len >= wl && !strncmp(list, what, wl) &&
            (len == wl || (list[wl] == ':' && strtoull(list + wl + 1, NULL, 10) == epoch)))
            return 1;
        list = end ? end + 1 : NULL;
    }
    return 0;
}

int ckpt_fault_always(const char *what)
{
    return wanted(what, 0);
}

int ckpt_fault(const char *dir, const char *what, uint64_t epoch)
{
    if (!wanted(what, epoch))
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/fault.%s", dir, what);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0)
        return 0;   /* fired already (or cannot remember it: then never) */
    close(fd);
    return 1;
}

int ckpt_fault_holding(void)
{
    const char *file = getenv("CKPT_HOLD");
    return file && *file && access(file, F_OK) == 0;
}

void ckpt_fault_die(const char *dir, const char *what, uint64_t epoch)
{
    if (ckpt_fault(dir, what, epoch)) {
        fprintf(stderr, "ckpt: injected fault %s:%llu\n", what, (unsigned long long)epoch);
        raise(SIGKILL);
    }
}
