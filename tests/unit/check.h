/*
 * check.h: CHECK(c), the unit tests' assertion: says the file, line and
 * expression that failed, and ends the test with status 1.
 */
#ifndef CKPT_CHECK_H
#define CKPT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                       \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);      \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#endif /* CKPT_CHECK_H */
