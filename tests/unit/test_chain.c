/*
 * test_chain.c: unit tests of incremental images (format/image.c's
 * ckpt_imgw_base and ckpt_imgw_section_at, imgread.c's chain loading and
 * checks, layout.c's ckpt_epochs_needed).  `test_chain NAME` runs one test,
 * `test_chain` all of them, `test_chain --list` names them.  Built with
 * ASan/UBSan; every test works in its own scratch folder.
 *
 * A task's memory is simulated by a buffer said to live at ADDR (not
 * 1 MiB-aligned, so that chunks are cut at the address's multiples); each
 * epoch rewrites some ranges of it and the oracle answers "unchanged" for
 * every range that none of them touched, as the runtime's exact comparison
 * does.
 */
#include "imgtest.h"

#include <sys/wait.h>

#define MiB (1u << 20)
#define ADDR 0x300000003000ull
#define MEM (5 * MiB + 12345)
#define VTID 0x40001

static uint8_t *mem;                  /* the task's memory, now */
static struct { size_t off, len; } touched[16];
static int ntouched;

static int oracle(void *arg, uint64_t addr, uint64_t len)
{
    (void)arg;
    for (int i = 0; i < ntouched; i++)
        if (addr < ADDR + touched[i].off + touched[i].len && ADDR + touched[i].off < addr + len)
            return 0;
    return 1;
}

/* Rewrites [off, off+len) with noise (which does not compress: what an
 * image stores of it is its size), its first byte v. */
static void touch(size_t off, size_t len, uint8_t v)
{
    CHECK(ntouched < 16 && off + len <= MEM);
    t_fill_random(mem + off, len);
    mem[off] = v;
    touched[ntouched].off = off;
    touched[ntouched++].len = len;
}

static const char *dir(void)
{
    return t_path("ckpt");
}

static uint64_t time_of(uint64_t epoch)
{
    return 1700000000000000000ull + epoch;
}

/* Writes and commits epoch `epoch` of the task, incremental on `parent`
 * (0: full), with chains of at most max_chain; returns ckpt_imgw_base's code. */
static int write_epoch(uint64_t epoch, uint64_t parent, uint32_t max_chain,
                       struct ckpt_img_totals *t)
{
    struct ckpt_img_header h;
    struct ckpt_imgw *w;
    char path[4096], ppath[4096], edir[4096], err[512] = "";
    static const char note[] = "not addressed: always written";
    int brc = 0;

    t_header(&h, VTID, epoch);
    h.time_ns = time_of(epoch);
    h.job = 0x1234;
    CHECK_RC(ckpt_task_path(path, sizeof path, dir(), epoch, VTID));
    CHECK_RC(ckpt_imgw_open(&w, path, &h, 1));
    if (parent) {
        CHECK_RC(ckpt_task_path(ppath, sizeof ppath, dir(), parent, VTID));
        brc = ckpt_imgw_base(w, ppath, parent, time_of(parent), max_chain, oracle, NULL, err,
                             sizeof err);
        if (brc)
            CHECK(strstr(err, "task.00040001.img: ") != NULL);
    }
    CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_META, "meta", note, sizeof note, 0));
    CHECK_RC(ckpt_imgw_section_at(w, CKPT_SEC_HEAP, "blocks", mem, MEM, 8, ADDR));
    CHECK_RC(ckpt_imgw_close(w, t));
    struct ckpt_commit_task ct = { .vtid = VTID, .raw_bytes = t->raw_bytes,
                                   .stored_bytes = t->stored_bytes, .depth = t->depth,
                                   .parent_epoch = t->parent_epoch };
    struct ckpt_commit c = { .epoch = epoch, .time_ns = time_of(epoch), .ntasks = 1,
                             .tasks = &ct, .job = 0x1234 };
    CHECK_RC(ckpt_epoch_dir(edir, sizeof edir, dir(), epoch));
    CHECK_RC(ckpt_commit_write(edir, &c));
    ntouched = 0;
    return brc;
}

/* Loads epoch's image whole; 0 and its bytes equal to want, or the error. */
static int load_epoch(uint64_t epoch, const uint8_t *want, char *err, size_t errlen)
{
    char path[4096];
    struct ckpt_img *img;

    CHECK_RC(ckpt_task_path(path, sizeof path, dir(), epoch, VTID));
    int rc = ckpt_img_load_bound(path, 0x1234, NULL, &img, err, errlen);
    if (rc < 0)
        return rc;
    const struct ckpt_img_section *s = ckpt_img_section(img, 1);
    CHECK(ckpt_img_nsections(img) == 2 && s->len == MEM);
    CHECK(memcmp(s->data, want, MEM) == 0);
    CHECK(strcmp(ckpt_img_section(img, 0)->data, "not addressed: always written") == 0);
    ckpt_img_free(img);
    return 0;
}

