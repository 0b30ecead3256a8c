#line 1 "solve.c"
/* the example of include/ckpt.h: the exact code ckpt-cc emits is golden/solve.ckpt.c */
#include <ckpt_pvm.h>
#line 2 "solve.c"
#include <stdlib.h>
#include <pvm3.h>

void exchange(double *row, int n);

int solve(int n)
{ struct ckpt_frame ckpt__fr __attribute__((cleanup(ckpt_leave))); struct ckpt_var ckpt__v[2]; static const uint64_t ckpt__live[] = {0, 0x3, 0x3};
    double *row = malloc(n * sizeof *row);
    int it;
    ckpt_enter(&ckpt__fr, "solve", ckpt__v, 2, ckpt__live); if (ckpt__fr.resume) { ckpt__dispatch: switch (ckpt_resume_next(&ckpt__fr)) { case -1: goto ckpt__reg1; case 1: goto ckpt__site1; case 2: goto ckpt__site2; default: ckpt_resume_lost(&ckpt__fr); } } ckpt__reg1: ckpt_bind(&ckpt__fr, 0, 1, &it, sizeof (it), sizeof (it), 0, CKPT_KIND_DATA, "it"); ckpt_bind(&ckpt__fr, 1, 1, &row, sizeof (row), sizeof *(row), (size_t)(n), CKPT_KIND_BLOCK, "row"); if (ckpt__fr.resume) goto ckpt__dispatch;
    for (it = 0; it < 10; it++)
        { ckpt__fr.site = 1; ckpt__v[1].count = (size_t)(n); ckpt__site1: exchange(row, n); }
    ckpt__fr.site = 2; ckpt__v[1].count = (size_t)(n); ckpt__site2: return pvm_send(0, 1);
}
