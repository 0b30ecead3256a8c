/*
 * sections.h: the records inside a task image's sections (format/FORMAT.md).
 * The runtime writes and reads them (runtime/state.c); ckpt-info decodes them.
 * Native byte order and alignment: an image is restored on the machine kind
 * that wrote it.
 */
#ifndef CKPT_STATE_H
#define CKPT_STATE_H

#include <stdint.h>

#define STATE_VERSION 7   /* 7: the HEAP sections, frame <libc>, the layout in META,
                             the FILES section */
#define PAD8(n) (((uint64_t)(n) + 7u) & ~(uint64_t)7u)

struct meta_rec {
    uint32_t version;
    int32_t vtid, tid, parent_vtid;
    uint64_t epoch, safepoints;
    int64_t out_off[3];
    uint64_t exe_start, exe_end;
    int32_t npeers, ctx;       /* ctx: the application's message context */
    uint64_t match_fn;         /* its pvm_recvf function, 0: none */
    int32_t nhandlers, ngroups;
    int32_t ctx_made;          /* the highest context the task got from pvm_newcontext */
    int32_t nnotifies;         /* pvm_notify requests not answered yet (version 6) */
    int32_t leaving;           /* saved on its way out through exit(): the status + 1, else 0 */
    int32_t pad;
    uint64_t libc_at;          /* where the C library's stdout is (version 7) */
    uint64_t main_sp;          /* the stack address main runs at (version 7, layout.c) */
    uint64_t argv_at;          /* main's copy of argv and envp, in the heap (version 7) */
    /* npeers peer_rec, then nhandlers handler_rec, then ngroups group_rec,
       then nnotifies notify_rec */
};
struct peer_rec {
    int32_t vtid, tid, instrumented, sibling;
    uint64_t out_seq, marked_epoch, in_seq, acked;
};
struct handler_rec {      /* pvm_addmhf */
    int32_t id, src, tag, ctx;
    uint64_t fn;
};
struct group_rec {        /* pvm_joingroup */
    int32_t inst, pad;
    char name[120];
};
struct notify_rec {       /* pvm_notify (version 6) */
    int32_t what, tag, ctx, vtid;   /* vtid: a task's virtual id, or a pvmd's id */
    int32_t count, pad;             /* PvmHostAdd: notices still to come, -1 for ever */
};
struct frame_rec {
    int32_t depth, site, nvars, pad;
};
struct var_rec {
    int32_t i, reg, kind, pad;
    uint64_t size, elem, count, old_addr, old_block;
    char name[128];
};
#define APPBUF_SEND 1     /* "application buffers": the active send buffer */
#define APPBUF_RECV 2     /* the active receive buffer */
struct msg_rec {          /* a logged or queued message, or a buffer; its bytes follow */
    uint64_t seq;
    int32_t peer;          /* LOG: receiver vtid; QUEUE: sender vtid; buffers: its id
                              (then seq: a received one's sender vtid << 32 | its tag) */
    int32_t tag, enc, len;
    int32_t ctx;           /* the message context it was sent in */
    int32_t upos;          /* buffers: encoded bytes the application had unpacked */
    int32_t notice;        /* QUEUE: a pvm_notify notice's kind, 0 for a message (version 6) */
    int32_t subject;       /* QUEUE: the virtual task id a notice names */
};

/* HEAP "arena" (runtime/heap.c): the heap arena's extent and every block of
 * it, then one HEAP "blocks" section per run of saved blocks. */
#define HEAP_VERSION 1
struct heap_rec {
    uint32_t version;          /* HEAP_VERSION */
    uint32_t nclasses;         /* small size classes: the free lists that follow */
    uint64_t base;             /* the arena's address */
    uint64_t top;              /* bytes the blocks tile from base */
    uint64_t mapped;           /* bytes mapped from base */
    uint64_t nblocks;          /* heap_blk_rec records */
    uint64_t nfree;            /* free-list entries (offsets) */
    uint64_t nruns;            /* HEAP "blocks" sections that follow */
    uint64_t cons_floor;       /* the allocator's merge threshold (runtime/heap.c) */
    /* nclasses u64 free-list lengths, nblocks heap_blk_rec, nfree u64 offsets
       (the free lists' blocks, class by class, each list head first) */
};
struct heap_blk_rec {          /* one block, in address order */
    uint64_t off;              /* from base */
    uint64_t size;             /* bytes, its 16-byte header included */
    uint16_t cls;              /* size class; nclasses for a large block */
    uint16_t flags;            /* 1 live, 2 not saved (ckpt_nosave) */
    uint32_t delta;            /* from the block to the pointer the program holds */
};
struct heap_view {
    const struct heap_rec *h;
    const uint64_t *counts;            /* nclasses */
    const struct heap_blk_rec *blocks; /* nblocks */
    const uint64_t *free_offs;         /* nfree */
};
/* The records of a HEAP "arena" section, in place: 0, or -EINVAL when its
 * version is not HEAP_VERSION or its lengths do not add up. */
