int main(void)
{
    int a = 1;
    #pragma CKPT_SAVE(a
    return a;
}
