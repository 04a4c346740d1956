/* Writing a file for the writers (safetensors, GGUF): streamed into a
 * temporary file beside the target and renamed over it only when every
 * byte is written, so a failed write never leaves a half file under the
 * target's name. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

clq_status clq_out_open(clq_out *o, const char *path)
{
    memset(o, 0, sizeof o[0]);
    size_t n = strlen(path) + 16;
    o->path = path;
    o->tmp = malloc(n);
    if (!o->tmp)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a path");
    snprintf(o->tmp, n, "%s.tmp%ld", path, (long)getpid());
    o->file = fopen(o->tmp, "wb");
    if (!o->file) {
        int status = CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot create: %s", o->tmp, strerror(errno));
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
    if (status == CLQ_SUCCESS && rename(o->tmp, o->path) != 0)
        status = CLQ_FAIL(CLQ_ERROR_IO, "%s: cannot rename to %s: %s", o->tmp, o->path, strerror(errno));
    if (status != CLQ_SUCCESS)
        remove(o->tmp);
    free(o->tmp);
    o->file = NULL;
    o->tmp = NULL;
    return status;
}
