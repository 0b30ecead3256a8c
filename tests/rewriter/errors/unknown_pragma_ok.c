#pragma pack(push, 4)
#pragma pack(pop)
int main(void)
{
    int a = 0;
#pragma omp parallel for
    for (a = 0; a < 2; a++)
        ;
#if 0
    #pragma CKPT_SAVE(nonexistent)
#endif
    return a;
}
