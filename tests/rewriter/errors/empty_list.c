int main(void)
{
    #pragma CKPT_SAVE()
    return 0;
}
