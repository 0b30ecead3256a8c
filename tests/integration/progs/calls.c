/*
 * calls: one round after another, a master and the worker it spawns use the
 * PVM calls an application may make, each in a way whose result shows in the
 * output: psend/precv (which leaves the active receive buffer alone), mcast,
 * a receive freeing the active receive buffer even when it times out, a send
 * buffer packed once, kept aside for the
 * whole run (across checkpoints) and sent twice a round, a received buffer
 * kept aside for the whole run and unpacked one int a round, wildcard and
 * selective receives, nrecv and probe polling, trecv timing out, a message
 * context, a matching function (pvm_recvf) ranking messages, a message
 * handler (pvm_addmhf), pvm_bufinfo, pvm_getminfo and pvm_tasks.
 *   calls ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

enum { T_DATA = 10, T_DATA2 = 11, T_CTX = 20, T_KEPT1 = 21, T_KEPT2 = 22, T_STASH = 23, T_RANKED_END = 31,
       T_HANDLED = 40, T_END = 41, T_MCAST = 50, T_RANKED = 60 /* .. 69: the value */, T_NEVER = 99 };
enum { BAD_PRECV = 1, BAD_PRECV_RBUF = 2, BAD_TRECV = 4, BAD_TRECV_RBUF = 8, BAD_INFO = 16 };

static long handled_sum;
static int info_mismatches;     /* bufinfo/getminfo disagreeing with a receive */
#pragma CKPT_SAVE(handled_sum, info_mismatches)

static long work(long x) { volatile long s = x; for (int i = 0; i < 400000; i++) s = s * 31 + i; return s & 0xff; }

static int on_handled(int mid) {
    int v;
    pvm_upkint(&v, 1, 1);
    handled_sum += v;
    (void)mid;
    return 0;
}

/* Picks the queued ranked message with the largest value (in its tag) first. */
static int by_value(int mid, int tid, int tag) {
    int bytes, mtag, src;
    (void)tid;
    (void)tag;
    if (pvm_bufinfo(mid, &bytes, &mtag, &src) < 0 || mtag < T_RANKED || mtag > T_RANKED + 9)
        return 0;
    return 2 + mtag - T_RANKED;
}

static void send_int(int to, int tag, int v) {
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&v, 1, 1);
    pvm_send(to, tag);
}

/* The value of the next message from `from` with `tag`; its tag in *got. */
static int recv_tagged(int from, int tag, int *got) {
    int v, bytes, src;
    int b = pvm_recv(from, tag);
    struct pvmminfo mi;
    pvm_bufinfo(b, &bytes, got, &src);
    if ((from != -1 && src != from) || (tag != -1 && *got != tag)) {
        printf("bufinfo mismatch: src %x tag %d\n", src, *got);
        info_mismatches++;
    }
    if (pvm_getminfo(b, &mi) < 0 || mi.src != src || mi.tag != *got || mi.len != bytes) {
        printf("getminfo differs from bufinfo: src %x tag %d len %d\n", mi.src, mi.tag, mi.len);
        info_mismatches++;
    }
    pvm_upkint(&v, 1, 1);
    return v;
}

static int recv_int(int from, int tag) {
    int got;
    return recv_tagged(from, tag, &got);
}

static void worker(void) {
    int parent = pvm_parent(), ctx, round, data[4], rtid, rtag, rlen, m, m2, v, base, kept, old, k, bad;
    struct timeval tmo;
    #pragma CKPT_SAVE(parent, ctx, round, data, rtid, rtag, rlen, m, m2, v, base, kept, old, k, bad, tmo)
    ctx = recv_int(parent, T_CTX);
    pvm_initsend(PvmDataDefault);
    for (k = 0; k < 256; k++) {
        v = k * 7 + 3;
        pvm_pkint(&v, 1, 1);
    }
    pvm_send(parent, T_STASH);
    kept = pvm_mkbuf(PvmDataDefault);
    old = pvm_setsbuf(kept);
    v = 4242;
    pvm_pkint(&v, 1, 1);
    pvm_setsbuf(old);
    for (round = 0;; round++) {
        bad = 0;    /* failed checks; a worker's output is not the job's, so they go to the master */
        pvm_precv(parent, T_DATA, data, 4, PVM_INT, &rtid, &rtag, &rlen);
        if (rlen != 4 * (int)sizeof(int) || rtid != parent || rtag != T_DATA)   /* PVM reports bytes */
            bad |= BAD_PRECV;
        if (data[0] < 0) {
            pvm_freebuf(kept);
            break;
        }
        m = recv_int(parent, T_MCAST);
        pvm_precv(parent, T_DATA2, &v, 1, PVM_INT, &rtid, &rtag, &rlen);
        if (pvm_upkint(&m2, 1, 1) < 0 || m2 != 3 * m + 1 || v != m)
            bad |= BAD_PRECV_RBUF;
        tmo.tv_sec = 0;
        tmo.tv_usec = 20000;
        if (pvm_trecv(parent, T_NEVER, &tmo) != 0)
            bad |= BAD_TRECV;
        if (pvm_getrbuf() != 0)
            bad |= BAD_TRECV_RBUF;
        v = (int)work(data[0] + data[1] + data[2] + data[3] + m);

        /* the same tag in two contexts: the master tells them apart */
        base = pvm_setcontext(ctx);
        send_int(parent, T_CTX, v + 1000);
        pvm_setcontext(base);
        send_int(parent, T_CTX, v);

        /* the buffer kept aside since the start, sent twice */
        old = pvm_setsbuf(kept);
        pvm_send(parent, T_KEPT1);
        pvm_setsbuf(old);
        old = pvm_setsbuf(kept);
        pvm_send(parent, T_KEPT2);
        pvm_setsbuf(old);

        for (k = 0; k < 3; k++)
            send_int(parent, T_RANKED + (v + 7 * k) % 10, k);
        send_int(parent, T_RANKED_END, 0);
        send_int(parent, T_HANDLED, v % 17);
        if (info_mismatches)
            bad |= BAD_INFO;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&round, 1, 1);
        pvm_pkint(&bad, 1, 1);
        pvm_send(parent, T_END);
    }
}

