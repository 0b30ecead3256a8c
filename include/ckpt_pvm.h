/*
 * ckpt_pvm.h: routes an instrumented program's PVM calls through libckpt.
 *
 * ckpt-cc puts `#include <ckpt_pvm.h>` at the top of each rewritten source.
 * pvm3.h is included first with the real names, then each call libckpt wraps
 * is renamed to its ckpt_ twin (same signature, same semantics as PVM
 * documents), so calls hidden in the program's own macros, and the address
 * of a PVM function, are covered too.  The calls are listed in
 * ckpt_pvm_calls.h, which gives both the prototypes and the renames.
 */
#ifndef CKPT_PVM_H
#define CKPT_PVM_H

#include <stdio.h>   /* before pvm3.h, which declares pvm_catchout only after EOF */
#include <sys/time.h>
#include <pvm3.h>
#include "ckpt.h"
#include "ckpt_libc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* int ckpt_pvm_send(int tid, int msgtag); and the others */
#define CKPT_PVM_CALL(name, ret, params, safe) ret ckpt_pvm_##name params;
#include "ckpt_pvm_calls.h"
#undef CKPT_PVM_CALL

#ifdef __cplusplus
}
#endif

/* #define pvm_send ckpt_pvm_send, and every other call of the table: generated from
 * it at build time (ckpt_pvm_renames.c), as a macro cannot write a #define */
#include "ckpt_pvm_renames.h"

#endif /* CKPT_PVM_H */
