/*
 * vec.c: the small pieces every module of ckpt-cc's driver uses: argument
 * vectors, formatted strings, file-name pieces, and die(), which ends
 * ckpt-cc on a failure of its own with EXIT_CKPT (the temporary directory
 * goes at exit: tmpfiles.c).
 */
#define _GNU_SOURCE
#include "driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vpush(struct vec *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = realloc(a->v, (size_t)a->cap * sizeof *a->v);
        if (!a->v) {
            perror("ckpt-cc");
            exit(EXIT_CKPT);
        }
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

void vcat(struct vec *a, const struct vec *b)
{
    for (int i = 0; i < b->n; i++)
        vpush(a, b->v[i]);
}

char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) {
        perror("ckpt-cc");
        exit(EXIT_CKPT);
    }
    va_end(ap);
    return s;
}

void die(const char *f, ...)
{
    va_list ap;
    fprintf(stderr, "ckpt-cc: error: ");
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_CKPT);
}

char *stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = strdup(b);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = 0;
    return s;
}

char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return strdup(b ? b + 1 : path);
}

char *dir_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? strndup(path, (size_t)(b - path)) : strdup(".");
}
