/*
 * ckpt-info: shows what is on disk, through the format library (format/) only.
 *
 *   ckpt-info DIR          committed epochs of a checkpoint folder (newest first),
 *                          their tasks, sizes and hosts; uncommitted epoch folders noted
 *   ckpt-info DIR/epoch.K  one epoch folder: commit record, every image verified
 *   ckpt-info FILE.img     one task image: header and sections
 *   --sections, -s         with FILE.img: also every section's fields (secdump.c)
 *   --verify               load every image of every committed epoch, each
 *                          incremental one whole through its chain of earlier
 *                          images, and check every checksum and that each image
 *                          belongs to its commit record (job, epoch, task, sizes,
 *                          chain); a folder with no committed epoch is a problem
 *   --json                 the same as one JSON document, for scripts
 *
 * Exit status: 0 all good, 1 a problem was found (or nothing could be read),
 * 2 usage.  The tool owns no format knowledge: format/ does all reading.
 */
#define _GNU_SOURCE
#include "image.h"
#include "secdump.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_PROBLEM = 1, EXIT_USAGE = 2 };

struct opts {
    int verify, json, sections;
    const char *target;
};

static const char usage_text[] =
    "usage: ckpt-info [--verify] [--json] DIR|DIR/epoch.K|FILE.img\n"
    "       ckpt-info --sections FILE.img\n"
    "\n"
    "  DIR        a checkpoint folder (CKPT_DIR): lists committed epochs, newest\n"
    "             first, with per task raw and stored bytes, ratio, log bytes, write\n"
    "             time and the host it ran on, and notes epoch folders that are not\n"
    "             committed\n"
    "  DIR/epoch.K  one epoch folder: its commit record (or why it has none) and\n"
    "             every task image in it, each loaded and verified\n"
    "  FILE.img   a task image: prints its header and sections\n"
    "  --sections, -s  with FILE.img: also decodes every section (runtime state,\n"
    "             peers, command line, frames and variables, logged and queued\n"
    "             messages, the first bytes of saved data); text only\n"
    "  --verify   loads every image of every committed epoch (an incremental one\n"
    "             whole, through the earlier images it refers to) and checks every\n"
    "             checksum and that it belongs to its commit record (job, epoch,\n"
    "             task, sizes, chain), as a restart does; no committed epoch is a problem\n"
    "  --json     prints one JSON document instead of text\n"
    "  --help     prints this\n"
    "\n"
    "exit status: 0 all good, 1 a problem found (corrupt, unreadable, missing),\n"
    "             2 usage error\n";

/* ------------------------------------------------------------ output */

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            printf("\\u%04x", *p);   /* names are bytes; keep the document ASCII */
        else
            putchar(*p);
    }
    putchar('"');
}

static void time_str(uint64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(buf, len, "?");
    else
        snprintf(buf + strlen(buf), len - strlen(buf), ".%03uZ",
                 (unsigned)(ns / 1000000u % 1000u));
}

static double ratio(uint64_t raw, uint64_t stored)
{
    return stored ? (double)raw / (double)stored : 0.0;
}

/* ------------------------------------------------------------ one image */

/* The version of the runtime state in the image's META section (its first
 * 4 bytes), or -1 if it has none: images of another state version are
 * refused by a restarted task, so the user should see which one it is. */
static long state_version(const struct ckpt_img *img)
{
    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        uint32_t v;
        if (s->type != CKPT_SEC_META || s->len < sizeof v)
            continue;
        memcpy(&v, s->data, sizeof v);
        return (long)v;
    }
    return -1;
}

