/* a file read line by line with fgets through a saved FILE *, stopped and
 * restarted at each line: the restarted task reads on from the same line
 * (its read-ahead is not skipped), through the same FILE * (the address it
 * had, checked against one kept as an integer), and fclose on it works; then
 * a second fopen in the restarted task */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

uintptr_t opened_at;
#pragma CKPT_SAVE(opened_at)

int main(void)
{
    FILE *gen = fopen("input.txt", "w");
    int i;
    for (i = 0; i < 40; i++)
        fprintf(gen, "record %02d %.*s\n", i, i % 17, "abcdefghijklmnopq");
    if (fclose(gen) != 0)
        return 1;
    FILE *in = fopen("input.txt", "r");
    char line[80];
    int n = 0;
    long sum = 0;
    #pragma CKPT_SAVE(in, n, sum)
    opened_at = (uintptr_t)in;
    while (fgets(line, sizeof line, in)) {
        sum += (long)strlen(line) * (n + 1);
        printf("%d at %ld%s: %s", n, ftell(in), (uintptr_t)in == opened_at ? "" : " MOVED", line);
        n++;
        #pragma CKPT_CHECKPOINT
    }
    printf("%d lines, sum %ld, eof %d error %d\n", n, sum, feof(in) != 0, ferror(in) != 0);
    printf("fclose %d\n", fclose(in));
    FILE *again = fopen("input.txt", "r");
    printf("first again: %s", fgets(line, sizeof line, again) ? line : "(none)\n");
    fclose(again);
    return 0;
}
