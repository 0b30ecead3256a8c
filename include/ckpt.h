/*
 * ckpt.h: the interface between code rewritten by ckpt-cc and libckpt.
 *
 * Users rarely include this file themselves; ckpt-cc inserts it (through
 * ckpt_pvm.h) at the top of every source it rewrites.  It owns three things:
 *
 *  1. Frames.  Every function that can reach a safe point keeps a
 *     `struct ckpt_frame` on its own C stack, linked into libckpt's shadow
 *     stack by ckpt_enter() and unlinked by ckpt_leave() (run by the cleanup
 *     attribute on every way out).  The frame names the call site being
 *     executed and points at the function's registered locals.
 *  2. Registration of saved state: globals from a file-scope
 *     `#pragma CKPT_SAVE`, locals from a block-scope one.
 *  3. Resumption.  In a restarted task each frame is rebuilt top-down: the
 *     function asks ckpt_resume_next() where to go, jumps to each
 *     registration point (which restores the variables it binds) and finally
 *     to the call site it was saved at, whose call rebuilds the next frame.
 *
 * The code ckpt-cc emits for a function that can reach a safe point, in
 * outline (tests/rewriter/golden/solve.ckpt.c is the exact text):
 *
 *   int solve(int n) {
 *       struct ckpt_frame ckpt__fr __attribute__((cleanup(ckpt_leave)));
 *       struct ckpt_var ckpt__v[3];
 *       static const uint64_t ckpt__live[] = { 0, 0x7, 0x7 };   // per site
 *       double *row = ckpt_rebuilding("solve") ? NULL      // not again in a restart
 *                                              : ckpt_malloc(n * sizeof *row);
 *       int it;
 *       ckpt_enter(&ckpt__fr, "solve", ckpt__v, 3, ckpt__live);
 *       if (ckpt__fr.resume) {
 *       ckpt__dispatch:
 *           switch (ckpt_resume_next(&ckpt__fr)) {
 *           case -1: goto ckpt__reg1;       // registration point 1
 *           case 1:  goto ckpt__site1;      // call site 1
 *           case 2:  goto ckpt__site2;
 *           default: ckpt_resume_lost(&ckpt__fr);
 *           }
 *       }
 *   ckpt__reg1:
 *       ckpt_bind(&ckpt__fr, 0, 1, &row, sizeof row, sizeof row, 0, CKPT_KIND_DATA, "row");
 *       ckpt_bind(&ckpt__fr, 1, 1, &it, sizeof it, sizeof it, 0, CKPT_KIND_DATA, "it");
 *       ckpt_bind(&ckpt__fr, 2, 1, &n, sizeof n, sizeof n, 0, CKPT_KIND_DATA, "n");
 *       if (ckpt__fr.resume) goto ckpt__dispatch;
 *       for (it = 0; it < 10; it++) {
 *           ckpt__fr.site = 1;
 *       ckpt__site1:
 *           exchange(row, n);
 *       }
 *       ckpt__fr.site = 2;
 *   ckpt__site2:
 *       return pvm_send(0, 1);
 *   }
 *
 * Heap calls go to libckpt's arena (ckpt_libc.h).  An outer loop that may
 * compute for long starts its body with a poll, a site of its own:
 *   if (__builtin_expect(ckpt_requested, 0)) { ckpt__fr.site = K; ckpt__siteK: ckpt_checkpoint(); }
 * A local declared later gets its registration point right after its
 * declaration; a `#pragma CKPT_SAVE(it, row[n])` adds one where it stands
 * (row[n], CKPT_KIND_BLOCK: the n elements behind row, kept current at sites
 * by `ckpt__v[i].count = (n);`).
 *
 * Sites are numbered from 1 within a function; site k's live mask is
 * W = (nvars + 63) / 64 words (at least 1) from live[k * W], bit i % 64 of
 * word i / 64 set when ckpt__v[i] is in scope at k (only those are saved).  A
 * function that registers nothing passes nvars = 0 and a dummy one-element
 * array.
 *
 * Without pragmas, ckpt-cc registers every local in scope at a safe point
 * (after its declaration), every static local (ckpt_static) and every global
 * (ckpt_global); addresses are the same in a restarted task, so all of them
 * are saved as bytes (CKPT_KIND_DATA), pointers included.
 */
#ifndef CKPT_H
#define CKPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_VERSION "0.1.0"

/* What a registered object is, which decides how it is saved and restored. */
enum ckpt_kind {
    CKPT_KIND_DATA = 0,    /* plain bytes: scalars, arrays, structs */
    CKPT_KIND_POINTER = 1, /* a pointer variable: saved as (object, offset) and
                              translated to the object's new address on restore */
    CKPT_KIND_BLOCK = 2    /* `p[n]`: the pointer p and the n elements behind it;
                              restored into a fresh allocation p then points to */
};

