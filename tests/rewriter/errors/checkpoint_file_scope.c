int g;
#pragma CKPT_CHECKPOINT
int main(void)
{
    return g;
}