static uint8_t *snapshot(void)
{
    uint8_t *s = malloc(MEM);
    CHECK(s);
    memcpy(s, mem, MEM);
    return s;
}

static void setup(void)
{
    t_scratch();
    mem = malloc(MEM);
    CHECK(mem);
    t_fill_random(mem, MEM);      /* incompressible: the bytes written are the bytes changed */
}

/* Builds epochs 1 (full), 2 and 3 (incremental); returns each one's memory. */
static void chain3(uint8_t *snaps[4], struct ckpt_img_totals t[4])
{
    CHECK_RC(write_epoch(1, 0, 8, &t[1]));
    snaps[1] = snapshot();
    touch(2 * MiB + 10, 100, 0xaa);            /* in the third chunk */
    CHECK_RC(write_epoch(2, 1, 8, &t[2]));
    snaps[2] = snapshot();
    touch(10, 5, 0xbb);                          /* the first, short chunk */
    touch(MEM - 3, 3, 0xcc);                     /* the last one */
    CHECK_RC(write_epoch(3, 2, 8, &t[3]));
    snaps[3] = snapshot();
}

/* ------------------------------------------------------------ tests */

static void test_roundtrip(void)
{
    uint8_t *snaps[4];
    struct ckpt_img_totals t[4];
    char err[512], path[4096];

    setup();
    chain3(snaps, t);
    CHECK(t[1].depth == 0 && t[1].ref_bytes == 0);
    CHECK(t[2].depth == 1 && t[2].parent_epoch == 1 && t[2].ref_bytes == MEM - MiB);
    CHECK(t[3].depth == 2 && t[3].parent_epoch == 2);
    /* chunk 0 is short (ADDR is 12 KiB into a MiB), the last one too: 7 chunks */
    CHECK(t[3].ref_bytes == MEM - (MiB - 0x3000) - (MEM - (MiB - 0x3000)) % MiB);
    CHECK(t[2].stored_bytes < t[1].stored_bytes / 4);
    printf("full %llu bytes, increments %llu and %llu\n", (unsigned long long)t[1].stored_bytes,
           (unsigned long long)t[2].stored_bytes, (unsigned long long)t[3].stored_bytes);
    for (uint64_t e = 1; e <= 3; e++) {
        int rc = load_epoch(e, snaps[e], err, sizeof err);
        if (rc)
            fprintf(stderr, "epoch %llu: %s\n", (unsigned long long)e, err);
        CHECK_RC(rc);
    }
    struct ckpt_img_header h;
    uint64_t len;
    CHECK_RC(ckpt_task_path(path, sizeof path, dir(), 3, VTID));
    CHECK_RC(ckpt_img_peek(path, &h, &len, err, sizeof err));
    CHECK(h.depth == 2 && h.parent_epoch == 2 && h.parent_time_ns == time_of(2));
    CHECK(h.root_bytes == t[1].stored_bytes);
    CHECK(h.chain_bytes == t[1].stored_bytes + t[2].stored_bytes);
    CHECK_RC(ckpt_img_check_chain(path, &h, err, sizeof err));
    for (int i = 1; i <= 3; i++)
        free(snaps[i]);
}

