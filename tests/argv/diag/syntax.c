/* a syntax error: ckpt-cc says what cc says and builds nothing */
int main(void)
{
    return 0
}
