#include "libc_macro.h"
#include <pvm3.h>
int main(void)
{
    int *p = NEW(int);
    *p = 1;
    pvm_send(1, *p);
    return 0;
}
