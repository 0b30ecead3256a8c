/*
 * ckpt-ctl: talks to a running ckpt-run through its checkpoint folder.
 *
 *   ckpt-ctl checkpoint DIR   ask for a checkpoint now (SIGUSR1 to ckpt-run)
 *   ckpt-ctl stop DIR         stop the job (SIGTERM to ckpt-run); the committed
 *                             checkpoints stay for ckpt-run --restart DIR
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ckpt-ctl checkpoint|stop DIR\n"
               "\n"
               "Asks the ckpt-run that keeps its checkpoints in DIR to take a checkpoint now\n"
               "(checkpoint) or to stop the job, keeping its checkpoints (stop).\n"
               "Exit status: 0 sent, 1 no ckpt-run is running for DIR, 2 usage.\n");
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
    char path[4200];
    snprintf(path, sizeof path, "%s/ckpt-run.pid", argv[2]);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fprintf(stderr, "ckpt-ctl: no running job keeps its checkpoints in %s (%s)\n", argv[2],
                f ? "unreadable pid file" : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "ckpt-ctl: ckpt-run (pid %ld) for %s: %s\n", pid, argv[2], strerror(errno));
        return 1;
    }
    return 0;
}
