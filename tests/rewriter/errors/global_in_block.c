int g;
int main(void)
{
    #pragma CKPT_SAVE(g)
    return g;
}
