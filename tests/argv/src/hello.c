/* a program without pragmas or PVM calls: ckpt-cc must build it exactly as cc does */
#include <stdio.h>
#include "util.h"
#ifndef GREETING
#define GREETING "hello"
#endif

int main(int argc, char **argv)
{
    int i, sum = 0;
    for (i = 0; i < 10; i++)
        sum += twice(i);
    printf("%s %d %d\n", GREETING, sum, argc);
#ifdef EXTRA
    printf("extra %d\n", EXTRA);
#endif
    return 0;
}
