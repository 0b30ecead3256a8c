/* a helper every file of a program includes */
int tick(int);

static inline int add_and_tick(int *acc, int v)
{
    *acc += v;
    return tick(*acc);
}
