/*
 * ckpt-run: runs a PVM job under checkpointing and recovers it from failures.
 *
 * It is the job's coordinator (coord.c and the modules coordpriv.h lists):
 * it starts a private pvmd when none is running, starts the program
 * (directly, or as N sibling copies through PVM with -n), asks for a
 * checkpoint every interval, and when a task dies rolls every task back to
 * the last committed checkpoint.
 */
#define _GNU_SOURCE     /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pvm3.h>

#include "ckpt.h"
#include "coord.h"
#include "folder.h"
#include "hostfile.h"
#include "jobrec.h"
#include "runlog.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ckpt-run [options] PROGRAM [ARGS...]\n"
        "       ckpt-run [options] --restart DIR\n"
        "\n"
        "Runs a PVM program built with ckpt-cc, taking consistent checkpoints while it\n"
        "runs; when a task dies, every task rolls back to the last committed checkpoint\n"
        "and the job goes on.  Starts (and at the end halts) a private pvmd if none runs.\n"
        "\n"
        "  -n, --tasks N          start N sibling copies through PVM (as the console's spawn -N);\n"
        "                         default: run PROGRAM directly, it spawns its own tasks\n"
        "  -i, --interval SECONDS time between checkpoints (default $CKPT_INTERVAL or 60; 0: none)\n"
        "  -d, --dir DIR          checkpoint folder (default $CKPT_DIR, else ./ckpt.PROGRAM)\n"
        "  -z, --compress LEVEL   zlib level 0-9 for every image, or auto: deflate (level 1) only\n"
        "                         while that costs the writer less time than writing the bytes\n"
        "                         it saves, measured (default $CKPT_COMPRESS or auto)\n"
        "  -k, --keep N           committed checkpoints kept on disk, with those they build on\n"
        "                         (default 2)\n"
        "  -c, --chain N          a checkpoint writes only what changed since the one before, up\n"
        "                         to N images in a chain, the full one included (default\n"
        "                         $CKPT_CHAIN or 16; 1: every checkpoint is a full image)\n"
        "  -r, --max-restarts N   recoveries before giving up (default 10)\n"
        "      --stall SECONDS    a checkpoint not written by every task within SECONDS is\n"
        "                         reported, naming those tasks, and aborted (default 120)\n"
        "      --host-timeout SECONDS  a host of the virtual machine whose heartbeat (ckpt-beat,\n"
        "                         two a second) stops for SECONDS is deleted and its tasks\n"
        "                         recovered, without waiting for PVM's own time-out of about\n"
        "                         3 minutes (default 3; 0: no heartbeats)\n"
        "      --host-local       the checkpoint folder is local to each host (the same path on\n"
        "                         every host's own disk), not shared: each image is also copied\n"
        "                         to a partner host (by ckpt-beat, started on every host), a\n"
        "                         checkpoint commits once both copies are on disk, and a lost\n"
        "                         host's tasks restart on its partner from the copies\n"
        "      --hostfile FILE    start the virtual machine on the hosts of FILE, PVM's host file\n"
        "                         (man 1PVM pvmd3; lines '&' HOST are spares, below); needs that no\n"
        "                         pvmd runs for this user and $PVM_VMID (else exit status 2)\n"
        "      --restart DIR      resume a job whose virtual machine was lost, from DIR: runs the\n"
        "                         program DIR/job names, if it is still the executable the job ran\n"
        "      --epoch K          with --restart: from checkpoint K, not the newest one\n"
        "  -v, --verbose          one line per checkpoint; twice: protocol events too\n"
        "  -h, --help             this text\n"
        "      --version\n"
        "\n"
        "The checkpoint folder must be yours alone (not writable by group or others) and is\n"
        "used by one job at a time; a new job moves an earlier job's checkpoints into\n"
        "DIR/job.<id>, from where --restart can still resume that job.\n"
        "Ask a running job for a checkpoint now: kill -USR1 <ckpt-run pid>, or ckpt-ctl checkpoint DIR.\n"
        "With --hostfile, spawned programs are found next to PROGRAM (ep=) unless FILE's '*' lines\n"
        "say ep= themselves; the host that is this computer names the master pvmd; a host that does\n"
        "not start is named and the job runs without it.  A spare ('&' HOST) joins once the job's\n"
        "first tasks are spawned, and gets no restarted task until PVM reports a host lost (its\n"
        "pvmd ended, or deleted): then it takes that host's tasks.  A host lost silently (noticed\n"
        "by --host-timeout) leaves spares alone: until PVM's own time-out for it has run, minutes,\n"
        "a task restarted on a spare does not get going (measured), and every task restarts on\n"
        "ckpt-run's host.  Tasks a program spawns itself, and the copies of a job restarted\n"
        "from its beginning, go where PVM puts them, a spare included.\n"
        "Exit status: the program's own (or 0 for -n when every task ends); 1 when the job\n"
        "could not be run or recovered; 2 for bad usage (a mistake in --hostfile's FILE, or\n"
        "--hostfile while a pvmd runs); 128+N when stopped by signal N.\n"
        "When PROGRAM returns, ckpt-run waits up to 2 s for the job's other tasks to end.\n");
}

