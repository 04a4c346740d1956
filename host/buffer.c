/* Small device-memory helpers shared by the operation files. */
#include <stdlib.h>

#include "internal.h"

const float clq_dynamic_code[256] = {CLQ_DYNAMIC8_CODE_VALUES};

clq_status clq_buffer_create(clq_context *ctx, cl_mem_flags flags, size_t bytes, void *host, cl_mem *out)
{
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->context, flags, bytes, host, &err);
    if (err != CL_SUCCESS)
        return CLQ_FAIL(err, "clCreateBuffer(%zu bytes): %s", bytes, clq_status_string(err));
    *out = m;
    return CLQ_SUCCESS;
}

void clq_mem_release(cl_mem *mem)
{
    if (*mem)
        clReleaseMemObject(*mem);
    *mem = NULL;
}

clq_status clq_upload(clq_context *ctx, const void *data, size_t bytes, cl_mem *out)
{
    /* CL_MEM_COPY_HOST_PTR copies during the call, so `data` may be const. */
    return clq_buffer_create(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, (void *)data, out);
}

clq_status clq_download(clq_context *ctx, cl_mem src, void *dst, size_t bytes)
{
    CLQ_CL(clEnqueueReadBuffer(ctx->queue, src, CL_TRUE, 0, bytes, dst, 0, NULL, NULL));
    return CLQ_SUCCESS;
}

clq_status clq_check_buffer(cl_mem mem, size_t bytes, const char *what)
{
    if (!mem)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "%s buffer is NULL", what);
    size_t size = 0;
    CLQ_CL(clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL));
    if (size < bytes)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "%s buffer holds %zu bytes, %zu needed", what, size,
                        bytes);
    return CLQ_SUCCESS;
}

clq_status clq_flag_create(clq_context *ctx, cl_mem *out)
{
    uint32_t init = UINT32_MAX;
    return clq_buffer_create(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof init, &init, out);
}

clq_status clq_flag_read(clq_context *ctx, cl_mem flag, uint32_t *value)
{
    return clq_download(ctx, flag, value, sizeof *value);
}
