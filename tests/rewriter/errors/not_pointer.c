int main(void)
{
    int v[4] = {0}, n = 4;
    #pragma CKPT_SAVE(v[n])
    return v[0] + n;
}
