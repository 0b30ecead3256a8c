/*
 * imgfmt.h: the task image's byte layout, shared by its writer (image.c) and
 * its reader (imgread.c) and seen by nobody else.  FORMAT.md describes it.
 *
 * Task image  ("CKPT-IMG"):
 *   header, IMG_HDR_SIZE bytes
 *     0 magic[8]  8 u32 version  12 u32 header size  16 u64 file length
 *    24 u32 nsections  28 u32 flags  32 i32 vtid  36 u32 depth
 *    40 u64 epoch  48 u64 time_ns  56 u64 exe size  64 u64 exe hash
 *    72 char exe name[64]  136 u64 job id  144 u64 parent epoch
 *   152 u64 parent time_ns  160 u64 root bytes  168 u64 chain bytes
 *   176 u32 reserved  180 u32 crc32 of bytes 0..179
 *   then nsections sections, each
 *     0 "SECT"  4 u32 type  8 u32 elem  12 u32 name length  16 u64 raw length
 *    24 u32 chunk size  28 u32 first chunk's raw length  32 u64 address
 *    40 u32 crc32 of the raw data  44 u32 crc32 of bytes 0..43 and of the name
 *    48 name bytes (no NUL)
 *     then its chunks: the first holds `first` raw bytes, the others `chunk
 *     size`, the last the rest; each
 *       0 u32 raw length  4 u32 stored length  8 u32 CHUNK_* flags
 *      12 u32 crc32 of its raw bytes  16 u32 crc32 of its stored bytes
 *      20 u32 crc32 of bytes 0..19;  24 stored bytes
 *   and nothing after the last section (the header's file length says so).
 *
 * A PARENT chunk stores 8 bytes, u32 section and u32 chunk index in the
 * parent image, whose chunk there must have the same address, raw length
 * and raw crc32.
 */
#ifndef CKPT_IMGFMT_H
#define CKPT_IMGFMT_H

#include "fmtio.h"
#include "image.h"

#define IMG_HDR_SIZE 184u
#define IMG_HDR_CRC_OFF 180u
#define SEC_HDR_SIZE 48u
#define CHUNK_HDR_SIZE 24u

#define CHUNK_DEFLATE 1u   /* stored bytes are a zlib stream */
#define CHUNK_SHUFFLED 2u  /* inflated bytes are shuffled by the section's elem */
#define CHUNK_PARENT 4u    /* the raw bytes are those of a chunk of the parent image */
#define CHUNK_KNOWN (CHUNK_DEFLATE | CHUNK_SHUFFLED | CHUNK_PARENT)
#define PARENT_REF_SIZE 8u

/* Raw bytes per chunk the writer uses; the reader accepts any size in range. */
#define CHUNK_RAW (1u << 20)
#define CHUNK_MIN 4096u
#define CHUNK_MAX (64u << 20)

#define IMG_CHAIN_MAX 1024u     /* the deepest chain a reader follows */

extern const char fmt__img_magic[8];
extern const char fmt__sec_magic[4];

/* Chunks of a section of raw length len whose first chunk holds first bytes. */
static inline uint64_t fmt__nchunks(uint64_t len, uint32_t first, uint32_t size)
{
    if (len == 0)
        return 0;
    return len <= first ? 1 : 1 + (len - first + size - 1) / size;
}

/* A chunk of an image that a later image can refer to: one with an address. */
struct img_chunk_ref {
    uint64_t addr;
    uint32_t raw, crc;
    uint32_t sec, chunk;
};

/* The header of image path (checksum verified; expect: NULL or the executable
 * it must name) and its length. */
int fmt__img_peek(struct rd *r, const char *path, const struct ckpt_exe_id *expect,
                  struct ckpt_img_header *h, uint64_t *len);
/* The chunks with an address of the image at path, sorted by address (those
 * sharing addresses with another left out), from its section and chunk
 * headers only (their checksums verified, no data read); its header into h
 * and its length into len. */
int fmt__img_chunks(struct rd *r, const char *path, struct ckpt_img_header *h, uint64_t *len,
                    struct img_chunk_ref **refs, size_t *nrefs);
/* Whether parent (at parent_path, len bytes, raw bytes of sections when
 * known, else UINT64_MAX) is the parent child names: the same job, task and
 * executable, the epoch and time the child names, one image shorter, and
 * bound to its epoch's commit record. */
int fmt__img_link(struct rd *r, const struct ckpt_img_header *child, const char *parent_path,
                  const struct ckpt_img_header *parent, uint64_t len, uint64_t raw);

#endif /* CKPT_IMGFMT_H */
