/*
 * groups: a root and three members of group "g": each round the root
 * broadcasts a value to the group, every member answers with a function of
 * it, and the root prints the round's sum; then the four reduce (a sum),
 * gather and scatter values that depend on their instance numbers, and the
 * root prints what came of it.  pvm_joingroup, pvm_barrier, pvm_bcast,
 * pvm_gsize, pvm_reduce, pvm_gather, pvm_scatter.
 *   groups ROUNDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

#define MEMBERS 3

/* The collectives of one round, the same calls on every member (inst: its
 * instance, root instance 0).  Returns what the member got from scatter. */
static int collectives(int inst, int round, int *reduced, int *gathered)
{
    int mine = inst * 10 + round, all[MEMBERS + 1], got = -1, k;
    #pragma CKPT_SAVE(inst, round, reduced, gathered, mine, all, got, k)
    *reduced = mine;
    pvm_reduce(PvmSum, reduced, 1, PVM_INT, 3, "g", 0);
    pvm_gather(gathered, &mine, 1, PVM_INT, 4, "g", 0);
    for (k = 0; k <= MEMBERS; k++)
        all[k] = 100 * round + k;
    pvm_scatter(&got, all, 1, PVM_INT, 5, "g", 0);
    return got;
}

static void member(void)
{
    int root = pvm_parent(), inst, round, v, reduced, gathered[MEMBERS + 1];
    #pragma CKPT_SAVE(root, inst, round, v, reduced, gathered)
    inst = pvm_joingroup("g");
    pvm_barrier("g", MEMBERS + 1);
    for (round = 0;; round++) {
        pvm_recv(root, 1);
        pvm_upkint(&v, 1, 1);
        if (v < 0)
            break;
        v = v * (inst + 2);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(root, 2);
        v = collectives(inst, round, &reduced, gathered);
        pvm_initsend(PvmDataDefault);
        pvm_pkint(&v, 1, 1);
        pvm_send(root, 6);
    }
    pvm_lvgroup("g");
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10, tids[MEMBERS], i, k, v, reduced, scattered;
    int gathered[MEMBERS + 1];
    long sum, back;
    #pragma CKPT_SAVE(rounds, tids, i, k, v, sum, back, reduced, scattered, gathered)
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
        scattered = collectives(0, i, &reduced, gathered);
        for (back = 0, k = 0; k < MEMBERS; k++) {
            pvm_recv(-1, 6);
            pvm_upkint(&v, 1, 1);
            back += v;
        }
        printf("round %d sum %ld reduced %d gathered %d %d %d %d scattered %d + %ld\n", i, sum,
               reduced, gathered[0], gathered[1], gathered[2], gathered[3], scattered, back);
    }
    pvm_lvgroup("g");
    pvm_exit();
    return 0;
}
