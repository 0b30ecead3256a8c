/* blocks the C library allocates for the program (getline's line, asprintf's
 * string, realpath's path) kept across safe points, no pragma: they live in
 * the heap arena, so the pointers the program keeps survive a restart */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    FILE *out = fopen("libc_alloc.txt", "w");
    for (int i = 0; i < 6; i++)
        fprintf(out, "line number %d of the input\n", i);
    fclose(out);
    char *where = realpath("libc_alloc.txt", NULL);
    FILE *in = fopen("libc_alloc.txt", "r");
    char *line = NULL, *prev = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0;
    while ((len = getline(&line, &cap, in)) > 0) {
        #pragma CKPT_CHECKPOINT
        char *both;
        if (asprintf(&both, "%s|%.*s", prev ? prev : "-", (int)len - 1, line) < 0)
            return 1;
        free(prev);
        prev = both;
        printf("%d: %s (%s)\n", n++, prev, strrchr(where, '/') + 1);
    }
    fclose(in);
    free(line);
    free(prev);
    free(where);
    return 0;
}
