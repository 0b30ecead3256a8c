/* setjmp in a function that reaches a safe point: a restarted task has no stack for
 * the jmp_buf to point into */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf again;

static void work(int round)
{
    #pragma CKPT_CHECKPOINT
    if (round == 2)
        longjmp(again, 1);
}

int main(void)
{
    int round = 0;
    #pragma CKPT_SAVE(round)
    if (setjmp(again))
        printf("jumped back\n");
    while (round < 4)
        work(round++);
    return 0;
}
