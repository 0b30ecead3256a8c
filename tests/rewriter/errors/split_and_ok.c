int f(int);
int g(int);
int main(void)
{
    int x;
    x = f(1) && g(2);
    return x;
}