static int child_listed(int child) {
    int n, found = 0;
    struct pvmtaskinfo *ti;
    if (pvm_tasks(0, &n, &ti) < 0)
        return 0;
    for (int i = 0; i < n; i++)
        found |= ti[i].ti_tid == child;
    return found;
}

int main(int argc, char **argv) {
    int rounds, child, i, ctx, data[4], kept1, kept2, b, in_base, base, in_ctx, r0, r1, r2, end;
    int stash, stashed, rb, second, checks;
    int (*oldf)(int, int, int);
    #pragma CKPT_SAVE(child, i, ctx, rounds, data, kept1, kept2, b, in_base, base, in_ctx, r0, r1, r2, end, oldf)
    #pragma CKPT_SAVE(stash, stashed, rb, second, checks)
    rounds = argc > 1 ? atoi(argv[1]) : 20;
    if (pvm_parent() > 0) { worker(); pvm_exit(); return 0; }
    char *args[] = {"-w", NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) { fprintf(stderr, "spawn failed\n"); return 1; }
    ctx = pvm_newcontext();
    send_int(child, T_CTX, ctx);
    stash = pvm_recv(child, T_STASH);
    pvm_setrbuf(0);     /* kept aside: the next receive does not free it */
    if (pvm_addmhf(child, T_HANDLED, pvm_getcontext(), on_handled) < 0)
        printf("addmhf failed\n");
    for (i = 0; i < rounds; i++) {
        for (int k = 0; k < 4; k++)
            data[k] = i * 4 + k;
        pvm_psend(child, T_DATA, data, 4, PVM_INT);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&i, 1, 1);
        second = 3 * i + 1;
        pvm_pkint(&second, 1, 1);
        pvm_mcast(&child, 1, T_MCAST);
        pvm_psend(child, T_DATA2, &i, 1, PVM_INT);

        while (!pvm_probe(child, T_KEPT1))
            ;
        kept1 = recv_int(-1, T_KEPT1);
        while ((b = pvm_nrecv(child, T_KEPT2)) == 0)
            ;
        pvm_upkint(&kept2, 1, 1);
        in_base = recv_int(child, T_CTX);    /* arrived second, taken first */
        base = pvm_setcontext(ctx);
        in_ctx = recv_int(-1, -1);
        pvm_setcontext(base);

        recv_int(child, T_RANKED_END);
        oldf = (int (*)(int, int, int))pvm_recvf(by_value);
        recv_tagged(child, -1, &r0);
        recv_tagged(child, -1, &r1);
        recv_tagged(child, -1, &r2);
        pvm_recvf(oldf);
        end = recv_int(child, T_END);
        if (pvm_upkint(&checks, 1, 1) < 0 || checks != 0)
            printf("round %d: the worker's checks failed: 0x%x "
                   "(1 precv, 2 precv's receive buffer, 4 trecv, 8 trecv's receive buffer, 16 bufinfo/getminfo)\n", i, checks);
        rb = pvm_setrbuf(stash);
        if (pvm_upkint(&stashed, 1, 1) < 0)
            stashed = -1;
        pvm_setrbuf(rb);

        printf("round %d: kept %d %d stash %d ctx %d base %d ranked %d %d %d handled %ld end %d tasks %s\n",
               i, kept1, kept2, stashed, in_ctx, in_base, r0 - T_RANKED, r1 - T_RANKED, r2 - T_RANKED, handled_sum, end,
               child_listed(child) ? "ok" : "missing");
        fflush(stdout);
    }
    data[0] = -1;
    pvm_psend(child, T_DATA, data, 4, PVM_INT);
    pvm_exit();
    return 0;
}
