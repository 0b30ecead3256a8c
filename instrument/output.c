/*
 * output.c: the rewritten source.  The passes record edits (replace a range,
 * or insert at an offset, ordered by a priority); here they are applied to
 * the original text, after a `#line 1` and with `#include <ckpt_pvm.h>` at the
 * include point, and the constructor registering the file's globals is
 * appended.
 */
#include "rewrite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edit(struct rw *rw, uint32_t start, uint32_t end, int prio, char *text)
{
    GROW(rw->edits, rw->nedits, rw->capedits);
    rw->edits[rw->nedits].start = start;
    rw->edits[rw->nedits].end = end;
    rw->edits[rw->nedits].prio = prio;
    rw->edits[rw->nedits].seq = rw->nedits;
    rw->edits[rw->nedits].text = text;
    rw->nedits++;
}

void insert(struct rw *rw, uint32_t at, int prio, const char *text)
{
    edit(rw, at, at, prio, strdup(text));
}

static int edit_cmp(const void *a, const void *b)
{
    const struct edit *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if ((x->end == x->start) != (y->end == y->start))
        return x->end == x->start ? -1 : 1; /* inserts before a replacement */
    if (x->prio != y->prio)
        return x->prio - y->prio;
    return x->seq - y->seq;
}

/* The names of the kinds as the emitted code spells them, tied to the values of
 * ckpt.h's enum: a kind renamed there no longer compiles here. */
#define KIND(k) [k] = #k
static const char *const kind_names[] = {
    KIND(CKPT_KIND_DATA),
    KIND(CKPT_KIND_POINTER),
    KIND(CKPT_KIND_BLOCK),
};

const char *kind_name(enum ckpt_kind k)
{
    return kind_names[k];
}

/* file-scope CKPT_SAVE: a constructor registering the globals under "file.c:name" keys */
static void emit_globals(struct rw *rw, struct sbuf *out)
{
    int any = 0, nblk = 0;
    unsigned h = 5381;
    for (const char *c = rw->o->key; *c; c++)
        h = h * 33 + (unsigned char)*c;
    struct sbuf fn = {0};
    for (int i = 0; i < rw->nprags; i++) {
        struct pragma *p = &rw->prags[i];
        if (!p->is_save || p->func >= 0)
            continue;
        for (int it = 0; it < p->nitems; it++) {
            struct item *x = &p->items[it];
            any = 1;
            if (x->count) {
                nblk++;
                sb_printf(out, "static size_t ckpt__count_%d(void) { return (size_t)(%s); }\n",
                          nblk, x->count);
                sb_printf(&fn, "    ckpt_global_block(\"%s:%s\", &%s, sizeof *(%s), ckpt__count_%d);\n",
                          rw->o->key, x->name, x->expr, x->expr, nblk);
            } else {
                sb_printf(&fn, "    ckpt_global(\"%s:%s\", &%s, sizeof (%s), %s, %s);\n", rw->o->key,
                          x->name, x->expr, x->expr,
                          x->kind == CKPT_KIND_POINTER ? "sizeof (void *)" : x->elem,
                          kind_name(x->kind));
            }
        }
    }
    if (rw->globals)
        sb_printf(&fn, "%s", rw->globals);
    if (any || fn.n)
        sb_printf(out,
                  "static void __attribute__((constructor)) ckpt__globals_%08x(void)\n{\n%s}\n",
                  h, fn.s);
    free(fn.s);
}

static void cstr_escape(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_add(b, "\\", 1);
        sb_add(b, s, 1);
    }
}

/* offset and line of the first #include at #if depth 0 (ckpt_pvm.h goes there, after any
 * feature-test macros the file defines first), or 0/1 */
static uint32_t include_point(struct rw *rw, unsigned *line)
{
    int depth = 0;
    uint32_t dir_end = 0;
    for (int t = 0; t + 1 < rw->ntoks; t++) {
        if (!tok_is(rw, t, "#") || !first_on_line(rw, rw->toks[t].off)) {
            if (depth == 0 && rw->toks[t].off >= dir_end)
                break; /* code before any #include: ckpt_pvm.h goes first */
            continue;
        }
        dir_end = line_end(rw, rw->toks[t].off);
        if (tok_is(rw, t + 1, "if") || tok_is(rw, t + 1, "ifdef") || tok_is(rw, t + 1, "ifndef"))
            depth++;
        else if (tok_is(rw, t + 1, "endif"))
            depth--;
        else if (depth == 0 && tok_is(rw, t + 1, "include")) {
            uint32_t off = rw->toks[t].off;
            while (off > 0 && rw->text[off - 1] != '\n')
                off--;
            unsigned col;
            off_linecol(rw, off, line, &col);
            return off;
        } else if (depth == 0 && !tok_is(rw, t + 1, "define") && !tok_is(rw, t + 1, "undef") &&
                   !tok_is(rw, t + 1, "pragma") && !tok_is(rw, t + 1, "line")) {
            break;
        }
    }
    *line = 1;
    return 0;
}

/* The edits applied to the text, then the globals' constructor, written to out.
 * Returns 0, or 1 when out cannot be written. */
int write_output(struct rw *rw, const char *out)
{
    struct sbuf ob = {0};
    unsigned incl_line;
    uint32_t incl = include_point(rw, &incl_line);
    edit(rw, incl, incl, -1, NULL); /* NULL text: the #include of ckpt_pvm.h */
    qsort(rw->edits, (size_t)rw->nedits, sizeof *rw->edits, edit_cmp);
    sb_printf(&ob, "#line 1 \"");
    cstr_escape(&ob, rw->o->display);
    sb_printf(&ob, "\"\n");
    uint32_t cur = 0;
    for (int i = 0; i < rw->nedits; i++) {
        struct edit *e = &rw->edits[i];
        if (e->start < cur)
            continue; /* overlaps an earlier replacement */
        sb_add(&ob, rw->text + cur, e->start - cur);
        if (e->text) {
            sb_add(&ob, e->text, strlen(e->text));
        } else {
            sb_printf(&ob, "#include <ckpt_pvm.h>\n%s#line %u \"",
                      rw->main_entry ? "#define main ckpt__main\n" : "", incl_line);
            cstr_escape(&ob, rw->o->display);
            sb_printf(&ob, "\"\n");
        }
        cur = e->end > cur ? e->end : e->start;
    }
    sb_add(&ob, rw->text + cur, rw->size - cur);
    if (rw->size && rw->text[rw->size - 1] != '\n')
        sb_add(&ob, "\n", 1);
    emit_globals(rw, &ob);
    if (rw->main_entry)
        sb_printf(&ob, "%s", rw->main_entry);
    FILE *of = fopen(out, "wb");
    int bad = !of || fwrite(ob.s, 1, ob.n, of) != ob.n;
    if (of && fclose(of) != 0)
        bad = 1;
    free(ob.s);
    if (bad) {
        fprintf(stderr, "ckpt-cc: error: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