static void print_image_text(const char *path, const struct ckpt_img *img)
{
    const struct ckpt_img_header *h = ckpt_img_header(img);
    char tb[64];
    uint64_t raw = 0, stored = 0;

    time_str(h->time_ns, tb, sizeof tb);
    printf("%s\n", path);
    printf("  task     0x%08" PRIx32 "\n", (uint32_t)h->vtid);
    printf("  epoch    %" PRIu64 "\n", h->epoch);
    printf("  job      %016" PRIx64 "\n", h->job);
    printf("  time     %s\n", tb);
    printf("  flags    %#" PRIx32 "%s\n", h->flags, h->flags & CKPT_IMG_F_EXITED ? " (exited)" : "");
    printf("  exe      %s, %" PRIu64 " bytes, hash %016" PRIx64 "\n", h->exe.name, h->exe.size,
           h->exe.hash);
    printf("  format   version %d\n", CKPT_IMG_VERSION);
    if (h->depth)
        printf("  chain    incremental on epoch %" PRIu64 ": %" PRIu32 " image%s behind it (%" PRIu64
               " bytes), the full one %" PRIu64 " bytes; loaded whole through it\n",
               h->parent_epoch, h->depth, h->depth == 1 ? "" : "s", h->chain_bytes, h->root_bytes);
    else
        printf("  chain    a full image\n");
    if (state_version(img) >= 0)
        printf("  state    version %ld\n", state_version(img));
    printf("  %4s  %-7s %-24s %5s %14s %14s %6s %14s\n", "#", "type", "name", "elem", "raw",
           "stored", "ratio", "from earlier");
    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        printf("  %4zu  %-7s %-24s %5" PRIu32 " %14" PRIu64 " %14" PRIu64 " %6.2f %14" PRIu64 "\n", i,
               ckpt_sec_type_name(s->type), s->name, s->elem, s->len, s->stored_len,
               ratio(s->len, s->stored_len), s->parent_len);
        raw += s->len;
        stored += s->stored_len;
    }
    printf("  %zu sections, %" PRIu64 " raw bytes in %" PRIu64 " bytes of sections\n",
           ckpt_img_nsections(img), raw, stored);
}

static void print_image_json(const char *path, const struct ckpt_img *img, const char *err)
{
    printf("{\"file\": ");
    json_str(path);
    if (!img) {
        printf(", \"ok\": false, \"error\": ");
        json_str(err);
        printf("}\n");
        return;
    }
    const struct ckpt_img_header *h = ckpt_img_header(img);
    char tb[64];
    time_str(h->time_ns, tb, sizeof tb);
    printf(", \"ok\": true, \"version\": %d, \"state_version\": %ld, \"header\": {\"vtid\": %" PRId32
           ", \"epoch\": %" PRIu64 ", \"job\": \"%016" PRIx64 "\", \"time_ns\": %" PRIu64
           ", \"time\": \"%s\", \"flags\": %" PRIu32 ", \"depth\": %" PRIu32 ", \"parent_epoch\": %"
           PRIu64 ", \"chain_bytes\": %" PRIu64 ", \"root_bytes\": %" PRIu64 ", \"exe\": {\"name\": ",
           CKPT_IMG_VERSION, state_version(img), h->vtid, h->epoch, h->job, h->time_ns, tb, h->flags,
           h->depth, h->parent_epoch, h->chain_bytes, h->root_bytes);
    json_str(h->exe.name);
    printf(", \"size\": %" PRIu64 ", \"hash\": \"%016" PRIx64 "\"}}, \"sections\": [",
           h->exe.size, h->exe.hash);
    for (size_t i = 0; i < ckpt_img_nsections(img); i++) {
        const struct ckpt_img_section *s = ckpt_img_section(img, i);
        printf("%s\n  {\"index\": %zu, \"type\": %" PRIu32 ", \"type_name\": \"%s\", \"name\": ",
               i ? "," : "", i, s->type, ckpt_sec_type_name(s->type));
        json_str(s->name);
        printf(", \"elem\": %" PRIu32 ", \"raw_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
               ", \"earlier_bytes\": %" PRIu64 "}", s->elem, s->len, s->stored_len, s->parent_len);
    }
    printf("]}\n");
}

static int info_file(const struct opts *o)
{
    struct ckpt_img *img;
    char err[1024];
    int rc = ckpt_img_load(o->target, NULL, &img, err, sizeof err);

    if (o->json)
        print_image_json(o->target, img, err);
    else if (rc < 0)
        fprintf(stderr, "ckpt-info: %s\n", err);
    else if (o->verify)
        printf("%s: ok, %zu sections verified\n", o->target, ckpt_img_nsections(img));
    else {
        print_image_text(o->target, img);
        if (o->sections)
            secdump_image(img);
    }
    ckpt_img_free(img);
    return rc < 0 ? EXIT_PROBLEM : EXIT_OK;
}

