int f(void);
int main(int argc, char **argv)
{
    int n = argc + 3;
    f();
    double row[n];
    #pragma CKPT_SAVE(n)
    row[0] = n;
    return (int)row[0];
}
