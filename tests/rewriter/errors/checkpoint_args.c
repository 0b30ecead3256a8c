int main(void)
{
    #pragma CKPT_CHECKPOINT(now)
    return 0;
}
