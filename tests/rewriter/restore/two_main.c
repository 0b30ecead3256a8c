/* two translation units: main reaches a safe point through a function of two_work.c */
#include <stdio.h>

int work(int round);
extern int shared;

int main(void)
{
    int round, out = 0;
    #pragma CKPT_SAVE(round, out)
    for (round = 0; round < 3; round++) {
        out += work(round);
        printf("round %d out %d shared %d\n", round, out, shared);
    }
    return 0;
}
