int work(double *row, int n);
int main(int argc, char **argv)
{
    int n = argc + 3;
    double row[n];
    row[0] = 0;
    return work(row, n);
}
