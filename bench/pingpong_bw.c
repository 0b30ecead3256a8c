/*
 * pingpong_bw: PVM ping-pong latency and streaming bandwidth between two tasks.
 *
 * Builds with plain cc (`cc -O2 pingpong_bw.c -lpvm3`) and with ckpt-cc; in
 * the latter it also reports the sender log figures from ckpt_get_stats().
 * Started once from the shell (or by ckpt-run): it spawns one copy of itself
 * (argument "-c" marks the copy) and only the first task prints.
 *
 *   pingpong_bw sweep PPBYTES STREAMBYTES SIZE...
 *       for each SIZE (bytes), in the order given: a ping-pong of
 *       about PPBYTES per direction (20..4000 round trips, after 5 warm-up
 *       ones) in 9 batches, then a stream of about STREAMBYTES (16..20000
 *       messages) in 5 batches (the receiver acknowledges each batch's last
 *       message); the median batch of each is reported.  One line per size:
 *         size S rt N lat_us X msgs M bw_MBps Y log_bytes B log_peak P sent K
 *       lat_us is one way (round trip / 2); MB = 10^6 bytes; the log figures
 *       are the first task's after that size (0 without ckpt-cc).
 *   pingpong_bw stream SIZE SECONDS [HOLD]
 *       streams SIZE-byte messages for SECONDS (the receiver acknowledges every
 *       64 MiB, so the sender cannot run away from it); every 0.5 s a line
 *         t T sent_MiB X log_MiB Y peak_MiB Z ckpts C
 *       then "total sent_MiB X MBps Y log_MiB Z peak_MiB P ckpts C".
 *       HOLD (0..64, default 0): the sender frees each send buffer only HOLD
 *       messages later, as a sender log holds them until acknowledged: what
 *       holding them costs a plain program, apart from any runtime.
 *
 * Every message is packed with pvm_initsend(PvmDataRaw) + pvm_pkbyte and
 * unpacked with pvm_upkbyte, as an application does.  Default PVM routing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pvm3.h>

#define TAG_PING 11
#define TAG_PONG 12
#define TAG_DATA 13
#define TAG_ACK 14
#define TAG_HELLO 15

static int peer, child;
static char *buf;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "pingpong_bw: %s failed (%d)\n", what, rc);
    pvm_exit();
    exit(1);
}

struct logfig {
    unsigned long long log_bytes, log_peak, sent, ckpts;
};

static struct logfig logfig(void)
{
    struct logfig f = {0, 0, 0, 0};
#ifdef CKPT_VERSION
    struct ckpt_stats st;
    ckpt_get_stats(&st);
    f.log_bytes = st.log_bytes;
    f.log_peak = st.log_peak_bytes;
    f.sent = st.msgs_sent;
    f.ckpts = st.checkpoints;
#endif
    return f;
}

static void send_bytes(int len, int tag)
{
    int rc;
    pvm_initsend(PvmDataRaw);
    if (len > 0)
        pvm_pkbyte(buf, len, 1);
    if ((rc = pvm_send(peer, tag)) < 0)
        die("pvm_send", rc);
}

static void recv_bytes(int len, int tag)
{
    int rc;
    if ((rc = pvm_recv(peer, tag)) < 0)
        die("pvm_recv", rc);
    if (len > 0)
        pvm_upkbyte(buf, len, 1);
}

#define PP_BATCHES 9
#define ST_BATCHES 5

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long clampl(double v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : (long)v;
}

static void sweep(double ppbytes, double streambytes, char **sizes, int nsizes)
{
    for (int k = 0; k < nsizes; k++) {
        long s = atol(sizes[k]);
        long rt = clampl(ppbytes / s, 20, 4000);
        long msgs = clampl(streambytes / s, 16, 20000);
        /* ping-pong: the first task pings */
        for (int w = 0; w < 5; w++) {
            if (!child) {
                send_bytes((int)s, TAG_PING);
                recv_bytes((int)s, TAG_PONG);
            } else {
                recv_bytes((int)s, TAG_PING);
                send_bytes((int)s, TAG_PONG);
            }
        }
        /* ping-pong in PP_BATCHES batches, stream in ST_BATCHES: the median
         * batch is reported, so a burst of other load on the machine during
         * one batch does not move the figure */
        double lats[PP_BATCHES], bws[ST_BATCHES];
        long per = rt / PP_BATCHES > 2 ? rt / PP_BATCHES : 2;
        rt = per * PP_BATCHES;
        for (int b = 0; b < PP_BATCHES; b++) {
            double t0 = now();
            for (long i = 0; i < per; i++) {
                if (!child) {
                    send_bytes((int)s, TAG_PING);
                    recv_bytes((int)s, TAG_PONG);
                } else {
                    recv_bytes((int)s, TAG_PING);
                    send_bytes((int)s, TAG_PONG);
                }
            }
            lats[b] = (now() - t0) / per / 2 * 1e6;
        }
        /* stream: the first task sends, the copy acknowledges each batch's last message */
        long sper = msgs / ST_BATCHES > 4 ? msgs / ST_BATCHES : 4;
        msgs = sper * ST_BATCHES;
        for (int b = 0; b < ST_BATCHES; b++) {
            double t0 = now();
            if (!child) {
                for (long i = 0; i < sper; i++)
                    send_bytes((int)s, TAG_DATA);
                recv_bytes(0, TAG_ACK);
            } else {
                for (long i = 0; i < sper; i++)
                    recv_bytes((int)s, TAG_DATA);
                send_bytes(0, TAG_ACK);
            }
            bws[b] = (double)s * sper / (now() - t0) / 1e6;
        }
        double lat = median(lats, PP_BATCHES), bw = median(bws, ST_BATCHES);
        if (!child) {
            struct logfig f = logfig();
            printf("size %ld rt %ld lat_us %.3f msgs %ld bw_MBps %.2f log_bytes %llu log_peak %llu sent %llu\n",
                   s, rt, lat, msgs, bw, f.log_bytes, f.log_peak, f.sent);
            fflush(stdout);
        }
    }
}

