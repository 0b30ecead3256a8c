/* the example of include/ckpt.h: the exact code ckpt-cc emits is golden/solve.ckpt.c
 * (no pragma: the locals and the heap block are saved all the same) */
#include <stdlib.h>
#include <pvm3.h>

void exchange(double *row, int n);

int solve(int n)
{
    double *row = malloc(n * sizeof *row);
    int it;
    for (it = 0; it < 10; it++)
        exchange(row, n);
    return pvm_send(0, 1);
}
