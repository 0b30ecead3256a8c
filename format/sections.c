/*
 * sections.c: walking the records of a task image's sections (sections.h),
 * shared by the runtime's restore and ckpt-info.
 */
#include <errno.h>

#include "sections.h"

int ckpt__msg_rec_next(const void *data, uint64_t len, uint64_t *off,
                       const struct msg_rec **rec, const void **bytes)
{
    if (*off >= len)
        return 0;
    if (len - *off < sizeof(struct msg_rec))
        return -EINVAL;
    const struct msg_rec *r = (const struct msg_rec *)((const char *)data + *off);
    if (r->len < 0 || (uint64_t)PAD8(r->len) > len - *off - sizeof *r)
        return -EINVAL;
    *rec = r;
    *bytes = r + 1;
    *off += sizeof *r + PAD8(r->len);
    return 1;
}