int ckpt__heap_view(const void *data, uint64_t len, struct heap_view *v);

/* FILES "open" (runtime/files.c): the files the program had open at the
 * checkpoint (fds made by its instrumented code), then its FILE streams. */
#define FILES_VERSION 1
struct files_rec {
    uint32_t version;          /* FILES_VERSION */
    uint32_t nfds;             /* file_fd_rec records, each followed by its path */
    uint32_t nstreams;         /* file_stream_rec records, after the last path */
    uint32_t pad;
};
enum {
    FILE_KIND_FILE = 1,        /* reopened by path: a regular file, a device, a folder */
    FILE_KIND_PIPE = 2,        /* not restored (reported at the checkpoint): */
    FILE_KIND_SOCKET = 3,
    FILE_KIND_POPEN = 4,
    FILE_KIND_OTHER = 5,
};
#define FILES_PATH_MAX 4096    /* most bytes of a path, its NUL included */
struct file_fd_rec {
    int32_t fd;
    int32_t kind;              /* FILE_KIND_* */
    int32_t flags;             /* fcntl(F_GETFL) at the checkpoint */
    int32_t fdflags;           /* fcntl(F_GETFD): FD_CLOEXEC */
    uint32_t desc;             /* the open file description (fds of one dup share it) */
    uint32_t pathlen;          /* bytes of path that follow (NUL included), padded to 8 */
    int64_t pos;               /* the offset at the checkpoint, -1: none */
    int64_t size;              /* a regular file open for writing: its length, else -1 */
};
#define FILE_STREAM_EOF 1      /* feof() was true */
#define FILE_STREAM_ERR 2      /* ferror() was true */
#define FILE_STREAM_ARENA 4    /* the FILE lies in the heap arena (put back there) */
struct file_stream_rec {
    uint64_t addr;             /* the FILE * the program holds */
    int32_t fd;                /* fileno() */
    int32_t flags;             /* FILE_STREAM_* */
    int64_t pos;               /* ftello() at the checkpoint (after fflush), -1: none */
    char mode[16];             /* the mode it was opened with, NUL-terminated */
};
struct files_view {
    const struct files_rec *h;
    const unsigned char *fds;              /* the first file_fd_rec */
    const struct file_stream_rec *streams; /* nstreams */
};
/* The records of a FILES section, in place: 0, or -EINVAL when its version
 * is not FILES_VERSION or its lengths and paths do not add up. */
int ckpt__files_view(const void *data, uint64_t len, struct files_view *v);
/* The fd record at *off from v->fds (0 first) and its path; *off moves on. */
const struct file_fd_rec *ckpt__files_fd(const struct files_view *v, uint64_t *off,
                                         const char **path);

/* The records of a META section, in place: 0, or -EINVAL when its version is
 * not STATE_VERSION or its lengths do not add up. */
struct meta_view {
    const struct meta_rec *m;
    const struct peer_rec *peers;
    const struct handler_rec *handlers;
    const struct group_rec *groups;
    const struct notify_rec *notifies;
};
int ckpt__meta_view(const void *data, uint64_t len, struct meta_view *v);
/* The records of a FRAME section, in place: 0, or -EINVAL if malformed. */
int ckpt__frame_view(const void *data, uint64_t len, const struct frame_rec **fr,
                     const struct var_rec **vars);

/* Walks the entries of a saved LOG or QUEUE section (format/sections.c): 1 and
 * the next record and its bytes, 0 at the end, <0 if malformed. */
int ckpt__msg_rec_next(const void *data, uint64_t len, uint64_t *off,
                       const struct msg_rec **rec, const void **bytes);

#endif /* CKPT_STATE_H */
