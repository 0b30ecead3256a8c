/*
 * intransit: a producer streams numbered values to a consumer as fast as PVM
 * goes, the seed's case.  A checkpoint request reaches the two tasks at
 * slightly different times; what the producer sends in between leaves it
 * before its cut and reaches the consumer after its cut: in transit.  Only
 * the sender log brings such values back after a rollback.
 *   intransit COUNT
 * The consumer (the task started first) prints a running sum every 500 values,
 * and any message whose pvm_bufinfo is not the producer's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

static void producer(int count)
{
    int consumer = pvm_parent(), i;
    #pragma CKPT_SAVE(consumer, i, count)
    for (i = 0; i < count; i++) {
        pvm_initsend(PvmDataRaw);
        pvm_pkint(&i, 1, 1);
        pvm_send(consumer, 1);
    }
    pvm_recv(consumer, 2);     /* stay until the consumer is done */
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 100;
    if (pvm_parent() > 0) {
        producer(count);
        pvm_exit();
        return 0;
    }
    int child, i, v, b, bytes, tag, src;
    long sum = 0;
    #pragma CKPT_SAVE(child, i, v, b, bytes, tag, src, sum, count)
    char *args[] = {argv[1], NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) {
        fprintf(stderr, "intransit: cannot spawn the producer\n");
        return 1;
    }
    for (i = 0; i < count; i++) {
        b = pvm_recv(child, 1);
        pvm_bufinfo(b, &bytes, &tag, &src);
        if (src != child || tag != 1 || bytes != (int)sizeof v)
            printf("value %d: bufinfo says %d bytes, tag %d, from t%x\n", i, bytes, tag, src);
        pvm_upkint(&v, 1, 1);
        sum += v;
        if (i % 500 == 499)
            printf("values %d sum %ld\n", i + 1, sum);
    }
    printf("total %ld\n", sum);
    pvm_initsend(PvmDataDefault);
    pvm_send(child, 2);
    pvm_exit();
    return 0;
}
