/*
 * ckpt_libc_calls.h: the C library functions whose calls ckpt-cc routes
 * through libckpt, one line each: CKPT_LIBC_CALL(name, return type,
 * parameters).  No include guard: the includer defines CKPT_LIBC_CALL.
 *
 * Each keeps state that belongs to the program but lives where a checkpoint
 * does not look (the C library's heap, its random generators' hidden state,
 * strtok's position, the environment on the stack's top): libckpt's
 * ckpt_<name> keeps it in memory it saves, at addresses a restarted task
 * gets back, and otherwise behaves as the C library documents.  The rewriter
 * renames each reference (a call or the function's address) to a function of
 * this table declared in a system header; ckpt_libc.h declares the twins.
 * The files a program opens are not state of this kind but are kept the same
 * way: their twins (runtime/files.c) note what a restart must reopen.
 */
/* the heap: blocks live in libckpt's arena, saved while allocated */
CKPT_LIBC_CALL(malloc, void *, (size_t size))
CKPT_LIBC_CALL(calloc, void *, (size_t nmemb, size_t size))
CKPT_LIBC_CALL(realloc, void *, (void *ptr, size_t size))
CKPT_LIBC_CALL(reallocarray, void *, (void *ptr, size_t nmemb, size_t size))
CKPT_LIBC_CALL(free, void, (void *ptr))
CKPT_LIBC_CALL(posix_memalign, int, (void **memptr, size_t alignment, size_t size))
CKPT_LIBC_CALL(aligned_alloc, void *, (size_t alignment, size_t size))
CKPT_LIBC_CALL(memalign, void *, (size_t alignment, size_t size))
CKPT_LIBC_CALL(valloc, void *, (size_t size))
CKPT_LIBC_CALL(malloc_usable_size, size_t, (void *ptr))
CKPT_LIBC_CALL(strdup, char *, (const char *s))
CKPT_LIBC_CALL(strndup, char *, (const char *s, size_t n))
/* random generators: their state is saved with the program's */
CKPT_LIBC_CALL(rand, int, (void))
CKPT_LIBC_CALL(srand, void, (unsigned int seed))
CKPT_LIBC_CALL(random, long, (void))
CKPT_LIBC_CALL(srandom, void, (unsigned int seed))
CKPT_LIBC_CALL(initstate, char *, (unsigned int seed, char *statebuf, size_t n))
CKPT_LIBC_CALL(setstate, char *, (char *statebuf))
CKPT_LIBC_CALL(drand48, double, (void))
CKPT_LIBC_CALL(erand48, double, (unsigned short xsubi[3]))
CKPT_LIBC_CALL(lrand48, long, (void))
CKPT_LIBC_CALL(nrand48, long, (unsigned short xsubi[3]))
CKPT_LIBC_CALL(mrand48, long, (void))
CKPT_LIBC_CALL(jrand48, long, (unsigned short xsubi[3]))
CKPT_LIBC_CALL(srand48, void, (long seedval))
CKPT_LIBC_CALL(seed48, unsigned short *, (unsigned short seed16v[3]))
CKPT_LIBC_CALL(lcong48, void, (unsigned short param[7]))
/* strtok's position, and environment strings at stable addresses */
CKPT_LIBC_CALL(strtok, char *, (char *str, const char *delim))
CKPT_LIBC_CALL(getenv, char *, (const char *name))
/* files: what a restart reopens at the same fd, offset and FILE address
 * (runtime/files.c), and what it cannot (pipes, sockets, popen, mmap), said */
CKPT_LIBC_CALL(fopen, FILE *, (const char *__restrict filename, const char *__restrict modes))
CKPT_LIBC_CALL(fdopen, FILE *, (int fd, const char *modes))
CKPT_LIBC_CALL(freopen, FILE *, (const char *__restrict filename, const char *__restrict modes,
                                 FILE *__restrict stream))
CKPT_LIBC_CALL(fclose, int, (FILE *stream))
CKPT_LIBC_CALL(open, int, (const char *file, int oflag, ...))
CKPT_LIBC_CALL(openat, int, (int fd, const char *file, int oflag, ...))
CKPT_LIBC_CALL(creat, int, (const char *file, mode_t mode))
CKPT_LIBC_CALL(close, int, (int fd))
CKPT_LIBC_CALL(dup, int, (int fd))
CKPT_LIBC_CALL(dup2, int, (int fd, int fd2))
CKPT_LIBC_CALL(pipe, int, (int pipedes[2]))
CKPT_LIBC_CALL(socket, int, (int domain, int type, int protocol))
CKPT_LIBC_CALL(popen, FILE *, (const char *command, const char *modes))
CKPT_LIBC_CALL(pclose, int, (FILE *stream))
CKPT_LIBC_CALL(mmap, void *, (void *addr, size_t len, int prot, int flags, int fd, off_t offset))
CKPT_LIBC_CALL(munmap, int, (void *addr, size_t len))
/* blocks the C library allocates for the program: made in the heap arena
 * (runtime/liballoc.c), so that a pointer the program keeps to one survives */
CKPT_LIBC_CALL(getline, ssize_t, (char **__restrict lineptr, size_t *__restrict n,
                                  FILE *__restrict stream))
CKPT_LIBC_CALL(getdelim, ssize_t, (char **__restrict lineptr, size_t *__restrict n,
                                   int delimiter, FILE *__restrict stream))
CKPT_LIBC_CALL(asprintf, int, (char **__restrict ptr, const char *__restrict fmt, ...))
CKPT_LIBC_CALL(vasprintf, int, (char **__restrict ptr, const char *__restrict f,
                                __gnuc_va_list arg))
CKPT_LIBC_CALL(realpath, char *, (const char *__restrict name, char *__restrict resolved))
CKPT_LIBC_CALL(getcwd, char *, (char *buf, size_t size))
CKPT_LIBC_CALL(get_current_dir_name, char *, (void))