static double parse_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || v < lo || v > hi) {
        fprintf(stderr, "ckpt-run: bad value for %s: %s\n", opt, s);
        exit(2);
    }
    return v;
}

/* -z / CKPT_COMPRESS: "auto" (-1) or a zlib level. */
static int parse_level(const char *opt, const char *s)
{
    return strcmp(s, "auto") ? (int)parse_num(opt, s, 0, 9) : -1;
}

static void parse(struct job_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"tasks", 1, NULL, 'n'}, {"interval", 1, NULL, 'i'}, {"dir", 1, NULL, 'd'},
        {"compress", 1, NULL, 'z'}, {"keep", 1, NULL, 'k'}, {"max-restarts", 1, NULL, 'r'},
        {"restart", 1, NULL, 'R'}, {"verbose", 0, NULL, 'v'}, {"help", 0, NULL, 'h'},
        {"version", 0, NULL, 'V'}, {"stall", 1, NULL, 'S'}, {"host-timeout", 1, NULL, 'H'}, {"chain", 1, NULL, 'c'},
        {"epoch", 1, NULL, 'E'}, {"host-local", 0, NULL, 'L'}, {"hostfile", 1, NULL, 'F'},
        {NULL, 0, NULL, 0}};
    const char *iv = getenv("CKPT_INTERVAL");
    o->interval = iv ? parse_num("CKPT_INTERVAL", iv, 0, 1e9) : 60;
    const char *zv = getenv("CKPT_COMPRESS");
    o->level = zv && *zv ? parse_level("CKPT_COMPRESS", zv) : -1;
    const char *cv = getenv("CKPT_CHAIN");
    o->chain = cv && *cv ? (int)parse_num("CKPT_CHAIN", cv, 1, 1000) : CKPT_CHAIN_DEFAULT;
    o->keep = 2;
    o->max_restarts = 10;
    o->stall = 120;
    o->host_timeout = 3;
    /* Like every other CKPT_* setting, the folder may come from the
     * environment (the name ckpt-info and the runtime give it); the command
     * line wins. */
    const char *dir = getenv("CKPT_DIR");
    if (dir && !*dir)
        dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+n:i:d:z:k:c:r:vh", longs, NULL)) != -1) {
        switch (c) {
        case 'n': o->ntasks = (int)parse_num("-n", optarg, 1, 4096); break;
        case 'i': o->interval = parse_num("-i", optarg, 0, 1e9); break;
        case 'd': dir = optarg; break;
        case 'z': o->level = parse_level("-z", optarg); break;
        case 'k': o->keep = (int)parse_num("-k", optarg, 1, 1000); break;
        case 'c': o->chain = (int)parse_num("-c", optarg, 1, 1000); break;
        case 'E': o->epoch = (uint64_t)parse_num("--epoch", optarg, 0, 1e18); o->has_epoch = 1; break;
        case 'r': o->max_restarts = (int)parse_num("-r", optarg, 0, 1000000); break;
        case 'S': o->stall = parse_num("--stall", optarg, 0.01, 1e9); break;
        case 'H': o->host_timeout = parse_num("--host-timeout", optarg, 0, 1e6); break;
        case 'R': o->restart_dir = optarg; break;
        case 'L': o->host_local = 1; break;
        case 'F': o->hostfile = optarg; break;
        case 'v': o->verbose++; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("ckpt-run %s\n", CKPT_VERSION); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if ((o->restart_dir ? optind != argc : optind == argc) || (o->has_epoch && !o->restart_dir)) {
        usage(stderr);
        exit(2);
    }
    o->argv = argv + optind;
    if (o->restart_dir)
        dir = o->restart_dir;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        perror("ckpt-run: getcwd");
        exit(1);
    }
    if (!o->restart_dir) {
        /* Absolute, so every task finds it wherever PVM starts it. */
        static char prog[PATH_MAX];
        if (!realpath(o->argv[0], prog)) {
            fprintf(stderr, "ckpt-run: %s: %s\n", o->argv[0], strerror(errno));
            exit(1);
        }
        o->argv[0] = prog;
    }
    const char *base = strrchr(o->argv[0] ? o->argv[0] : "job", '/');
    base = base ? base + 1 : (o->argv[0] ? o->argv[0] : "job");
    int n = !dir ? snprintf(o->dir, sizeof o->dir, "%s/ckpt.%s", cwd, base)
          : dir[0] == '/' ? snprintf(o->dir, sizeof o->dir, "%s", dir)
          : snprintf(o->dir, sizeof o->dir, "%s/%s", cwd, dir);
    if (n < 0 || (size_t)n >= sizeof o->dir) {
        fprintf(stderr, "ckpt-run: checkpoint folder name too long\n");
        exit(2);
    }
}

