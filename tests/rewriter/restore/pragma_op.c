/* _Pragma("CKPT_CHECKPOINT"): written out, and as the whole body of a macro (with or
 * without arguments) used as the body of if/else */
#include <stdio.h>
#define CHECKPOINT() _Pragma("CKPT_CHECKPOINT")
#define CP _Pragma("CKPT_CHECKPOINT")
int main(void)
{
    int i;
    #pragma CKPT_SAVE(i)
    for (i = 0; i < 3; i++) {
        if (i & 1)
            CHECKPOINT();
        else
            CP;
        _Pragma("CKPT_CHECKPOINT")
        printf("%d\n", i);
    }
    return 0;
}
