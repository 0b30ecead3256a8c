/*
 * outshare.h: ckpt-run's own lines in a file it shares with the job's root
 * task (`ckpt-run ... > log 2>&1`, or `2> log`).
 *
 * A restarted root cuts its stdout and stderr back to their length at the
 * checkpoint, so that what it printed after the checkpoint is not printed
 * twice.  ckpt-run's stderr is the root's stderr (the root inherits it), and
 * what ckpt-run wrote there after the mark would go with the cut.  So
 * ckpt-run records where each of its lines landed (one write() each), hands
 * the records to the restarted root (a file named by CKPT_OUTPUT_KEEP), and
 * the cut removes only the task's bytes: ckpt-run's lines that lay after the
 * mark are written again right after it, in their order, and the records
 * are updated to where they are now.
 *
 * A line's position is known to lie in [lo, hi]: ckpt-run reads the file
 * offset before and after its write, and a task writing at the same moment
 * can only push it later.  The cut finds the line by its bytes in that window.
 * No PVM here: linked by the runtime and ckpt-run.
 */
#ifndef CKPT_OUTSHARE_H
#define CKPT_OUTSHARE_H

#include <stdint.h>

struct ckpt_outline {
    int64_t lo, hi;         /* it starts somewhere in [lo, hi] */
    uint32_t len;
    char *bytes;
};
struct ckpt_outshare {
    uint64_t dev, ino;      /* the shared file */
    struct ckpt_outline *lines;
    int n, max;
};

/* Whether fd is the shared file. */
int ckpt_outshare_is(const struct ckpt_outshare *s, int fd);
/* Writes line (len bytes) to fd in one write() and records where it went. */
int ckpt_outshare_write_line(struct ckpt_outshare *s, int fd, const char *line, uint32_t len);
/* Cuts fd back to off, keeping the recorded lines that lay after off
 * (written again after it, in order); lines no longer found are forgotten. */
int ckpt_outshare_cut(struct ckpt_outshare *s, int fd, int64_t off);
/* The records as a file (written to path.tmp, then renamed), and back. */
int ckpt_outshare_save(const struct ckpt_outshare *s, const char *path);
int ckpt_outshare_load(struct ckpt_outshare *s, const char *path);
void ckpt_outshare_free(struct ckpt_outshare *s);

#endif /* CKPT_OUTSHARE_H */
