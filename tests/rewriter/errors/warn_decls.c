/* -Wckpt-unsaved for variables declared in a for statement (its counter, with a call in
 * the condition or in the body), in a switch case block, a nested block; none for a
 * variable declared in a loop body, a new one every turn */
int tick(int);
int main(int argc, char **argv)
{
    long total = 0;
    #pragma CKPT_SAVE(total)
    for (long i = 1; i <= 10; i++) {
        total += i;
        #pragma CKPT_CHECKPOINT
    }
    for (int j = 0; tick(j) < 3; j++)
        total++;
    for (int u = 0, w = 0; u < 4; u++, w += 2)
        total += tick(w);
    switch (argc) {
    case 1: {
        int k = 2;
        while (k-- > 0)
            tick(k);
        break;
    }
    default:
        break;
    }
    {
        int depth = 3;
        do {
            int fresh = tick(depth);
            total += fresh;
        } while (--depth > 0);
    }
    for (int n = 0; n < 2; n++) {
        int once = tick(n);
        total += once;
    }
    (void)argv;
    return (int)total;
}
/* ckpt-cc: --ckpt-explicit */
