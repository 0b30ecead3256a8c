/* FILE *s kept in a heap struct, reached only through a saved pointer: one
 * reading, one writing; after a restart both are where the struct says.
 * Then getline growing a buffer of the program's heap: the C library
 * reallocates a block of libckpt's arena (through libckptmalloc) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

struct job {
    FILE *in, *out;
    int lines;
    char name[16];
};

int main(void)
{
    FILE *gen = fopen("in.txt", "w");
    int i;
    for (i = 0; i < 15; i++)
        fprintf(gen, "%d %d\n", i, 100 - i * 3);
    fclose(gen);
    struct job *j = malloc(sizeof *j);
    #pragma CKPT_SAVE(j)
    j->in = fopen("in.txt", "r");
    j->out = fopen("sums.txt", "w+");
    j->lines = 0;
    snprintf(j->name, sizeof j->name, "job-%d", 7);
    int a, b;
    while (fscanf(j->in, "%d %d", &a, &b) == 2) {
        fprintf(j->out, "%s %d: %d\n", j->name, j->lines, a + b);
        j->lines++;
        #pragma CKPT_CHECKPOINT
    }
    rewind(j->out);
    char line[64];
    while (fgets(line, sizeof line, j->out))
        fputs(line, stdout);
    rewind(j->in);
    size_t cap = 4;
    char *buf = malloc(cap);
    ssize_t n;
    #pragma CKPT_SAVE(buf, cap)
    for (i = 0; i < 4 && (n = getline(&buf, &cap, j->in)) > 0; i++) {
        printf("getline %zd: %s", n, buf);
        #pragma CKPT_CHECKPOINT
    }
    free(buf);
    printf("%d lines, fclose %d %d\n", j->lines, fclose(j->in), fclose(j->out));
    free(j);
    return 0;
}
