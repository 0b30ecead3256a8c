/*
 * ckpt-ctl: talks to a running ckpt-run through its checkpoint folder.
 *
 *   ckpt-ctl checkpoint DIR   ask for a checkpoint now (SIGUSR1 to ckpt-run)
 *   ckpt-ctl stop DIR         stop the job (SIGTERM to ckpt-run); the committed
 *                             checkpoints stay for ckpt-run --restart DIR
 *
 * The process signalled is the one the kernel says holds the folder's lock
 * (folder.h), never a pid read from a file: a pid file left by a ckpt-run
 * that was killed, or planted, gets no process signalled.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"
#include "folder.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ckpt-ctl checkpoint|stop DIR\n"
               "\n"
               "Asks the ckpt-run that keeps its checkpoints in DIR to take a checkpoint now\n"
               "(checkpoint) or to stop the job, keeping its checkpoints (stop).\n"
               "Exit status: 0 sent, 1 no ckpt-run is running for DIR (or DIR is not\n"
               "a folder of yours that only you can write), 2 usage.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("ckpt-ctl %s\n", CKPT_VERSION);
        return 0;
    }
    int sig = argc == 3 && !strcmp(argv[1], "checkpoint") ? SIGUSR1
            : argc == 3 && !strcmp(argv[1], "stop") ? SIGTERM : 0;
    if (!sig) {
        usage(stderr);
        return 2;
    }
    int dfd = folder_open("ckpt-ctl", argv[2], 0);
    if (dfd < 0)
        return 1;
    pid_t pid = folder_holder(dfd);
    close(dfd);
    if (pid <= 0) {
        fprintf(stderr, "ckpt-ctl: no running job keeps its checkpoints in %s%s%s\n", argv[2],
                pid < 0 ? ": " : "", pid < 0 ? strerror(errno) : "");
        return 1;
    }
    if (kill(pid, sig) != 0) {
        fprintf(stderr, "ckpt-ctl: ckpt-run (pid %ld) for %s: %s\n", (long)pid, argv[2], strerror(errno));
        return 1;
    }
    return 0;
}
