/* block-scope CKPT_SAVE and an explicit safe point in a loop */
#include <stdio.h>

int main(void)
{
    int i, sum = 0;
    #pragma CKPT_SAVE(i, sum)
    for (i = 0; i < 6; i++) {
        sum += i * i;
        printf("i=%d sum=%d\n", i, sum);
        #pragma CKPT_CHECKPOINT
    }
    printf("done %d\n", sum);
    return 0;
}
