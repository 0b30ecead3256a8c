/*
 * renames.c: in a program that ckpt-cc builds, every call of ckpt_pvm_calls.h
 * goes to libckpt's wrapper.  The renames are generated from the table at
 * build time (include/ckpt_pvm_renames.c): the build tree's ckpt-cc must find
 * them beside the source include/ directory, and ckpt_pvm.h must include
 * them.  Each call is named here by its PVM name: the compile fails when one
 * keeps it, the link when libckpt lacks the wrapper, and the program exits 1
 * when ckpt-cc did not put ckpt_pvm.h first.
 */
#ifdef CKPT_PVM_H /* the instrumented compile; cc's own pass sees the source as is */

#define NAME_OF(f) #f
#define EXPANDED(f) NAME_OF(f)
#define CKPT_PVM_CALL(name, ret, params, safe)                                  \
    typedef char renamed_##name[sizeof EXPANDED(pvm_##name) == sizeof "ckpt_pvm_" #name ? 1 : -1];
#include <ckpt_pvm_calls.h>
#undef CKPT_PVM_CALL

/* not static: emitted, so the link needs every wrapper */
typedef void (*fn)(void);
#define CKPT_PVM_CALL(name, ret, params, safe) (fn)pvm_##name,
const fn renamed_calls[] = {
#include <ckpt_pvm_calls.h>
};
#undef CKPT_PVM_CALL

int main(void)
{
    return 0;
}

#else

int main(void)
{
    return 1;
}

#endif
