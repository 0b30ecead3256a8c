#line 1 "solve.c"
/* the example of include/ckpt.h: the exact code ckpt-cc emits is golden/solve.ckpt.c
 * (no pragma: the locals and the heap block are saved all the same) */
#include <ckpt_pvm.h>
#line 3 "solve.c"
#include <stdlib.h>
#include <pvm3.h>

void exchange(double *row, int n);

int solve(int n)
{ struct ckpt_frame ckpt__fr __attribute__((cleanup(ckpt_leave))); struct ckpt_var ckpt__v[3]; static const uint64_t ckpt__live[] = {0, 0x7, 0x7, 0x7};
    double *row = ckpt_rebuilding("solve") ? (__typeof__(malloc(n * sizeof *row))){0} : (ckpt_malloc(n * sizeof *row));
    int it;
    ckpt_enter(&ckpt__fr, "solve", ckpt__v, 3, ckpt__live); if (ckpt__fr.resume) { ckpt__dispatch: switch (ckpt_resume_next(&ckpt__fr)) { case -1: goto ckpt__reg1; case 1: goto ckpt__site1; case 2: goto ckpt__site2; case 3: goto ckpt__site3; default: ckpt_resume_lost(&ckpt__fr); } } ckpt__reg1: ckpt_bind(&ckpt__fr, 0, 1, &row, sizeof (row), sizeof (row), 0, CKPT_KIND_DATA, "row"); ckpt_bind(&ckpt__fr, 1, 1, &it, sizeof (it), sizeof (it), 0, CKPT_KIND_DATA, "it"); ckpt_bind(&ckpt__fr, 2, 1, &n, sizeof (n), sizeof (n), 0, CKPT_KIND_DATA, "n"); if (ckpt__fr.resume) goto ckpt__dispatch; for (it = 0; it < 10; it++)
        { if (__builtin_expect(ckpt_requested, 0)) { ckpt__fr.site = 1; ckpt__site1: ckpt_checkpoint(); } { ckpt__fr.site = 2; ckpt__site2: exchange(row, n); } }
    ckpt__fr.site = 3; ckpt__site3: return pvm_send(0, 1);
}
