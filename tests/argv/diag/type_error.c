/* a type error: ckpt-cc says what cc says and builds nothing */
struct s { int a; };
int main(void)
{
    struct s v;
    return v.nope;
}
