/* loops whose condition or increment has several calls that reach a safe point:
 * while becomes for (;;) { temporaries; if (!(cond)) break; body }, for and do-while
 * get the temporaries inside their own transformation (continue still re-tests) */
#include <stdio.h>
static int f(int v)
{
    #pragma CKPT_CHECKPOINT
    return v;
}
int main(void)
{
    int i = 0, n = 0;
    #pragma CKPT_SAVE(i, n)
    while (f(i) < f(5)) {
        i++;
        if (i == 2)
            continue;
        n += i;
    }
    printf("%d %d\n", i, n);
    if (n)
        while (f(i) > 0 && f(i - 1) >= 0)
            i -= 2;
    printf("%d %d\n", i, n);
    for (i = 0; f(i) < f(3) && (i & 1 ? f(1) : f(2)) > 0; i = f(i) + f(1)) {
        if (i == 1)
            continue;
        n += 10 * i;
    }
    printf("%d %d\n", i, n);
    i = 0;
    do {
        n++;
        if (++i == 2)
            continue;
    } while (f(i) + f(n) < f(40));
    printf("%d %d\n", i, n);
    return 0;
}
