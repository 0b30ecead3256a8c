int main(void)
{
    int a = 0;
    #pragma CKPT_SAVE(a, b)
    return a;
}
