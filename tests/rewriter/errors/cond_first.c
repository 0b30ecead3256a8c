int f(int);
int g(int);
int main(int argc, char **argv)
{
    int x;
    x = (argc ? f(1) : 0) + g(2);
    return x;
}