/* Each way a chain can break is refused, naming the image that broke it. */
static void test_broken(void)
{
    uint8_t *snaps[4];
    struct ckpt_img_totals t[4];
    char err[512], p1[4096], p3[4096];
    struct ckpt_img_header h;
    uint64_t len;
    size_t n;

    setup();
    chain3(snaps, t);
    CHECK_RC(ckpt_task_path(p1, sizeof p1, dir(), 1, VTID));
    CHECK_RC(ckpt_task_path(p3, sizeof p3, dir(), 3, VTID));
    CHECK_RC(ckpt_img_peek(p3, &h, &len, err, sizeof err));
    uint8_t *o = t_read_file(p1, &n);

    /* a byte of epoch 1's fifth chunk, which epochs 2 and 3 refer to */
    uint8_t *b = malloc(n);
    CHECK(b);
    memcpy(b, o, n);
    b[n - MEM + 4 * MiB] ^= 1;
    t_write_file(p1, b, n);
    CHECK(load_epoch(3, snaps[3], err, sizeof err) == -EBADMSG);
    CHECK(strstr(err, "epoch.1/task.00040001.img: ") && strstr(err, "checksum"));
    CHECK(load_epoch(1, snaps[1], err, sizeof err) == -EBADMSG);

    /* epoch 1 written again (another time): not the parent epoch 2 names */
    t_write_file(p1, o, n);
    CHECK_RC(load_epoch(3, snaps[3], err, sizeof err));
    ntouched = 0;
    memcpy(mem, snaps[1], MEM);
    struct ckpt_img_header h1;
    struct ckpt_imgw *w;
    struct ckpt_img_totals t1;
    t_header(&h1, VTID, 1);
    h1.time_ns = time_of(1) + 5;
    h1.job = 0x1234;
    CHECK_RC(ckpt_imgw_open(&w, p1, &h1, 1));
    CHECK_RC(ckpt_imgw_section(w, CKPT_SEC_META, "meta", "x", 2, 0));
    CHECK_RC(ckpt_imgw_section_at(w, CKPT_SEC_HEAP, "blocks", mem, MEM, 8, ADDR));
    CHECK_RC(ckpt_imgw_close(w, &t1));
    CHECK(load_epoch(3, snaps[3], err, sizeof err) == -ESTALE);
    CHECK(strstr(err, "epoch.1/task.00040001.img: ") && strstr(err, "not the parent"));
    CHECK(ckpt_img_check_chain(p3, &h, err, sizeof err) < 0);

    /* epoch 1 back, but its commit record gone (an aborted or pruned epoch) */
    t_write_file(p1, o, n);
    CHECK_RC(ckpt_img_check_chain(p3, &h, err, sizeof err));
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/epoch.1/commit", dir());
    CHECK(unlink(cpath) == 0);
    CHECK(load_epoch(3, snaps[3], err, sizeof err) == -ENOENT);
    CHECK(strstr(err, "epoch.1/commit: "));
    CHECK(ckpt_img_check_chain(p3, &h, err, sizeof err) == -ENOENT);

    /* epoch 1 gone */
    CHECK(unlink(p1) == 0);
    CHECK(load_epoch(2, snaps[2], err, sizeof err) == -ENOENT);
    CHECK(strstr(err, "epoch.1/task.00040001.img: cannot open"));
    free(b);
    free(o);
    for (int i = 1; i <= 3; i++)
        free(snaps[i]);
}

/* A chain is cut by its length and by its increments' bytes. */
static void test_bounded(void)
{
    struct ckpt_img_totals t;
    char path[4096], err[512];

    setup();
    CHECK_RC(write_epoch(1, 0, 3, &t));
    touch(0, 100, 1);
    CHECK_RC(write_epoch(2, 1, 3, &t));
    CHECK(t.depth == 1);
    touch(0, 100, 2);
    CHECK_RC(write_epoch(3, 2, 3, &t));
    CHECK(t.depth == 2);
    touch(0, 100, 3);
    CHECK(write_epoch(4, 3, 3, &t) == -ERANGE);   /* a fourth image: full again */
    CHECK(t.depth == 0 && t.ref_bytes == 0);
    touch(0, 100, 4);
    CHECK_RC(write_epoch(5, 4, 3, &t));
    CHECK(t.depth == 1 && t.parent_epoch == 4);
    /* increments of 4+ MiB each: once they pass the full image, a full one */
    touch(MiB, MEM - MiB, 5);
    CHECK_RC(write_epoch(6, 5, 100, &t));
    CHECK(t.depth == 2);
    touch(MiB, MEM - MiB, 6);
    CHECK(write_epoch(7, 6, 100, &t) == -ERANGE);
    CHECK(t.depth == 0);
    /* CKPT_CHAIN=1: never incremental */
    touch(0, 1, 7);
    CHECK(write_epoch(8, 7, 1, &t) == -ERANGE && t.depth == 0);
    /* every chunk changed: nothing to refer to, a full image */
    touch(0, MEM, 8);
    CHECK_RC(write_epoch(9, 8, 8, &t));
    CHECK(t.depth == 0);
    CHECK_RC(ckpt_task_path(path, sizeof path, dir(), 9, VTID));
    CHECK_RC(load_epoch(9, mem, err, sizeof err));
}

