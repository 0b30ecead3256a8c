/*
 * c89.c: the public headers in a strict C89 build (`cc -std=c89
 * -pedantic-errors`): a program that cc accepts so must ckpt-cc, which puts
 * ckpt_pvm.h (and with it ckpt.h) at the top of every source it rewrites.
 */
#include <ckpt_pvm.h>

int main(void)
{
    return 0;
}
