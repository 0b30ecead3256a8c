/*
 * output.h: the stdout of `ckpt-run -n` tasks, collected and written once
 * (output.c).
 */
#ifndef CKPT_OUTPUT_H
#define CKPT_OUTPUT_H

#include <stdint.h>

void output_setup(int mytid, int tag);        /* before spawning the tasks */
void output_message(int bufid);               /* a PVM output message */
void output_known(int tid, int vtid);         /* a task said hello */
void output_rollback(uint64_t epoch);         /* the job goes back to epoch (0: start) */
void output_ended(int tid);                    /* its stream ends now (its host is gone) */
int output_open(void);                        /* streams whose end has not come yet */
void output_flush(void);

#endif /* CKPT_OUTPUT_H */
