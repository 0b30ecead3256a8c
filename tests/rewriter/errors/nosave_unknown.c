#include <pvm3.h>
int main(void)
{
    int a = 1;
    #pragma CKPT_NOSAVE(b)
    pvm_send(1, a);
    return 0;
}
