/*
 * ckpt_pvm_renames.c: writes ckpt_pvm_renames.h, the part of ckpt_pvm.h that
 * a macro cannot write: `#define pvm_NAME ckpt_pvm_NAME` for each call of
 * ckpt_pvm_calls.h.  So the one table gives the prototypes, the renames and
 * the rewriter's safe points, and a call added to it is renamed too.
 *
 *   ckpt_pvm_renames OUT.h
 *
 * Built and run at build time (include/CMakeLists.txt); the header lands in
 * the build tree and is installed beside ckpt_pvm.h.  Not itself installed.
 */
#include <stdio.h>

/* only the names: the types of the parameters are never seen */
#define CKPT_PVM_CALL(name, ret, params, safe) #name,
static const char *const calls[] = {
#include "ckpt_pvm_calls.h"
};
#undef CKPT_PVM_CALL

static void write_header(FILE *f)
{
    fputs("/*\n"
          " * ckpt_pvm_renames.h: each call of ckpt_pvm_calls.h renamed to its ckpt_\n"
          " * twin, for ckpt_pvm.h.  Written by include/ckpt_pvm_renames.c from the\n"
          " * table at build time: do not edit.\n"
          " */\n"
          "#ifndef CKPT_PVM_RENAMES_H\n"
          "#define CKPT_PVM_RENAMES_H\n"
          "\n",
          f);
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        fprintf(f, "#define pvm_%s ckpt_pvm_%s\n", calls[i], calls[i]);
    fputs("\n#endif /* CKPT_PVM_RENAMES_H */\n", f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ckpt_pvm_renames OUT.h\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    write_header(f);
    /* a short header would build programs whose calls bypass libckpt: none at all */
    if (ferror(f) | fclose(f)) {
        perror(argv[1]);
        remove(argv[1]);
        return 1;
    }
    return 0;
}