/* ------------------------------------------------------------ a folder */

struct problems {
    char **msg;
    size_t n, cap;
};

__attribute__((format(printf, 2, 3)))
static void problem(struct problems *p, const char *fmt, ...)
{
    char buf[1200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        char **m = realloc(p->msg, ncap * sizeof *m);
        if (!m)
            return;
        p->msg = m;
        p->cap = ncap;
    }
    if ((p->msg[p->n] = strdup(buf)))
        p->n++;
}

/* Every image a commit record lists must load and belong to it, with the
 * very check a restore makes (ckpt_img_load_bound); job 0: any job. */
static void verify_epoch(const char *dir, uint64_t job, const struct ckpt_commit *c,
                         struct problems *pr)
{
    for (uint32_t i = 0; i < c->ntasks; i++) {
        struct ckpt_img *img;
        char path[4096], err[1024];

        if (ckpt_task_path(path, sizeof path, dir, c->epoch, c->tasks[i].vtid) < 0) {
            problem(pr, "epoch %" PRIu64 ": path too long", c->epoch);
            continue;
        }
        if (ckpt_img_load_bound(path, job, NULL, &img, err, sizeof err) < 0) {
            problem(pr, "epoch %" PRIu64 ": %s", c->epoch, err);
            continue;
        }
        ckpt_img_free(img);
    }
}

/* The folder's job record, if it has one; its id, else 0. */
static uint64_t print_job(const struct opts *o)
{
    struct ckpt_job jr;
    char tb[64], err[1024];

    if (ckpt_job_read(o->target, &jr, err, sizeof err) < 0)
        return 0;
    time_str(jr.time_ns, tb, sizeof tb);
    if (o->json) {
        printf("\"job\": {\"id\": \"%016" PRIx64 "\", \"time\": \"%s\", \"tasks\": %" PRIu32
               ", \"exe\": {\"size\": %" PRIu64 ", \"hash\": \"%016" PRIx64 "\"}, \"path\": ",
               jr.id, tb, jr.ntasks, jr.exe.size, jr.exe.hash);
        json_str(jr.path);
        printf("},\n ");
    } else {
        printf("job %016" PRIx64 "  started %s  %s%s (%" PRIu64 " bytes, hash %016" PRIx64 ")\n",
               jr.id, tb, jr.ntasks ? "-n " : "", jr.path, jr.exe.size, jr.exe.hash);
    }
    return jr.id;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in folder dir that keep(name, arg) accepts, sorted. */
static int list_dir(const char *dir, int (*keep)(const char *name, const void *arg),
                    const void *arg, char ***out, size_t *nout)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t n = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        if (!keep(e->d_name, arg))
            continue;
        char **nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv || !(nv[n] = strdup(e->d_name))) {
            free(nv ? nv : v);
            closedir(d);
            return -ENOMEM;
        }
        v = nv;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *nout = n;
    return 0;
}

struct committed_list {
    const uint64_t *ep;
    int nep;
};

/* An epoch folder (by name) that is not in the committed list. */
static int is_uncommitted(const char *name, const void *arg)
{
    const struct committed_list *c = arg;
    char *end;
    if (strncmp(name, "epoch.", 6) != 0)
        return 0;
    errno = 0;
    unsigned long long k = strtoull(name + 6, &end, 10);
    for (int i = 0; !*end && !errno && i < c->nep; i++)
        if (c->ep[i] == k)
            return 0;
    return 1;
}

static int uncommitted(const char *dir, const uint64_t *ep, int nep, char ***out, size_t *nout)
{
    struct committed_list c = {ep, nep};
    return list_dir(dir, is_uncommitted, &c, out, nout);
}

/* Why folder is not committed: the commit reader's own words. */
static void why_uncommitted(const char *dir, const char *folder, char *why, size_t len)
{
    char edir[4096];
    struct ckpt_commit c;
    int rc;

    snprintf(edir, sizeof edir, "%s/%s", dir, folder);
    rc = ckpt_commit_read(edir, &c, why, len);
    if (rc == -ENOENT)
        snprintf(why, len, "no commit record (tentative or aborted)");
    else if (rc == 0) {
        snprintf(why, len, "its commit record names epoch %" PRIu64, c.epoch);
        ckpt_commit_free(&c);
    }
}