/* What every task of the job inherits, directly or through pvm_spawn. */
static void export_config(const struct job *j)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%d", j->mytid);
    setenv("CKPT_COORD", buf, 1);
    setenv("CKPT_DIR", j->o.dir, 1);
    if (j->o.level < 0)
        snprintf(buf, sizeof buf, "auto");
    else
        snprintf(buf, sizeof buf, "%d", j->o.level);
    setenv("CKPT_COMPRESS", buf, 1);
    snprintf(buf, sizeof buf, "%d", j->o.chain);
    setenv("CKPT_CHAIN", buf, 1);
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)j->rec.id);
    setenv("CKPT_JOB", buf, 1);
    unsetenv("CKPT_STOP_AT");
    unsetenv("CKPT_RESTART");
    static const char vars[] = "CKPT_COORD:CKPT_DIR:CKPT_JOB:CKPT_COMPRESS:CKPT_DISK_MBS:CKPT_CHAIN:CKPT_LOG:CKPT_VERBOSE:CKPT_EPOCH0:CKPT_RESTORE:CKPT_OUTPUT_MARK:CKPT_FAULT:CKPT_HOLD:CKPT_SNAPSHOT";
    const char *old = getenv("PVM_EXPORT");
    char *exp = malloc(strlen(vars) + (old ? strlen(old) : 0) + 2);
    if (!exp)
        exit(1);
    sprintf(exp, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", vars);
    setenv("PVM_EXPORT", exp, 1);
    free(exp);
}

/* $PVM_TMP/NAME.<uid>[.<vmid>]: the pvmd's address file (pvmd) or log (pvml). */
static void pvm_tmp_file(char *buf, size_t size, const char *name)
{
    const char *tmp = getenv("PVM_TMP"), *vmid = getenv("PVM_VMID");
    snprintf(buf, size, "%s/%s.%d%s%s", tmp && *tmp ? tmp : "/tmp", name, (int)getuid(),
             vmid && *vmid ? "." : "", vmid && *vmid ? vmid : "");
}

/* Enrolls in the running pvmd, if there is one: our tid, else -1.  Asks
 * libpvm only if the pvmd's address file is there: without a pvmd,
 * pvm_mytid() prints its failure to connect. */
static int enroll_running(void)
{
    char addr[4096];
    if (!getenv("PVM_ROOT"))
        setenv("PVM_ROOT", "/usr/lib/pvm3", 1);
    pvm_tmp_file(addr, sizeof addr, "pvmd");
    return access(addr, F_OK) == 0 ? pvm_mytid() : -1;
}

/* Where our pvmd finds spawned programs: next to the job's program, Debian's
 * group server (pvmgs, in $PVM_ROOT/lib), then where PVM looks by default.
 * (A folder with blanks or '$' in its name cannot be said in a host file.) */
