/*
 * image.h: the on-disk formats of ckpt, the format library's public header
 * (format/: no PVM; every byte in FORMAT.md): task images (image.c), commit
 * and job records (record.c), the folder layout (layout.c).
 *
 * A checkpoint directory (CKPT_DIR) holds one folder per epoch:
 *
 *   CKPT_DIR/epoch.<k>/task.<vtid as 8 hex digits>.img   one per task
 *   CKPT_DIR/epoch.<k>/commit                            written last, atomically
 *   CKPT_DIR/exited/task.<vtid>.img                      final images (ckpt_final_path)
 *   CKPT_DIR/job                                         the job record (ckpt_job_write)
 *   CKPT_DIR/ckpt-run.pid                                ckpt-run's lock (tools/folder.h)
 *   CKPT_DIR/job.<id>/                                   an earlier job's, moved aside
 *
 * An epoch folder without a valid commit record is not a checkpoint (it is a
 * tentative one in progress, or an aborted one) and is never restored.
 *
 * A task image is a header followed by sections.  Each section carries a type,
 * a name, its raw length, the element size used to shuffle its bytes before
 * compression, and a CRC-32 of its raw bytes; its data is stored in chunks,
 * each either zlib-compressed or raw (when compression does not pay).  The
 * header has its own CRC.  Nothing of an image reaches the caller until every
 * checksum has been verified.
 *
 * Every function returns 0 or a negative errno-style code; the reader also
 * fills a message for the user.
 */
#ifndef CKPT_IMAGE_H
#define CKPT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_IMG_VERSION 3   /* 2: job ids, job records; 3: incremental images */
/* The commit record's own version: 4 added the host of each task; version 3
 * records (their hosts unknown, "") are still read. */
#define CKPT_CMT_VERSION 4

/* Which executable an image belongs to: restoring into another one is refused. */
struct ckpt_exe_id {
    uint64_t size;     /* bytes of the executable file */
    uint64_t hash;     /* 64-bit hash of its contents */
    char name[64];     /* basename, for messages */
};

/* Fills id from the file at path (normally /proc/self/exe). */
int ckpt_exe_id_of(const char *path, struct ckpt_exe_id *id);

struct ckpt_img_header {
    struct ckpt_exe_id exe;
    int32_t vtid;          /* virtual task id of the task */
    uint32_t flags;        /* CKPT_IMG_F_* */
    uint64_t epoch;
    uint64_t time_ns;      /* CLOCK_REALTIME when the checkpoint was taken */
    uint64_t job;          /* the job that wrote it (ckpt-run's random job id) */
    /* An incremental image refers to the image of the same task at an earlier
     * epoch (its parent) for the chunks that did not change; 0 for a full one. */
    uint32_t depth;        /* images behind this one in its chain */
    uint64_t parent_epoch, parent_time_ns;   /* its parent's epoch and time_ns */
    uint64_t root_bytes;   /* file length of the full image at the chain's root */
    uint64_t chain_bytes;  /* file lengths of every image behind this one */
};
#define CKPT_IMG_F_EXITED 1u  /* final image of a task that called pvm_exit */

/* Section types.  The runtime defines their contents; ckpt-info names them. */
enum ckpt_sec_type {
    CKPT_SEC_META = 1,   /* runtime state: epoch, channels, task table; its
                            first 4 bytes are the state version (sections.h) */
    CKPT_SEC_GLOBAL = 2, /* one registered global (name = its key) */
    CKPT_SEC_FRAME = 3,  /* one shadow-stack frame: function, site, variables */
    CKPT_SEC_VAR = 4,    /* one registered local of the preceding frame */
    CKPT_SEC_BLOCK = 5,  /* the elements behind a BLOCK variable */
    CKPT_SEC_LOG = 6,    /* sender log entries */
    CKPT_SEC_QUEUE = 7,  /* messages received but not yet delivered */
    CKPT_SEC_ARGV = 8,   /* command line and environment to restart with */
    CKPT_SEC_HEAP = 9,   /* the heap arena: "arena" (its blocks), then the
                            bytes of its live blocks, "blocks" per run */
    CKPT_SEC_FILES = 10, /* "open": the files the program had open */
};
const char *ckpt_sec_type_name(uint32_t type);

