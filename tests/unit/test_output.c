/*
 * test_output: tools/output.c, which writes what the tasks of `ckpt-run -n`
 * print exactly once across rollbacks (run by under_pvmd.sh: it unpacks PVM
 * messages).  Output messages are fed in as the pvmd makes them (tid, byte
 * count, bytes), with the runtime's checkpoint markers in the bytes, and
 * what reaches stdout is compared with what a run without failures prints.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

#include "output.h"

static int failures;

static void feed(int tid, const char *bytes)
{
    int n = (int)strlen(bytes), b = pvm_mkbuf(PvmDataDefault), old = pvm_setsbuf(b);
    pvm_pkint(&tid, 1, 1);
    pvm_pkint(&n, 1, 1);
    pvm_pkbyte((char *)bytes, n, 1);
    pvm_setsbuf(old);
    output_message(b);
    pvm_freebuf(b);
}

#define MARK(k) "\033]ckpt;" #k "\a"

/* Runs one scenario with stdout going to a temporary file; compares. */
static void check(const char *name, void (*scenario)(void), const char *want)
{
    char got[256] = "";
    FILE *f = tmpfile();
    int saved = dup(1);
    if (!f || saved < 0 || fflush(stdout) != 0 || dup2(fileno(f), 1) < 0) {
        printf("FAIL %s: cannot redirect stdout\n", name);
        failures++;
        return;
    }
    scenario();
    output_flush();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    if (strcmp(got, want) != 0) {
        printf("FAIL %s: printed \"%s\", want \"%s\"\n", name, got, want);
        failures++;
    } else {
        printf("ok %s\n", name);
    }
}

/* A task killed after its checkpoint 1 prints it all again. */
static void one_rollback(void)
{
    output_known(100, 1);
    feed(100, "aaaa" MARK(1) "bb");
    feed(100, "bb");
    output_rollback(1);
    output_known(101, 1);
    feed(101, "bbbbcc");
}

/* The second rollback comes before the reprint after the first has caught
 * up with what was shown: what is shown stays shown. */
static void second_rollback_early(void)
{
    output_known(200, 2);
    feed(200, "aaaa" MARK(1) "bbbbbbbb");
    output_rollback(1);
    output_known(201, 2);
    feed(201, "bbbb" MARK(2));
    output_rollback(2);
    output_known(202, 2);
    feed(202, "bbbbcccc");
}

/* A marker cut in two by the end of a message; a rollback to 1 gives up the
 * first run's mark 2, and the second rollback finds the new one. */
static void split_and_stale_marks(void)
{
    output_known(300, 3);
    feed(300, "aa\033]ck");
    feed(300, "pt;1\abbcc" MARK(2) "dd");
    output_rollback(1);
    output_known(301, 3);
    feed(301, "bb" MARK(2) "ccdd");
    output_rollback(2);
    output_known(302, 3);
    feed(302, "ccddee");
}

/* The runtime's own line, wrapped (runtime/say.c) and cut between two
 * messages in the middle of a program's line, goes to stderr, not stdout;
 * an escape that is neither stays the program's. */
static void runtime_line(void)
{
    output_known(400, 4);
    feed(400, "aa\033]ckpt-say;ckpt[t4]: war");
    feed(400, "ning: x\abb\033[1m");
}

int main(void)
{
    check("one rollback", one_rollback, "aaaabbbbcc");
    check("second rollback before the reprint caught up", second_rollback_early, "aaaabbbbbbbbcccc");
    check("a marker cut between messages, a mark number used again", split_and_stale_marks, "aabbccddee");
    check("a runtime line cut between messages", runtime_line, "aabb\033[1m");
    return failures ? 1 : 0;
}
