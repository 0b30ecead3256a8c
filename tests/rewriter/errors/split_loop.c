int f(int);
int main(void)
{
    int i = 0;
    while (f(i) < f(3))
        i++;
    return i;
}
