struct s { int a; };
int main(void)
{
    struct s v = {0};
    #pragma CKPT_SAVE(v.b)
    return v.a;
}
