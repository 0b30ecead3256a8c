/*
 * job.h: what the coordinator knows of the job: the options ckpt-run was
 * given, the job's tasks, the checkpoint in progress and the last
 * committed one, the summary's counters, and the clock they are timed by.
 * Every module of the coordinator reads and writes it; tasks.c owns the
 * table of tasks itself (coordpriv.h).
 */
#ifndef CKPT_JOB_H
#define CKPT_JOB_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "image.h"

enum task_state { T_ALIVE, T_EXITED, T_KILLED };

struct task {
    int vtid, tid, parent_vtid;
    pid_t pid;                  /* of the process, from its hello */
    int root;                   /* started by ckpt-run itself (fork/exec) */
    enum task_state state;
    int said_bye;
    int gone_told;              /* senders were told it left before a committed cut */
    uint64_t start_epoch;
    char **argv;                /* argv[0] is the executable's path */
    int argc;
    /* the checkpoint in progress */
    int expected, written;
    uint64_t raw, stored, log;
    uint32_t ms;
    uint32_t depth;            /* its image's: 0 full, else incremental on parent_epoch */
    uint64_t parent_epoch;
    long *cut;                  /* (peer vtid, in_seq) pairs at its cut */
    int ncut;
    /* left with messages in its log: its final image, carried by commits */
    int has_final;
    struct ckpt_commit_task final;
    long *sent;                 /* (peer vtid, out_seq) pairs at its exit */
    int nsent;
    /* restarted: the groups it was in, to rejoin in instance order */
    char **gnames;
    long *ginst;
    int ngroups;
    long joined;                /* instance it got back (CTL_JOINED), -1 while waiting */
    /* --host-local: the hosts (pvmd tids, 0: none) whose folders hold its
     * image, the writer's first, then its partner's (copies.c) */
    int held[2];                /* of the last committed checkpoint */
    int wheld[2], copied;       /* of the one in progress; the partner's copy is durable */
    int fheld[2], fcopied;      /* of its final image */
};

struct job_opts {
    char **argv;                /* program and arguments */
    int ntasks;                 /* -n: sibling copies spawned through PVM; 0: run directly */
    double interval;            /* seconds between checkpoints, 0: none by time */
    double stall;               /* seconds a checkpoint may take before it is reported and aborted */
    double host_timeout;        /* seconds without a heartbeat before a host is lost; 0: none */
    char dir[4096];
    int level;                  /* zlib level, -1: auto */
    int keep, max_restarts, verbose;
    const char *restart_dir;    /* --restart */
    uint64_t epoch;             /* --epoch: restart from it (has_epoch) */
    int has_epoch;
    int chain;                  /* --chain: images per chain of incremental ones */
    int host_local;             /* --host-local: dir is on each host's own disk (copies.c) */
    const char *hostfile;       /* --hostfile */
    char **spares;              /* its '&' hosts (NULL-terminated), else NULL */
};

struct job {
    struct job_opts o;
    struct ckpt_job rec;        /* the folder's job record: rec.id is this job's id */
    int mytid;
    struct task *tasks;
    int ntasks, maxtasks;
    uint64_t next_epoch;        /* epochs only grow, even across aborts and recoveries */
    uint64_t pending;           /* checkpoint in progress, 0 when none */
    uint64_t pending_start_ns;
    int nudged;                 /* its tasks still computing were signalled (SIGURG) */
    uint64_t committed;         /* last committed epoch, 0 when none */
    double committed_at;        /* monotonic seconds when it was committed */
    double started_at;
    double last_ckpt;           /* monotonic seconds of the last checkpoint start */
    pid_t root_pid;             /* ckpt-run's child running the program directly */
    int root_status, root_done;
    int64_t out_start;          /* stdout length when the job started (regular file) */
    int *used;                  /* every virtual id a task of the job has had */
    int nused, maxused;
    /* summary */
    int checkpoints, aborted, recoveries;
    uint64_t bytes_raw, bytes_stored;
    double lost_s, recovery_s;
    int failed;                 /* gave up */
};

/* Monotonic seconds: every time in struct job is taken on this clock. */
static inline double job_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* CKPT_JOB_H */
