/*
 * plainpeer: a job task talks with a plain PVM tool it spawns (the same
 * source built with cc), which also sends it three malformed runtime
 * messages under the runtime's reserved tag, and itself spawns the job's
 * program (built with ckpt-cc under ckpt-run) as a child of its own.
 *   plainpeer TOOL ROUNDS      the job: spawns TOOL, sends it ROUNDS values
 *   plainpeer -tool PROG       the tool: spawns PROG -echo, then doubles every
 *                              value it gets
 *   plainpeer -echo            the tool's child: sends its parent 42
 * The tool counts what it receives besides the job's own messages (epoch
 * marks or acknowledgements would be such strays) and the job prints that.
 * Expectation: the output of a plain run; under ckpt-run, no stray, one
 * notice that the tool is outside the recovery guarantee, each malformed
 * message reported with the tool's id, and the tool's child running as a
 * plain task (it is no task of the job), not waiting for ckpt-run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

enum { T_VALUE = 1, T_DOUBLED = 2, T_DONE = 3, T_STRAYS = 4, T_ECHO = 5, T_RUNTIME = 0x7ffc4b50 };

static void send_raw_ints(int to, const int *v, int n)
{
    pvm_initsend(PvmDataDefault);
    if (n)
        pvm_pkint((int *)v, n, 1);
    pvm_send(to, T_RUNTIME);
}

static int echo(void)
{
    int v = 42;
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&v, 1, 1);
    pvm_send(pvm_parent(), T_ECHO);
    pvm_exit();
    return 0;
}

static int tool(char *prog)
{
    int job = pvm_parent(), strays = 0, v, bytes, tag, src, child, said = -1;
    char *args[] = {"-echo", NULL};
    if (pvm_spawn(prog, args, PvmTaskDefault, "", 1, &child) == 1 && pvm_recv(child, T_ECHO) > 0)
        pvm_upkint(&said, 1, 1);
    static const int garbage[2] = {0x12345678, 99};
    static const int foreign[4] = {0x434b5054, 99, 10, 0};   /* right magic, unknown version */
    send_raw_ints(job, garbage, 2);
    send_raw_ints(job, NULL, 0);                                /* truncated */
    send_raw_ints(job, foreign, 4);
    for (;;) {
        int b = pvm_recv(-1, -1);
        pvm_bufinfo(b, &bytes, &tag, &src);
        if (tag == T_DONE)
            break;
        if (tag != T_VALUE || src != job) {
            strays++;
            continue;
        }
        pvm_upkint(&v, 1, 1);
        v *= 2;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(job, T_DOUBLED);
    }
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&strays, 1, 1);
    pvm_pkint(&said, 1, 1);
    pvm_send(job, T_STRAYS);
    pvm_exit();
    return 0;
}

static long work(long x) { volatile long s = x; for (int i = 0; i < 300000; i++) s = s * 31 + i; return s & 0xff; }

int main(int argc, char **argv)
{
    int peer, rounds, i, v, strays, said;
    #pragma CKPT_SAVE(peer, rounds, i, v, strays, said)
    if (argc > 2 && !strcmp(argv[1], "-tool"))
        return tool(argv[2]);
    if (argc > 1 && !strcmp(argv[1], "-echo"))
        return echo();
    if (argc < 3) {
        fprintf(stderr, "usage: plainpeer TOOL ROUNDS\n");
        return 2;
    }
    rounds = atoi(argv[2]);
    char *args[] = {"-tool", argv[0], NULL};
    if (pvm_spawn(argv[1], args, PvmTaskDefault, "", 1, &peer) != 1) {
        fprintf(stderr, "plainpeer: cannot spawn %s\n", argv[1]);
        return 1;
    }
    for (i = 0; i < rounds; i++) {
        v = i + (int)work(i);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(peer, T_VALUE);
        pvm_recv(peer, T_DOUBLED);
        pvm_upkint(&v, 1, 1);
        printf("round %d: %d\n", i, v);
    }
    pvm_initsend(PvmDataDefault);
    pvm_send(peer, T_DONE);
    pvm_recv(peer, T_STRAYS);
    pvm_upkint(&strays, 1, 1);
    pvm_upkint(&said, 1, 1);
    printf("the tool got %d stray message(s); its own child said %d\n", strays, said);
    pvm_exit();
    return 0;
}
