/* a while loop whose condition and body both reach safe points: the condition
 * runs again after the body's site on every turn, and must name its own site
 * (master/worker's `while ((k = get_task()) >= 0) { ... send_result(); }`) */
#include <stdio.h>

int left = 4, done;
#pragma CKPT_SAVE(left, done)

static int next(void)
{
    #pragma CKPT_CHECKPOINT
    return left-- > 0 ? left : -1;
}

static void work(int k)
{
    #pragma CKPT_CHECKPOINT
    done += k;
}

int main(void)
{
    int k;
    #pragma CKPT_SAVE(k)
    while ((k = next()) >= 0) {
        work(k);
        printf("k=%d done=%d\n", k, done);
    }
    printf("end done=%d left=%d\n", done, left);
    return 0;
}
