/*
 * files.c: the files a program opens, kept across a restart (issue #14).
 *
 * It owns the file twins of ckpt_libc_calls.h (fopen, fdopen, freopen,
 * fclose, open, openat, creat, close, dup, dup2; pipe, socket, popen, pclose,
 * mmap, munmap to say what is not kept), the table of the fds they made, the
 * table of the streams, and the FILES section of an image.
 *
 * Each twin does what the C library documents (it calls it) and notes what
 * a restart needs: for an fd, what it is and, for a file, its absolute path
 * (the kernel's, /proc/self/fd, read at open time: right whatever the cwd or
 * the directory fd it was opened against) and the open file description it
 * shares with its dups; for a stream, its FILE * and mode.  Only fds the
 * program's instrumented code made are known: PVM's sockets, the runtime's
 * files and a library's are left alone.
 *
 * At a checkpoint (ckpt__files_note, in the task before the fork) every
 * stream open for writing is flushed, so its bytes are in the file before
 * its length is taken; then each stream's position (ftello: a read stream's
 * read-ahead accounted for), each fd's offset, flags and, for a regular file
 * open for writing, its length.  A pipe, socket, popen stream or file mapping
 * open then is reported, once: a restart cannot give it back.
 *
 * A restart (ckpt__files_read, while the image is loaded, before the
 * program's code goes on) reopens each file by its path without O_CREAT,
 * O_TRUNC or O_EXCL, at the same fd numbers (dup3, FD_CLOEXEC as it was),
 * cuts a written file back to its length at the checkpoint (as restore.c cuts
 * stdout), and seeks to the saved offset.  A file gone, or shorter than the
 * checkpoint needs, is refused by name: wrong data is never read.  An fd that
 * cannot be given back holds an O_PATH descriptor of "/", on which read and
 * write fail with EBADF, so that no other file takes its number meanwhile.
 *
 * A stream's FILE is at the address the program saved: the C library
 * allocates a stream's FILE (its lock and wide data inside the same block)
 * with malloc, which runtime/malloc.c routes to the heap arena for that one
 * allocation; the arena is saved and restored in place.  On a restart the
 * stale FILE block is freed and fdopen is called on the reopened fd with the
 * routing armed: the arena's free lists are LIFO per size class, so the
 * block of the same size comes back at the same address, where glibc builds
 * a fresh FILE and links it into its list of streams (checked: a different
 * address refuses the restart).  fdopen rather than fopen because it
 * never truncates and keeps the fd placed at its number.  The stream's
 * buffer is allocated by glibc later, outside the routing: not saved, none
 * needed (it was flushed, or is read again).  Its end-of-file and error
 * flags are set back.  Not kept: a buffer or mode given by setvbuf, bytes
 * pushed back by ungetc that differ from the file's, a wide orientation.
 *
 * Single-threaded, as PVM tasks are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_libc.h"
#include "rt.h"
#include "sections.h"

struct ckpt_route ckpt__route;

struct fdent {
    int kind;                   /* 0: not the program's, else FILE_KIND_* */
    uint32_t desc;              /* open file description */
    char *path;                 /* FILE_KIND_FILE: absolute */
    const char *how;            /* the call that made it, for messages */
    const char *where;          /* the function it was called in, or NULL */
    int said;                   /* reported at a checkpoint */
    /* noted at the checkpoint */
    int flags, fdflags;
    int64_t pos, size;
};

struct stream {
    FILE *fp;
    char mode[16];
    int popen;
    int said;               /* on an fd the twins did not make: reported */
    /* noted at the checkpoint */
    int fd, flags;
    int64_t pos;
};

struct map {                    /* a file mapped by the program */
    void *addr;
    size_t len;
    int said;
    char *path;
};

static struct fdent *fds;
static int maxfds;
static struct stream *strs;
static int nstrs, maxstrs;
static struct map *maps;
static int nmaps, maxmaps;
static uint32_t next_desc = 1;

/* ------------------------------------------------------------ the tables */

