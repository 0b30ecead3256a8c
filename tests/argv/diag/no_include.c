/* a PVM program that forgot <pvm3.h> and <stdlib.h>: cc warns of each implicit
 * declaration and hints at the #include line */
#include <stdio.h>

int main(void)
{
    int tid = pvm_mytid(), n = 4;
    double *a = malloc(n * sizeof *a);
    pvm_initsend(0); pvm_pkdouble(a, n, 1); pvm_send(tid, 1);
    printf("%d\n", tid);
    return 0;
}
