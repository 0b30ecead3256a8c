/*
 * coordpriv.h: what the coordinator's modules share (coord.h is what
 * ckpt-run.c sees).  Each module owns one idea, and calls only modules
 * below it in this list:
 *
 *   coord.c     the loop: signals, the job's start and end, checkpoints
 *               by interval or on demand, a recovery when a task failed
 *   recovery.c  the job's processes: started, killed, rolled back, --restart
 *   dispatch.c  each message received, handed to the module it concerns
 *   members.c   who belongs to the job: hellos, spawned tasks, virtual ids
 *   rounds.c    checkpoint rounds: request, written, commit, abort, stall
 *   copies.c    host-local folders: partner copies, records, pruning there
 *   hosts.c     the virtual machine's hosts: joined, deleted, crashed
 *   tasks.c     the task table, and the senders not to report again
 *   job.h       struct job and struct task, and job_now(), their clock
 *
 * A phase that waits on the tasks (recovery) has their messages handled
 * through dispatch.c, below it; what a failure means is decided by whoever
 * waits, so nothing here calls back up.
 *
 * The task table grows (tasks_add) while messages are handled: a struct
 * task pointer is good only until the next call that may handle one; hold
 * an index or a vtid across such calls.
 */
#ifndef CKPT_COORDPRIV_H
#define CKPT_COORDPRIV_H

#include "job.h"

/* ------------------------------------------------------------ recovery.c */

/* Starts the job from its beginning. */
int recovery_launch_fresh(struct job *j);
/* --restart: from the folder's newest checkpoint that restarts; 0, or -1. */
int recovery_restart(struct job *j);
/* Rolls the job back after the failure what; 0 when it runs again. */
int recovery_rollback(struct job *j, const char *what);
/* Kills every live task, and the program we run. */
void recovery_kill_all(struct job *j);
/* Notes the end of the program we run (waiting for it when block). */
void recovery_reap_root(struct job *j, int block);

/* ------------------------------------------------------------ dispatch.c */

/* Handles the message bufid (not freed); returns a task that failed, else
 * NULL.  It may move j->tasks. */
struct task *dispatch_message(struct job *j, int bufid);
/* Handles what comes within 0.1 s, for a phase that waits on the tasks;
 * returns a task that failed meanwhile, else NULL.  It may move j->tasks. */
struct task *dispatch_next(struct job *j);

/* ------------------------------------------------------------ members.c */

/* The live task at tid, made a member if it was not; may move j->tasks. */
struct task *members_add(struct job *j, int tid, int parent_vtid, uint64_t start_epoch);
/* Values v[n] of a hello from src (CTL_HELLO), of the tids pvm_spawn gave
 * a task of the job (CTL_SPAWNED), of a question about a peer (CTL_WHO).
 * The first two may move j->tasks. */
void members_on_hello(struct job *j, int src, int bufid, const long *v, int n);
void members_on_spawned(struct job *j, struct task *parent, const long *v, int n);
void members_on_who(struct job *j, int asker, const long *v, int n);

/* ------------------------------------------------------------ rounds.c */

/* Starts a checkpoint, unless one is under way or no task is alive. */
void rounds_request(struct job *j);
/* Drops the checkpoint in progress, if any, telling the live tasks when
 * tell; why (NULL: no failure, the job moved on) is said and counted. */
void rounds_abort(struct job *j, const char *why, int tell);
/* A new member: one started before the pending checkpoint is asked for it. */
void rounds_take_in(struct job *j, struct task *t);
/* Task t said goodbye and exited: the pending checkpoint goes on without it. */
void rounds_left(struct job *j, struct task *t);
/* CTL_WRITTEN and CTL_WFAIL from task t, values v[n]. */
void rounds_on_written(struct job *j, struct task *t, const long *v, int n);
void rounds_on_wfail(struct job *j, const struct task *t, const long *v, int n);
/* Aborts the pending checkpoint once it has taken longer than --stall. */
void rounds_check_stall(struct job *j);
void rounds_nudge(struct job *j);

/* A partner's copy is durable (copies.c): the pending checkpoint may commit. */
void rounds_on_copied(struct job *j);

/* ------------------------------------------------------------ copies.c */

/* With --host-local, each image task t wrote on another host than ours (its
 * final one when final) is copied to our host by the ckpt-beats of both
 * (tools/store.c); a checkpoint commits once every copy is durable.
 * Without it, all of these do nothing and copies_done is true. */
