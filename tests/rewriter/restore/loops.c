/* calls that reach a safe point in every control-flow position: for init, condition
 * and increment (with continue/break, nested), while and do-while conditions, switch, if/else
 * bodies without braces, a declaration's initializer, a return */
#include <stdio.h>

int ticks;
#pragma CKPT_SAVE(ticks)

static int tick(int v)
{
    #pragma CKPT_CHECKPOINT
    ticks++;
    return v;
}

static int ret(int v)
{
    return tick(v) + 1;
}

int main(void)
{
    int i, j = 0, acc = 0;
    #pragma CKPT_SAVE(i, j, acc)
    for (i = 0; tick(i) < 3; i++)
        acc += i;
    printf("a acc=%d ticks=%d\n", acc, ticks);
    for (i = 0; i < 5; i = tick(i + 1)) {
        if (i == 1)
            continue;
        if (i == 4)
            break;
        acc += 10 * i;
    }
    printf("b acc=%d ticks=%d i=%d\n", acc, ticks, i);
    i = 0;
    do {
        acc += 100;
        i++;
        if (i == 2)
            continue;
    } while (tick(i) < 3);
    printf("c acc=%d ticks=%d\n", acc, ticks);
    for (i = tick(0); tick(i) < 3; i = tick(i + 1))
        for (j = 0; j < 2; j = tick(j + 1)) {
            if (j == 0)
                continue;
            acc += 1000 * i + j;
        }
    if (acc > 0)
        for (i = tick(0); tick(i) < 2; i++)
            acc += 7;
    printf("c2 acc=%d ticks=%d\n", acc, ticks);
    j = 0;
    while (tick(j) < 2)
        j++;
    switch (tick(acc) % 3) {
    case 0:
        acc += tick(1);
        break;
    case 1:
    default:
        acc -= tick(2);
    }
    if (acc > 0)
        acc += tick(3);
    else
        acc -= tick(4);
    {
        int k = ret(5);
        #pragma CKPT_SAVE(k)
        acc += k;
        tick(0);
        printf("k=%d\n", k);
    }
    printf("d acc=%d ticks=%d j=%d\n", acc, ticks, j);
    return 0;
}
