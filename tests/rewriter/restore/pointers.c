/* saved pointers: to a global, into a caller's local array, into a p[n] heap block;
 * globals of every kind (array, pointer, heap block with a count expression) */
#include <stdio.h>
#include <stdlib.h>

int table[8];
int *gp;
double *heap;
int hn;
#pragma CKPT_SAVE(table, gp, hn, heap[hn])

static void walk(int *local_arr, int n)
{
    int *lp = local_arr + 1;
    double *hp = heap + 2;
    int k;
    #pragma CKPT_SAVE(lp, hp, k)
    for (k = 0; k < n; k++) {
        *lp += 100 * (k + 1);
        *hp += 0.5 * (k + 1);
        *gp += k + 1;
        printf("k=%d lp=%d hp=%.1f gp=%d\n", k, *lp, *hp, *gp);
        #pragma CKPT_CHECKPOINT
        lp++;
        hp++;
        gp++;
    }
}

int main(void)
{
    int arr[6] = {1, 2, 3, 4, 5, 6};
    int i;
    #pragma CKPT_SAVE(arr)
    hn = 10;
    heap = malloc(hn * sizeof *heap);
    for (i = 0; i < hn; i++)
        heap[i] = i;
    for (i = 0; i < 8; i++)
        table[i] = 10 * i;
    gp = &table[3];
    walk(arr, 4);
    for (i = 0; i < 6; i++)
        printf("arr[%d]=%d\n", i, arr[i]);
    for (i = 0; i < hn; i++)
        printf("heap[%d]=%.1f\n", i, heap[i]);
    for (i = 0; i < 8; i++)
        printf("table[%d]=%d\n", i, table[i]);
    printf("gp-table=%d\n", (int)(gp - table));
    free(heap);
    return 0;
}