void copies_ship(struct job *j, struct task *t, int final);
int copies_done(const struct job *j, const struct task *t);
/* A ckpt-beat's report from src: 1 when a copy of the pending checkpoint
 * became durable, -1 when it failed (why says how: the checkpoint is to be
 * aborted), else 0. */
int copies_on_stored(struct job *j, int src, int bufid, char *why, size_t len);
/* Checkpoint k committed with t in it: what held its image holds it now. */
void copies_committed(struct task *t, int final);
/* What the commit of epoch does on the other hosts: a carried final image
 * linked in, an epoch dropped, epochs pruned, a final image let go. */
void copies_link_final(struct job *j, const struct task *t, uint64_t epoch);
void copies_drop(struct job *j, uint64_t epoch);
void copies_prune(struct job *j, uint64_t newest, const uint64_t *kept, int n);
void copies_unfinal(struct job *j, const struct task *t);
/* Where task t restarts from the last committed checkpoint: the host that
 * wrote its image if it is alive and PVM has settled, else ours, which
 * holds a copy (pvmd tid); 0 if neither has it. */
int copies_host_for(const struct job *j, const struct task *t);
/* Writes the commit records of k, and of the epochs its images build on, on
 * hosts dtids[n] (their ckpt-beats), and waits until they are durable: a
 * restarted task checks its image against them.  0, or -1. */
int copies_records(struct job *j, uint64_t k, const int *dtids, int n);

/* ------------------------------------------------------------ hosts.c */

/* Watches every host of the virtual machine, and each one that joins it. */
void hosts_watch(struct job *j);
/* Adds --hostfile's spare hosts to the virtual machine (once the job's
 * first tasks were spawned, away from them). */
void hosts_add_spares(struct job *j);
/* PvmHostAdd: a host joined; it is watched too. */
void hosts_on_add(struct job *j, int bufid);
/* PvmHostDelete: the job's tasks on the lost host are T_KILLED; one of
 * them, as the failed task, else NULL. */
struct task *hosts_on_lost(struct job *j, int bufid);
/* A heartbeat from src (ckpt-beat), and the end of one (its exit notice). */
void hosts_on_beat(struct job *j, int src);
void hosts_on_beat_end(struct job *j, int bufid);
/* A host silent for --host-timeout is deleted and lost: one of the job's
 * tasks it took with it, as the failed task, else NULL. */
struct task *hosts_check(struct job *j);
void hosts_stop_beats(void);   /* the job is over */
/* The job's tasks on every other host are SIGKILLed by that host's
 * ckpt-beat too, which ckpt-run reaches directly: pvm_kill goes through the
 * pvmds, seconds late after a host was lost silently. */
void hosts_fence(struct job *j);
/* The name of the host task tid runs on, "" if it is not known. */
const char *hosts_name_of(int tid);
/* Where task vtid goes when it is restarted (0: the copies of a fresh
 * start).  "" (PVM chooses) while no host was lost, and for every fresh
 * start (its copies are siblings of one pvm_spawn); a lost host's tasks to
 * the spare that took them; while a spare waits or after a loss, each live
 * host but spares in turn, since PVM may place tasks on a lost host until
 * its own time-out has taken it out of the virtual machine; our own host
 * for a while after a host went silent (hosts.c). */
const char *hosts_place(struct job *j, int vtid);
/* A host by its pvmd tid: its ckpt-beat's tid (0: none); whether it is
 * still in the virtual machine. */
int hosts_beat_of(int dtid);
int hosts_alive(int dtid);
/* The ckpt-beats of the live hosts but ours, into beats[max]: how many. */
int hosts_other_beats(const struct job *j, int *beats, int max);
/* Whether a host was lost silently less than about 200 s ago: PVM's own
 * time-out for it still runs, and meanwhile the master pvmd's traffic with
 * every other remote host crawls (hosts.c). */
int hosts_unsettled(void);

/* ------------------------------------------------------------ tasks.c */

struct task *tasks_by_tid(struct job *j, int tid);
struct task *tasks_by_vtid(struct job *j, int vtid);
/* A new task with virtual id vtid, zeroed; may move j->tasks. */
struct task *tasks_add(struct job *j, int vtid);
/* Frees what t holds; what its tid still sends is not reported. */
void tasks_drop(struct task *t);
int tasks_alive(const struct job *j);
/* PVM lets any task of the user send us anything (README, trust model):
 * what src may not send is dropped, and said once per sender. */
void tasks_refuse(int src, const char *what);

#endif /* CKPT_COORDPRIV_H */
