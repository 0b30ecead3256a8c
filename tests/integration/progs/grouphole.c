/*
 * grouphole: group "h" with a hole.  The root (instance 0) and a leaver (1)
 * join, then two members (2 and 3); the leaver leaves the group for good and
 * exits.  Each round the root sends a value to the members, each answers with
 * the value times its instance as pvmgs has it now (pvm_getinst), and the root
 * prints the sum.  A restart must bring the members back as 2 and 3: rejoined
 * in order into the lowest free instances they would become 1 and 2.
 *   grouphole ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

enum { T_JOINED = 1, T_LEFT = 2, T_VALUE = 3, T_ANSWER = 4 };

static long work(long x) { volatile long s = x; for (int i = 0; i < 3000000; i++) s = s * 31 + i; return s & 0xff; }

static void send_int(int to, int tag, int v)
{
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&v, 1, 1);
    pvm_send(to, tag);
}

static int recv_int(int from, int tag)
{
    int v;
    pvm_recv(from, tag);
    pvm_upkint(&v, 1, 1);
    return v;
}

static void leaver(void)
{
    int root = pvm_parent();
    #pragma CKPT_SAVE(root)
    send_int(root, T_JOINED, pvm_joingroup("h"));
    pvm_barrier("h", 4);
    pvm_lvgroup("h");
    send_int(root, T_LEFT, 0);
}

static void member(void)
{
    int root = pvm_parent(), v;
    #pragma CKPT_SAVE(root, v)
    pvm_joingroup("h");
    pvm_barrier("h", 4);
    while ((v = recv_int(root, T_VALUE)) >= 0)
        send_int(root, T_ANSWER, v * pvm_getinst("h", pvm_mytid()));
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100, tids[2], left, i, k;
    long sum;
    #pragma CKPT_SAVE(rounds, tids, left, i, k, sum)
    if (pvm_parent() > 0) {
        if (argc > 1 && strcmp(argv[1], "-l") == 0)
            leaver();
        else
            member();
        pvm_exit();
        return 0;
    }
    char *largs[] = {"-l", NULL}, *margs[] = {"-m", NULL};
    pvm_joingroup("h");
    if (pvm_spawn(argv[0], largs, PvmTaskDefault, "", 1, &left) != 1) {
        fprintf(stderr, "grouphole: cannot spawn\n");
        return 1;
    }
    printf("leaver joined as %d\n", recv_int(left, T_JOINED));
    if (pvm_spawn(argv[0], margs, PvmTaskDefault, "", 2, tids) != 2) {
        fprintf(stderr, "grouphole: cannot spawn\n");
        return 1;
    }
    pvm_barrier("h", 4);
    recv_int(left, T_LEFT);
    printf("group size %d\n", pvm_gsize("h"));
    for (i = 0; i < rounds; i++) {
        for (k = 0; k < 2; k++)
            send_int(tids[k], T_VALUE, i + 1);
        for (sum = 0, k = 0; k < 2; k++)
            sum += recv_int(tids[k], T_ANSWER);
        work(i);
        printf("round %d sum %ld\n", i, sum);
        fflush(stdout);
    }
    for (k = 0; k < 2; k++)
        send_int(tids[k], T_VALUE, -1);
    pvm_exit();
    return 0;
}