static const char *default_ep(const char *prog)
{
    static char ep[PATH_MAX + 128];
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", prog);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int plain = !strpbrk(dir, " \t$");
    snprintf(ep, sizeof ep, "%s%s$PVM_ROOT/lib:$HOME/pvm3/bin/$PVM_ARCH:$PVM_ROOT/bin/$PVM_ARCH",
             plain ? dir : "", plain ? ":" : "");
    return ep;
}

/* --hostfile: read and checked before anything else is done (a mistake is
 * bad usage), and refused while a pvmd runs: the hosts of a running machine
 * are its own, and the user meant these. */
static struct hostfile hostfile;

static void read_hostfile(struct job_opts *o)
{
    if (hostfile_read(o->hostfile, default_ep(o->restart_dir ? "" : o->argv[0]), &hostfile) != 0)
        exit(2);
    o->spares = hostfile.spares;
    if (enroll_running() >= 0) {
        pvm_exit();
        fprintf(stderr, "ckpt-run: --hostfile starts a virtual machine, but a pvmd already runs for "
                "this user%s%s: halt it, or give this job a machine of its own with PVM_VMID, or "
                "leave out --hostfile to run on the machine as it is\n",
                getenv("PVM_VMID") ? " and PVM_VMID " : "", getenv("PVM_VMID") ? getenv("PVM_VMID") : "");
        exit(2);
    }
}

/* The hosts of --hostfile that did not start at boot (spares are added
 * later) are named; the job goes on without them (on a network of
 * workstations one is often down). */
static void say_missing_hosts(void)
{
    struct pvmhostinfo *hi;
    int nhost, narch, missing = 0;
    if (pvm_config(&nhost, &narch, &hi) < 0)
        return;
    for (int i = 0; hostfile.hosts[i]; i++) {
        if (hostfile.spare[i])
            continue;
        int k = 0;
        while (k < nhost && strcmp(hi[k].hi_name, hostfile.hosts[i]) != 0)
            k++;
        if (k < nhost)
            continue;
        char log[4096];
        pvm_tmp_file(log, sizeof log, "pvml");
        fprintf(stderr, "ckpt-run: %s:%d: host %s did not start (the pvmd's log says why: %s); "
                "the job runs without it\n", hostfile.path, hostfile.lineno[i], hostfile.hosts[i], log);
        missing++;
    }
    if (missing && !hostfile.master)
        fprintf(stderr, "ckpt-run: %s names no host that is this computer: the other hosts were "
                "told to reach the master pvmd at what this computer's own name resolves to\n",
                hostfile.path);
}

/* Starts our pvmd with a host file: ckpt-run's ep= default, then the user's
 * hosts (hostfile.h), the master named as the file names it. */
