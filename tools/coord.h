/*
 * coord.h: the job coordinator inside ckpt-run.  It knows every task of the
 * job, runs the two phases of each checkpoint (request, tentative written,
 * commit), notices failures through pvm_notify and rolls the whole job back
 * to the last committed checkpoint.
 */
#ifndef CKPT_COORD_H
#define CKPT_COORD_H

#include "job.h"

void coord_catch_signals(void);
int coord_start(struct job *j);
int coord_loop(struct job *j);

#endif /* CKPT_COORD_H */
