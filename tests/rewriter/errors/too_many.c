int f(void);
#define V10(p) int p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7, p##8, p##9;
#define V100(p) V10(p##0) V10(p##1) V10(p##2) V10(p##3) V10(p##4) V10(p##5) V10(p##6) V10(p##7) V10(p##8) V10(p##9)
#define V1000(p) V100(p##0) V100(p##1) V100(p##2) V100(p##3) V100(p##4) V100(p##5) V100(p##6) V100(p##7) V100(p##8) V100(p##9)
int main(void)
{
    V1000(a) V1000(b) V1000(c) V1000(d) V100(e)
    a000 = 0;
    f();
    return a000;
}
