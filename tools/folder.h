/*
 * folder.h: whether a checkpoint folder may be used, and by whom.
 *
 * Whoever can write a checkpoint folder chooses what a restart runs and what
 * a job resumes from, so a folder is used only if the user running owns it
 * and no one else can write it or the folder it lies in (as ssh treats
 * ~/.ssh).  One ckpt-run at a time uses a folder: it holds a POSIX lock on
 * the folder's pid file (ckpt-run.pid) for its whole life.  The kernel drops
 * the lock when that process ends, however it ends, and tells anyone asking
 * which process holds it: a stale pid file names nobody.
 */
#ifndef CKPT_FOLDER_H
#define CKPT_FOLDER_H

#include <sys/types.h>

#define FOLDER_PIDFILE "ckpt-run.pid"

/* Opens folder dir (creating it, mode 0700, when create is set) and checks
 * that it may be trusted; returns its descriptor, or -1 after saying why on
 * stderr, each line starting with "prog: ". */
int folder_open(const char *prog, const char *dir, int create);
/* Locks the open folder dfd for the life of this process and writes our pid
 * into its pid file; returns the lock's descriptor (keep it open), or -1
 * after saying why (another ckpt-run, named by its pid, uses it). */
int folder_lock(const char *prog, const char *dir, int dfd);
/* The pid of the process that holds dfd's lock: 0 when none does (no job
 * runs there, whatever the pid file says), -1 with errno on error.  Not for
 * the holder itself: closing any descriptor of the file drops its lock. */
pid_t folder_holder(int dfd);

#endif /* CKPT_FOLDER_H */
