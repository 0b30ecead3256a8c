/*
 * shapes: C shapes a stranger's PVM program has, with no pragma: a recursive
 * function exchanging messages at every level, a call through a function
 * pointer to a function that reaches PVM, a switch and a goto around safe
 * points, structs and unions passed by value, a const and a register local,
 * a compound literal, a static local counter, qsort with a comparator.  The
 * master and a worker it spawns bounce a value; the master prints each step.
 *   shapes ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

struct pair { long a, b; };
union word { long l; double d; unsigned char c[8]; };

static int peer;

static long spin(long x)
{
    volatile long s = x;
    for (int i = 0; i < 200000; i++)
        s = s * 31 + i;
    return s & 0xfff;
}

static long bounce(long v)
{
    long back;
    pvm_initsend(PvmDataDefault);
    pvm_pklong(&v, 1, 1);
    pvm_send(peer, 1);
    pvm_recv(peer, 1);
    pvm_upklong(&back, 1, 1);
    return back;
}

/* depth levels of recursion, a message at each */
static long descend(int depth, struct pair p)
{
    if (depth == 0)
        return p.a + p.b;
    long here = bounce(p.a * 3 + depth);
    struct pair q = {p.b, here % 1000};
    return here + descend(depth - 1, q);
}

static long by_table(long v, long (*f)(long))
{
    return f(v) + 1;
}

static int cmp(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

static long step(int k, union word w)
{
    static int calls;
    const long base = (long)k * 7 + ++calls;
    register long acc = base;
    long sorted[5] = {base % 5, base % 3, base % 7, base % 11, base % 2};
    switch (k % 3) {
    case 0:
        acc += by_table(w.l % 100, bounce);
        break;
    case 1:
        acc += descend(3, (struct pair){k, base});
        break;
    default:
        if (k % 2)
            goto skip;
        acc += bounce(acc) + spin(acc);
    skip:
        acc += bounce(k);
    }
    qsort(sorted, 5, sizeof *sorted, cmp);
    return acc * 10 + sorted[0] + sorted[4];
}

/* until the master's tag 2 (a long -1 would come back 4294967295 from XDR) */
static void serve(void)
{
    long v;
    for (;;) {
        int b = pvm_recv(peer, -1), bytes, tag, from;
        pvm_bufinfo(b, &bytes, &tag, &from);
        if (tag == 2)
            return;
        pvm_upklong(&v, 1, 1);
        v = v * 2 + spin(v);
        pvm_initsend(PvmDataDefault);
        pvm_pklong(&v, 1, 1);
        pvm_send(peer, 1);
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    peer = pvm_parent();
    if (peer > 0) {
        serve();
        pvm_exit();
        return 0;
    }
    char *args[] = {"-w", NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &peer) != 1) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    union word w = {.l = 1};
    for (int k = 0; k < rounds; k++) {
        w.l = step(k, w) % 100000;
        printf("k=%d w=%ld\n", k, w.l);
        fflush(stdout);
    }
    pvm_initsend(PvmDataDefault);
    pvm_send(peer, 2);
    pvm_exit();
    return 0;
}
