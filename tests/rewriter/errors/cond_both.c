int f(int);
int g(int);
int main(int argc, char **argv)
{
    int x = argc ? f(1) + g(2) : 0;
    return x;
}
