/*
 * pvmbuf.c: the bytes of a PVM message buffer, read and rebuilt.
 *
 * PVM 3.4 has no call that hands out a message's encoded body, yet the sender
 * log must keep messages without copying them on the hot path, the writer
 * child must store them, and a restarted task must send them again with the
 * same encoding.  libpvm3 exports midtobuf() and pmsg_setenc(), and its
 * message and fragment descriptors begin with the fields mirrored below
 * (pmsg.h and frag.h of PVM 3.4.6).  ckpt__buf_selftest() checks the mirror
 * against libpvm3 at start-up, so a different libpvm3 is refused instead of
 * corrupting the log.  Nothing here talks to the pvmd, so the writer child
 * may call it.
 */
#include <errno.h>
#include <string.h>
#include <pvm3.h>

#include "rt.h"

struct pvm_frag {                  /* leading fields of libpvm3's struct frag */
    struct pvm_frag *fr_link, *fr_rlink;
    char *fr_buf, *fr_dat;
    int fr_max, fr_len;
};
struct pvm_msg {                   /* leading fields of libpvm3's struct pmsg */
    struct pvm_msg *m_link, *m_rlink;
    void *m_codef;
    struct pvm_frag *m_frag;       /* list head of the body's fragments */
};
extern struct pvm_msg *midtobuf(int mid);
extern int pmsg_setenc(struct pvm_msg *mp, int enc);

/* Copies up to max body bytes of bufid into out; returns the body length. */
int ckpt__buf_bytes(int bufid, void *out, size_t max, int *enc)
{
    struct pvm_msg *m = midtobuf(bufid);
    if (!m || !m->m_frag)
        return -EINVAL;
    size_t n = 0;
    for (struct pvm_frag *f = m->m_frag->fr_link; f != m->m_frag; f = f->fr_link) {
        if (f->fr_len < 0)
            return -EINVAL;
        if (out && n + (size_t)f->fr_len <= max)
            memcpy((char *)out + n, f->fr_dat, (size_t)f->fr_len);
        n += (size_t)f->fr_len;
    }
    if (enc) {
        struct pvmminfo mi;
        if (pvm_getminfo(bufid, &mi) < 0)
            return -EINVAL;
        *enc = mi.enc;
    }
    return (int)n;
}

int ckpt__buf_len(int bufid)
{
    return ckpt__buf_bytes(bufid, NULL, 0, NULL);
}

/* A new buffer holding bytes, encoded as enc says; the active send buffer is
 * left as it was.  Returns the buffer id or <0. */
int ckpt__buf_make(const void *bytes, size_t len, int enc)
{
    int b = pvm_mkbuf(PvmDataRaw);
    if (b < 0)
        return b;
    int old = pvm_setsbuf(b);
    int rc = len ? pvm_pkbyte((char *)bytes, (int)len, 1) : 0;
    pvm_setsbuf(old);
    if (rc >= 0)
        rc = pmsg_setenc(midtobuf(b), enc);
    if (rc < 0) {
        pvm_freebuf(b);
        return rc;
    }
    return b;
}

int ckpt__buf_selftest(void)
{
    static const char probe[] = "ckpt: libpvm3 buffer layout probe";
    char back[sizeof probe];
    int b = pvm_mkbuf(PvmDataRaw);
    if (b < 0)
        return b;
    int old = pvm_setsbuf(b);
    pvm_pkbyte((char *)probe, (int)sizeof probe, 1);
    pvm_setsbuf(old);
    int n = ckpt__buf_bytes(b, back, sizeof back, NULL);
    pvm_freebuf(b);
    return n == (int)sizeof probe && memcmp(back, probe, sizeof probe) == 0 ? 0 : -EPROTO;
}
