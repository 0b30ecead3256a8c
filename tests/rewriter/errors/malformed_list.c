int main(void)
{
    int a = 1, b = 2;
    #pragma CKPT_SAVE(a b)
    return a + b;
}
