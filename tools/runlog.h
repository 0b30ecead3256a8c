/*
 * runlog.h: ckpt-run's own lines on its stderr.  When that is a regular
 * file, the job's root task shares it (it inherits ckpt-run's stderr, and
 * its stdout too with `> log 2>&1`), and a restarted root cuts it back to its
 * length at the checkpoint: ckpt-run records where each of its lines went
 * and hands the records over, so that the cut keeps them (proto/outshare.h).
 */
#ifndef CKPT_RUNLOG_H
#define CKPT_RUNLOG_H

#include <stdint.h>

void runlog_setup(void);
void runlog_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How ckpt-run's modules say things: "ckpt-run: ...", one write per line. */
#define say(...) runlog_say(__VA_ARGS__)
/* A line a task's runtime said (relayed in its output under -n), as is. */
void runlog_relay(const char *text);
/* The file (in the checkpoint folder dir) to give a restarted root as
 * CKPT_OUTPUT_KEEP, or NULL when it shares no file with ckpt-run. */
const char *runlog_keep_file(const char *dir);
/* After a restart: where the root's cut moved our lines. */
void runlog_reload(void);
/* Cuts fd back to off, our own lines kept; 0 or -errno. */
int runlog_cut(int fd, int64_t off);

#endif /* CKPT_RUNLOG_H */
