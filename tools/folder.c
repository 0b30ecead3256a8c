/*
 * folder.c: checkpoint folder trust and locking (see folder.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folder.h"

/* Another user owns st, or someone else can write it. */
static int foreign(const struct stat *st, int allow_root)
{
    return (st->st_uid != geteuid() && !(allow_root && st->st_uid == 0)) || (st->st_mode & 022);
}

static int trusted(const char *prog, const char *dir, int dfd)
{
    struct stat st, up;
    if (fstat(dfd, &st) != 0 || fstatat(dfd, "..", &up, 0) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return 0;
    }
    if (foreign(&st, 0)) {
        fprintf(stderr, "%s: refusing checkpoint folder %s: it is owned by uid %u (you are uid %u) "
                "and has mode %04o; whoever else can write it chooses what a restart runs.  "
                "Use a folder of your own that only you can write (chmod go-w).\n",
                prog, dir, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
        return 0;
    }
    /* Whoever may write the parent can swap the folder for one of theirs; a
     * sticky folder (/tmp) lets them remove or rename only their own. */
    if (foreign(&up, 1) && !(up.st_mode & S_ISVTX)) {
        fprintf(stderr, "%s: refusing checkpoint folder %s: the folder it lies in is owned by uid %u "
                "with mode %04o, so someone else could replace it.\n",
                prog, dir, (unsigned)up.st_uid, (unsigned)(up.st_mode & 07777));
        return 0;
    }
    return 1;
}

int folder_open(const char *prog, const char *dir, int create)
{
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    if (!trusted(prog, dir, dfd)) {
        close(dfd);
        return -1;
    }
    return dfd;
}

/* The pid file, never through a symlink, and only a regular file of ours. */
static int open_pidfile(int dfd, int flags)
{
    int fd = openat(dfd, FOLDER_PIDFILE, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || foreign(&st, 0)) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

pid_t folder_holder(int dfd)
{
    int fd = open_pidfile(dfd, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int rc = fcntl(fd, F_GETLK, &fl);
    int err = errno;
    close(fd);
    errno = err;
    if (rc != 0)
        return -1;
    return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

int folder_lock(const char *prog, const char *dir, int dfd)
{
    /* Never unlinked: a lock file removed while another process opens it
     * would let two holders lock two files of one name. */
    int fd = open_pidfile(dfd, O_RDWR | O_CREAT);
    if (fd < 0) {
        fprintf(stderr, "%s: %s/%s: %s\n", prog, dir, FOLDER_PIDFILE,
                errno == ELOOP ? "a symlink, refused" : strerror(errno));
        return -1;
    }
    /* A POSIX lock: not inherited by the children we fork, dropped by the
     * kernel when we end, and F_GETLK tells others our pid. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        pid_t other = folder_holder(dfd);
        if (err == EAGAIN || err == EACCES)
            fprintf(stderr, "%s: checkpoint folder %s is in use by another job (ckpt-run pid %ld); "
                    "give this job a folder of its own (--dir)\n", prog, dir, (long)other);
        else
            fprintf(stderr, "%s: cannot lock %s/%s: %s\n", prog, dir, FOLDER_PIDFILE, strerror(err));
        close(fd);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        fprintf(stderr, "%s: cannot write %s/%s: %s\n", prog, dir, FOLDER_PIDFILE, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
