/*
 * secdump.h: `ckpt-info -s`, the fields of every section of a task image.
 */
#ifndef CKPT_SECDUMP_H
#define CKPT_SECDUMP_H

#include "image.h"

/* Prints each section of img, decoded as format/FORMAT.md says, to stdout. */
void secdump_image(const struct ckpt_img *img);

#endif /* CKPT_SECDUMP_H */
