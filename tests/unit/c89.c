/*
 * c89.c: the public headers in a strict C89 build (`cc -std=c89
 * -pedantic-errors`): a program that cc accepts so must ckpt-cc, which puts
 * ckpt_pvm.h (and with it ckpt.h) at the top of every source it rewrites.
 * Also: every call of ckpt_pvm_calls.h is renamed by ckpt_pvm.h (a #define
 * the table cannot make itself), told by the length of its name once
 * expanded; a missing one makes an array of size -1.
 */
#include <ckpt_pvm.h>

#define NAME_OF(f) #f
#define EXPANDED(f) NAME_OF(f)
#define CKPT_PVM_CALL(name, ret, params, safe)                                  \
    typedef char renamed_##name[sizeof EXPANDED(pvm_##name) == sizeof "ckpt_pvm_" #name ? 1 : -1];
#include <ckpt_pvm_calls.h>
#undef CKPT_PVM_CALL

int main(void)
{
    return 0;
}
