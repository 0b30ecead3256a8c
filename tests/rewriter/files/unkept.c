/* what a restart cannot give back, open at a checkpoint: a pipe, a socket, a
 * popen stream, a file mapping, a block a library allocated (tempnam's); and a
 * file, which it can.  files_diag.sh checks what the checkpoint says and what
 * the restarted task gets */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int p[2];
    if (pipe(p) != 0 || write(p[1], "hello", 5) != 5)
        return 1;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int q[2];
    if (pipe(q) != 0)
        return 1;
    FILE *pw = fdopen(q[1], "w");       /* a stream on a pipe: in the arena, not restored */
    FILE *cmd = popen("echo from-popen", "r");
    FILE *f = fopen("kept.txt", "w+");
    fputs("kept\n", f);
    fflush(f);
    char *m = mmap(NULL, 5, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    char *libname = tempnam(NULL, "ck");    /* glibc's malloc: no image holds it */
    printf("opened: socket %s, mapping %s, name %s\n", s >= 0 ? "yes" : "no",
           m != MAP_FAILED ? "yes" : "no", libname ? "yes" : "no");
    int i;
    #pragma CKPT_SAVE(p, q, s, cmd, pw, f, i)
    for (i = 0; i < 2; i++) {
        #pragma CKPT_CHECKPOINT
        char buf[8];
        ssize_t n = read(p[0], buf, 5);
        printf("round %d: pipe read %zd (%s)\n", i, n, n < 0 ? strerror(errno) : "data");
        n = write(p[1], "again", 5);
        printf("round %d: pipe write %zd (%s)\n", i, n, n < 0 ? strerror(errno) : "data");
        errno = 0;
        int rc = fputs("through the stream\n", pw) == EOF || fflush(pw) == EOF;
        printf("round %d: pipe stream %s (%s)\n", i, rc ? "fails" : "writes",
               rc ? strerror(errno) : "data");
    }
    rewind(f);
    char line[16];
    printf("file: %s", fgets(line, sizeof line, f) ? line : "(nothing)\n");
    fclose(f);
    printf("pipe stream fclose %s\n", fclose(pw) == 0 ? "0" : "EOF");
    return 0;
}
