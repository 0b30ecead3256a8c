/* heap blocks allocated through the file's own macros (renamed in the #define)
 * survive a restart at every safe point, no pragma */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEW(T) ((T *)calloc(1, sizeof(T)))
#define xstrdup strdup

struct item {
    int v;
    char *label;
    struct item *next;
};

int main(void)
{
    struct item *head = NULL;
    for (int i = 0; i < 8; i++) {
        struct item *it = NEW(struct item);
        char buf[16];
        snprintf(buf, sizeof buf, "item-%d", i);
        it->v = i * i;
        it->label = xstrdup(buf);
        it->next = head;
        head = it;
        #pragma CKPT_CHECKPOINT
        int sum = 0;
        for (struct item *p = head; p; p = p->next)
            sum += p->v + (int)strlen(p->label);
        printf("i=%d sum=%d first=%s\n", i, sum, head->label);
    }
    return 0;
}
