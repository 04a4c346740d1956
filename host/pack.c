/* 4-bit pack/unpack of caller buffers on the device. */
#include "internal.h"

static clq_status check_pack_args(clq_context *ctx, clq_nibble_order order, cl_mem src, cl_mem dst,
                                  size_t count, size_t src_bytes, size_t dst_bytes)
{
    if (!ctx)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "context is NULL");
    if (order != CLQ_NIBBLE_LOW_FIRST && order != CLQ_NIBBLE_HIGH_FIRST)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "nibble order %d is not a clq_nibble_order", (int)order);
    if (count == 0 || count % 2)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "count %zu must be even and positive", count);
    CLQ_FORWARD(clq_check_buffer(src, src_bytes, "source"));
    CLQ_FORWARD(clq_check_buffer(dst, dst_bytes, "destination"));
    return CLQ_SUCCESS;
}

clq_status clq_pack4(clq_context *ctx, clq_nibble_order order, cl_mem src, cl_mem dst, size_t count)
{
    CLQ_FORWARD(check_pack_args(ctx, order, src, dst, count, count, count / 2));
    cl_mem bad = NULL;
    CLQ_FORWARD(clq_flag_create(ctx, &bad));
    cl_ulong npairs = count / 2;
    cl_uint ord = (cl_uint)order;
    /* Pack into a scratch buffer first, so that a value above 15 leaves dst
     * untouched. */
    cl_mem scratch = NULL;
    int status = clq_buffer_create(ctx, CL_MEM_READ_WRITE, npairs, NULL, &scratch);
    clq_arg args[] = {CLQ_ARG(src), CLQ_ARG(npairs), CLQ_ARG(ord), CLQ_ARG(scratch), CLQ_ARG(bad)};
    if (status == CLQ_SUCCESS)
        status =
            clq_launch(ctx, CLQ_PROGRAM_REPACK, "clq_pack4", args, CLQ_NARGS(args), npairs, 0, 0, NULL, NULL);
    uint32_t first_bad = UINT32_MAX;
    if (status == CLQ_SUCCESS)
        status = clq_flag_read(ctx, bad, &first_bad);
    if (status == CLQ_SUCCESS && first_bad != UINT32_MAX)
        status = CLQ_FAIL(CLQ_ERROR_BAD_DATA, "value above 15 at element %llu or %llu", 2ull * first_bad,
                          2ull * first_bad + 1);
    if (status == CLQ_SUCCESS) {
        cl_int err = clEnqueueCopyBuffer(ctx->queue, scratch, dst, 0, 0, npairs, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clFinish(ctx->queue);
        if (err != CL_SUCCESS)
            status = CLQ_FAIL(err, "copying packed values: %s", clq_status_string(err));
    }
    clq_mem_release(&scratch);
    clq_mem_release(&bad);
    return status;
}

clq_status clq_unpack4(clq_context *ctx, clq_nibble_order order, cl_mem src, cl_mem dst, size_t count,
                       cl_uint num_wait, const cl_event *wait_list, cl_event *event)
{
    CLQ_FORWARD(check_pack_args(ctx, order, src, dst, count, count / 2, count));
    cl_ulong npairs = count / 2;
    cl_uint ord = (cl_uint)order;
    clq_arg args[] = {CLQ_ARG(src), CLQ_ARG(npairs), CLQ_ARG(ord), CLQ_ARG(dst)};
    return clq_launch(ctx, CLQ_PROGRAM_REPACK, "clq_unpack4", args, CLQ_NARGS(args), npairs, 0, num_wait,
                      wait_list, event);
}
