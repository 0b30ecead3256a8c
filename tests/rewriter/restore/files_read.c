/* a file read with open/read on a saved fd, and a dup of it that shares its
 * offset: after a restart both read on from where the pair was, and a second
 * file opened later with openat on its own fd */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    int fd = open("input.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600), i;
    for (i = 0; i < 30; i++) {
        char rec[16];
        snprintf(rec, sizeof rec, "<%03d-%06d>", i, i * i * 7);
        if (write(fd, rec, 12) != 12)
            return 1;
    }
    if (close(fd) != 0)
        return 1;
    int a = open("input.bin", O_RDONLY), b = dup(a);
    char buf[16];
    int n = 0;
    ssize_t got;
    #pragma CKPT_SAVE(a, b, n)
    while ((got = read(n % 2 ? b : a, buf, 12)) > 0) {
        printf("%d via %s: %.*s at %ld\n", n, n % 2 ? "dup" : "fd", (int)got, buf,
               (long)lseek(a, 0, SEEK_CUR));
        n++;
        #pragma CKPT_CHECKPOINT
    }
    printf("%d records, end %zd, close %d %d\n", n, got, close(b), close(a));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int c = openat(dir, "input.bin", O_RDONLY);
    #pragma CKPT_SAVE(dir, c)
    for (i = 0; i < 3; i++) {
        got = read(c, buf, 5);
        printf("openat read %.*s\n", (int)got, buf);
        #pragma CKPT_CHECKPOINT
    }
    close(c);
    close(dir);
    return 0;
}