static int list_epochs(const char *dir, uint64_t **out)
{
    int max = 256, n;

    for (;;) {
        uint64_t *ep = malloc((size_t)max * sizeof *ep);
        if (!ep)
            return -ENOMEM;
        n = ckpt_list_committed(dir, ep, max);
        if (n < 0 || n < max) {
            *out = ep;
            return n;
        }
        free(ep);
        max *= 4;
    }
}

static void print_epoch(const struct opts *o, const struct ckpt_commit *c, int first)
{
    char tb[64];

    time_str(c->time_ns, tb, sizeof tb);
    if (o->json) {
        printf("%s\n  {\"epoch\": %" PRIu64 ", \"job\": \"%016" PRIx64 "\", \"time_ns\": %" PRIu64
               ", \"time\": \"%s\", \"tasks\": [", first ? "" : ",", c->epoch, c->job, c->time_ns, tb);
        for (uint32_t i = 0; i < c->ntasks; i++) {
            const struct ckpt_commit_task *t = &c->tasks[i];
            printf("%s\n    {\"vtid\": %" PRId32 ", \"flags\": %" PRIu32 ", \"raw_bytes\": %" PRIu64
                   ", \"stored_bytes\": %" PRIu64 ", \"ratio\": %.3f, \"log_bytes\": %" PRIu64
                   ", \"write_ms\": %" PRIu32 ", \"depth\": %" PRIu32 ", \"parent_epoch\": %" PRIu64
                   ", \"host\": ",
                   i ? "," : "", t->vtid, t->flags, t->raw_bytes, t->stored_bytes,
                   ratio(t->raw_bytes, t->stored_bytes), t->log_bytes, t->write_ms, t->depth,
                   t->depth ? t->parent_epoch : 0);
            json_str(t->host);
            putchar('}');
        }
        printf("]}");
        return;
    }
    printf("epoch %" PRIu64 "  committed %s  %" PRIu32 " task%s  job %016" PRIx64 "\n", c->epoch, tb,
           c->ntasks, c->ntasks == 1 ? "" : "s", c->job);
    printf("  %-10s %-6s %14s %14s %6s %12s %8s  %-15s %s\n", "task", "flags", "raw", "stored", "ratio",
           "log", "write ms", "host", "image");
    for (uint32_t i = 0; i < c->ntasks; i++) {
        const struct ckpt_commit_task *t = &c->tasks[i];
        char chain[64] = "full";
        if (t->depth)
            snprintf(chain, sizeof chain, "on epoch %" PRIu64 " (depth %" PRIu32 ")", t->parent_epoch,
                     t->depth);
        /* (a record of ckpt before version 4, or of a task run alone: no host) */
        printf("  0x%08" PRIx32 " %-6s %14" PRIu64 " %14" PRIu64 " %6.2f %12" PRIu64 " %8" PRIu32 "  %-15s %s\n",
               (uint32_t)t->vtid, t->flags & CKPT_IMG_F_EXITED ? "exited" : "-", t->raw_bytes,
               t->stored_bytes, ratio(t->raw_bytes, t->stored_bytes), t->log_bytes, t->write_ms,
               t->host[0] ? t->host : "-", chain);
    }
}