static const char *caller(void)
{
    return ckpt__rt.top ? ckpt__rt.top->func : NULL;
}

static void forget_fd(int fd)
{
    if (fd < 0 || fd >= maxfds || !fds[fd].kind)
        return;
    free(fds[fd].path);
    memset(&fds[fd], 0, sizeof fds[fd]);
}

static struct fdent *fd_slot(int fd)
{
    if (fd < 0)
        return NULL;
    struct fdent *t = ckpt__grow(fds, &maxfds, fd + 1, sizeof *t);
    if (!t) {
        pr_warn("out of memory noting fd %d: a restart will not reopen it", fd);
        return NULL;
    }
    fds = t;
    forget_fd(fd);
    return &fds[fd];
}

/* The absolute path the kernel gives fd's file. */
static char *path_of(int fd)
{
    char link[64], buf[FILES_PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n <= 0 || (size_t)n >= sizeof buf - 1 || buf[0] != '/')
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

/* A new fd made by the program's call `how`. */
static void note_fd(int fd, int kind, const char *how)
{
    struct fdent *e = fd_slot(fd);
    if (!e)
        return;
    struct stat st;
    if (kind == FILE_KIND_FILE) {
        if (fstat(fd, &st) != 0)
            kind = FILE_KIND_OTHER;
        else if (S_ISFIFO(st.st_mode))
            kind = FILE_KIND_PIPE;
        else if (S_ISSOCK(st.st_mode))
            kind = FILE_KIND_SOCKET;
        else if (!(e->path = path_of(fd)))
            kind = FILE_KIND_OTHER;
    }
    e->kind = kind;
    e->desc = next_desc++;
    e->how = how;
    e->where = caller();
}

/* newfd is a dup of oldfd (same description). */
static void note_dup(int oldfd, int newfd)
{
    if (oldfd < 0 || oldfd >= maxfds || !fds[oldfd].kind) {
        forget_fd(newfd);
        return;
    }
    struct fdent *e = fd_slot(newfd);
    if (!e)
        return;
    *e = fds[oldfd];
    e->said = 0;
    if (e->path && !(e->path = strdup(e->path)))
        e->kind = FILE_KIND_OTHER;
}

static struct stream *find_stream(FILE *fp)
{
    for (int i = 0; i < nstrs; i++)
        if (strs[i].fp == fp)
            return &strs[i];
    return NULL;
}

static void forget_stream(FILE *fp)
{
    struct stream *s = find_stream(fp);
    if (s)
        *s = strs[--nstrs];
}

static void note_stream(FILE *fp, const char *mode, int popened)
{
    forget_stream(fp);
    struct stream *t = ckpt__grow(strs, &maxstrs, nstrs + 1, sizeof *t);
    if (!t) {
        pr_warn("out of memory noting a stream: a restart will not reopen it");
        return;
    }
    strs = t;
    struct stream *s = &strs[nstrs++];
    memset(s, 0, sizeof *s);
    s->fp = fp;
    snprintf(s->mode, sizeof s->mode, "%s", mode);
    s->popen = popened;
    int fd = fileno(fp);
    if (popened)
        note_fd(fd, FILE_KIND_POPEN, "popen()");
}

/* Calls fn with the C library's allocation of a FILE routed to the arena;
 * says once if it did not land there (a C library that allocates it
 * otherwise: the stream is then kept by its fd only). */
#define ROUTED(call)                                                         \
    ({                                                                       \
        ckpt__route.armed = 1;                                               \
        ckpt__route.got = NULL;                                              \
        FILE *fp_ = (call);                                                  \
        ckpt__route.armed = 0;                                               \
        if (fp_ && (void *)fp_ != ckpt__route.got) {                         \
            static int said_;                                                \
            if (!said_++)                                                    \
                pr_warn("the C library's FILE is not where libckpt put it: " \
                        "a stream's FILE * is not valid after a restart");   \
        }                                                                    \
        fp_;                                                                 \
    })

/* ------------------------------------------------------------ the twins */

FILE *ckpt_fopen(const char *__restrict filename, const char *__restrict modes)
{
    FILE *fp = ROUTED(fopen(filename, modes));
    if (fp) {
        note_fd(fileno(fp), FILE_KIND_FILE, "fopen()");
        note_stream(fp, modes, 0);
    }
    return fp;
}

FILE *ckpt_fdopen(int fd, const char *modes)
{
    FILE *fp = ROUTED(fdopen(fd, modes));
    if (fp)
        note_stream(fp, modes, 0);
    return fp;
}

FILE *ckpt_freopen(const char *__restrict filename, const char *__restrict modes,
                   FILE *__restrict stream)
{
    int old = fileno(stream);
    FILE *fp = freopen(filename, modes, stream);
    forget_fd(old);
    forget_stream(stream);
    if (fp) {
        note_fd(fileno(fp), FILE_KIND_FILE, "freopen()");
        note_stream(fp, modes, 0);
    }
    return fp;
}

int ckpt_fclose(FILE *stream)
{
    struct stream *s = find_stream(stream);
    if (s) {
        forget_fd(fileno(stream));
        forget_stream(stream);
    }
    return fclose(stream);
}

static int open_flags_mode(int oflag, va_list ap)
{
    return (oflag & O_CREAT) || (oflag & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

int ckpt_open(const char *file, int oflag, ...)
{
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (mode_t)open_flags_mode(oflag, ap);
    va_end(ap);
    int fd = open(file, oflag, mode);
    if (fd >= 0)
        note_fd(fd, FILE_KIND_FILE, "open()");
    return fd;
}

int ckpt_openat(int dirfd, const char *file, int oflag, ...)
{
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (mode_t)open_flags_mode(oflag, ap);
    va_end(ap);
    int fd = openat(dirfd, file, oflag, mode);
    if (fd >= 0)
        note_fd(fd, FILE_KIND_FILE, "openat()");
    return fd;
}

int ckpt_creat(const char *file, mode_t mode)
{
    int fd = creat(file, mode);
    if (fd >= 0)
        note_fd(fd, FILE_KIND_FILE, "creat()");
    return fd;
}

int ckpt_close(int fd)
{
    int rc = close(fd);
    if (rc == 0 || errno != EBADF)     /* EINTR, EIO: closed all the same on Linux */
        forget_fd(fd);
    return rc;
}

int ckpt_dup(int fd)
{
    int r = dup(fd);
    if (r >= 0)
        note_dup(fd, r);
    return r;
}

int ckpt_dup2(int fd, int fd2)
{
    int r = dup2(fd, fd2);
    if (r >= 0 && fd != fd2)
        note_dup(fd, r);
    return r;
}

int ckpt_pipe(int pipedes[2])
{
    int rc = pipe(pipedes);
    if (rc == 0) {
        note_fd(pipedes[0], FILE_KIND_PIPE, "pipe()");
        note_fd(pipedes[1], FILE_KIND_PIPE, "pipe()");
    }
    return rc;
}

int ckpt_socket(int domain, int type, int protocol)
{
    int fd = socket(domain, type, protocol);
    if (fd >= 0)
        note_fd(fd, FILE_KIND_SOCKET, "socket()");
    return fd;
}

FILE *ckpt_popen(const char *command, const char *modes)
{
    FILE *fp = popen(command, modes);   /* its FILE is larger: not kept (see reopen_stream) */
    if (fp)
        note_stream(fp, modes, 1);
    return fp;
}

int ckpt_pclose(FILE *stream)
{
    if (find_stream(stream)) {
        forget_fd(fileno(stream));
        forget_stream(stream);
    }
    return pclose(stream);
}

void *ckpt_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    void *p = mmap(addr, len, prot, flags, fd, offset);
    if (p == MAP_FAILED || (flags & MAP_ANONYMOUS) || fd < 0)
        return p;
    struct map *t = ckpt__grow(maps, &maxmaps, nmaps + 1, sizeof *t);
    if (t) {
        maps = t;
        maps[nmaps].addr = p;
        maps[nmaps].len = len;
        maps[nmaps].said = 0;
        maps[nmaps].path = path_of(fd);
        nmaps++;
    }
    return p;
}

int ckpt_munmap(void *addr, size_t len)
{
    int rc = munmap(addr, len);
    if (rc == 0)
        for (int i = 0; i < nmaps; i++)
            if ((char *)maps[i].addr >= (char *)addr &&
                (char *)maps[i].addr + maps[i].len <= (char *)addr + len) {
                free(maps[i].path);
                maps[i--] = maps[--nmaps];
            }
    return rc;
}

/* ------------------------------------------------------------ checkpoint */

static const char *kind_name(int kind)
{
    switch (kind) {
    case FILE_KIND_PIPE: return "a pipe";
    case FILE_KIND_SOCKET: return "a socket";
    case FILE_KIND_POPEN: return "a popen() stream";
    default: return "neither a file nor a device";
    }
}

static int writable(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY && !(flags & O_PATH);
}

static int writes(const char *mode)
{
    return mode[0] == 'w' || mode[0] == 'a' || strchr(mode, '+');
}

/* In the task, at the safe point, before the fork: what the writer child
 * saves.  Flushes the streams that write first, so their bytes are in the
 * files whose lengths are taken. */
void ckpt__files_note(void)
{
    for (int i = 0; i < nstrs; i++) {
        struct stream *s = &strs[i];
        if (writes(s->mode) && fflush(s->fp) != 0)
            pr_warn("checkpoint: fflush of the stream on fd %d: %s", fileno(s->fp),
                    strerror(errno));
        s->fd = fileno(s->fp);
        s->pos = ftello(s->fp);
        s->flags = (feof(s->fp) ? FILE_STREAM_EOF : 0) | (ferror(s->fp) ? FILE_STREAM_ERR : 0) |
                   (ckpt__heap_in_arena(s->fp) ? FILE_STREAM_ARENA : 0);
        if (s->fd > 2 && (s->fd >= maxfds || !fds[s->fd].kind) && !s->said++)
            pr_warn("the stream on fd %d was opened (fdopen) on an fd not made by the program's "
                    "instrumented code: a restart from this checkpoint is refused", s->fd);
    }
    for (int fd = 0; fd < maxfds; fd++) {
        struct fdent *e = &fds[fd];
        if (!e->kind)
            continue;
        e->flags = fcntl(fd, F_GETFL);
        e->fdflags = fcntl(fd, F_GETFD);
        e->pos = e->size = -1;
        if (e->flags < 0 || e->fdflags < 0) {
            /* closed behind the twins' back (a library, a syscall): gone */
            pr_debug("fd %d the program opened is closed: forgotten", fd);
            forget_fd(fd);
            continue;
        }
        if (e->kind != FILE_KIND_FILE) {
            if (!e->said++)
                pr_warn("fd %d is %s (from %s%s%s): it is not restored after a restart", fd,
                        kind_name(e->kind), e->how, e->where ? " in " : "",
                        e->where ? e->where : "");
            continue;
        }
        struct stat st;
        off_t at = lseek(fd, 0, SEEK_CUR);
        e->pos = at < 0 ? -1 : (int64_t)at;
        if (writable(e->flags) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            e->size = (int64_t)st.st_size;
    }
    for (int i = 0; i < nmaps; i++)
        if (!maps[i].said++)
            pr_warn("%zu bytes at %p map %s: the mapping is not restored after a restart",
                    maps[i].len, maps[i].addr, maps[i].path ? maps[i].path : "a file");
}

static int counted_fds(uint32_t *n, size_t *len)
{
    *n = 0;
    *len = sizeof(struct files_rec);
    for (int fd = 0; fd < maxfds; fd++) {
        const struct fdent *e = &fds[fd];
        if (!e->kind)
            continue;
        size_t pl = e->path ? strlen(e->path) + 1 : 0;
        if (pl > FILES_PATH_MAX)
            return -ENAMETOOLONG;
        (*n)++;
        *len += sizeof(struct file_fd_rec) + PAD8(pl);
    }
    return 0;
}

/* FILES "open": files_rec, the fds each with its path, the streams.  Runs in
 * the writer child: no stdio (what ckpt__files_note took is written). */
int ckpt__files_write(struct ckpt_imgw *w)
{
    uint32_t n;
    size_t len;
    int err = counted_fds(&n, &len);
    if (err)
        return err;
    len += (size_t)nstrs * sizeof(struct file_stream_rec);
    char *buf = calloc(1, len);
    if (!buf)
        return -ENOMEM;
    struct files_rec *h = (struct files_rec *)buf;
    h->version = FILES_VERSION;
    h->nfds = n;
    h->nstreams = (uint32_t)nstrs;
    char *p = (char *)(h + 1);
    for (int fd = 0; fd < maxfds; fd++) {
        const struct fdent *e = &fds[fd];
        if (!e->kind)
            continue;
        struct file_fd_rec *r = (struct file_fd_rec *)p;
        r->fd = fd;
        r->kind = e->kind;
        r->flags = e->flags;
        r->fdflags = e->fdflags;
        r->desc = e->desc;
        r->pathlen = e->path ? (uint32_t)strlen(e->path) + 1 : 0;
        r->pos = e->pos;
        r->size = e->size;
        if (e->path)
            memcpy(r + 1, e->path, r->pathlen);
        p += sizeof *r + PAD8(r->pathlen);
    }
    struct file_stream_rec *sr = (struct file_stream_rec *)p;
    for (int i = 0; i < nstrs; i++) {
        sr[i].addr = (uint64_t)(uintptr_t)strs[i].fp;
        sr[i].fd = strs[i].fd;
        sr[i].flags = strs[i].flags;
        sr[i].pos = strs[i].pos;
        memcpy(sr[i].mode, strs[i].mode, sizeof sr[i].mode);
    }
    err = ckpt_imgw_section(w, CKPT_SEC_FILES, "open", buf, len, 0);
    free(buf);
    return err;
}

/* ------------------------------------------------------------ restart */

/* The status flags a reopen can set again (F_GETFL also gives O_LARGEFILE
 * and access bits open takes the same way). */
#define REOPEN_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | \
                      O_NOATIME | O_LARGEFILE | O_DIRECTORY | O_PATH)

/* The position a restart puts fd's description at: a stream's wins (its
 * read-ahead is not the program's position). */
static int64_t restart_pos(const struct files_view *v, const struct file_fd_rec *r)
{
    for (uint32_t i = 0; i < v->h->nstreams; i++)
        if (v->streams[i].fd == r->fd && v->streams[i].pos >= 0)
            return v->streams[i].pos;
    return r->pos;
}

/* Opens the file of r as it was at the checkpoint: an fd (high, to be
 * placed); dies if it cannot be had without reading wrong data. */
static int reopen_file(const struct files_view *v, const struct file_fd_rec *r, const char *path,
                       int above)
{
    int fd = open(path, (r->flags & REOPEN_FLAGS) | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        ckpt__die("cannot restart: %s (fd %d at the checkpoint) cannot be opened again: %s", path,
                  r->fd, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0)
        ckpt__die("cannot restart: fstat of %s: %s", path, strerror(errno));
    int64_t pos = restart_pos(v, r);
    if (S_ISREG(st.st_mode)) {
        if (r->size >= 0 && st.st_size < r->size)
            ckpt__die("cannot restart: %s is %lld bytes long, shorter than its %lld bytes at the "
                      "checkpoint (changed by someone else?)",
                      path, (long long)st.st_size, (long long)r->size);
        if (r->size >= 0 && st.st_size > r->size && ftruncate(fd, (off_t)r->size) != 0)
            ckpt__die("cannot restart: cannot cut %s back to its %lld bytes at the checkpoint: %s",
                      path, (long long)r->size, strerror(errno));
        if (r->size < 0 && pos > st.st_size)
            ckpt__die("cannot restart: %s is %lld bytes long, shorter than the %lld bytes the task "
                      "had read of it (changed by someone else?)",
                      path, (long long)st.st_size, (long long)pos);
    }
    if (pos >= 0 && lseek(fd, (off_t)pos, SEEK_SET) < 0)
        ckpt__die("cannot restart: cannot seek %s to %lld: %s", path, (long long)pos,
                  strerror(errno));
    int high = fcntl(fd, F_DUPFD_CLOEXEC, above);
    if (high < 0)
        ckpt__die("cannot restart: fcntl(F_DUPFD) for %s: %s", path, strerror(errno));
    if (close(fd) != 0)
        ckpt__die("cannot restart: close: %s", strerror(errno));
    return high;
}

/* Puts src at fd number fd, with FD_CLOEXEC as saved. */
static void place(int src, const struct file_fd_rec *r, const char *what)
{
    if (dup3(src, r->fd, (r->fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
        ckpt__die("cannot restart: cannot put %s back at fd %d: %s", what, r->fd,
                  strerror(errno));
}

/* The FILE at the saved address, on its fd placed already. */
static void reopen_stream(const struct file_stream_rec *s, int kind)
{
    FILE *at = (FILE *)(uintptr_t)s->addr;
    if (at == stdin || at == stdout || at == stderr) {
        /* freopen()ed: the C library's own FILE, on its fd put back */
        if (kind == FILE_KIND_FILE)
            note_stream(at, s->mode, 0);
        return;
    }
    if (kind == FILE_KIND_POPEN) {
        /* glibc's popen FILE is a larger block than fdopen's: its FILE *
         * is not valid after a restart (README), its fd fails with EBADF */
        return;
    }
    if (!(s->flags & FILE_STREAM_ARENA))
        ckpt__die("cannot restart: the stream on fd %d was not in libckpt's heap: its FILE * "
                  "cannot be given back (a program not linked by ckpt-cc?)",
                  s->fd);
    if (!ckpt__heap_owns(at))
        ckpt__die("cannot restart: the stream on fd %d: its FILE at %p is not in the restored "
                  "heap", s->fd, (void *)at);
    /* fdopen of the mode without what only fopen knows; a stream that cannot
     * be restored reads its placeholder: every read and write fails (EBADF) */
    char mode[sizeof s->mode];
    size_t k = 0;
    for (const char *m = kind == FILE_KIND_FILE ? s->mode : "r"; *m && k < sizeof mode - 1; m++)
        if (*m != 'x' && *m != 'e')
            mode[k++] = *m;
    mode[k] = '\0';
    ckpt_free(at);
    ckpt__route.armed = 1;
    ckpt__route.got = NULL;
    FILE *fp = fdopen(s->fd, mode);
    ckpt__route.armed = 0;
    if (!fp)
        ckpt__die("cannot restart: fdopen(%d, \"%s\"): %s", s->fd, mode, strerror(errno));
    if (fp != at)
        ckpt__die("cannot restart: the stream on fd %d came back at %p, not at %p where the "
                  "program holds it (%s)",
                  s->fd, (void *)fp, (void *)at,
                  ckpt__route.got ? "the heap gave another block" : "libckptmalloc not linked");
    if (s->flags & FILE_STREAM_EOF)
        fp->_flags |= _IO_EOF_SEEN;
    if (s->flags & FILE_STREAM_ERR)
        fp->_flags |= _IO_ERR_SEEN;
    if (kind == FILE_KIND_FILE)
        note_stream(fp, s->mode, 0);
}

/* The fd records of v as the table of this task, as the checkpoint left it
 * (the streams then note themselves). */
static void take_fd(const struct file_fd_rec *r, const char *path)
{
    struct fdent *e = fd_slot(r->fd);
    if (!e)
        ckpt__die("out of memory restoring fd %d", r->fd);
    e->kind = r->kind;
    e->desc = r->desc;
    e->how = r->kind == FILE_KIND_FILE ? "open()" : "before the restart";
    e->said = r->kind != FILE_KIND_FILE;     /* said before the restart */
    if (r->kind == FILE_KIND_FILE && !(e->path = strdup(path)))
        ckpt__die("out of memory restoring fd %d", r->fd);
    if (r->desc >= next_desc)
        next_desc = r->desc + 1;
}

int ckpt__files_read(struct ckpt_cursor *c)
{
    const struct ckpt_img_section *s = ckpt__next_section(c, CKPT_SEC_FILES, "open");
    struct files_view v;
    if (!s || ckpt__files_view(s->data, s->len, &v) != 0) {
        pr_err("the image's files section is malformed");
        return -EINVAL;
    }
    /* Every fd number must be free here (0-2 excepted: the program's own
     * redirection of stdin/stdout/stderr is put back over them). */
    int top = 2;
    uint64_t off = 0;
    const char *path;
    for (uint32_t i = 0; i < v.h->nfds; i++) {
        const struct file_fd_rec *r = ckpt__files_fd(&v, &off, &path);
        if (r->fd > 2 && fcntl(r->fd, F_GETFD) >= 0)
            ckpt__die("cannot restart: fd %d, which the task had open (%s), is taken in the "
                      "restarted process",
                      r->fd, r->kind == FILE_KIND_FILE ? path : kind_name(r->kind));
        if (r->fd > top)
            top = r->fd;
    }
    /* The files written first (cut back), then each description once,
     * placed at each of its fds. */
    int hole = -1;
    for (int pass = 0; pass < 2; pass++) {
        off = 0;
        for (uint32_t i = 0; i < v.h->nfds; i++) {
            const struct file_fd_rec *r = ckpt__files_fd(&v, &off, &path);
            int written = r->size >= 0;
            if (written != (pass == 0))
                continue;
            /* done already, as a dup of an earlier fd? */
            uint64_t o2 = 0;
            const char *p2;
            int first = 1;
            for (uint32_t j = 0; j < i; j++)
                if (ckpt__files_fd(&v, &o2, &p2)->desc == r->desc)
                    first = 0;
            if (!first)
                continue;
            int src;
            if (r->kind == FILE_KIND_FILE) {
                src = reopen_file(&v, r, path, top + 1);
            } else {
                if (hole < 0) {
                    int h = open("/", O_PATH | O_CLOEXEC);
                    if (h < 0 || (hole = fcntl(h, F_DUPFD_CLOEXEC, top + 1)) < 0 || close(h) != 0)
                        ckpt__die("cannot restart: open(\"/\", O_PATH): %s", strerror(errno));
                }
                src = hole;
            }
            uint64_t o3 = 0;
            const char *p3;
            for (uint32_t j = 0; j < v.h->nfds; j++) {
                const struct file_fd_rec *d = ckpt__files_fd(&v, &o3, &p3);
                if (d->desc == r->desc) {
                    place(src, d, r->kind == FILE_KIND_FILE ? path : kind_name(r->kind));
                    take_fd(d, p3);
                }
            }
            if (src != hole && close(src) != 0)
                ckpt__die("cannot restart: close: %s", strerror(errno));
        }
    }
    if (hole >= 0 && close(hole) != 0)
        ckpt__die("cannot restart: close: %s", strerror(errno));
    for (uint32_t i = 0; i < v.h->nstreams; i++) {
        int kind = v.streams[i].fd < maxfds ? fds[v.streams[i].fd].kind : 0;
        if (!kind && v.streams[i].fd <= 2)
            kind = FILE_KIND_FILE;      /* fdopen of stdin, stdout or stderr: there again */
        if (!kind)
            ckpt__die("cannot restart: the stream on fd %d has no saved fd", v.streams[i].fd);
        reopen_stream(&v.streams[i], kind);
    }
    if (v.h->nfds)
        pr_info("restart: %u fds and %u streams of the program put back", v.h->nfds,
                v.h->nstreams);
    return 0;
}
