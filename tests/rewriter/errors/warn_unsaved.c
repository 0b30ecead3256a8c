int exchange(int *buf, int n);
int main(void)
{
    int buf[4] = {0}, n = 4, it, total = 0;
    #pragma CKPT_SAVE(buf, n)
    for (it = 0; it < 10; it++)
        total += exchange(buf, n);
    return total;
}
/* ckpt-cc: --ckpt-explicit */
