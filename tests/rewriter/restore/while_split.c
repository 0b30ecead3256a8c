/* while loops whose condition has several calls that reach a safe point become
 * for (;;) { temporaries; if (!(cond)) break; body } (continue still re-tests) */
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
    return 0;
}
