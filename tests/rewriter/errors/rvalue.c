int main(void)
{
    int a = 1;
    #pragma CKPT_SAVE(a + 1)
    return a;
}
