/*
 * layout.c: where a task's memory is.  A restarted task finds every object at
 * the address it had, so that a saved pointer is right wherever it is (a
 * global, a local, a struct field, a heap block) and wherever it points (a
 * global, a heap block, a caller's local, a function, the C library's stdout
 * or strcmp), with no type information and no translation:
 *
 *   - address randomization is off for tasks that checkpoint: such a task
 *     re-executes itself once, before main, with ADDR_NO_RANDOMIZE
 *     (personality(2)), so the executable, the shared libraries and the top
 *     of the stack are where they were in every run on this machine;
 *   - main runs at a fixed stack address: ckpt_main (frames.c, called by the
 *     main ckpt-cc writes) pads the stack down to the address main had in the
 *     first run (ckpt__main_stack), whatever the size of the environment above
 *     it, and the call chain rebuilt from there puts every frame where it was;
 *   - main gets a copy of argv and envp in the heap, which is libckpt's arena
 *     at a fixed address (heap.c), saved and restored in place;
 *   - an image records these addresses (META) and a task whose addresses
 *     differ refuses to restart from it, before anything of it is restored.
 *
 * Keeping addresses rather than translating pointers was chosen because a
 * heap block's type is known only where it is allocated: translation would
 * need the type of every word of the state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ckpt_libc.h"
#include "rt.h"
#include "sections.h"

extern char __executable_start[] __attribute__((weak));
extern char _end[] __attribute__((weak));

/* Room left above main's frame in the first run for a restart's environment
 * to be larger than this run's. */
#define STACK_SLACK (256 * 1024)

static const char *randomized;      /* why randomization is still on, or NULL */
static uintptr_t main_sp;           /* where main runs: this run's, or the image's */
static char **argv_copy;            /* argv, then envp, in the heap */

/* Would this process checkpoint?  Only then is a second exec worth it. */
static int will_checkpoint(void)
{
    return getenv("CKPT_COORD") || getenv("CKPT_STOP_AT") || getenv("CKPT_RESTART");
}

/* Executing /proc/self/exe names the process "exe" (ps, top, killall): it
 * gets the executable's name back, as its first exec gave it. */
static void keep_name(void)
{
    char exe[4096], comm[32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || prctl(PR_GET_NAME, comm) != 0 || strcmp(comm, "exe") != 0)
        return;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    if (prctl(PR_SET_NAME, base ? base + 1 : exe) != 0)
        pr_debug("prctl(PR_SET_NAME): %s", strerror(errno));
}

/* glibc passes main's arguments to constructors. */
__attribute__((constructor)) static void no_randomization(int argc, char **argv, char **envp)
{
    (void)argc;
    int p = personality(0xffffffff);
    if (p != -1 && (p & ADDR_NO_RANDOMIZE)) {
        keep_name();
        return;
    }
    if (!will_checkpoint())
        return;
    if (p == -1 || personality((unsigned long)p | ADDR_NO_RANDOMIZE) == -1) {
        randomized = "personality(ADDR_NO_RANDOMIZE) is refused here";
        return;
    }
    execve("/proc/self/exe", argv, envp);
    randomized = "re-executing /proc/self/exe failed";
    personality((unsigned long)p);
}

/* The copy of argv and envp main gets, in one heap block. */
static char **copy_args(int argc, char **argv, char **envp)
{
    int nenv = 0;
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += strlen(argv[i]) + 1;
    for (; envp && envp[nenv]; nenv++)
        bytes += strlen(envp[nenv]) + 1;
    char **v = ckpt_malloc((size_t)(argc + nenv + 2) * sizeof *v + bytes);
    if (!v)
        ckpt__die("out of memory copying the command line");
    char *s = (char *)(v + argc + nenv + 2);
    for (int i = 0; i < argc + nenv + 1; i++) {
        const char *from = i < argc ? argv[i] : i > argc ? envp[i - argc - 1] : NULL;
        v[i] = from ? strcpy(s, from) : NULL;
        s += from ? strlen(from) + 1 : 0;
    }
    v[argc + nenv + 1] = NULL;
    return v;
}

static uintptr_t libc_at(void)
{
    return (uintptr_t)stdout;
}

void ckpt__layout_record(struct meta_rec *m)
{
    m->exe_start = (uintptr_t)__executable_start;
    m->exe_end = (uintptr_t)_end;
    m->libc_at = libc_at();
    m->main_sp = main_sp;
    m->argv_at = (uintptr_t)argv_copy;
}

/* Can this task take up the image's addresses?  0, or -1 with why. */
int ckpt__layout_take(const struct meta_rec *m, char *why, size_t n)
{
    const char *what = NULL;
    if (m->exe_start != (uintptr_t)__executable_start || m->exe_end != (uintptr_t)_end)
        what = "the executable";
    else if (m->libc_at != libc_at())
        what = "the C library";
    if (what) {
        snprintf(why, n,
                 "%s is at another address than in the checkpointed run (%s), so its saved "
                 "pointers would be wrong",
                 what,
                 randomized ? randomized
                            : "a library changed since, or address randomization was on then");
        return -1;
    }
    main_sp = (uintptr_t)m->main_sp;
    argv_copy = (char **)(uintptr_t)m->argv_at;
    return 0;
}

/* Where main runs: in the first run, STACK_SLACK below the frame of the
 * caller at here; in a restart, where it ran then (or die, when this run's
 * environment took the slack). */
uintptr_t ckpt__main_stack(uintptr_t here)
{
    if (randomized && ckpt__rt.mode != CKPT_MODE_PLAIN)
        pr_warn("address randomization stays on (%s): a restart will start this task "
                "again from the beginning", randomized);
    if (!main_sp)
        main_sp = (here - STACK_SLACK) & ~(uintptr_t)4095;
    if (here < main_sp + 4096)
        ckpt__die("cannot restart: main's stack was at %#lx, but this run's environment and "
                  "arguments take %lu bytes more than the slack (%d) left for them",
                  (unsigned long)main_sp, (unsigned long)(main_sp + 4096 - here), STACK_SLACK);
    return main_sp;
}

/* main's argv (then NULL, then envp) in the heap: this run's copy, or the
 * restored one. */
char **ckpt__main_args(int argc, char **argv, char **envp)
{
    if (!argv_copy)
        argv_copy = copy_args(argc, argv, envp);
    return argv_copy;
}
