/* stdin redirected by the program itself with freopen, then read with
 * scanf: after a restart stdin is that file again, read on from where the
 * checkpoint left it (the C library's own FILE, at its own address) */
#include <stdio.h>

int main(void)
{
    FILE *gen = fopen("numbers.txt", "w");
    int i;
    for (i = 0; i < 30; i++)
        fprintf(gen, "%d %d\n", i, (i * 7919) % 1000);
    fclose(gen);
    if (!freopen("numbers.txt", "r", stdin))
        return 1;
    int a, b;
    long sum = 0;
    #pragma CKPT_SAVE(sum)
    while (scanf("%d %d", &a, &b) == 2) {
        sum += (long)a * b;
        printf("%d %d sum %ld at %ld\n", a, b, sum, ftell(stdin));
        #pragma CKPT_CHECKPOINT
    }
    printf("end: eof %d\n", feof(stdin) != 0);
    return 0;
}
