/*
 * runlog.c: ckpt-run's own lines on its stderr (see runlog.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outshare.h"
#include "runlog.h"

static struct ckpt_outshare share;      /* ino 0: stderr is no regular file */
static char keep_path[4200];

void runlog_setup(void)
{
    struct stat st;
    if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
        share.dev = (uint64_t)st.st_dev;
        share.ino = (uint64_t)st.st_ino;
    }
}

/* One write per line: the records name whole lines. */
static void put_line(char *line, int n)
{
    line[n++] = '\n';
    if (share.ino)
        ckpt_outshare_write_line(&share, STDERR_FILENO, line, (uint32_t)n);
    else if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;     /* nowhere left to say it */
}

void runlog_say(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n = snprintf(line, sizeof line, "ckpt-run: ");
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    put_line(line, (int)strlen(line));
}

void runlog_relay(const char *text)
{
    char line[2048];
    snprintf(line, sizeof line - 1, "%s", text);
    put_line(line, (int)strlen(line));
}

const char *runlog_keep_file(const char *dir)
{
    if (!share.ino)
        return NULL;
    snprintf(keep_path, sizeof keep_path, "%s/output.keep", dir);
    int err = ckpt_outshare_save(&share, keep_path);
    if (err) {
        fprintf(stderr, "ckpt-run: cannot write %s: %s; the restarted program may cut "
                "ckpt-run's last lines from the log\n", keep_path, strerror(-err));
        return NULL;
    }
    return keep_path;
}

void runlog_reload(void)
{
    struct ckpt_outshare now;
    if (!share.ino || !keep_path[0] || ckpt_outshare_load(&now, keep_path) != 0)
        return;
    ckpt_outshare_free(&share);
    share = now;
}

int runlog_cut(int fd, int64_t off)
{
    if (ckpt_outshare_is(&share, fd))
        return ckpt_outshare_cut(&share, fd, off);
    if (ftruncate(fd, (off_t)off) != 0 || lseek(fd, 0, SEEK_END) < 0)
        return -errno;
    return 0;
}
