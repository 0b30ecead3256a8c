struct s { int a; };
int main(void)
{
    struct s v;
    return v.nope;
}
