/* a function defined in a header reaches a safe point: ckpt-cc cannot give it a frame,
 * and a restart inside it would add v to *acc once more */
#include "header_inline.h"

int main(void)
{
    int acc = 0, i;
    #pragma CKPT_SAVE(acc, i)
    for (i = 0; i < 3; i++)
        add_and_tick(&acc, i);
    return acc;
}
