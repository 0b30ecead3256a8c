/* a loop counter declared in the for statement, saved by a pragma in the loop body */
#include <stdio.h>

static double term(long i)
{
    #pragma CKPT_CHECKPOINT
    return 1.0 / ((double)i * i);
}

int main(void)
{
    double sum = 0;
    #pragma CKPT_SAVE(sum)
    for (long i = 1; i <= 6; i++) {
        #pragma CKPT_SAVE(i)
        sum += term(i);
        printf("%ld %f\n", i, sum);
        #pragma CKPT_CHECKPOINT
    }
    printf("%f\n", sum);
    return 0;
}
