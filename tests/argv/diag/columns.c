/* warnings on lines where ckpt-cc inserts code: sites, registrations, a checkpoint */
#include <pvm3.h>
#include <stdio.h>

static int exchange(int tid, int v)
{
    int spare;
    pvm_initsend(PvmDataDefault); pvm_pkint(&v, 1, 1); pvm_send(tid, 1); printf("%d\n", 2L);
    return v;
}

int main(void)
{
    int tid = pvm_mytid(), i, total = 0;
    #pragma CKPT_SAVE(i, total)
    for (i = 0; i < 3; i++) {
        total += exchange(tid, i); if (total = 4) printf("%s\n", total);
        #pragma CKPT_CHECKPOINT
    }
    unsigned u = total; if (u < 0) return 1;
    return 0;
}
