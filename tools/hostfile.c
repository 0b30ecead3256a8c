/*
 * hostfile.c: a PVM host file for ckpt-run --hostfile (hostfile.h).
 *
 * PVM's pvmd reads it this way (pvmd.c, readhostfile and parsehost, PVM
 * 3.4.6): lines of at most 511 bytes; '#' (after blanks) starts a comment;
 * a line is a host name and up to 9 options name=value; a leading '&'
 * (known, not started at boot) and '$' (may be started even if it looks
 * like the master) mark a host; a '*' line sets the options of the host
 * lines after it, replacing the '*' line before it, and the last one also
 * applies to hosts added later.  An unknown option or a name that does not
 * resolve only costs that line, said in the pvmd's log: here it is an error.
 *
 * What ckpt-run makes of it:
 *   - every '*' line gets ckpt-run's ep= (spawned programs are found next to
 *     the job's program) unless it has an ep= of its own, which wins;
 *   - '&' hosts are spares: the pvmd knows them (and their options) without
 *     starting them; ckpt-run adds them as soon as the job's first tasks
 *     were spawned, and keeps them free of tasks until a host is lost
 *     (hosts.c);
 *   - so=pw and so=ms need the pvmd's terminal, and id= names another
 *     virtual machine than PVM_VMID: refused;
 *   - the host that is this computer (one of its addresses) names the master
 *     pvmd (pvmd -n), so that the other hosts reach it by that name, not by
 *     what the computer's own name resolves to (127.0.1.1 on Debian).
 */
#define _GNU_SOURCE     /* getifaddrs */
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostfile.h"

#define LINE_MAX_PVM 511        /* pvmd reads lines into a 512-byte buffer */
#define WORDS_MAX_PVM 10        /* and parses at most 10 words of one */

__attribute__((format(printf, 3, 4)))
static int bad(const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ckpt-run: %s:%d: ", path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* The first IPv4 address of name, as the pvmd looks it up; -1 if none. */
static int resolve(const char *name, struct in_addr *a)
{
    struct addrinfo hints = {.ai_family = AF_INET}, *ai;
    if (getaddrinfo(name, NULL, &hints, &ai) != 0)
        return -1;
    *a = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    freeaddrinfo(ai);
    return 0;
}

/* Whether a is an address of one of this computer's interfaces (as pvmd's
 * iflist: the host it will not start, being there itself). */
static int is_local(struct in_addr a)
{
    struct ifaddrs *ifs;
    int found = 0;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a.s_addr;
    freeifaddrs(ifs);
    return found;
}

static int push(char ***v, int *n, char *s)
{
    char **nv = realloc(*v, sizeof *nv * (size_t)(*n + 2));
    if (!nv || !s) {
        free(s);
        return -1;
    }
    *v = nv;
    nv[(*n)++] = s;
    nv[*n] = NULL;
    return 0;
}

/* The options of one line (words 1..n-1): known to PVM, and usable here. */
static int check_options(const struct hostfile *hf, int line, char **w, int n, int *has_ep)
{
    static const char *const known[] = {"lo=", "so=", "dx=", "ep=", "wd=", "sp=", "bx=", "ip=", "id="};
    *has_ep = 0;
    for (int i = 1; i < n; i++) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strncmp(w[i], known[k], 3) != 0)
            k++;
        if (k == sizeof known / sizeof known[0])
            return bad(hf->path, line, "unknown option \"%s\" (PVM knows lo= so= dx= ep= wd= sp= bx= ip= id=)", w[i]);
        if (!strncmp(w[i], "so=", 3))
            return bad(hf->path, line, "%s: ckpt-run starts the pvmd without a terminal, where PVM asks "
                       "for a password or a manual start: start the machine with the pvm console and "
                       "run ckpt-run without --hostfile", w[i]);
        if (!strncmp(w[i], "id=", 3))
            return bad(hf->path, line, "%s: the virtual machine is the one PVM_VMID names: set PVM_VMID instead", w[i]);
        if (!strncmp(w[i], "sp=", 3)) {
            char *end;
            long sp = strtol(w[i] + 3, &end, 10);
            if (*end || end == w[i] + 3 || sp < 1 || sp > 1000000)
                return bad(hf->path, line, "%s: the speed is a whole number from 1 to 1000000", w[i]);
        }
        *has_ep |= !strncmp(w[i], "ep=", 3);
    }
    return 0;
}

/* A host line's name, words w[n], marks '&' (spare) and '$': checked and
 * kept. */
