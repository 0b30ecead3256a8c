/*
 * pvmbuf.c: the bytes of a PVM message buffer, read and rebuilt.
 *
 * PVM 3.4 has no call that hands out a message's encoded body, yet the sender
 * log must keep messages without copying them on the hot path, the writer
 * child must store them, and a restarted task must send them again with the
 * same encoding; and the application holds buffers by id, which a restarted
 * task must give back.  libpvm3 exports midtobuf(), pmsg_setenc() and its
 * buffer id table, and its message and fragment descriptors begin with the
 * fields mirrored below (pmsg.h, frag.h and lpvm.c of PVM 3.4.6).  ckpt__buf_selftest() checks the mirror
 * against libpvm3 at start-up, so a different libpvm3 is refused instead of
 * corrupting the log.  Nothing here talks to the pvmd, so the writer child
 * may call it.
 */
#include <errno.h>
#include <stdlib.h>
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
    struct pvm_frag *m_cfrag;      /* the pack or unpack position: this fragment, */
    int m_ref, m_mid, m_len, m_ctx, m_tag, m_wid, m_src, m_dst, m_enc, m_flag;
    int m_cpos;                    /* and this offset in it */
};
#define PVM_MM_UPACK 2             /* m_flag: set up for unpacking */
struct pvm_midlist {               /* libpvm3's buffer id table entry */
    int m_free;
    struct pvm_msg *m_umb;         /* the buffer with this id, NULL if free */
};
extern struct pvm_msg *midtobuf(int mid);
extern int pmsg_setenc(struct pvm_msg *mp, int enc);
extern struct pvm_midlist *pvmmidh;
extern int pvmmidhsiz;
extern struct pvm_msg *pvmrxlist;  /* arrived, not yet received: a list with a head */

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

/* The encoding signature libpvm3 gives PvmDataRaw buffers.  A restarted
 * task needs it before its first message (to find its place in a buffer it
 * was unpacking, by the byte for raw data), so it is asked of libpvm3 here,
 * not learnt from traffic. */
int ckpt__buf_raw_enc(void)
{
    static int enc;
    struct pvmminfo mi;
    int b;
    if (!enc && (b = pvm_mkbuf(PvmDataRaw)) > 0) {      /* else 0 (no memory), asked again */
        if (pvm_getminfo(b, &mi) == 0)
            enc = mi.enc;
        pvm_freebuf(b);
    }
    return enc;
}

int ckpt__buf_len(int bufid)
{
    return ckpt__buf_bytes(bufid, NULL, 0, NULL);
}

/* Puts bytes into the empty buffer b, encoded as enc says (it then reads
 * back as a received one); the active send buffer is left as it was. */
static int fill(int b, const void *bytes, size_t len, int enc)
{
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

/* A new buffer holding bytes; returns its id or <0. */
int ckpt__buf_make(const void *bytes, size_t len, int enc)
{
    int b = pvm_mkbuf(PvmDataRaw);
    return b < 0 ? b : fill(b, bytes, len, enc);
}

/* The same under the id `want`: libpvm3 hands out free ids in its own order
 * (its table grows in chunks, each handed out from the top down), so take
 * and hold others until `want` comes, then give those back.  -EEXIST if it
 * is in use. */
int ckpt__buf_make_at(int want, const void *bytes, size_t len, int enc)
{
    if (want <= 0)
        return -EINVAL;
    if (want < pvmmidhsiz && pvmmidh[want].m_umb)
        return -EEXIST;
    int max = 2 * want + 1024, n = 0, b;   /* the ids below want, and its chunk's above */
    int *held = malloc(sizeof *held * (size_t)max);
    if (!held)
        return -ENOMEM;
    while ((b = pvm_mkbuf(PvmDataRaw)) > 0 && b != want && n < max)
        held[n++] = b;
    while (n > 0)
        pvm_freebuf(held[--n]);
    free(held);
    if (b != want) {
        if (b > 0)
            pvm_freebuf(b);
        return b < 0 ? b : -EEXIST;
    }
    return fill(b, bytes, len, enc);
}

/* How many encoded body bytes of bufid the application has unpacked (0 for
 * a buffer not being unpacked). */
int ckpt__buf_upos(int bufid)
{
    struct pvm_msg *m = midtobuf(bufid);
    if (!m || !m->m_frag || !(m->m_flag & PVM_MM_UPACK) || m->m_cpos < 0)
        return 0;
    int n = 0;
    for (struct pvm_frag *f = m->m_frag->fr_link; f != m->m_frag; f = f->fr_link) {
        if (f == m->m_cfrag)
            return n + m->m_cpos;
        n += f->fr_len;
    }
    return 0;       /* not started */
}

/* Unpacks and drops upos encoded bytes of bufid, so that the application's
 * next unpack reads where it read before a restart.  It goes through
 * libpvm3's own decoders, whatever the fragments look like now: bytes for a
 * raw buffer, 4-byte ints for XDR, whose items are all multiples of 4. */
int ckpt__buf_seek(int bufid, int upos, int raw_enc)
{
    struct pvmminfo mi;
    if (upos <= 0)
        return 0;
    if (pvm_getminfo(bufid, &mi) < 0)
        return -EINVAL;
    int raw = mi.enc == raw_enc, unit = raw ? 1 : 4, chunk = 16384;
    if (upos % unit)
        return -EINVAL;
    char *skip = malloc((size_t)chunk * 4);
    if (!skip)
        return -ENOMEM;
    int saved = pvm_setrbuf(bufid), rc = 0;
    for (int left = upos / unit; left > 0 && rc >= 0; left -= chunk) {
        int n = left < chunk ? left : chunk;
        rc = raw ? pvm_upkbyte(skip, n, 1) : pvm_upkint((int *)skip, n, 1);
    }
    pvm_setrbuf(saved);
    free(skip);
    if (rc < 0)
        return rc;
    return ckpt__buf_upos(bufid) == upos ? 0 : -EPROTO;
}

static int arrived(const struct pvm_msg *m)
{
    for (const struct pvm_msg *r = pvmrxlist ? pvmrxlist->m_link : NULL; r && r != pvmrxlist;
         r = r->m_link)
        if (r == m)
            return 1;
    return 0;
}

/* The ids of live buffers, at most max of them, but for messages that
 * arrived and were not received yet (their senders replay them) and those
 * skip() says no to (NULL: none); returns how many. */
int ckpt__buf_live(int *ids, int max, int (*skip)(int bufid))
{
    int n = 0;
    for (int i = 1; i < pvmmidhsiz && n < max; i++)
        if (pvmmidh[i].m_umb && !arrived(pvmmidh[i].m_umb) && !(skip && skip(i)))
            ids[n++] = i;
    return n;
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
    int in_table = b < pvmmidhsiz && pvmmidh[b].m_umb == midtobuf(b);
    /* the unpack position, as the mirror reads it, after 5 bytes */
    struct pvmminfo mi;
    int ok = pvm_getminfo(b, &mi) >= 0 && pmsg_setenc(midtobuf(b), mi.enc) >= 0 &&
             midtobuf(b)->m_mid == b;
    old = pvm_setrbuf(b);
    ok = ok && pvm_upkbyte(back, 5, 1) >= 0 && ckpt__buf_upos(b) == 5;
    pvm_setrbuf(old);
    pvm_freebuf(b);
    return ok && in_table && n == (int)sizeof probe && memcmp(back, probe, sizeof probe) == 0 ? 0 : -EPROTO;
}
