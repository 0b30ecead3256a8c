int f(int);
int main(void)
{
    int i;
    for (i = f(1) + f(2); i < 10; i++)
        ;
    return i;
}
