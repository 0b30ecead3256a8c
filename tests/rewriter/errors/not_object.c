int f(void);
int main(void)
{
    #pragma CKPT_SAVE(f)
    return f();
}
