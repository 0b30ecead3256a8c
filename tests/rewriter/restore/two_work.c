#include <stdio.h>

int shared;
#pragma CKPT_SAVE(shared)

int work(int round)
{
    int j, acc = 0;
    #pragma CKPT_SAVE(j, acc)
    for (j = 0; j < 2; j++) {
        acc += round * 10 + j;
        shared++;
        #pragma CKPT_CHECKPOINT
    }
    return acc;
}
