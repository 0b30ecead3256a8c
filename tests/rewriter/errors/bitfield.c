struct s { int a; unsigned flags : 3; };
int main(void)
{
    struct s v = {0, 1};
    #pragma CKPT_SAVE(v.a, v.flags)
    return v.a;
}
