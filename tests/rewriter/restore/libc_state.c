/* the C library's hidden state across a restart (#14): rand and random unseeded,
 * then seeded, then on a saved initstate buffer and back; the drand48 family
 * unseeded, seeded, seed48 and erand48 on a saved xsubi; strtok through a saved
 * global, then through a saved heap block (which a restart moves); getenv: a
 * pointer kept across the restart, and a variable set only in the restarted
 * task (CKPT_RESTART, unset in the plain run and in the run that stops), which
 * must look unset as it did before the checkpoint */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CKPT_PVM_H
/* The instrumented build calls libckpt's twins by hand until ckpt-cc renames
 * the calls of include/ckpt_libc_calls.h itself; then these lines go. */
#define rand ckpt_rand
#define srand ckpt_srand
#define random ckpt_random
#define initstate ckpt_initstate
#define setstate ckpt_setstate
#define drand48 ckpt_drand48
#define lrand48 ckpt_lrand48
#define mrand48 ckpt_mrand48
#define erand48 ckpt_erand48
#define srand48 ckpt_srand48
#define seed48 ckpt_seed48
#define strtok ckpt_strtok
#define getenv ckpt_getenv
#endif

char text[] = "alpha beta,gamma;delta epsilon,zeta eta";
char rstate[64];
unsigned short xsubi[3] = {1, 2, 3};
#pragma CKPT_SAVE(text, rstate, xsubi)

int main(void)
{
    int i, len;
    char *tok, *path, *line, *old = NULL, *restart;
    #pragma CKPT_SAVE(i, len, tok, path, line[len], old, restart)
    path = getenv("PATH");
    restart = getenv("CKPT_RESTART");
    len = 48;
    line = malloc(len);
    strcpy(line, "one two  three,four;five six seven eight");
    tok = strtok(text, " ,;");
    for (i = 0; i < 16; i++) {
        printf("%2d rand %d random %ld drand48 %.17g lrand48 %ld mrand48 %ld erand48 %.17g\n", i, rand(),
               random(), drand48(), lrand48(), mrand48(), erand48(xsubi));
        printf("   tok %s path %zu %s restart %s\n", tok ? tok : "(end)", strlen(path),
               getenv("PATH") == path ? "same" : "another", restart ? restart : "(unset)");
        printf("   restart now %s\n", getenv("CKPT_RESTART") ? "set" : "unset");
        if (i == 3) {
            srand(7);
            srand48(99);
        } else if (i == 5) {
            old = initstate(5, rstate, sizeof rstate);
        } else if (i == 7) {
            tok = strtok(line, " ,;");
            unsigned short s[3] = {0x1234, 0x5678, 0x9abc};
            unsigned short *prev = seed48(s);
            printf("   seed48 was %x %x %x\n", prev[0], prev[1], prev[2]);
        } else if (i == 11) {
            printf("   setstate back %s\n", setstate(old) == rstate ? "ok" : "wrong");
        }
        if (i != 7)
            tok = strtok(NULL, " ,;");
        #pragma CKPT_CHECKPOINT
    }
    free(line);
    printf("done\n");
    return 0;
}