/* One registered variable of a frame (or a global). */
struct ckpt_var {
    void *addr;       /* the variable itself (for BLOCK: the pointer variable) */
    size_t size;      /* sizeof the variable */
    size_t elem;      /* element size, used to shuffle bytes before compression */
    size_t count;     /* BLOCK: elements behind the pointer, kept current at sites */
    const char *name; /* as written in the pragma, for messages and ckpt-info */
    unsigned kind;    /* enum ckpt_kind */
    unsigned reg;     /* registration point that binds it (1-based); 0 = unbound */
};

/* A function's record on the shadow stack.  Lives on the function's C stack. */
struct ckpt_frame {
    struct ckpt_frame *up;    /* caller's frame, or NULL */
    const char *func;         /* function name, checked when the frame is rebuilt */
    struct ckpt_var *vars;
    int nvars;
    int site;                 /* call site being executed; 0 = none yet */
    const uint64_t *live;     /* live[site]: mask of vars in scope at that site */
    int resume;               /* nonzero while this frame is being rebuilt */
    int step;                 /* libckpt's progress through the saved frame */
    void *saved;              /* libckpt's saved frame while rebuilding */
};

/* Frames (see above). */
void ckpt_enter(struct ckpt_frame *f, const char *func, struct ckpt_var *vars,
                int nvars, const uint64_t *live);
void ckpt_leave(struct ckpt_frame *f);
void ckpt_bind(struct ckpt_frame *f, int i, unsigned reg, void *addr, size_t size,
               size_t elem, size_t count, unsigned kind, const char *name);
int ckpt_resume_next(struct ckpt_frame *f);
/* Is func being entered to rebuild its saved frame?  The initializers of
 * its declarations before ckpt_enter then give way to the saved values. */
int ckpt_rebuilding(const char *func);
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void ckpt_resume_lost(struct ckpt_frame *f);

/* Globals, registered from a constructor ckpt-cc emits at the end of each file.
 * key is "file:name" so that equal names in two files stay apart.  For a
 * BLOCK global, count() gives the element count when the state is saved. */
void ckpt_global(const char *key, void *addr, size_t size, size_t elem, unsigned kind);
void ckpt_global_block(const char *key, void *addr, size_t elem, size_t (*count)(void));

/* A static local, registered by the code ckpt-cc puts after its declaration
 * the first time that runs: sets *once and returns 1.  A restarted task gets
 * the saved value back then. */
int ckpt_static(char *once, const char *key, void *addr, size_t size, size_t elem);

/* A file-scope `#pragma CKPT_NOSAVE(p)` of a pointer: the heap block *pp
 * points to when a checkpoint is taken is not saved (p itself is). */
void ckpt_nosave_global(const char *key, void **pp);

/* The program's main, renamed ckpt__main by ckpt-cc, is called through this
 * from the main ckpt-cc writes: on the stack at the address it had in the run
 * a restarted task was saved from (see runtime/layout.c). */
int ckpt_main(int (*entry)(int, char **, char **), int argc, char **argv, char **envp);

/* What pvm_recvf returns, as pvm3.h declares it: the return type of
 * ckpt_pvm_recvf in ckpt_pvm_calls.h, which needs a name for it. */
typedef int (*ckpt_pvm_recvf_ret)(int (*)(int, int, int));

/* `#pragma CKPT_NOSAVE(p)`: the heap block that holds p stays allocated across
 * a restart, at its address, but its bytes are not saved: it comes back
 * zero-filled (scratch space, caches).  A p outside the heap is ignored with
 * a warning. */
void ckpt_nosave(void *p);

/* `#pragma CKPT_CHECKPOINT`: an explicit safe point. */
void ckpt_checkpoint(void);

/* Nonzero when a checkpoint is asked for (ckpt-run signals the task): the
 * loops ckpt-cc instruments test it at the top of their body and call
 * ckpt_checkpoint() then (instrument/polls.c). */
extern volatile int ckpt_requested;

/* What the runtime has done so far in this task (also printed by CKPT_VERBOSE). */
struct ckpt_stats {
    uint64_t epoch;            /* last checkpoint taken */
    uint64_t checkpoints;      /* checkpoints taken by this task */
    uint64_t forced;           /* of which forced by an incoming message */
    uint64_t msgs_sent, msgs_received, duplicates_dropped;
    uint64_t log_entries, log_bytes, log_peak_bytes;
    uint64_t bytes_saved;      /* raw bytes in this task's last image */
    uint64_t last_stop_ns, max_stop_ns;   /* time the task stood still (the fork) */
};
void ckpt_get_stats(struct ckpt_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* CKPT_H */