static int start_pvmd(const char *prog)
{
    char path[] = "/tmp/ckpt-run.hosts.XXXXXX", name[300];
    int fd = mkstemp(path);
    FILE *hf = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!hf) {
        fprintf(stderr, "ckpt-run: cannot write a host file for the pvmd: %s\n", strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return -1;
    }
    int bad = fprintf(hf, "* ep=%s\n", default_ep(prog)) < 0 ||
              (hostfile.path && hostfile_write(&hostfile, hf) != 0);
    if (fclose(hf) != 0 || bad) {
        fprintf(stderr, "ckpt-run: cannot write %s: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    char *args[3];
    int argc = 0;
    if (hostfile.master) {
        snprintf(name, sizeof name, "-n%s", hostfile.master);
        args[argc++] = name;
    }
    args[argc++] = path;
    args[argc] = NULL;
    /* (blocking, libpvm asks until the hosts are started, and prints each
     * "Already in progress" answer unless told not to) */
    int autoerr = pvm_setopt(PvmAutoErr, 0);
    int rc = pvm_start_pvmd(argc, args, 1);
    pvm_setopt(PvmAutoErr, autoerr);
    unlink(path);
    return rc;
}

static int start_pvm(const char *prog, int *started)
{
    *started = 0;
    int tid = enroll_running();
    if (tid >= 0)
        return tid;
    /* (the pvmd would refuse, and PVM's library exit, leaving our host file) */
    if (geteuid() == 0 && !getenv("PVM_ALLOW_ROOT")) {
        fprintf(stderr, "ckpt-run: cannot start a pvmd: as root PVM needs PVM_ALLOW_ROOT=1\n");
        return -1;
    }
    int rc = start_pvmd(prog);
    if (rc < 0 && rc != PvmDupHost) {
        fprintf(stderr, "ckpt-run: cannot start a pvmd (PVM error %d)\n", rc);
        return -1;
    }
    *started = rc == 0;
    tid = pvm_mytid();
    if (tid < 0)
        fprintf(stderr, "ckpt-run: cannot enroll in PVM (error %d)\n", tid);
    else if (hostfile.path)
        say_missing_hosts();
    return tid;
}

/* A private pvmd would outlive a ckpt-run that is SIGKILLed, and with it the
 * job's stopped tasks.  A watcher in a session of its own holds the read end
 * of a pipe whose write end only we hold (close-on-exec): when we end, however
 * we end, it reads EOF and halts the pvmd through PVM's console.  At a normal
 * end we stop the watcher first and halt the pvmd ourselves. */
static pid_t start_watcher(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "ckpt-run: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (setsid() < 0 || dup2(p[0], 0) < 0 || nul < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
            _exit(127);
        execl("/bin/sh", "sh", "-c", "cat >/dev/null; echo halt | \"$PVM_ROOT/lib/pvm\"", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        fprintf(stderr, "ckpt-run: fork: %s\n", strerror(errno));
    close(p[0]);        /* p[1] stays open, unused, for our whole life */
    return pid;
}

static void stop_watcher(pid_t pid)
{
    if (pid <= 0)
        return;
    if (kill(-pid, SIGKILL) != 0)   /* its session: the shell and its cat */
        fprintf(stderr, "ckpt-run: cannot stop pid %d: %s\n", (int)pid, strerror(errno));
    waitpid(pid, NULL, 0);
}

/* The program we run must not inherit our connection to the pvmd: the pvmd
 * would not see us die while it lives, and the tasks would never learn that
 * their coordinator is gone. */
static void keep_pvm_fds_private(void)
{
    int *fds, n = pvm_getfds(&fds);
    for (int i = 0; i < n; i++)
        if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0)
            fprintf(stderr, "ckpt-run: fcntl: %s\n", strerror(errno));
}

static void summary(const struct job *j, double secs)
{
    fprintf(stderr, "ckpt-run: %s after %.1f s: %d checkpoint%s committed (%.1f MiB written), "
            "%d aborted, %d recover%s (%.1f s recovering, about %.1f s of work redone)\n",
            j->failed ? "gave up" : "job ended", secs, j->checkpoints, j->checkpoints == 1 ? "" : "s",
            j->bytes_stored / 1048576.0, j->aborted, j->recoveries, j->recoveries == 1 ? "y" : "ies",
            j->recovery_s, j->lost_s);
}

int main(int argc, char **argv)
{
    static struct job j;
    runlog_setup();
    parse(&j.o, argc, argv);
    if (j.o.hostfile)
        read_hostfile(&j.o);
    coord_catch_signals();
    /* The folder is ours alone before anything is read from it or run:
     * --restart never creates one, a fresh job never resumes another's. */
    int dfd = folder_open("ckpt-run", j.o.dir, !j.o.restart_dir);
    int lockfd = dfd < 0 ? -1 : folder_lock("ckpt-run", j.o.dir, dfd);
    if (lockfd < 0 || jobrec_claim(&j, dfd) != 0)
        return 1;
    close(dfd);
    int started;
    j.mytid = start_pvm(j.o.restart_dir ? "" : j.o.argv[0], &started);
    if (j.mytid < 0)
        return 1;
    keep_pvm_fds_private();
    pid_t watcher = started ? start_watcher() : 0;     /* after: it must not hold our PVM socket */
    export_config(&j);
    double t0 = job_now();
    int status = coord_start(&j) == 0 ? coord_loop(&j) : 1;
    if (j.failed)
        status = 1;
    if (j.o.verbose || j.recoveries || j.failed)
        summary(&j, job_now() - t0);
    /* The pid file stays (see folder.h) and our lock goes with us. */
    if (ftruncate(lockfd, 0) != 0)
        fprintf(stderr, "ckpt-run: cannot empty %s/%s: %s\n", j.o.dir, FOLDER_PIDFILE, strerror(errno));
    if (started) {
        stop_watcher(watcher);
        signal(SIGTERM, SIG_IGN);   /* pvm_halt signals every task, us included */
        pvm_halt();
    } else {
        pvm_exit();
    }
    return status;
}