/* What an image cost, for the "written" report and the commit record. */
struct ckpt_img_totals {
    uint64_t raw_bytes;     /* sum of the sections' raw lengths */
    uint64_t stored_bytes;  /* bytes of the file */
    uint64_t log_bytes;     /* raw bytes of CKPT_SEC_LOG sections */
    uint64_t ref_bytes;     /* raw bytes left in the parent image (not written) */
    uint32_t depth;         /* 0: a full image; else the chain's length behind it */
    uint64_t parent_epoch;  /* when depth > 0 */
    /* What writing it measured, for the next writer's choice to compress */
    uint64_t z_raw;         /* raw bytes of the chunks deflate was tried on */
    uint64_t z_stored;      /* what they took on disk (raw when it gave up) */
    uint64_t z_ns;          /* CPU time spent deflating them */
    uint64_t io_bytes;      /* bytes handed to write(2) */
    uint64_t io_ns;         /* CPU time in write(2), plus the wall time of the fsyncs */
};

/* Writer.  Writes `path`.tmp (mode 0600), then fsyncs, renames to `path` and
 * fsyncs the folder in ckpt_imgw_close().  level: zlib level 0..9 (0 = store).
 * Missing folders of path are created (0700).  Safe in a fork()ed child: raw
 * write(2) only, no stdio.  After a failed ckpt_imgw_section() every later call
 * returns the same error; the caller then calls ckpt_imgw_abort().
 * ckpt_imgw_close() always frees w: on failure it has already removed the
 * temporary file (do not call ckpt_imgw_abort() after it).  Disk full comes
 * back as -ENOSPC (or -EFBIG past RLIMIT_FSIZE); an existing `path` is untouched. */
#define CKPT_IMG_DEFAULT_LEVEL 1   /* zlib level of a deflated image under CKPT_COMPRESS=auto */
#define CKPT_IMG_NAME_MAX 4095u   /* longest section name (bytes, no NUL) */
struct ckpt_imgw;
int ckpt_imgw_open(struct ckpt_imgw **w, const char *path,
                   const struct ckpt_img_header *hdr, int level);
int ckpt_imgw_section(struct ckpt_imgw *w, uint32_t type, const char *name,
                      const void *data, uint64_t len, uint32_t elem);
/* The same for data that lives at address addr in the task: its chunks are
 * cut at multiples of the chunk size in the address space, so that the same
 * addresses fall in the same chunks from one image to the next, and a chunk
 * the base's unchanged() vouches for is written as a reference to the parent
 * image's chunk at the same address (when the parent has one). */
int ckpt_imgw_section_at(struct ckpt_imgw *w, uint32_t type, const char *name,
                         const void *data, uint64_t len, uint32_t elem, uint64_t addr);
/* Makes the image being written incremental on the parent image `parent`
 * (the same task's image at parent_epoch, time_ns parent_time_ns, committed).
 * unchanged(arg, addr, len): 1 only when the task's bytes at [addr, addr+len)
 * are exactly those it had at the parent's epoch (the caller knows it: it
 * compared them).  max_chain bounds the chain (the full image included); a
 * parent whose chain is that long, or whose increments add up to more than
 * its full image (a chain on disk stays under twice a full image), is
 * refused with -ERANGE: the image is then a full one, as it is after any
 * error.  Call right after ckpt_imgw_open. */
int ckpt_imgw_base(struct ckpt_imgw *w, const char *parent, uint64_t parent_epoch,
                   uint64_t parent_time_ns, uint32_t max_chain,
                   int (*unchanged)(void *arg, uint64_t addr, uint64_t len), void *arg,
                   char *err, size_t errlen);
