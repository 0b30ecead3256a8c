/*
 * shuffle.h: the byte shuffle applied to a chunk before zlib (private to image.c
 * and its tests).
 *
 * Byte k of every element is gathered into plane k (as HDF5's and Blosc's shuffle
 * filters do): the slowly varying high bytes of smooth doubles or ints then sit
 * next to each other and deflate finds long matches it cannot see in the
 * interleaved layout.  Bytes past the last whole element are copied unchanged.
 *
 * Header-only (static inline) so that libckpt's source list stays as it is and the
 * element size is a compile-time constant in each specialised loop: the compiler
 * unrolls the inner loop and no function is called per byte.
 */
#ifndef CKPT_SHUFFLE_H
#define CKPT_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Element sizes that are shuffled; any other size is compressed as is. */
static inline int ckpt_shuffle_elem_ok(uint32_t elem)
{
    return elem == 2 || elem == 4 || elem == 8 || elem == 16;
}

/* Block of elements handled per pass: its planes (BLK bytes each) stay in L1. */
#define CKPT_SHUFFLE_BLK 256

static inline __attribute__((always_inline)) void
ckpt_shuffle_e(uint8_t *restrict dst, const uint8_t *restrict src, size_t n, const size_t e)
{
    for (size_t i0 = 0; i0 < n; i0 += CKPT_SHUFFLE_BLK) {
        size_t m = n - i0 < CKPT_SHUFFLE_BLK ? n - i0 : CKPT_SHUFFLE_BLK;
        const uint8_t *s = src + i0 * e;
        for (size_t k = 0; k < e; k++) {
            uint8_t *d = dst + k * n + i0;
            for (size_t i = 0; i < m; i++)
                d[i] = s[i * e + k];
        }
    }
}

static inline __attribute__((always_inline)) void
ckpt_unshuffle_e(uint8_t *restrict dst, const uint8_t *restrict src, size_t n, const size_t e)
{
    for (size_t i0 = 0; i0 < n; i0 += CKPT_SHUFFLE_BLK) {
        size_t m = n - i0 < CKPT_SHUFFLE_BLK ? n - i0 : CKPT_SHUFFLE_BLK;
        uint8_t *d = dst + i0 * e;
        for (size_t k = 0; k < e; k++) {
            const uint8_t *s = src + k * n + i0;
            for (size_t i = 0; i < m; i++)
                d[i * e + k] = s[i];
        }
    }
}

/* dst and src must not overlap; len bytes; elem must satisfy ckpt_shuffle_elem_ok. */
static inline void ckpt_shuffle(void *dst, const void *src, size_t len, uint32_t elem)
{
    size_t n = len / elem, done = n * elem;

    switch (elem) {
    case 2: ckpt_shuffle_e(dst, src, n, 2); break;
    case 4: ckpt_shuffle_e(dst, src, n, 4); break;
    case 8: ckpt_shuffle_e(dst, src, n, 8); break;
    case 16: ckpt_shuffle_e(dst, src, n, 16); break;
    default: done = 0; break;
    }
    memcpy((uint8_t *)dst + done, (const uint8_t *)src + done, len - done);
}

static inline void ckpt_unshuffle(void *dst, const void *src, size_t len, uint32_t elem)
{
    size_t n = len / elem, done = n * elem;

    switch (elem) {
    case 2: ckpt_unshuffle_e(dst, src, n, 2); break;
    case 4: ckpt_unshuffle_e(dst, src, n, 4); break;
    case 8: ckpt_unshuffle_e(dst, src, n, 8); break;
    case 16: ckpt_unshuffle_e(dst, src, n, 16); break;
    default: done = 0; break;
    }
    memcpy((uint8_t *)dst + done, (const uint8_t *)src + done, len - done);
}

#endif /* CKPT_SHUFFLE_H */
