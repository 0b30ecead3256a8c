/*
 * groups: a root and three members of group "g": each round the root
 * broadcasts a value to the group, every member answers with a function of
 * it, and the root prints the round's sum.  pvm_joingroup, pvm_barrier,
 * pvm_bcast, pvm_gsize.
 *   groups ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#define MEMBERS 3

static void member(void)
{
    int root = pvm_parent(), inst, round, v;
    #pragma CKPT_SAVE(root, inst, round, v)
    inst = pvm_joingroup("g");
    pvm_barrier("g", MEMBERS + 1);
    for (;;) {
        pvm_recv(root, 1);
        pvm_upkint(&v, 1, 1);
        if (v < 0)
            break;
        v = v * (inst + 2);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(root, 2);
    }
    pvm_lvgroup("g");
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10, tids[MEMBERS], i, k, v;
    long sum;
    #pragma CKPT_SAVE(rounds, i, k, v, sum)
    if (pvm_parent() > 0) {
        member();
        pvm_exit();
        return 0;
    }
    char *args[] = {"-m", NULL};
    pvm_joingroup("g");         /* instance 0: the members get 1..MEMBERS, in any order */
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", MEMBERS, tids) != MEMBERS) {
        fprintf(stderr, "groups: cannot spawn\n");
        return 1;
    }
    pvm_barrier("g", MEMBERS + 1);
    printf("group size %d\n", pvm_gsize("g"));
    for (i = 0; i <= rounds; i++) {
        v = i < rounds ? i + 1 : -1;
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_bcast("g", 1);
        if (v < 0)
            break;
        for (sum = 0, k = 0; k < MEMBERS; k++) {
            pvm_recv(-1, 2);
            pvm_upkint(&v, 1, 1);
            sum += v;
        }
        printf("round %d sum %ld\n", i, sum);
    }
    pvm_lvgroup("g");
    pvm_exit();
    return 0;
}