/* Images per chain, the full one included: a restart reads about one full
 * image whatever the chain's length (only the chunks it needs from each,
 * bench/chainread.c: 1.0-1.2x at 16), so the bound is for the folder's bytes
 * and the files a restart opens. */
#define CKPT_CHAIN_DEFAULT 16
int ckpt_imgw_close(struct ckpt_imgw *w, struct ckpt_img_totals *totals);
void ckpt_imgw_abort(struct ckpt_imgw *w);   /* removes the temporary file */
/* Deflate only one chunk in `every` (1, the default: all), the others stored
 * raw: how a writer that found compressing not worth it keeps measuring it. */
void ckpt_imgw_probe(struct ckpt_imgw *w, uint32_t every);

/* Reader.  Loads and verifies the whole image; expect may be NULL (any exe).
 * An incremental image is loaded whole: the chunks it refers to are read
 * from its parents (DIR/epoch.<parent>/task.<vtid>.img beside its own
 * folder), each of which must be bound to its epoch's commit record
 * (ckpt_img_bound) and name the same job, task and executable; every chunk is
 * checked against its checksum on the way.  A missing or damaged parent
 * refuses the image (-EBADMSG, -ESTALE or the parent's error).
 * Errors: -EBADMSG corrupt or truncated, -EPROTONOSUPPORT another format
 * version, -ENOEXEC another executable, -ENOMEM, or the -errno of open/read;
 * err always says which file, section and check failed. */
struct ckpt_img;
struct ckpt_img_section {
    uint32_t type;
    uint32_t elem;
    const char *name;
    const void *data;       /* decompressed, valid until ckpt_img_free */
    uint64_t len;
    uint64_t stored_len;
    uint64_t parent_len;    /* raw bytes of it read from earlier images of its chain */
};
int ckpt_img_load(const char *path, const struct ckpt_exe_id *expect,
                  struct ckpt_img **img, char *err, size_t errlen);
const struct ckpt_img_header *ckpt_img_header(const struct ckpt_img *img);
size_t ckpt_img_nsections(const struct ckpt_img *img);
const struct ckpt_img_section *ckpt_img_section(const struct ckpt_img *img, size_t i);
void ckpt_img_free(struct ckpt_img *img);

/* Commit record of one epoch, written by the coordinator. */
#define CKPT_COMMIT_F_ROOT 0x100u  /* the task ckpt-run runs itself (not spawned) */
struct ckpt_commit_task {
    int32_t vtid;
    uint32_t flags;          /* CKPT_IMG_F_* of its image */
    uint64_t raw_bytes, stored_bytes, log_bytes;
    uint32_t write_ms;       /* time the writer child took */
    uint32_t depth;          /* its image's depth (0: full) */
    uint64_t parent_epoch;   /* the epoch its image refers to, when depth > 0 */
    char host[64];           /* the host it ran on, as PVM names it; "": unknown */
};
struct ckpt_commit {
    uint64_t epoch;
    uint64_t time_ns;
    uint32_t ntasks;
    struct ckpt_commit_task *tasks;
    uint64_t job;            /* the job whose checkpoint it is */
};
int ckpt_commit_write(const char *epoch_dir, const struct ckpt_commit *c);
int ckpt_commit_read(const char *epoch_dir, struct ckpt_commit *c, char *err, size_t errlen);
void ckpt_commit_free(struct ckpt_commit *c);

/* Whether the image of task ct, header h, file of stored_len bytes, belongs
 * to commit c of job `job`: the one check restore, ckpt-run and ckpt-info
 * share.  An image of another job, another epoch (a final image excepted:
 * it is carried from its own), another task, or other sizes is refused with
 * -ESTALE and a message in err. */
int ckpt_img_bound(const struct ckpt_img_header *h, uint64_t stored_len, uint64_t job,
                   const struct ckpt_commit *c, const struct ckpt_commit_task *ct,
                   char *err, size_t errlen);
/* Loads image `path` (dir/epoch.<k>/task.<vtid>.img) and checks it against
 * its epoch's commit record with ckpt_img_bound, before the caller sees any
 * of it.  job 0: the commit record's own job. */