static int take_host(struct hostfile *hf, int line, char **w, int n, int spare)
{
    struct in_addr a;
    const char *ip = NULL;
    for (int i = 1; i < n; i++)
        if (!strncmp(w[i], "ip=", 3))
            ip = w[i] + 3;
    for (int i = 0; hf->hosts && hf->hosts[i]; i++)
        if (!strcmp(hf->hosts[i], w[0]))
            return bad(hf->path, line, "host %s is named twice (first on line %d)", w[0], hf->lineno[i]);
    if (resolve(ip ? ip : w[0], &a) != 0)
        return bad(hf->path, line, "host %s: no such host", ip ? ip : w[0]);
    int local = is_local(a);
    if (local && spare)
        return bad(hf->path, line, "host %s is this computer, where the master pvmd runs: it cannot be a spare", w[0]);
    int nhosts = 0;
    while (hf->hosts && hf->hosts[nhosts])
        nhosts++;
    int *ln = realloc(hf->lineno, sizeof *ln * (size_t)(nhosts + 1));
    if (ln)
        hf->lineno = ln;
    int *sp = ln ? realloc(hf->spare, sizeof *sp * (size_t)(nhosts + 1)) : NULL;
    if (!sp)
        return bad(hf->path, line, "out of memory");
    hf->spare = sp;
    ln[nhosts] = line;
    sp[nhosts] = spare;
    int ns = 0;
    while (hf->spares && hf->spares[ns])
        ns++;
    if (push(&hf->hosts, &nhosts, strdup(w[0])) || (spare && push(&hf->spares, &ns, strdup(w[0]))))
        return bad(hf->path, line, "out of memory");
    if (local && !hf->master)
        hf->master = hf->hosts[nhosts - 1];
    return 0;
}

/* One line of the file, not a comment: checked, and kept for the pvmd. */
static int take_line(struct hostfile *hf, int line, char *p, const char *ep)
{
    int spare = 0, overload = 0;
    for (; *p == '&' || *p == '$'; p++) {
        spare |= *p == '&';
        overload |= *p == '$';
    }
    char *w[WORDS_MAX_PVM + 1];
    int n = 0;
    for (char *tok = strtok(p, " \t\r\n\v\f"); tok; tok = strtok(NULL, " \t\r\n\v\f")) {
        if (n == WORDS_MAX_PVM)
            return bad(hf->path, line, "more than %d options (the pvmd reads %d words of a line)",
                       WORDS_MAX_PVM - 1, WORDS_MAX_PVM);
        w[n++] = tok;
    }
    if (n == 0)
        return bad(hf->path, line, "'%s' names no host", spare ? "&" : "$");
    int has_ep;
    if (check_options(hf, line, w, n, &has_ep))
        return -1;
    int star = !strcmp(w[0], "*");
    if (star && (spare || overload))
        return bad(hf->path, line, "'&' and '$' mark hosts, not the '*' line (whose marks PVM passes on to every host after it)");
    if (!star && take_host(hf, line, w, n, spare))
        return -1;
    /* The line for the pvmd: its marks, its words, and our ep=. */
    char out[LINE_MAX_PVM + 2];
    size_t len = (size_t)snprintf(out, sizeof out, "%s%s", spare ? "&" : "", overload ? "$" : "");
    for (int i = 0; i < n && len < sizeof out; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", w[i]);
    if (star && !has_ep && len < sizeof out)
        len += (size_t)snprintf(out + len, sizeof out - len, " ep=%s", ep);
    if (len > LINE_MAX_PVM)
        return bad(hf->path, line, "longer than the %d bytes the pvmd reads%s", LINE_MAX_PVM,
                   star && !has_ep ? " once ckpt-run's ep= is added: give an ep= of your own" : "");
    if (push(&hf->lines, &hf->nlines, strdup(out)))
        return bad(hf->path, line, "out of memory");
    return 0;
}

int hostfile_read(const char *path, const char *ep, struct hostfile *hf)
{
    memset(hf, 0, sizeof *hf);
    hf->path = path;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ckpt-run: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char buf[LINE_MAX_PVM + 2];
    int line = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f)) {
            rc = bad(path, line, "longer than the %d bytes the pvmd reads", LINE_MAX_PVM);
            break;
        }
        char *p = buf;
        while (isspace((unsigned char)*p))
            p++;
        if (*p && *p != '#')
            rc = take_line(hf, line, p, ep);
    }
    if (rc == 0 && ferror(f))
        rc = bad(path, line + 1, "%s", strerror(errno));
    fclose(f);
    if (rc == 0 && !hf->hosts) {
        fprintf(stderr, "ckpt-run: %s: names no host\n", path);
        rc = -1;
    }
    return rc;
}

int hostfile_write(const struct hostfile *hf, FILE *f)
{
    for (int i = 0; i < hf->nlines; i++)
        fprintf(f, "%s\n", hf->lines[i]);
    return ferror(f) ? -1 : 0;
}