/* Pruning keeps what the kept epochs need, and only that. */
static void test_needed(void)
{
    struct ckpt_img_totals t;
    uint64_t e[16];

    setup();
    CHECK_RC(write_epoch(1, 0, 8, &t));         /* 1 <- 2 <- 3    4 <- 5 */
    touch(0, 1, 1);
    CHECK_RC(write_epoch(2, 1, 8, &t));
    touch(0, 1, 2);
    CHECK_RC(write_epoch(3, 2, 8, &t));
    touch(0, MEM, 3);
    CHECK_RC(write_epoch(4, 3, 8, &t));
    CHECK(t.depth == 0);
    touch(0, 1, 4);
    CHECK_RC(write_epoch(5, 4, 8, &t));
    e[0] = 5;
    CHECK(ckpt_epochs_needed(dir(), e, 1, 16) == 2 && e[1] == 4);
    e[0] = 3;
    CHECK(ckpt_epochs_needed(dir(), e, 1, 16) == 3 && e[1] == 2 && e[2] == 1);
    e[0] = 5;
    e[1] = 3;
    CHECK(ckpt_epochs_needed(dir(), e, 2, 16) == 5);
    CHECK(ckpt_epochs_needed(dir(), e, 2, 3) == 3);   /* bounded by max */
}

/* Two sections of one memory (a variable saved twice, say): their chunks
 * are no reference for a later image, which then writes them whole; the
 * rest still refers. */
static void test_overlap(void)
{
    struct ckpt_img_header h;
    struct ckpt_imgw *w;
    struct ckpt_img_totals t;
    char path[4096], edir[4096];

    setup();
    for (uint64_t epoch = 1; epoch <= 2; epoch++) {
        t_header(&h, VTID, epoch);
        h.time_ns = time_of(epoch);
        h.job = 0x1234;
        CHECK_RC(ckpt_task_path(path, sizeof path, dir(), epoch, VTID));
        CHECK_RC(ckpt_imgw_open(&w, path, &h, 1));
        if (epoch == 2) {
            char ppath[4096], err[512];
            CHECK_RC(ckpt_task_path(ppath, sizeof ppath, dir(), 1, VTID));
            CHECK_RC(ckpt_imgw_base(w, ppath, 1, time_of(1), 8, oracle, NULL, err, sizeof err));
        }
        CHECK_RC(ckpt_imgw_section_at(w, CKPT_SEC_HEAP, "blocks", mem, MEM, 8, ADDR));
        CHECK_RC(ckpt_imgw_section_at(w, CKPT_SEC_GLOBAL, "twice", mem, MiB, 8, ADDR));
        CHECK_RC(ckpt_imgw_close(w, &t));
        struct ckpt_commit_task ct = { .vtid = VTID, .raw_bytes = t.raw_bytes,
                                       .stored_bytes = t.stored_bytes, .depth = t.depth,
                                       .parent_epoch = t.parent_epoch };
        struct ckpt_commit c = { .epoch = epoch, .time_ns = time_of(epoch), .ntasks = 1,
                                 .tasks = &ct, .job = 0x1234 };
        CHECK_RC(ckpt_epoch_dir(edir, sizeof edir, dir(), epoch));
        CHECK_RC(ckpt_commit_write(edir, &c));
    }
    /* chunk 0 (short) and chunk 1 of "blocks" overlap "twice": written whole */
    CHECK(t.depth == 1 && t.ref_bytes == MEM - (MiB - 0x3000) - MiB);
    struct ckpt_img *img;
    char err[512];
    CHECK_RC(ckpt_img_load_bound(path, 0x1234, NULL, &img, err, sizeof err));
    CHECK(memcmp(ckpt_img_section(img, 0)->data, mem, MEM) == 0);
    CHECK(memcmp(ckpt_img_section(img, 1)->data, mem, MiB) == 0);
    ckpt_img_free(img);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "roundtrip", test_roundtrip },
    { "broken", test_broken },
    { "bounded", test_bounded },
    { "needed", test_needed },
    { "overlap", test_overlap },
};
#define NTESTS (sizeof tests / sizeof tests[0])

int main(int argc, char **argv)
{
    int failed = 0;

    (void)t_fill_smooth;                /* imgtest.h's, for other tests */
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NTESTS; i++)
            puts(tests[i].name);
        return 0;
    }
    for (size_t i = 0; i < NTESTS; i++) {
        if (argc == 2 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        int status;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            tests[i].fn();
            exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("%s %s\n", ok ? "PASS" : "FAIL", tests[i].name);
        failed |= !ok;
    }
    return failed;
}