int ckpt_img_load_bound(const char *path, uint64_t job, const struct ckpt_exe_id *expect,
                        struct ckpt_img **img, char *err, size_t errlen);
/* Only the header of image path (its checksum verified) and the file length:
 * what ckpt-run checks before it starts a task from an image. */
int ckpt_img_peek(const char *path, struct ckpt_img_header *h, uint64_t *len,
                  char *err, size_t errlen);
/* The parents an incremental image at path (header h) needs, each peeked and
 * bound to its commit record, without reading their sections: what ckpt-run
 * checks before it restarts from an epoch.  0 for a full image. */
int ckpt_img_check_chain(const char *path, const struct ckpt_img_header *h,
                         char *err, size_t errlen);
/* The path of the parent of the image at path (header h, depth > 0). */
int ckpt_img_parent_path(char *buf, size_t len, const char *path,
                         const struct ckpt_img_header *h);

/* Job record (file `job` of a checkpoint folder), written by ckpt-run when a
 * job starts: which job the folder's checkpoints belong to and what the user
 * ran.  On --restart it names the program to run, checked against the
 * executable now at that path. */
struct ckpt_job {
    uint64_t id;             /* random, never 0 */
    uint64_t time_ns;        /* CLOCK_REALTIME when the job started */
    uint32_t ntasks;         /* ckpt-run -n, 0 when the program ran directly */
    struct ckpt_exe_id exe;  /* the program's identity when the job started */
    char path[4096];         /* the program's absolute path */
};
int ckpt_job_write(const char *dir, const struct ckpt_job *jr);
int ckpt_job_read(const char *dir, struct ckpt_job *jr, char *err, size_t errlen);
/* Folders epoch.<k> of dir whose commit record exists but does not verify
 * (damage, never a checkpoint in progress): how many, the first one's
 * reason in err. */
int ckpt_bad_commits(const char *dir, char *err, size_t errlen);

/* Folder helpers shared by the runtime, ckpt-run and ckpt-info. */
int ckpt_epoch_dir(char *buf, size_t len, const char *dir, uint64_t epoch);
int ckpt_task_path(char *buf, size_t len, const char *dir, uint64_t epoch, int32_t vtid);
/* Where a task that called pvm_exit with messages still in its log leaves its
 * final image; commits that still need it link it into their folders. */
int ckpt_final_path(char *buf, size_t len, const char *dir, int32_t vtid);
/* Committed epochs in dir, newest first; returns how many (at most max) or <0
 * (-ENOENT when dir does not exist). */
int ckpt_list_committed(const char *dir, uint64_t *epochs, int max);
/* Adds to epochs[0..n) every epoch their images refer to, and the ones
 * those refer to (their commit records say which), up to max in all;
 * returns the new count.  Pruning keeps them all. */
int ckpt_epochs_needed(const char *dir, uint64_t *epochs, int n, int max);
/* Deletes epoch folder dir/epoch.<epoch>: its commit record first (durably, so
 * a crash leaves it uncommitted, never committed with images missing), then its
 * task images and temporaries, then the folder.  Files ckpt did not name are
 * left and reported as -ENOTEMPTY.  -ENOENT if there is no such folder. */
int ckpt_epoch_remove(const char *dir, uint64_t epoch);
/* Removes every epoch folder of dir older than newest but those in keep[n]
 * (ckpt_epoch_remove); returns 0, or the first error, its epoch in *which. */
int ckpt_epochs_prune(const char *dir, uint64_t newest, const uint64_t *keep, int n, uint64_t *which);

/* A copy of a file of the folder, received in pieces (a partner host's copy
 * of an image, a commit record: tools/store.c): begin gives the fd of
 * path.tmp, made afresh with any missing folders; end makes it path,
 * durably; abandon removes it. */
int ckpt_copy_begin(const char *path);
int ckpt_copy_end(int fd, const char *path);
void ckpt_copy_abandon(int fd, const char *path);

#endif /* CKPT_IMAGE_H */
