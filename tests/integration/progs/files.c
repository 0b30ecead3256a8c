/*
 * files: a master and one worker it spawns, with files open across every
 * checkpoint.  The master writes an input file, spawns the worker with its
 * absolute path, and writes each result the worker sends into an output file
 * with fprintf, and a line every 8 results into a log opened with "a"
 * (flushed then: a kill loses what stdio held, and leaves in the files bytes
 * written after the last checkpoint, which in the log a restart would append
 * again were they not cut); the worker reads the input line
 * by line with fgets through a saved FILE *, one line between two PVM calls.
 * At the end the master prints both files, so that the comparison with
 * the plain run covers its contents: no line twice, none lost, none cut.
 *   files LINES
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pvm3.h>

static long work(long x) { volatile long s = x; for (int i = 0; i < 2000000; i++) s = s * 31 + i; return s & 0xffff; }

static void worker(const char *path) {
    int parent = pvm_parent();
    FILE *in = fopen(path, "r");
    char line[128];
    long n = 0, v;
    if (!in) { perror(path); pvm_exit(); exit(1); }
    while (fgets(line, sizeof line, in)) {
        v = work(strtol(line, NULL, 10)) + (long)strlen(line);
        pvm_initsend(PvmDataDefault);
        pvm_pklong(&n, 1, 1);
        pvm_pklong(&v, 1, 1);
        pvm_send(parent, 2);
        n++;
    }
    pvm_initsend(PvmDataDefault);      /* the end: tag 3 (XDR has no negative longs) */
    pvm_pklong(&n, 1, 1);
    pvm_send(parent, 3);
    fclose(in);
}

int main(int argc, char **argv) {
    if (pvm_parent() > 0) { worker(argv[2]); pvm_exit(); return 0; }
    int lines = argc > 1 ? atoi(argv[1]) : 100;
    char cwd[PATH_MAX - 32], in_path[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) { perror("getcwd"); return 1; }
    snprintf(in_path, sizeof in_path, "%s/files.in", cwd);
    FILE *gen = fopen(in_path, "w");
    for (int i = 0; i < lines; i++)
        fprintf(gen, "%d %.*s\n", i * 7 + 3, i % 40, "some padding to vary the line lengths...");
    fclose(gen);
    FILE *out = fopen("files.out", "w");
    FILE *log = fopen("files.log", "w");        /* emptied, then appended to */
    fclose(log);
    log = fopen("files.log", "a");
    int child;
    char *args[] = {"-w", in_path, NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) { fprintf(stderr, "spawn failed\n"); return 1; }
    long n, v, total = 0;
    for (;;) {
        pvm_recv(child, -1);
        pvm_upklong(&n, 1, 1);
        int tag;
        pvm_bufinfo(pvm_getrbuf(), NULL, &tag, NULL);
        if (tag == 3)
            break;
        pvm_upklong(&v, 1, 1);
        total += v;
        fprintf(out, "line %ld: %ld (running total %ld)\n", n, v, total);
        if (n % 8 == 7) {   /* bytes in the files between checkpoints, for a kill to leave */
            fflush(out);
            fprintf(log, "%ld lines so far\n", n + 1);
            fflush(log);
        }
    }
    fclose(out);
    fclose(log);
    printf("%ld lines from the worker, total %ld\n", n, total);
    const char *names[] = {"files.out", "files.log"};
    for (int k = 0; k < 2; k++) {
        printf("-- %s:\n", names[k]);
        FILE *back = fopen(names[k], "r");
        char buf[200];
        while (fgets(buf, sizeof buf, back))
            fputs(buf, stdout);
        fclose(back);
    }
    pvm_exit();
    return 0;
}
