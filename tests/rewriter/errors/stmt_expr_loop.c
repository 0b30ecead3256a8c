/* a loop inside a ({ }) around a call that reaches a safe point would start again
 * from its first turn; so would a CKPT_CHECKPOINT inside a ({ }), which no goto may
 * reach */
int tick(int);

int main(void)
{
    int s = ({ int t = 0, q; for (q = 0; q < 3; q++) t += tick(q); t; });
    s += ({
        #pragma CKPT_CHECKPOINT
        1;
    });
    return s;
}
