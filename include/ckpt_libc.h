/*
 * ckpt_libc.h: the libckpt twins of the C library functions listed in
 * ckpt_libc_calls.h, to which ckpt-cc renames the program's references.
 * Included by ckpt_pvm.h, which ckpt-cc puts at the top of every rewritten
 * source.
 */
#ifndef CKPT_LIBC_H
#define CKPT_LIBC_H

#include <stddef.h>
#include <stdio.h>      /* FILE */
#include <sys/types.h>  /* mode_t, off_t */

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_LIBC_CALL(name, ret, params) ret ckpt_##name params;
#include "ckpt_libc_calls.h"
#undef CKPT_LIBC_CALL

#ifdef __cplusplus
}
#endif
#endif /* CKPT_LIBC_H */
