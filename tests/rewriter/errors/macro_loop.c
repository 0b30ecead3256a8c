int tick(int);
#define REPEAT(n) for (q = 0; q < (n); q++) tick(q)
int main(void)
{
    int q;
    REPEAT(3);
    return q;
}
