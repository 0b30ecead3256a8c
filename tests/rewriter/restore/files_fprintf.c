/* a file written with fprintf through a saved FILE *, and a log appended
 * with "a": stopped at each line, the harness appends bytes to both files
 * (as a task killed after its checkpoint might have written: --between), and
 * the restart must cut them back.  The files are printed at the end: no line
 * twice, none lost, none of the harness's */
#include <stdio.h>

static void show(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[100];
    printf("-- %s\n", path);
    while (f && fgets(line, sizeof line, f))
        fputs(line, stdout);
    if (f)
        fclose(f);
}

int main(void)
{
    FILE *log = fopen("log.txt", "w");       /* empty it, then append */
    fclose(log);
    FILE *out = fopen("out.txt", "w");
    int i;
    #pragma CKPT_SAVE(out, i)
    log = fopen("log.txt", "a");
    for (i = 0; i < 25; i++) {
        fprintf(out, "line %d: %d\n", i, i * 37 % 101);
        if (i % 3 == 0)
            fprintf(log, "log %d\n", i);
        if (i % 10 == 9)
            fflush(out);
        #pragma CKPT_CHECKPOINT
    }
    fclose(out);
    fclose(log);
    show("out.txt");
    show("log.txt");
    return 0;
}
