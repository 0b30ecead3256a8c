/*
 * proto.h: the runtime's control messages, between tasks and with the
 * coordinator (ckpt-run).  They travel under one reserved tag that the
 * runtime takes off the wire before application matching ever sees it.
 * Body (PvmDataDefault): int magic, int version, int type, int n, then n longs.
 */
#ifndef CKPT_PROTO_H
#define CKPT_PROTO_H

/* Reserved tags; applications must not use them. */
#define CKPT_CTL_TAG 0x7ffc4b50       /* control messages */
#define CKPT_NOTIFY_TAG (CKPT_CTL_TAG + 1)      /* a task's exit, to the coordinator */
#define CKPT_OUTPUT_TAG (CKPT_CTL_TAG + 2)      /* tasks' stdout, to ckpt-run -n */
#define CKPT_COORD_LOST_TAG (CKPT_CTL_TAG + 3)  /* the coordinator's exit, to tasks */
#define CKPT_HOSTDEL_TAG (CKPT_CTL_TAG + 4)     /* a host left the virtual machine, to the coordinator */
#define CKPT_HOSTADD_TAG (CKPT_CTL_TAG + 5)     /* hosts joined the virtual machine, to the coordinator */
#define CKPT_BEAT_TAG (CKPT_CTL_TAG + 6)        /* a host's heartbeat (ckpt-beat), to the coordinator;
                                                   from it, the order to stop */
#define CKPT_BEATEND_TAG (CKPT_CTL_TAG + 7)     /* a ckpt-beat's exit, to the coordinator */
/* Host-local folders (ckpt-run --host-local; tools/store.c, tools/copies.c):
 * the coordinator's orders to a host's ckpt-beat, a file's copy between two
 * ckpt-beats, and a ckpt-beat's report of an order carried out.  Every body
 * (PvmDataDefault) starts with CKPT_STORE_HEAD longs: op, vtid, final (1:
 * the task's final image, else the image of epoch), epoch, err (-errno),
 * arg, n; n bytes follow (a record, a piece of a file). */
#define CKPT_STORE_TAG (CKPT_CTL_TAG + 8)       /* an order, coordinator to ckpt-beat */
#define CKPT_COPY_TAG (CKPT_CTL_TAG + 9)        /* a piece of a file, ckpt-beat to ckpt-beat
                                                   (arg: 1 on the last piece), and back
                                                   STORE_ACK: written (err 0), send the next */
#define CKPT_STORED_TAG (CKPT_CTL_TAG + 10)     /* done (err 0) or failed, ckpt-beat to coordinator */
#define CKPT_STORE_HEAD 7
/* From the coordinator to a host's ckpt-beat: pids (ints: count, then pids)
 * of the job's tasks there to SIGKILL, each only if its pvmd started it. */
#define CKPT_FENCE_TAG (CKPT_CTL_TAG + 11)
enum ckpt_store_op {
    STORE_SHIP = 1,   /* copy the image to the ckpt-beat of tid arg (its report: STORED) */
    STORE_RECORD,     /* the commit record of epoch follows: write it (reported) */
    STORE_LINK,       /* put the final image of vtid into epoch (a link) */
    STORE_DROP,       /* remove epoch */
    STORE_PRUNE,      /* remove epochs older than epoch but those that follow (longs) */
    STORE_UNFINAL,    /* remove the final image of vtid */
    STORE_ACK,        /* a piece written (CKPT_COPY_TAG) */
};
/* A pvmd's task id has no local part (PVM's TIDLOCAL bits): notices
 * (pvm_notify) and collected output come from a pvmd, and no task can send
 * under such an id, since its pvmd stamps the source of what it sends. */
#define CKPT_FROM_PVMD(tid) (((tid) & 0x3ffff) == 0)
#define CKPT_CTL_MAGIC 0x434b5054     /* "CKPT" */
#define CKPT_CTL_VERSION 1
#define CKPT_CTL_MAX 65536            /* longs in one control message */
#define CKPT_SEQ_GONE (-1L)           /* CTL_COMMIT: the receiver exited before the cut */

#define CTL_WRITTEN_HEAD 8

enum ckpt_ctl {
    /* task -> coordinator */
    CTL_HELLO = 1,    /* vtid, tid, parent (vtid; a fresh task: its tid), pid, start epoch,
                         restored epoch, argc, ngroups, nsiblings, then ngroups instance
                         numbers, then a fresh task's siblings' tids; argv and the group
                         names follow as strings.  A fresh task waits for CTL_WELCOME */
    CTL_WRITTEN = 2,  /* epoch, raw, stored, log bytes, write ms, flags, depth, parent epoch
                         (CTL_WRITTEN_HEAD values), then (vtid, in_seq) pairs; flags
                         CKPT_IMG_F_EXITED: the final image, with (vtid, out_seq) pairs */
    CTL_WFAIL = 3,    /* epoch, -errno */
    CTL_BYE = 4,      /* vtid: exits normally (acknowledged with CTL_LEFT) */
    CTL_WHO = 5,      /* tid: is it a task of the job? */
    CTL_JOINED = 6,   /* index, instance: rejoined the group named in its hello */
    CTL_SPAWNED = 7,  /* epoch, then tids: tasks just spawned, members of the job from now
                         on (answered with CTL_VTIDS) */
    /* coordinator -> task */
    CTL_REQ = 10,     /* epoch */
    CTL_COMMIT = 11,  /* epoch, then (receiver vtid, consumed seq) pairs for this sender;
                         seq CKPT_SEQ_GONE: that receiver has left the job for good */
    CTL_ABORT = 12,   /* epoch */
    CTL_MAP = 13,     /* (vtid, tid) pairs: the job's tasks and where they live now */
    CTL_END = 14,     /* the job is over: no more checkpoints, carry on alone */
    CTL_WHO_IS = 15,  /* tid, 1 if a task of the job (else 0): answers CTL_WHO */
    CTL_JOIN = 16,    /* index: rejoin the group of that place in your hello, now */
    CTL_LEFT = 17,    /* vtid: its CTL_BYE is noted, the task may go */
    CTL_WELCOME = 18, /* vtid, parent vtid, then (tid, vtid) pairs of its siblings: answers
                         a fresh task's CTL_HELLO; with no values: not a task of this job
                         (started by a plain task), it runs as a plain PVM task */
    CTL_VTIDS = 19,   /* (tid, vtid) pairs: answers CTL_SPAWNED */
    /* task -> task */
    CTL_MARK = 20,    /* epoch: messages after this one were sent in that epoch */
    CTL_REPLAY = 21,  /* first seq: the sender's next messages restart at that number */
    CTL_ACK = 22,     /* seq, epoch: taken up to seq, all of it while in that epoch */
};

/* ctl.c */
int ckpt__ctl_send(int tid, int type, const long *v, int n, char **strs, int nstr);
/* Decodes control message bufid into v[0..*n); returns its type or <0. */
int ckpt__ctl_decode(int bufid, long *v, int max, int *n);
int ckpt__ctl_strings(int bufid, char **out, int n);

#endif /* CKPT_PROTO_H */
