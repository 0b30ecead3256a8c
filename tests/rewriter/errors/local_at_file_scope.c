int g;
#pragma CKPT_SAVE(g, counter)
int main(void)
{
    int counter = 0;
    return counter + g;
}
