/* struct fields, multi-dimensional arrays, a p[n] local block that grows (realloc) */
#include <stdio.h>
#include <stdlib.h>

#define N 4
double grid[N][N];
struct params { int steps; double dt; char tag[8]; } par = {3, 0.5, "run"};
#pragma CKPT_SAVE(grid, par.steps, par.dt)

static void relax(double (*g)[N], int it)
{
    int r, c;
    for (r = 0; r < N; r++)
        for (c = 0; c < N; c++)
            g[r][c] = g[r][c] * 0.5 + it + r - c;
}

int main(void)
{
    struct { int it; long pad; } st = {0, 7};
    int n = 2, i;
    long *hist = calloc(n, sizeof *hist);
    #pragma CKPT_SAVE(st.it, n, hist[n], i)
    for (st.it = 0; st.it < par.steps; st.it++) {
        relax(grid, st.it);
        hist[n - 1] = (long)(grid[1][2] * 100);
        #pragma CKPT_CHECKPOINT
        n++;
        hist = realloc(hist, n * sizeof *hist);
        hist[n - 1] = n;
        #pragma CKPT_CHECKPOINT
        printf("it=%d n=%d g=%.3f pad=%ld\n", st.it, n, grid[1][2], st.pad);
    }
    for (i = 0; i < n; i++)
        printf("hist[%d]=%ld\n", i, hist[i]);
    printf("dt=%.2f tag=%s\n", par.dt, par.tag);
    free(hist);
    return 0;
}
