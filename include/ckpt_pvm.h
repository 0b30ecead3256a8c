/*
 * ckpt_pvm.h: routes an instrumented program's PVM calls through libckpt.
 *
 * ckpt-cc puts `#include <ckpt_pvm.h>` at the top of each rewritten source.
 * pvm3.h is included first with the real names, then each call libckpt wraps
 * is renamed to its ckpt_ twin (same signature, same semantics as PVM
 * documents), so calls hidden in the program's own macros, and the address
 * of a PVM function, are covered too.  The calls are listed in
 * ckpt_pvm_calls.h.
 */
#ifndef CKPT_PVM_H
#define CKPT_PVM_H

#include <stdio.h>   /* before pvm3.h, which declares pvm_catchout only after EOF */
#include <sys/time.h>
#include <pvm3.h>
#include "ckpt.h"

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

/* Every call of ckpt_pvm_calls.h, renamed (tests/unit/c89.c checks none is missing). */
#define pvm_mytid ckpt_pvm_mytid
#define pvm_parent ckpt_pvm_parent
#define pvm_siblings ckpt_pvm_siblings
#define pvm_spawn ckpt_pvm_spawn
#define pvm_exit ckpt_pvm_exit
#define pvm_kill ckpt_pvm_kill
#define pvm_notify ckpt_pvm_notify
#define pvm_initsend ckpt_pvm_initsend
#define pvm_freebuf ckpt_pvm_freebuf
#define pvm_send ckpt_pvm_send
#define pvm_mcast ckpt_pvm_mcast
#define pvm_psend ckpt_pvm_psend
#define pvm_recv ckpt_pvm_recv
#define pvm_nrecv ckpt_pvm_nrecv
#define pvm_trecv ckpt_pvm_trecv
#define pvm_probe ckpt_pvm_probe
#define pvm_precv ckpt_pvm_precv
#define pvm_bufinfo ckpt_pvm_bufinfo
#define pvm_getminfo ckpt_pvm_getminfo
#define pvm_setcontext ckpt_pvm_setcontext
#define pvm_newcontext ckpt_pvm_newcontext
#define pvm_addmhf ckpt_pvm_addmhf
#define pvm_delmhf ckpt_pvm_delmhf
#define pvm_tasks ckpt_pvm_tasks
#define pvm_recvf ckpt_pvm_recvf
#define pvm_joingroup ckpt_pvm_joingroup
#define pvm_lvgroup ckpt_pvm_lvgroup
#define pvm_gettid ckpt_pvm_gettid
#define pvm_getinst ckpt_pvm_getinst
#define pvm_barrier ckpt_pvm_barrier
#define pvm_bcast ckpt_pvm_bcast
#define pvm_reduce ckpt_pvm_reduce
#define pvm_gather ckpt_pvm_gather
#define pvm_scatter ckpt_pvm_scatter

#endif /* CKPT_PVM_H */
