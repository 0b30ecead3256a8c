/*
 * coordpriv.h: what the coordinator's modules share (coord.h is what
 * ckpt-run.c sees).  Each module owns one idea, and calls only downwards:
 *
 *   coord.c     the loop: signals, message dispatch, the job's start and end
 *   hosts.c     the virtual machine's hosts: joined, deleted, crashed
 *   tasks.c     the task table, and the senders not to report again
 *
 * The task table grows (tasks_add) while messages are handled: a struct
 * task pointer is good only until the next call that may handle one; hold
 * an index or a vtid across such calls.
 */
#ifndef CKPT_COORDPRIV_H
#define CKPT_COORDPRIV_H

#include "coord.h"

/* ------------------------------------------------------------ hosts.c */

/* Watches every host of the virtual machine, and each one that joins it. */
void hosts_watch(struct job *j);
/* PvmHostAdd: a host joined; it is watched too. */
void hosts_on_add(struct job *j, int bufid);
/* PvmHostDelete: the job's tasks on the lost host are T_KILLED; one of
 * them, as the failed task, else NULL. */
struct task *hosts_on_lost(struct job *j, int bufid);

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
