#include <stdlib.h>
#include <pvm3.h>
int main(void)
{
    double *row = malloc(8 * sizeof *row);
    #pragma CKPT_NOSAVE(row[8])
    pvm_send(1, 1);
    return row != 0;
}