#define ACK_EVERY (64.0 * 1048576)

#define HOLD_MAX 64

static void stream(long size, double seconds, int hold)
{
    /* The sender decides when to stop and says so in a 1-byte flag ahead of
     * every message: 1 = data follows, 0 = done. */
    long n = 0, since_ack = 0;
    long per_ack = clampl(ACK_EVERY / size, 1, 1L << 30);
    int held[HOLD_MAX] = {0}, h = 0;
    double t0 = now(), next = t0 + 0.5;
    if (!child) {
        for (;;) {
            double t = now();
            int more = t - t0 < seconds;
            if (hold > 0) {         /* set the last one aside, free the one HOLD back */
                if (held[h] > 0)
                    pvm_freebuf(held[h]);
                held[h] = pvm_setsbuf(0);
                h = (h + 1) % hold;
            }
            pvm_initsend(PvmDataRaw);
            pvm_pkint(&more, 1, 1);
            if (more)
                pvm_pkbyte(buf, (int)size, 1);
            int rc = pvm_send(peer, TAG_DATA);
            if (rc < 0)
                die("pvm_send", rc);
            if (!more)
                break;
            n++;
            if (++since_ack == per_ack) {
                recv_bytes(0, TAG_ACK);
                since_ack = 0;
            }
            if (t >= next) {
                struct logfig f = logfig();
                printf("t %.1f sent_MiB %.1f log_MiB %.1f peak_MiB %.1f ckpts %llu\n", t - t0,
                       n * (double)size / 1048576, f.log_bytes / 1048576.0, f.log_peak / 1048576.0, f.ckpts);
                fflush(stdout);
                next += 0.5;
            }
        }
        recv_bytes(0, TAG_ACK);
        double secs = now() - t0;
        struct logfig f = logfig();
        printf("total sent_MiB %.1f MBps %.2f log_MiB %.1f peak_MiB %.1f ckpts %llu\n",
               n * (double)size / 1048576, n * (double)size / secs / 1e6, f.log_bytes / 1048576.0,
               f.log_peak / 1048576.0, f.ckpts);
    } else {
        for (;;) {
            int more, rc;
            if ((rc = pvm_recv(peer, TAG_DATA)) < 0)
                die("pvm_recv", rc);
            pvm_upkint(&more, 1, 1);
            if (!more)
                break;
            pvm_upkbyte(buf, (int)size, 1);
            if (++since_ack == per_ack) {
                send_bytes(0, TAG_ACK);
                since_ack = 0;
            }
        }
        send_bytes(0, TAG_ACK);
    }
}

int main(int argc, char **argv)
{
    child = argc > 1 && strcmp(argv[1], "-c") == 0;
    char **a = argv + 1 + child;
    int na = argc - 1 - child;
    int sweep_mode = na >= 4 && strcmp(a[0], "sweep") == 0;
    int stream_mode = (na == 3 || na == 4) && strcmp(a[0], "stream") == 0;
    int hold = stream_mode && na == 4 ? atoi(a[3]) : 0;
    if ((!sweep_mode && !stream_mode) || hold < 0 || hold > HOLD_MAX) {
        fprintf(stderr, "usage: pingpong_bw sweep PPBYTES STREAMBYTES SIZE...\n"
                        "       pingpong_bw stream SIZE SECONDS [HOLD]\n");
        return 2;
    }
    long maxsize = 0;
    for (int i = sweep_mode ? 3 : 1; i < (sweep_mode ? na : 2); i++) {
        long s = atol(a[i]);
        if (s < 1 || s > (1L << 30)) {
            fprintf(stderr, "pingpong_bw: bad size %s\n", a[i]);
            return 2;
        }
        maxsize = s > maxsize ? s : maxsize;
    }
    buf = malloc((size_t)maxsize);
    if (!buf)
        return 1;
    for (long i = 0; i < maxsize; i++)
        buf[i] = (char)(i * 131 + 7);

    int me = pvm_mytid();
    if (me < 0) {
        fprintf(stderr, "pingpong_bw: no pvmd\n");
        return 1;
    }
    if (child) {
        peer = pvm_parent();
        recv_bytes(0, TAG_HELLO);
    } else {
        char self[4096];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0)
            die("readlink /proc/self/exe", (int)len);
        self[len] = 0;
        char **cargv = calloc((size_t)na + 2, sizeof *cargv);
        int k = 0;
        if (!cargv)
            die("calloc", na);
        cargv[k++] = "-c";
        for (int i = 0; i < na; i++)
            cargv[k++] = a[i];
        cargv[k] = NULL;
        int rc = pvm_spawn(self, cargv, PvmTaskDefault, "", 1, &peer);
        if (rc != 1)
            die("pvm_spawn", rc == 0 ? peer : rc);
        send_bytes(0, TAG_HELLO);
    }
    if (sweep_mode)
        sweep(atof(a[1]), atof(a[2]), a + 3, na - 3);
    else
        stream(atol(a[1]), atof(a[2]), hold);
    pvm_exit();
    return 0;
}
