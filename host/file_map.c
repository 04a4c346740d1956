/* Memory-mapping a file for the readers (GGUF, safetensors): they parse the
 * mapping in place and touch tensor bytes only when asked, so opening a
 * large model costs its header. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
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

clq_status clq_map_file(const char *path, void **map, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(path, "open");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int status = io_error(path, "stat");
        close(fd);
        return status;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: not a regular file that fits in memory", path);
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
