int main(void)
{
    register int r = 3;
    #pragma CKPT_SAVE(r)
    return r;
}