static int info_dir(const struct opts *o)
{
    uint64_t *ep = NULL;
    char **unc = NULL, why[1024];
    size_t nunc = 0;
    struct problems pr = { 0 };
    int n = list_epochs(o->target, &ep), status = EXIT_OK;

    if (n < 0 || uncommitted(o->target, ep, n, &unc, &nunc) < 0) {
        fprintf(stderr, "ckpt-info: %s: %s\n", o->target, strerror(n < 0 ? -n : errno));
        free(ep);
        return EXIT_PROBLEM;
    }
    if (o->json) {
        printf("{\"dir\": ");
        json_str(o->target);
        printf(",\n ");
    }
    uint64_t job = print_job(o);
    if (o->json)
        printf("\"epochs\": [");
    else
        printf("%s: %d committed epoch%s%s\n", o->target, n, n == 1 ? "" : "s",
               n ? ", newest first" : "");
    if (o->verify && n == 0)
        problem(&pr, "%s: no committed epoch: nothing to restart from", o->target);
    for (int i = 0; i < n; i++) {
        char edir[4096];
        struct ckpt_commit c;
        if (ckpt_epoch_dir(edir, sizeof edir, o->target, ep[i]) < 0 ||
            ckpt_commit_read(edir, &c, why, sizeof why) < 0) {
            problem(&pr, "%s", why);      /* changed under us */
            continue;
        }
        print_epoch(o, &c, i == 0);
        if (o->verify)
            verify_epoch(o->target, job, &c, &pr);
        ckpt_commit_free(&c);
    }
    if (o->json)
        printf("],\n \"uncommitted\": [");
    for (size_t i = 0; i < nunc; i++) {
        why_uncommitted(o->target, unc[i], why, sizeof why);
        /* a commit record that exists but does not verify is damage, not a
         * checkpoint in progress */
        if (o->verify && !strstr(why, "no commit record"))
            problem(&pr, "%s: %s", unc[i], why);
        if (o->json) {
            printf("%s{\"folder\": ", i ? ", " : "");
            json_str(unc[i]);
            printf(", \"reason\": ");
            json_str(why);
            printf("}");
        } else {
            printf("%s: not committed: %s\n", unc[i], why);
        }
        free(unc[i]);
    }
    if (o->json && o->verify) {
        printf("],\n \"verify\": {\"ok\": %s, \"problems\": [", pr.n ? "false" : "true");
        for (size_t i = 0; i < pr.n; i++) {
            printf("%s", i ? ", " : "");
            json_str(pr.msg[i]);
        }
        printf("]}}\n");
    } else if (o->json) {
        printf("]}\n");
    } else if (o->verify) {
        for (size_t i = 0; i < pr.n; i++)
            printf("PROBLEM %s\n", pr.msg[i]);
        printf("verify: %s\n", pr.n ? "problems found" : "every image of every committed epoch verified");
    }
    if (pr.n)
        status = EXIT_PROBLEM;
    for (size_t i = 0; i < pr.n; i++)
        free(pr.msg[i]);
    free(pr.msg);
    free(unc);
    free(ep);
    return status;
}

/* ------------------------------------------------------------ an epoch folder */

/* Whether dir is one epoch folder (a commit record or task images in it). */
static int is_epoch_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int yes = 0;

    if (!d)
        return 0;
    while (!yes && (e = readdir(d)))
        yes = !strcmp(e->d_name, "commit") ||
              (!strncmp(e->d_name, "task.", 5) && strstr(e->d_name, ".img"));
    closedir(d);
    return yes;
}

static int is_task_image(const char *name, const void *arg)
{
    size_t len = strlen(name);
    (void)arg;
    return !strncmp(name, "task.", 5) && len >= 9 && !strcmp(name + len - 4, ".img");
}

static int task_images(const char *dir, char ***out, size_t *nout)
{
    return list_dir(dir, is_task_image, NULL, out, nout);
}

/* `ckpt-info DIR/epoch.K`: its commit record (or why there is none) and a line
 * per task image found, each loaded and so verified. */
