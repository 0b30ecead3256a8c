/*
 * ckpt_pvm_calls.h: the PVM calls libckpt wraps, one line each.
 *
 *   CKPT_PVM_CALL(name, return type, parameters, safe point)
 *
 * declares pvm_<name>'s twin ckpt_pvm_<name> (same signature, same semantics
 * as PVM documents).  "safe point" is 1 when the runtime may take a
 * checkpoint inside the call: the communication calls, pvm_exit (which takes
 * a requested checkpoint and leaves a final image before the task goes), and
 * the group membership calls, which a program may loop over without any
 * other.  ckpt-cc makes every function that can reach one of them resumable.
 *
 * An X-macro table: define CKPT_PVM_CALL, include this file, undefine it.
 * ckpt_pvm.h makes the prototypes of it, ckpt_pvm_renames.c writes the
 * renames (`#define pvm_<name> ckpt_pvm_<name>`, which a macro cannot) into
 * the generated ckpt_pvm_renames.h that ckpt_pvm.h includes, runtime/rt.h
 * makes the same prototypes for the wrappers' definitions, and the rewriter
 * its list of safe points.  To wrap another call: a line here and its
 * ckpt_pvm_<name> in runtime/.  Types the table needs a name for are in
 * ckpt.h.
 */
CKPT_PVM_CALL(mytid, int, (void), 0)
CKPT_PVM_CALL(parent, int, (void), 0)
CKPT_PVM_CALL(siblings, int, (int **tids), 0)
CKPT_PVM_CALL(spawn, int, (char *file, char **argv, int flag, char *where, int count, int *tids), 0)
CKPT_PVM_CALL(exit, int, (void), 1)
CKPT_PVM_CALL(kill, int, (int tid), 0)
CKPT_PVM_CALL(notify, int, (int what, int msgtag, int count, int *tids), 0)

CKPT_PVM_CALL(initsend, int, (int encoding), 0)
CKPT_PVM_CALL(freebuf, int, (int bufid), 0)
CKPT_PVM_CALL(send, int, (int tid, int msgtag), 1)
CKPT_PVM_CALL(mcast, int, (int *tids, int count, int msgtag), 1)
CKPT_PVM_CALL(psend, int, (int tid, int msgtag, void *buf, int len, int datatype), 1)

CKPT_PVM_CALL(recv, int, (int tid, int msgtag), 1)
CKPT_PVM_CALL(nrecv, int, (int tid, int msgtag), 1)
CKPT_PVM_CALL(trecv, int, (int tid, int msgtag, struct timeval *tmout), 1)
CKPT_PVM_CALL(probe, int, (int tid, int msgtag), 1)
CKPT_PVM_CALL(precv, int, (int tid, int msgtag, void *buf, int len, int datatype, int *rtid, int *rtag, int *rlen), 1)
CKPT_PVM_CALL(bufinfo, int, (int bufid, int *bytes, int *msgtag, int *tid), 0)
CKPT_PVM_CALL(getminfo, int, (int bufid, struct pvmminfo *info), 0)
CKPT_PVM_CALL(newcontext, int, (void), 0)
CKPT_PVM_CALL(setcontext, int, (int ctx), 0)
CKPT_PVM_CALL(addmhf, int, (int src, int tag, int ctx, int (*f)(int)), 0)
CKPT_PVM_CALL(delmhf, int, (int id), 0)
CKPT_PVM_CALL(tasks, int, (int where, int *ntask, struct pvmtaskinfo **taskp), 0)
CKPT_PVM_CALL(recvf, ckpt_pvm_recvf_ret, (int (*f)(int, int, int)), 0)

/* groups (libgpvm3) */
CKPT_PVM_CALL(joingroup, int, (char *group), 1)
CKPT_PVM_CALL(lvgroup, int, (char *group), 1)
CKPT_PVM_CALL(gettid, int, (char *group, int inst), 0)
CKPT_PVM_CALL(getinst, int, (char *group, int tid), 0)
CKPT_PVM_CALL(barrier, int, (char *group, int count), 1)
CKPT_PVM_CALL(bcast, int, (char *group, int msgtag), 1)
CKPT_PVM_CALL(reduce, int, (void (*func)(int *, void *, void *, int *, int *), void *data, int count, int datatype, int msgtag, char *group, int root), 1)
CKPT_PVM_CALL(gather, int, (void *result, void *data, int count, int datatype, int msgtag, char *group, int root), 1)
CKPT_PVM_CALL(scatter, int, (void *result, void *data, int count, int datatype, int msgtag, char *group, int root), 1)
