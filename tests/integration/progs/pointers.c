/*
 * pointers: state made of pointers, with no pragma at all.  A master and a
 * worker it spawns each keep, across every round (a PVM exchange, so a safe
 * point), a linked list and a binary tree of heap nodes pointing at each other
 * and at globals, a table of function pointers (the program's, and the C
 * library's sqrt, cos and strcmp), a struct of pointers into the middle of a
 * global array, of a heap array and of a caller's local array, saved FILE *s
 * (stdout, stderr), the C library's random generators, a strtok in progress
 * over a heap string, a getenv() value and a static local counter.  Every
 * round each side folds all of it into a digest; the master prints both.
 *   pointers ROUNDS
 * Expectation: the output of a failure-free plain run, whatever is killed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pvm3.h>

struct node {
    long key;
    struct node *next, *left, *right;
    long *global_ref;          /* into `weights`, a global */
    const char *name;          /* a string literal */
};

struct view {
    double *mid_global, *mid_heap;
    long *mid_local;           /* a caller's local array */
    FILE *out, *err;
};

typedef double (*unary)(double);
static long weights[16];
static struct node *list_head, *tree_root;
static double table[64];
static int (*compare)(const char *, const char *) = strcmp;
static const char *const names[] = {"alpha", "beta", "gamma", "delta"};

static double twice(double x) { return 2 * x; }
static unary ops[] = {sqrt, cos, twice};

static int by_value(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static struct node *insert(struct node *t, struct node *n)
{
    if (!t)
        return n;
    if (n->key < t->key)
        t->left = insert(t->left, n);
    else
        t->right = insert(t->right, n);
    return t;
}

static unsigned long fold_tree(const struct node *t, unsigned long h)
{
    if (!t)
        return h * 3 + 1;
    h = fold_tree(t->left, h);
    h = h * 1000003u + (unsigned long)t->key + (unsigned long)*t->global_ref + strlen(t->name);
    return fold_tree(t->right, h);
}

static long spin(long x)
{
    volatile long s = x;
    for (int i = 0; i < 400000; i++)
        s = s * 31 + i;
    return s & 0xff;
}

/* One round of growth: a node on the list and in the tree, fed by rand(). */
static void grow(int round)
{
    static int calls;           /* a static local, saved as a global is */
    struct node *n = calloc(1, sizeof *n);
    n->key = rand() % 1000 + (long)(drand48() * 10);
    n->global_ref = &weights[round % 16];
    n->name = names[round % 4];
    n->next = list_head;
    list_head = n;
    tree_root = insert(tree_root, n);
    weights[round % 16] += round + ++calls;
}

static unsigned long digest(const struct view *v, char **tok, long *sorted, int nsorted)
{
    unsigned long h = 0;
    for (const struct node *n = list_head; n; n = n->next)
        h = h * 31 + (unsigned long)n->key + (unsigned long)(n->global_ref - weights);
    h = fold_tree(tree_root, h);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        h = h * 7 + (unsigned long)(long)(ops[i](*v->mid_global) * 1000);
    h = h * 7 + (unsigned long)(*v->mid_heap * 100) + (unsigned long)*v->mid_local;
    h = h * 7 + (unsigned long)(compare(names[0], names[1]) < 0);
    h = h * 7 + (v->out == stdout) + 2 * (v->err == stderr);
    for (int i = 0; i < nsorted; i++)
        h = h * 5 + (unsigned long)sorted[i];
    char *word = strtok(NULL, " ");
    if (!word)
        word = *tok;
    return h * 11 + strlen(word);
}

/* One side's whole life: rounds of (exchange with peer, grow, digest). */
static void side(int peer, int rounds, int master, long *scratch)
{
    double *heap = malloc(32 * sizeof *heap);
    char *text = strdup("the quick brown fox jumps over the lazy dog again and again");
    char *first = strtok(text, " ");
    const char *home = getenv("PVM_ROOT");
    struct view *v = malloc(sizeof *v);
    long sorted[8];
    int nsorted = 0;
    v->mid_global = &table[20];
    v->mid_heap = &heap[10];
    v->mid_local = &scratch[3];
    v->out = stdout;
    v->err = stderr;
    for (int i = 0; i < 32; i++)
        heap[i] = i * 0.5;
    for (int r = 0; r < rounds; r++) {
        unsigned long mine, theirs = 0;
        grow(r);
        table[20] += 0.25;
        heap[10] += 1;
        scratch[3] += r + spin(r);
        if (nsorted < 8)
            sorted[nsorted++] = list_head->key;
        qsort(sorted, (size_t)nsorted, sizeof *sorted, by_value);
        mine = digest(v, &first, sorted, nsorted) + (home ? strlen(home) : 0);
        pvm_initsend(PvmDataDefault);
        pvm_pkulong(&mine, 1, 1);
        pvm_send(peer, 1);
        pvm_recv(peer, 1);
        pvm_upkulong(&theirs, 1, 1);
        if (master)
            fprintf(v->out, "round %d master %lu worker %lu\n", r, mine, theirs);
        fflush(v->out);
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    long scratch[8] = {0};
    int peer = pvm_parent();
    srand(7);
    srand48(11);
    if (peer > 0) {
        side(peer, rounds, 0, scratch);
        pvm_exit();
        return 0;
    }
    char *args[] = {argv[1], NULL};
    if (pvm_spawn(argv[0], args, PvmTaskDefault, "", 1, &peer) != 1) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    side(peer, rounds, 1, scratch);
    pvm_exit();
    return 0;
}
