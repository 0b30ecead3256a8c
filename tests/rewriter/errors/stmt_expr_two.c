/* two calls that reach a safe point in one ({ }): a restart at the second makes the
 * first again */
int tick(int);

int main(void)
{
    int s;
    s = ({ int a = tick(1); a + tick(2); });
    return s;
}
