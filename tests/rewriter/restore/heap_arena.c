/* the heap arena restored in place: a linked list with holes and a growing
 * array, built with libckpt's heap (by name, until ckpt-cc renames malloc),
 * reached from the saved globals only through integers: no pointer is
 * translated, every node comes back where it was */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef CKPT_VERSION
#define malloc ckpt_malloc
#define realloc ckpt_realloc
#define free ckpt_free
#endif

struct node {
    struct node *next;
    int v;
    char name[20];
};

uintptr_t head_bits, arr_bits;
int n;
#pragma CKPT_SAVE(head_bits, arr_bits, n)

int main(void)
{
    int i;
    #pragma CKPT_SAVE(i)
    for (i = 0; i < 12; i++) {
        struct node *nd = malloc(sizeof *nd), *p;
        nd->next = (struct node *)head_bits;
        nd->v = i * i;
        snprintf(nd->name, sizeof nd->name, "node%d", i);
        head_bits = (uintptr_t)nd;
        if (i % 3 == 2) {               /* unlink and free the second node */
            struct node *gone = nd->next;
            nd->next = gone->next;
            free(gone);
        }
        double *a = realloc((double *)arr_bits, (size_t)(n + 1) * 5000 * sizeof *a);
        for (int k = 0; k < 5000; k++)
            a[n * 5000 + k] = n + k * 0.5;
        arr_bits = (uintptr_t)a;
        n++;
        long sum = 0;
        double asum = 0;
        for (p = (struct node *)head_bits; p; p = p->next)
            sum += p->v;
        for (int k = 0; k < n * 5000; k++)
            asum += a[k];
        printf("i=%d list sum %ld head %s array sum %.1f\n", i, sum,
               ((struct node *)head_bits)->name, asum);
        #pragma CKPT_CHECKPOINT
    }
    return 0;
}
