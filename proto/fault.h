/*
 * fault.h: failure injection for tests (fault.c); inert unless CKPT_FAULT is set.
 */
#ifndef CKPT_FAULT_H
#define CKPT_FAULT_H

#include <stdint.h>

/* 1 the first time the fault what[:epoch] is asked for in the job's folder. */
int ckpt_fault(const char *dir, const char *what, uint64_t epoch);
/* 1 while the fault `what` (without an epoch) is set: it fires every time. */
int ckpt_fault_always(const char *what);
/* 1 while CKPT_HOLD names a file that exists: a leaving task waits. */
int ckpt_fault_holding(void);
/* Dies by SIGKILL right here when that fault is due. */
void ckpt_fault_die(const char *dir, const char *what, uint64_t epoch);

#endif /* CKPT_FAULT_H */
