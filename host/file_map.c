/* Reading files: memory-mapping for the readers (GGUF, safetensors), which
 * parse the mapping in place and touch tensor bytes only when asked, so
 * opening a large model costs its header; whole small files for the tuning
 * file and the program cache.
 *
 * Every input is opened with O_NONBLOCK and checked with fstat before it is
 * read: a FIFO without a writer (or a device) would otherwise block open()
 * or read() forever, and a directory has no size to trust. Anything but a
 * regular file is refused at once. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static clq_status io_error(const char *path, const char *doing)
{
    char reason[128] = "unknown error";
    strerror_r(errno, reason, sizeof reason);
    return CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot %s: %s", path, doing, reason);
}

int clq_file_open_regular(const char *path, int flags, struct stat *st, bool *not_regular)
{
    *not_regular = false;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        *not_regular = true;
        errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    /* Reads of a regular file never block; the flag is cleared anyway so
     * the descriptor behaves as a plain one. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

unsigned char *clq_file_slurp(const char *path, int flags, size_t *size, bool *not_regular)
{
    struct stat st;
    int fd = clq_file_open_regular(path, flags, &st, not_regular);
    if (fd < 0)
        return NULL;
    size_t n = (size_t)st.st_size;
    unsigned char *buf = (uint64_t)st.st_size < SIZE_MAX ? malloc(n + 1) : NULL;
    size_t got = 0;
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) { /* an error, or the file shrank under us */
            free(buf);
            buf = NULL;
        } else {
            got += (size_t)r;
        }
    }
    close(fd);
    if (buf) {
        buf[n] = '\0'; /* text readers may treat it as a string */
        *size = n;
    }
    return buf;
}

clq_status clq_map_file(const char *path, void **map, uint64_t *size)
{
    struct stat st;
    bool not_regular;
    int fd = clq_file_open_regular(path, 0, &st, &not_regular);
    if (fd < 0 && not_regular)
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: not a regular file", path);
    if (fd < 0)
        return io_error(path, "open");
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: too large to map", path);
    }
    void *p = NULL;
    if (st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int status = io_error(path, "map");
            close(fd);
            return status;
        }
    }
    close(fd); /* the mapping keeps the file */
    *map = p;
    *size = (uint64_t)st.st_size;
    return CLQ_SUCCESS;
}

void clq_unmap_file(void *map, uint64_t size)
{
    if (map)
        munmap(map, (size_t)size);
}
