/* warnings from gcc's optimisation passes, in a function that reaches a safe point */
#include <pvm3.h>

int relay(int tid, int flag)
{
    int v;
    if (flag)
        v = tid;
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&v, 1, 1);
    pvm_send(tid, 1);
    return v;
}

int main(int argc, char **argv)
{
    int x;
    (void)argv;
    return relay(pvm_mytid(), argc > 1) + x;
}
