/* statements with several calls that reach a safe point are split: each call is
 * hoisted into a saved temporary, in evaluation order (nested calls, structs, a
 * declaration, an if condition, a return); calls in the arms of ?: or right of
 * && stay in place and note their own site */
#include <stdio.h>

struct pt { int x, y; };

static int f(int v)
{
    #pragma CKPT_CHECKPOINT
    return v * 2;
}

static struct pt mk(int a)
{
    struct pt p;
    p.x = f(a);
    p.y = a;
    return p;
}

static void show(int a, int b)
{
    #pragma CKPT_CHECKPOINT
    printf("show %d %d\n", a, b);
}

static char *fill3(char *r, const char *s)
{
    #pragma CKPT_CHECKPOINT
    snprintf(r, 4, "%s", s);
    return r;
}

int main(void)
{
    int i, x = 0;
    #pragma CKPT_SAVE(i, x)
    for (i = 0; i < 3; i++) {
        x = f(i) + f(i + 1) * f(x);
        printf("x=%d\n", x);
        int y = f(f(i)) - 1;
        printf("y=%d\n", y);
        x = f(i) > 2 ? f(x) : f(1) + 3;
        printf("x=%d\n", x);
        if (f(i) && f(x) > 1)
            x = (i & 1) ? f(x) : f(x + 1);
        printf("x=%d\n", x);
        show(f(i), mk(i).x);
        if (f(1) + f(2) > 5)
            printf("big %d\n", f(x) - f(3));
        char buf[4];
        #pragma CKPT_SAVE(buf)
        char *s = fill3(buf, "abcdef");
        #pragma CKPT_SAVE(s)
        printf("%s %d\n", s, (int)(f(1) + (long)f(2)));
    }
    return f(x) - f(x);
}
