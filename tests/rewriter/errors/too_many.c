int f(void);
int main(void)
{
    int v0, v1, v2, v3, v4, v5, v6, v7;
    #pragma CKPT_SAVE(v0, v1, v2, v3, v4, v5, v6, v7, v0, v1, v2, v3, v4, v5, v6, v7)
    #pragma CKPT_SAVE(v0, v1, v2, v3, v4, v5, v6, v7, v0, v1, v2, v3, v4, v5, v6, v7)
    #pragma CKPT_SAVE(v0, v1, v2, v3, v4, v5, v6, v7, v0, v1, v2, v3, v4, v5, v6, v7)
    #pragma CKPT_SAVE(v0, v1, v2, v3, v4, v5, v6, v7, v0, v1, v2, v3, v4, v5, v6, v7)
    #pragma CKPT_SAVE(v0)
    v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = 0;
    f();
    return v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7;
}
