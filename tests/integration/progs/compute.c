/*
 * compute: a worker that computes for seconds between two messages, in
 * loops with no PVM call and no pragma.  The master spawns it, sends it the
 * problem and waits for the answer; the worker's sweep() is a nest of loops
 * in a function of its own.  A checkpoint asked for meanwhile must be taken
 * inside the loops (the safe points ckpt-cc puts at the top of an outer
 * loop), or no checkpoint commits before the end and a kill restarts the job
 * from the beginning.
 *   compute STEPS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <pvm3.h>

static double sweep(int steps, double *trace)
{
    double acc = 1.0;
    for (int i = 0; i < steps; i++) {
        for (int j = 0; j < 200000; j++)
            acc = acc * 1.0000001 + (double)((i * 7 + j) % 13) * 1e-9;
        trace[i % 16] += acc;
    }
    return acc;
}

static void worker(int parent)
{
    int steps;
    double trace[16] = {0};
    pvm_recv(parent, 1);
    pvm_upkint(&steps, 1, 1);
    double acc = sweep(steps, trace);
    pvm_initsend(PvmDataDefault);
    pvm_pkdouble(&acc, 1, 1);
    pvm_pkdouble(trace, 16, 1);
    pvm_send(parent, 2);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 2000, child;
    double acc, trace[16];
    if (pvm_parent() > 0) {
        worker(pvm_parent());
        pvm_exit();
        return 0;
    }
    char *args[] = {"-w", NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &child) != 1) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    pvm_initsend(PvmDataDefault);
    pvm_pkint(&steps, 1, 1);
    pvm_send(child, 1);
    pvm_recv(child, 2);
    pvm_upkdouble(&acc, 1, 1);
    pvm_upkdouble(trace, 16, 1);
    printf("steps %d acc %.17g\n", steps, acc);
    for (int i = 0; i < 16; i++)
        printf("trace[%d] %.17g\n", i, trace[i]);
    pvm_exit();
    return 0;
}
