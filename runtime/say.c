/*
 * say.c: the runtime's messages to the user, on stderr, one line each,
 * prefixed with the task's virtual id.  CKPT_VERBOSE chooses how much.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

static void vsay(const char *kind, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "ckpt[t%x]: %s", (unsigned)ckpt__rt.myvtid, kind);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    size_t len = strlen(line);
    /* Under ckpt-run -n our stderr and stdout are one stream to ckpt-run
     * (PVM merges them): wrapped, the line goes to its stderr instead of
     * among the program's output (tools/output.c). */
    static int relayed = -1;
    if (relayed < 0)
        relayed = getenv("CKPT_OUTPUT_MARK") != NULL;
    if (relayed) {
        static const char pre[] = "\033]ckpt-say;";
        char wrapped[sizeof line + sizeof pre];
        memcpy(wrapped, pre, sizeof pre - 1);
        for (size_t i = 0; i < len; i++)    /* no escape or bell may end it early */
            wrapped[sizeof pre - 1 + i] = line[i] == '\a' || line[i] == '\033' ? '?' : line[i];
        wrapped[sizeof pre - 1 + len] = '\a';
        ssize_t w = write(STDERR_FILENO, wrapped, sizeof pre + len);
        (void)w;
        return;
    }
    if (len + 1 < sizeof line)
        line[len++] = '\n';
    /* One write() per line: safe in a writer child and keeps lines whole. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void ckpt__say(int level, const char *fmt, ...)
{
    static const char *const kinds[] = {"error: ", "warning: ", "", ""};
    if (level > 1 && level > ckpt__rt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsay(kinds[level < 0 || level > 3 ? 3 : level], fmt, ap);
    va_end(ap);
}

void ckpt__die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay("fatal: ", fmt, ap);
    va_end(ap);
    _exit(70);  /* EX_SOFTWARE: a task the runtime cannot carry on */
}
