/*
 * test_pvmbuf: runtime/pvmbuf.c against the real libpvm3 (run by
 * under_pvmd.sh as a task of a private pvmd).
 * A buffer the application had partly unpacked is rebuilt from its bytes, as
 * a restarted task does, and must go on at the same item, for XDR and raw
 * encodings, with the position before, on and after fragment boundaries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#include "rt.h"

#define NINTS 5000      /* 20000 bytes: several of libpvm3's fragments */

static int failures;

static void check(int ok, const char *what, int enc, int k)
{
    if (!ok) {
        printf("FAIL %s (encoding %d, after %d ints)\n", what, enc, k);
        failures++;
    }
}

/* A buffer holding 0..NINTS-1 packed with `encoding`, made readable. */
static int readable(int encoding, void **bytes, int *len, int *enc)
{
    int b = pvm_mkbuf(encoding), old = pvm_setsbuf(b);
    for (int i = 0; i < NINTS; i++)
        pvm_pkint(&i, 1, 1);
    pvm_setsbuf(old);
    *len = ckpt__buf_len(b);
    *bytes = malloc((size_t)*len);
    if (!*bytes || ckpt__buf_bytes(b, *bytes, (size_t)*len, enc) != *len)
        return -1;
    pvm_freebuf(b);
    return ckpt__buf_make(*bytes, (size_t)*len, *enc);
}

static void one(int encoding, int raw_enc, int k)
{
    void *bytes;
    int len, enc, v = -1;
    int b = readable(encoding, &bytes, &len, &enc);
    check(b > 0, "make a readable buffer", encoding, k);
    if (b <= 0)
        return;
    int old = pvm_setrbuf(b);
    for (int i = 0; i < k; i++)
        pvm_upkint(&v, 1, 1);
    pvm_setrbuf(old);
    int upos = ckpt__buf_upos(b);
    check(upos == 4 * k, "the unpack position counts encoded bytes", encoding, k);

    int again = ckpt__buf_make(bytes, (size_t)len, enc);
    check(ckpt__buf_upos(again) == 0, "a rebuilt buffer starts at 0", encoding, k);
    check(ckpt__buf_seek(again, upos, raw_enc) == 0, "seek", encoding, k);
    old = pvm_setrbuf(again);
    int rc = pvm_upkint(&v, 1, 1);
    pvm_setrbuf(old);
    check(k == NINTS ? rc < 0 : rc >= 0 && v == k, "the next int after the seek", encoding, k);
    pvm_freebuf(again);
    pvm_freebuf(b);
    free(bytes);
}

int main(void)
{
    if (ckpt__buf_selftest() != 0) {
        printf("FAIL libpvm3's buffer layout is not the one pvmbuf.c mirrors\n");
        return 1;
    }
    struct pvmminfo mi;
    int rb = pvm_mkbuf(PvmDataRaw);
    pvm_getminfo(rb, &mi);
    pvm_freebuf(rb);
    /* 1020 ints fill a 4080-byte fragment */
    static const int ks[] = {0, 1, 2, 1019, 1020, 1021, 2040, 3333, NINTS - 1, NINTS};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        one(PvmDataDefault, mi.enc, ks[i]);
        one(PvmDataRaw, mi.enc, ks[i]);
    }
    static const char four[4] = "abc";
    int small = ckpt__buf_make(four, sizeof four, mi.enc);
    check(ckpt__buf_seek(small, 8, mi.enc) < 0, "a seek past the end is refused", PvmDataRaw, 2);
    pvm_freebuf(small);
    printf("%s\n", failures ? "FAILED" : "ok");
    pvm_exit();
    return failures != 0;
}
