/*
 * hostfile.h: ckpt-run --hostfile FILE: a PVM host file (man 1PVM pvmd3),
 * checked line by line before anything starts, so that a mistake is said as
 * FILE:LINE rather than left to the pvmd's log; then written out again for
 * the pvmd that ckpt-run starts, with ckpt-run's own defaults in front.
 */
#ifndef CKPT_HOSTFILE_H
#define CKPT_HOSTFILE_H

#include <stdio.h>

struct hostfile {
    const char *path;
    char **lines;       /* the host and '*' lines as the pvmd gets them */
    int nlines;
    char **hosts;       /* every host named, spares included (NULL-terminated) */
    int *lineno;        /* hosts[i]'s line in the file */
    int *spare;         /* hosts[i] is a spare */
    char **spares;      /* the '&' hosts (NULL-terminated) */
    const char *master; /* the host named that is this computer, else NULL */
};

/* Reads and checks path; ep is the ep= that '*' lines without one get.
 * On a mistake says "ckpt-run: FILE:LINE: ..." on stderr and returns -1. */
int hostfile_read(const char *path, const char *ep, struct hostfile *hf);
/* hf's lines for the pvmd, after ckpt-run's own "* ep=..." line. */
int hostfile_write(const struct hostfile *hf, FILE *f);

#endif /* CKPT_HOSTFILE_H */
