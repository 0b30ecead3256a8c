/* variable-length arrays (and a pointer to one) with safe points in their
 * scope, nested and in a loop, no pragma: a resume enters each scope through
 * its declaration, sizes restored first */
#include <stdio.h>

static double total(int n, double v[n])
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

static int step(int rows, int cols)
{
    double grid[rows][cols];
    double (*row)[cols] = grid;
    int sum = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            grid[r][c] = r * 10 + c;
    for (int r = 0; r < rows; r++) {
        int len = r + 2;
        double part[len];
        for (int k = 0; k < len; k++)
            part[k] = row[r][k % cols] * (k + 1);
        #pragma CKPT_CHECKPOINT
        sum += (int)total(len, part);
        printf("rows=%d r=%d len=%d sum=%d\n", rows, r, len, sum);
    }
    #pragma CKPT_CHECKPOINT
    return sum + (int)grid[rows - 1][cols - 1];
}

int main(int argc, char **argv)
{
    int n = argc + 2, acc = 0;
    (void)argv;
    for (int t = 0; t < 3; t++) {
        int dims[n];
        for (int i = 0; i < n; i++)
            dims[i] = i + t + 1;
        #pragma CKPT_CHECKPOINT
        acc += step(dims[n - 1], dims[0] + 1);
        printf("t=%d acc=%d\n", t, acc);
    }
    printf("done %d\n", acc);
    return 0;
}
