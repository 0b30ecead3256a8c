#include <pvm3.h>
int main(void)
{
    int sum = 0;
    for (int i = 0; pvm_send(i, 1) >= 0 && i < 3; i++)
        sum += i;
    return sum;
}
