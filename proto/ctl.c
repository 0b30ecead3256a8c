/*
 * ctl.c: encoding and decoding of the runtime's control messages (proto.h),
 * shared by tasks and the coordinator.  The application's active buffers are
 * left as they were.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <pvm3.h>

#include "proto.h"

int ckpt__ctl_send(int tid, int type, const long *v, int n, char **strs, int nstr)
{
    int hdr[4] = {CKPT_CTL_MAGIC, CKPT_CTL_VERSION, type, n};
    int b = pvm_mkbuf(PvmDataDefault);
    if (b < 0)
        return b;
    int old = pvm_setsbuf(b), ctx = pvm_setcontext(PvmBaseContext);
    int rc = pvm_pkint(hdr, 4, 1);
    if (rc >= 0 && n > 0)
        rc = pvm_pklong((long *)v, n, 1);
    for (int i = 0; rc >= 0 && i < nstr; i++)
        rc = pvm_pkstr(strs[i]);
    if (rc >= 0)
        rc = pvm_send(tid, CKPT_CTL_TAG);
    pvm_setcontext(ctx);    /* the runtime's traffic stays out of the application's contexts */
    pvm_setsbuf(old);
    pvm_freebuf(b);
    return rc;
}

int ckpt__ctl_decode(int bufid, long *v, int max, int *n)
{
    /* XDR packs an int and a long in 4 bytes each.  A short message is
     * refused before unpacking, which libpvm would complain of on stderr. */
    int hdr[4], type, bytes = 0, tag, src;
    pvm_bufinfo(bufid, &bytes, &tag, &src);
    int saved = pvm_setrbuf(bufid);
    if (bytes < 16 || pvm_upkint(hdr, 4, 1) < 0 || hdr[0] != CKPT_CTL_MAGIC)
        type = -EBADMSG;
    else if (hdr[1] != CKPT_CTL_VERSION)
        type = -EPROTO;
    else if (hdr[3] < 0 || hdr[3] > max)
        type = -EMSGSIZE;
    else if (bytes < 16 + 4 * hdr[3] || (hdr[3] > 0 && pvm_upklong(v, hdr[3], 1) < 0))
        type = -EBADMSG;
    else {
        /* libpvm gives back the 4 bytes unsigned: -1 would read 4294967295 */
        for (int i = 0; i < hdr[3]; i++)
            v[i] = (int32_t)v[i];
        *n = hdr[3];
        type = hdr[2];
    }
    pvm_setrbuf(saved);
    return type;
}

/* The strings after the numbers of a message just decoded (the buffer keeps
 * its unpack position); each is bounded by the message length. */
int ckpt__ctl_strings(int bufid, char **out, int n)
{
    int len, tag, src;
    if (pvm_bufinfo(bufid, &len, &tag, &src) < 0 || len < 0)
        return -EBADMSG;
    int saved = pvm_setrbuf(bufid);
    int i, rc = 0;
    for (i = 0; i < n; i++) {
        out[i] = malloc((size_t)len + 1);
        if (!out[i] || pvm_upkstr(out[i]) < 0) {
            rc = out[i] ? -EBADMSG : -ENOMEM;
            break;
        }
    }
    if (rc)
        while (i >= 0)
            free(out[i--]);
    pvm_setrbuf(saved);
    return rc;
}