static int info_epoch_dir(const struct opts *o)
{
    struct ckpt_commit c;
    char why[1024], err[1024], path[4400];
    char **imgs = NULL;
    size_t nimg = 0, bad = 0;
    int rc = ckpt_commit_read(o->target, &c, why, sizeof why);

    if (task_images(o->target, &imgs, &nimg) < 0) {
        fprintf(stderr, "ckpt-info: %s: %s\n", o->target, strerror(errno));
        return EXIT_PROBLEM;
    }
    if (rc == -ENOENT)
        snprintf(why, sizeof why, "no commit record (tentative or aborted)");
    else if (rc < 0)
        bad++;                          /* a commit record that does not verify */
    if (o->json) {
        printf("{\"epoch_dir\": ");
        json_str(o->target);
        printf(", \"committed\": %s", rc == 0 ? "true" : "false");
        if (rc == 0) {
            printf(", \"commit\": ");
            print_epoch(o, &c, 1);
        } else {
            printf(", \"reason\": ");
            json_str(why);
        }
        printf(",\n \"images\": [");
    } else if (rc == 0) {
        print_epoch(o, &c, 1);
    } else {
        printf("%s: not committed: %s\n", o->target, why);
    }
    for (size_t i = 0; i < nimg; i++) {
        struct ckpt_img *img;
        uint64_t raw = 0, stored = 0;
        snprintf(path, sizeof path, "%s/%s", o->target, imgs[i]);
        /* in a committed epoch, each image must also belong to the commit */
        int lrc = rc == 0 ? ckpt_img_load_bound(path, 0, NULL, &img, err, sizeof err)
                          : ckpt_img_load(path, NULL, &img, err, sizeof err);
        if (lrc < 0) {
            bad++;
            if (o->json) {
                printf("%s\n  {\"file\": ", i ? "," : "");
                json_str(imgs[i]);
                printf(", \"ok\": false, \"error\": ");
                json_str(err);
                printf("}");
            } else {
                printf("  %s: %s\n", o->verify ? "PROBLEM" : "bad", err);
            }
            free(imgs[i]);
            continue;
        }
        struct stat st;
        for (size_t k = 0; k < ckpt_img_nsections(img); k++)
            raw += ckpt_img_section(img, k)->len;
        stored = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;  /* as commit records count */
        if (o->json) {
            printf("%s\n  {\"file\": ", i ? "," : "");
            json_str(imgs[i]);
            printf(", \"ok\": true, \"sections\": %zu, \"raw_bytes\": %" PRIu64
                   ", \"stored_bytes\": %" PRIu64 "}", ckpt_img_nsections(img), raw, stored);
        } else {
            printf("  %-22s ok  %4zu sections %14" PRIu64 " raw %14" PRIu64 " stored %6.2f\n",
                   imgs[i], ckpt_img_nsections(img), raw, stored, ratio(raw, stored));
        }
        ckpt_img_free(img);
        free(imgs[i]);
    }
    if (o->json)
        printf("]}\n");
    free(imgs);
    if (rc == 0)
        ckpt_commit_free(&c);
    return bad ? EXIT_PROBLEM : EXIT_OK;
}

/* ------------------------------------------------------------ main */

static int parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verify") == 0)
            o->verify = 1;
        else if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (strcmp(argv[i], "--sections") == 0 || strcmp(argv[i], "-s") == 0)
            o->sections = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        else if (strcmp(argv[i], "--") == 0 && i + 2 == argc && !o->target)
            o->target = argv[++i];
        else if (argv[i][0] == '-' || o->target)
            return -1;
        else
            o->target = argv[i];
    }
    if (o->sections && (o->json || o->verify))
        return -1;          /* the decoded fields are text only */
    return o->target ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct stat st;
    int rc = parse_args(argc, argv, &o);

    if (rc > 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (rc < 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (stat(o.target, &st) < 0) {
        fprintf(stderr, "ckpt-info: %s: %s\n", o.target, strerror(errno));
        return EXIT_PROBLEM;
    }
    const char *slash = strrchr(o.target, '/');
    int commit = !S_ISDIR(st.st_mode) && strcmp(slash ? slash + 1 : o.target, "commit") == 0;
    if (o.sections && (commit || S_ISDIR(st.st_mode))) {
        fputs(usage_text, stderr);      /* sections are a task image's */
        return EXIT_USAGE;
    }
    if (commit) {
        /* a commit record: show its epoch folder */
        static char dir[4096];
        size_t n = slash ? (size_t)(slash - o.target) : 0;
        snprintf(dir, sizeof dir, "%.*s", n ? (int)n : 1, n ? o.target : ".");
        o.target = dir;
        rc = info_epoch_dir(&o);
    } else if (!S_ISDIR(st.st_mode))
        rc = info_file(&o);
    else
        rc = is_epoch_dir(o.target) ? info_epoch_dir(&o) : info_dir(&o);
    if (fflush(stdout) != 0)
        return EXIT_PROBLEM;
    return rc;
}
