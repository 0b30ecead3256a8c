/* ckpt-info: prints what is on disk (placeholder until the full tool lands). */
#include <stdio.h>
#include "image.h"
int main(int argc, char **argv)
{
    fprintf(stderr, "usage: ckpt-info [--verify] [--json] DIR|FILE.img\n");
    return 2;
}
