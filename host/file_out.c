/* Writing files: the writers (safetensors, GGUF), the tuning file and the
 * program cache. A file is streamed into a new temporary file beside the
 * target and renamed over it only when every byte is written, so a failed
 * write never leaves a half file under the target's name.
 *
 * The temporary file is created with O_CREAT|O_EXCL|O_NOFOLLOW under an
 * unpredictable name: a file or symbolic link planted at a guessed name
 * makes the create fail instead of being followed or overwritten.
 *
 * What a replace keeps and refuses: the permission bits of the file being
 * replaced carry over to the new one (a 0600 file stays 0600). Only a
 * regular file is replaced: a directory, FIFO, device, socket or symbolic
 * link at the target is refused, since renaming over it would swap a
 * special file for a regular one. A regular file with more than one hard
 * link is refused too: a rename would silently split the links (the other
 * names would keep the old bytes), and writing in place would give up the
 * all-or-nothing guarantee; refusing lets the caller choose. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

/* 64 bits no other process can predict: the clock in nanoseconds, the pid,
 * a per-process counter and a stack address (randomised by ASLR), hashed.
 * Safety does not rest on it (O_EXCL does); it only keeps a planted file
 * from making every create fail. */
static unsigned long long unpredictable(void)
{
    static atomic_ulong counter;
    struct {
        struct timespec t;
        long pid;
        unsigned long n;
        const void *stack;
    } seed;
    memset(&seed, 0, sizeof seed);
    clock_gettime(CLOCK_REALTIME, &seed.t);
    seed.pid = (long)getpid();
    seed.n = ++counter;
    seed.stack = &seed;
    return (unsigned long long)XXH64(&seed, sizeof seed, 0);
}

int clq_file_create_temp(const char *path, mode_t mode, char **tmp_out)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        snprintf(tmp, n, "%s.%016llx.tmp", path, unpredictable());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(tmp);
    errno = e;
    return -1;
}

clq_status clq_file_check_replace(const char *path, bool *exists, mode_t *mode)
{
    struct stat st;
    *exists = false;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return CLQ_SUCCESS;
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return CLQ_FAIL(CLQ_ERROR_IO, "%s exists and is not a regular file (%s); refusing to replace it",
                        path,
                        S_ISDIR(st.st_mode)    ? "a directory"
                        : S_ISLNK(st.st_mode)  ? "a symbolic link"
                        : S_ISFIFO(st.st_mode) ? "a FIFO"
                                               : "a device or socket");
    if (st.st_nlink > 1)
        return CLQ_FAIL(
            CLQ_ERROR_IO,
            "%s has %llu hard links; replacing it would break them (remove it or write elsewhere)", path,
            (unsigned long long)st.st_nlink);
    *exists = true;
    *mode = st.st_mode & 07777;
    return CLQ_SUCCESS;
}

clq_status clq_out_open(clq_out *o, const char *path)
{
    memset(o, 0, sizeof o[0]);
    o->path = path;
    bool exists = false;
    mode_t mode = 0666;
    CLQ_FORWARD(clq_file_check_replace(path, &exists, &mode));
    int fd = clq_file_create_temp(path, 0666, &o->tmp);
    if (fd < 0)
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot create a temporary file beside it: %s", path,
                        strerror(errno));
    /* A new file gets 0666 less the umask (from open); a replaced one keeps
     * its own bits. */
    if ((exists && fchmod(fd, mode) != 0) || !(o->file = fdopen(fd, "wb"))) {
        int status = CLQ_FAIL(CLQ_ERROR_IO, "%s: %s", o->tmp, strerror(errno));
        close(fd);
        remove(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return status;
    }
    return CLQ_SUCCESS;
}

clq_status clq_out_write(clq_out *o, const void *data, size_t bytes)
{
    if (bytes && fwrite(data, 1, bytes, o->file) != bytes)
        return CLQ_FAIL(CLQ_ERROR_IO, "%s: write failed: %s", o->tmp, strerror(errno));
    o->written += bytes;
    return CLQ_SUCCESS;
}

clq_status clq_out_pad(clq_out *o, uint64_t alignment, unsigned char byte)
{
    unsigned char pad[256];
    memset(pad, byte, sizeof pad);
    while (o->written % alignment) {
        uint64_t n = alignment - o->written % alignment;
        CLQ_FORWARD(clq_out_write(o, pad, n < sizeof pad ? (size_t)n : sizeof pad));
    }
    return CLQ_SUCCESS;
}

clq_status clq_out_close(clq_out *o, clq_status status)
{
    if (!o->file)
        return status;
    if (fclose(o->file) != 0 && status == CLQ_SUCCESS)
        status = CLQ_FAIL(CLQ_ERROR_IO, "%s: write failed: %s", o->tmp, strerror(errno));
    /* Checked again just before the rename: the target may have changed
     * while the file was written. */
    bool exists;
    mode_t mode;
    if (status == CLQ_SUCCESS)
        status = clq_file_check_replace(o->path, &exists, &mode);
    if (status == CLQ_SUCCESS && rename(o->tmp, o->path) != 0)
        status = CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot rename to %s: %s", o->tmp, o->path, strerror(errno));
    if (status != CLQ_SUCCESS)
        remove(o->tmp);
    free(o->tmp);
    o->file = NULL;
    o->tmp = NULL;
    return status;
}
