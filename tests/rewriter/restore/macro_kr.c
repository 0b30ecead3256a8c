/* K&R definitions, implicit int, and calls hidden behind the program's own macros */
#include <stdio.h>

#define STEP(x) step_fn(x)
#define CHECK() do { step_fn(0); } while (0)

int total;
#pragma CKPT_SAVE(total)

step_fn(v)
int v;
{
    #pragma CKPT_CHECKPOINT
    total += v;
    return total;
}

int kr_sum(n, scale)
int n;
double scale;
{
    int i;
    #pragma CKPT_SAVE(i)
    for (i = 1; i <= n; i++) {
        STEP(i * (int)scale);
        CHECK();
        printf("i=%d total=%d\n", i, total);
    }
    return total;
}

main()
{
    printf("sum %d\n", kr_sum(4, 2.0));
    return 0;
}
