/* nested and recursive safe points: every level of the recursion is rebuilt */
#include <stdio.h>

static int depth_sum(int d)
{
    int here = d * 10, below = 0;
    #pragma CKPT_SAVE(here, below)
    printf("enter %d\n", d);
    #pragma CKPT_CHECKPOINT
    if (d == 0)
        return here;
    below = depth_sum(d - 1);
    printf("leave %d below=%d\n", d, below);
    #pragma CKPT_CHECKPOINT
    return here + below;
}

static int twice(int d)
{
    int a, b;
    #pragma CKPT_SAVE(a)
    a = depth_sum(d);
    #pragma CKPT_SAVE(b)
    b = depth_sum(d + 1);
    return a * 1000 + b;
}

int main(void)
{
    int r;
    r = twice(2);
    printf("result %d\n", r);
    return 0;
}
