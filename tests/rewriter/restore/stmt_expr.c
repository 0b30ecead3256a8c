/* GNU statement expressions: a site never jumps into ({ ... }), the statement around
 * it is re-run */
#include <stdio.h>
static int f(int v)
{
    #pragma CKPT_CHECKPOINT
    return v + 1;
}
#define TWICE(x) ({ int t_ = f(x); t_ * 2; })
int main(void)
{
    int i, s = 0;
    #pragma CKPT_SAVE(i, s)
    for (i = 0; i < 3; i++) {
        s += TWICE(i);
        s += ({ int u = i * 3; u + 1; }) + f(s);
        printf("%d %d\n", i, s);
    }
    return 0;
}
