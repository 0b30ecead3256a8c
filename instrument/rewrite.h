/*
 * rewrite.h: the libclang rewriter behind ckpt-cc.
 *
 * ckpt_rewrite() parses one C source with the user's flags, finds the
 * functions that can reach a safe point, turns the CKPT_SAVE and
 * CKPT_CHECKPOINT pragmas into registration calls and labels every call site
 * a restarted task must be able to jump back to (see include/ckpt.h for the
 * shape of the emitted code).  The output keeps the user's line numbers.
 */
#ifndef CKPT_REWRITE_H
#define CKPT_REWRITE_H

struct rw_opts {
    const char *display;   /* name of the source in messages and #line (as the user wrote it) */
    const char *key;       /* prefix of global keys, "file.c" */
    int warn_unsaved;      /* -Wckpt-unsaved (default on) */
    int werror_unsaved;    /* -Werror=ckpt-unsaved */
    int explicit_state;    /* --ckpt-explicit: only what CKPT_SAVE names, as before 0.2 */
    int verbose;
};

/* Rewrites src into out.  args are the clang flags (no argv[0], no source).
 * Returns 0 on success; on an error prints `file:line:col: error: ...`
 * diagnostics to stderr, writes nothing and returns 1. */
int ckpt_rewrite(const char *src, const char *out, int nargs, const char *const *args,
                 const struct rw_opts *o);

#endif /* CKPT_REWRITE_H */
