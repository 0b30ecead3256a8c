/*
 * wrap_task.c: the PVM calls about tasks in an instrumented task: ids,
 * spawning, exits and kills, exit notices.
 *
 * The application sees virtual task ids, unique for the life of the job
 * whatever tids a new pvmd hands out; peers.c maps them to PVM's.
 */
#define _GNU_SOURCE     /* memmem */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pvm3.h>

#include "rt.h"

int ckpt_pvm_mytid(void)
{
    return ckpt__job() ? ckpt__rt.myvtid : pvm_mytid();
}

int ckpt_pvm_parent(void)
{
    return ckpt__job() ? ckpt__rt.parent_vtid : pvm_parent();
}

int ckpt_pvm_siblings(int **tids)
{
    if (!ckpt__job())
        return pvm_siblings(tids);
    static int *list;
    struct ckpt_rt *rt = &ckpt__rt;
    int n = 0;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->sibling > n)
            n = rt->peers[i]->sibling;
    free(list);
    list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        return PvmNoMem;
    for (int i = 0; i < rt->npeers; i++)
        if (rt->peers[i]->sibling)
            list[rt->peers[i]->sibling - 1] = rt->peers[i]->vtid;
    if (n == 0) {   /* started alone: PVM reports the task itself */
        list[0] = rt->myvtid;
        n = 1;
    }
    *tids = list;
    return n;
}

/* Tasks of the job are shown with their virtual ids. */
int ckpt_pvm_tasks(int where, int *ntask, struct pvmtaskinfo **taskp)
{
    if (!ckpt__job())
        return pvm_tasks(where, ntask, taskp);
    int rc = pvm_tasks(where > 0 && !(where & 0x80000000) ? ckpt__tid_of(where) : where,
                       ntask, taskp);
    for (int i = 0; rc >= 0 && i < *ntask; i++) {
        (*taskp)[i].ti_tid = ckpt__vtid_of((*taskp)[i].ti_tid);
        (*taskp)[i].ti_ptid = ckpt__vtid_of((*taskp)[i].ti_ptid);
    }
    return rc;
}

/* A bare name is looked up beside the running program first, so jobs work
 * without copying executables into ~/pvm3/bin. */
static char *spawn_path(char *file, char *buf, size_t len)
{
    if (!file || strchr(file, '/'))
        return file;
    const char *slash = strrchr(ckpt__rt.exe_path, '/');
    if (!slash)
        return file;
    snprintf(buf, len, "%.*s/%s", (int)(slash - ckpt__rt.exe_path), ckpt__rt.exe_path, file);
    return access(buf, X_OK) == 0 ? buf : file;
}

/* Whether the program at path was built with ckpt-cc (carries CKPT_MARK):
 * 1, 0, or -1 when it cannot be told from here (found by the pvmd's own
 * search path, or on another host), where it is taken for one that was. */
static int instrumented(const char *path)
{
    int fd = strchr(path, '/') ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    int yes = memmem(m, (size_t)st.st_size, CKPT_MARK, sizeof CKPT_MARK - 1) != NULL;
    munmap(m, (size_t)st.st_size);
    return yes;
}

/* A task is part of the job from the moment pvm_spawn returns its tid: the
 * coordinator hears of it before anything we send later (our next image's
 * report included), and gives each its virtual id, unique for the life of
 * the job whatever tids a new pvmd hands out.  A program not built with
 * ckpt-cc is a plain peer, outside the recovery guarantee. */
int ckpt_pvm_spawn(char *file, char **argv, int flag, char *where, int count, int *tids)
{
    if (!ckpt__job())
        return pvm_spawn(file, argv, flag, where, count, tids);
    struct ckpt_rt *rt = &ckpt__rt;
    char path[4096], epoch[32];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)rt->epoch);
    setenv("CKPT_EPOCH0", epoch, 1);
    char *run = spawn_path(file, path, sizeof path);
    int n = pvm_spawn(run, argv, flag, where, count, tids);
    if (n <= 0)
        return n;
    if (instrumented(run) == 0) {
        for (int i = 0; i < n; i++)
            ckpt__peer(tids[i], 1)->instrumented = PEER_PLAIN;
        pr_warn("%s was not built with ckpt-cc: its %d task(s) are outside the recovery "
                "guarantee (messages with them are not logged or replayed)", run, n);
        return n;
    }
    ckpt__name_spawned(tids, n);
    return n;
}

int ckpt_pvm_exit(void)
{
    if (!ckpt__job())
        return pvm_exit();
    ckpt__safepoint();  /* also where a task restarted from its final image resumes */
    ckpt__leave();
    return pvm_exit();
}

int ckpt_pvm_kill(int tid)
{
    if (!ckpt__job())
        return pvm_kill(tid);
    ckpt__bye_for(tid);     /* an intended exit, not a failure */
    return pvm_kill(ckpt__tid_of(tid));
}

int ckpt_pvm_notify(int what, int msgtag, int count, int *tids)
{
    return ckpt__job() ? ckpt__notify(what, msgtag, count, tids) : pvm_notify(what, msgtag, count, tids);
}
