/* a file written with write() on a saved fd, opened with O_TRUNC (a restart
 * must not truncate it again), and one with O_APPEND; the harness appends
 * bytes to both after each stop (--between): the restart cuts them back */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    printf("-- %s: %zd bytes\n%.*s", path, n, (int)(n > 0 ? n : 0), buf);
    close(fd);
}

int main(void)
{
    int fd = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ap = creat("log.txt", 0644);
    close(ap);
    ap = open("log.txt", O_WRONLY | O_APPEND);
    int i;
    #pragma CKPT_SAVE(fd, ap, i)
    for (i = 0; i < 20; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "record %d of 20: %d\n", i, i * i);
        if (write(fd, line, (size_t)n) != n)
            return 1;
        if (i % 4 == 0 && write(ap, "tick\n", 5) != 5)
            return 1;
        #pragma CKPT_CHECKPOINT
    }
    printf("close %d %d\n", close(fd), close(ap));
    show("out.txt");
    show("log.txt");
    return 0;
}
