/* Import from and export to the external layouts (ggml, bitsandbytes, ONNX
 * Runtime). Bytes travel to the device as they are and are repacked there by
 * kernels/repack.cl; export runs the inverse kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Which arrays of clq_external a layout requires (the others are optional or
 * unused). */
typedef struct required_arrays {
    bool data, scales, zero_points, nested_absmax, nested_code;
} required_arrays;

static clq_status check_array(const char *name, const void *ptr, size_t have, size_t need, bool required)
{
    if (need == 0 || (!required && !ptr))
        return CLQ_SUCCESS;
    if (!ptr)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "external array '%s' is NULL (%zu bytes needed)", name, need);
    if (have < need)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "external array '%s' holds %zu bytes, %zu needed", name,
                        have, need);
    return CLQ_SUCCESS;
}

/* Checks every array against the sizes the layout needs. On import the ORT
 * zero points (default 8) and the bnb codes (default: the dynamic code) may
 * be left out. */
static clq_status check_external(const clq_external *e, const clq_external *need, bool importing)
{
    CLQ_FORWARD(check_array("data", e->data, e->data_bytes, need->data_bytes, true));
    CLQ_FORWARD(check_array("scales", e->scales, e->scales_bytes, need->scales_bytes, true));
    CLQ_FORWARD(check_array("zero_points", e->zero_points, e->zero_points_bytes, need->zero_points_bytes,
                            !importing));
    CLQ_FORWARD(check_array("nested_absmax", e->nested_absmax, e->nested_absmax_bytes,
                            need->nested_absmax_bytes, true));
    CLQ_FORWARD(check_array("nested_code", e->nested_code, e->nested_code_bytes, need->nested_code_bytes,
                            !importing));
    return CLQ_SUCCESS;
}

static clq_status check_finite(const char *name, const void *values, size_t bytes)
{
    const float *v = values;
    for (size_t i = 0; v && i < bytes / 4; i++)
        if (!isfinite(v[i]))
            return CLQ_FAIL(CLQ_ERROR_BAD_DATA, "external array '%s' has a non-finite value at index %zu",
                            name, i);
    return CLQ_SUCCESS;
}

static clq_status write_buffer(clq_context *ctx, cl_mem dst, const void *src, size_t bytes)
{
    CLQ_CL(clEnqueueWriteBuffer(ctx->queue, dst, CL_TRUE, 0, bytes, src, 0, NULL, NULL));
    return CLQ_SUCCESS;
}

/* Uploads `bytes` of src and runs a repack kernel whose first argument is the
 * uploaded buffer, followed by `rest`. */
static clq_status upload_and_run(clq_context *ctx, const char *kernel, const void *src, size_t bytes,
                                 const clq_arg *rest, size_t nrest, size_t global)
{
    cl_mem in = NULL;
    CLQ_FORWARD(clq_upload(ctx, src, bytes, &in));
    clq_arg args[8] = {CLQ_ARG(in)};
    memcpy(args + 1, rest, nrest * sizeof *rest);
    int status = clq_launch(ctx, CLQ_PROGRAM_REPACK, kernel, args, nrest + 1, global, 0, 0, NULL, NULL);
    if (status == CLQ_SUCCESS)
        CLQ_CL(clFinish(ctx->queue));
    clq_mem_release(&in);
    return status;
}

/* fp16 scales inside ggml blocks: exponent all ones is Inf or NaN. */
static clq_status check_ggml_scales(const unsigned char *blocks, uint64_t nblocks, size_t block_bytes)
{
    for (uint64_t g = 0; g < nblocks; g++)
        if ((blocks[g * block_bytes + 1] & 0x7c) == 0x7c)
            return CLQ_FAIL(CLQ_ERROR_BAD_DATA,
                            "ggml block %llu has a non-finite fp16 scale (byte offset %llu)",
                            (unsigned long long)g, (unsigned long long)(g * block_bytes));
    return CLQ_SUCCESS;
}

/* Row-major quantized data (bitsandbytes, ORT) into the device's row tiles;
 * `swap`: 4-bit data with element 2i in the high nibble. */
static clq_status rows_to_device(clq_weight *w, const void *data, size_t bytes, bool swap)
{
    cl_ulong nwords = bytes / 4;
    cl_uint cols = (cl_uint)w->desc.cols, bits = clq_format_is_4bit(w->desc.format) ? 4 : 8, swap_arg = swap;
    clq_arg rest[] = {CLQ_ARG(nwords), CLQ_ARG(cols), CLQ_ARG(bits), CLQ_ARG(swap_arg), CLQ_ARG(w->quants)};
    return upload_and_run(w->ctx, "clq_rows_to_device", data, bytes, rest, CLQ_NARGS(rest), nwords);
}

/* The byte offsets of a ggml format's fp16 values (d, and dmin or m where
 * the type has one; -1: none) inside its block (clq_common.h's structs). */
static void ggml_fp16_offsets(clq_format f, int *first, int *second)
{
    *second = -1;
    switch (f) {
    case CLQ_FORMAT_Q2_K:
        *first = 80, *second = 82;
        break;
    case CLQ_FORMAT_Q3_K:
        *first = 108;
        break;
    case CLQ_FORMAT_Q6_K:
        *first = 208;
        break;
    case CLQ_FORMAT_Q4_1:
    case CLQ_FORMAT_Q5_1:
    case CLQ_FORMAT_Q4_K:
    case CLQ_FORMAT_Q5_K:
        *first = 0, *second = 2;
        break;
    default: /* q5_0, iq4_nl, iq4_xs: d first */
        *first = 0;
    }
}

/* Blocks of a ggml format, checked (no Inf or NaN in their fp16 scales)
 * and permuted into ggml block tiles (clq_common.h). */
static clq_status import_ggml_blocks(clq_weight *w, const clq_external *src, const clq_external *need)
{
    const unsigned char *b = src->data;
    cl_uint nblocks = (cl_uint)w->nblocks, nb = (cl_uint)(w->desc.cols / w->desc.block);
    cl_uint bytes = clq_ggml_format_bytes(w->desc.format);
    int first, second;
    ggml_fp16_offsets(w->desc.format, &first, &second);
    for (uint64_t g = 0; g < nblocks; g++) {
        const unsigned char *block = b + g * bytes;
        int bad = (block[first + 1] & 0x7c) == 0x7c                   ? first
                  : second >= 0 && (block[second + 1] & 0x7c) == 0x7c ? second
                                                                      : -1;
        if (bad >= 0)
            return CLQ_FAIL(CLQ_ERROR_BAD_DATA,
                            "%s block %llu has a non-finite fp16 scale (byte offset %llu)",
                            clq_format_name(w->desc.format), (unsigned long long)g,
                            (unsigned long long)(g * bytes + (uint64_t)bad));
    }
    cl_uint format = (cl_uint)w->desc.format;
    clq_arg rest[] = {CLQ_ARG(format), CLQ_ARG(nblocks), CLQ_ARG(nb), CLQ_ARG(w->quants)};
    return upload_and_run(w->ctx, "clq_ggml_blocks_to_device", src->data, need->data_bytes, rest,
                          CLQ_NARGS(rest), nblocks);
}

static clq_status import_ggml(clq_weight *w, const clq_external *src, const clq_external *need)
{
    if (clq_format_is_ggml(w->desc.format))
        return import_ggml_blocks(w, src, need);
    cl_uint nblocks = (cl_uint)w->nblocks;
    CLQ_FORWARD(check_ggml_scales(
        src->data, nblocks, w->desc.format == CLQ_FORMAT_Q4 ? CLQ_GGML_Q4_0_BYTES : CLQ_GGML_Q8_0_BYTES));
    const char *kernel =
        w->desc.format == CLQ_FORMAT_Q4 ? "clq_ggml_q4_0_to_device" : "clq_ggml_q8_0_to_device";
    cl_uint cols = (cl_uint)w->desc.cols;
    clq_arg rest[] = {CLQ_ARG(nblocks), CLQ_ARG(cols), CLQ_ARG(w->quants), CLQ_ARG(w->scales)};
    return upload_and_run(w->ctx, kernel, src->data, need->data_bytes, rest, CLQ_NARGS(rest), nblocks);
}

static clq_status import_bnb(clq_weight *w, const clq_external *src, const clq_external *need)
{
    clq_context *ctx = w->ctx;
    if (!w->desc.double_quant)
        CLQ_FORWARD(check_finite("scales", src->scales, need->scales_bytes));
    CLQ_FORWARD(check_finite("nested_absmax", src->nested_absmax, need->nested_absmax_bytes));
    CLQ_FORWARD(check_finite("nested_code", src->nested_code, need->nested_code_bytes));
    CLQ_FORWARD(rows_to_device(w, src->data, need->data_bytes, w->desc.format != CLQ_FORMAT_DYNAMIC8));
    CLQ_FORWARD(write_buffer(ctx, w->scales, src->scales, need->scales_bytes));
    if (w->desc.double_quant) {
        if (!isfinite(src->offset))
            return CLQ_FAIL(CLQ_ERROR_BAD_DATA, "double-quantization offset is not finite");
        CLQ_FORWARD(write_buffer(ctx, w->nested_absmax, src->nested_absmax, need->nested_absmax_bytes));
        CLQ_FORWARD(write_buffer(ctx, w->offset, &src->offset, sizeof src->offset));
    }
    if (w->code) {
        const void *code = src->nested_code ? src->nested_code : clq_dynamic_code;
        CLQ_FORWARD(write_buffer(ctx, w->code, code, sizeof clq_dynamic_code));
    }
    return CLQ_SUCCESS;
}

static clq_status import_ort(clq_weight *w, const clq_external *src, const clq_external *need)
{
    clq_context *ctx = w->ctx;
    CLQ_FORWARD(check_finite("scales", src->scales, need->scales_bytes));
    /* ORT's data [N, K/block, block/2] is row-major, low nibble first. */
    CLQ_FORWARD(rows_to_device(w, src->data, need->data_bytes, false));
    CLQ_FORWARD(write_buffer(ctx, w->scales, src->scales, need->scales_bytes));
    if (!src->zero_points) {
        cl_uchar eight = 8; /* MatMulNBits without zero points uses 8 */
        CLQ_CL(clEnqueueFillBuffer(ctx->queue, w->zeros, &eight, 1, 0, w->nblocks, 0, NULL, NULL));
        return CLQ_SUCCESS;
    }
    cl_uint rows = (cl_uint)w->desc.rows, nb = (cl_uint)(w->desc.cols / w->desc.block);
    clq_arg rest[] = {CLQ_ARG(rows), CLQ_ARG(nb), CLQ_ARG(w->zeros)};
    return upload_and_run(ctx, "clq_ort_zeros_to_device", src->zero_points, need->zero_points_bytes, rest,
                          CLQ_NARGS(rest), w->nblocks);
}

clq_status clq_weight_import(clq_context *ctx, const clq_weight_desc *desc, clq_layout layout,
                             const clq_external *src, clq_weight **out)
{
    if (!ctx || !src || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_import: ctx, src and out are required");
    clq_external need;
    CLQ_FORWARD(clq_external_sizes(desc, layout, &need));
    CLQ_FORWARD(check_external(src, &need, true));
    if (desc->rows * desc->cols / desc->block > UINT32_MAX)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "too many blocks");
    clq_weight *w = NULL;
    CLQ_FORWARD(clq_weight_alloc(ctx, desc, &w));
    int status = layout == CLQ_LAYOUT_GGML  ? import_ggml(w, src, &need)
                 : layout == CLQ_LAYOUT_BNB ? import_bnb(w, src, &need)
                                            : import_ort(w, src, &need);
    if (status == CLQ_SUCCESS)
        status = clFinish(ctx->queue) == CL_SUCCESS ? CLQ_SUCCESS : CLQ_FAIL(CLQ_ERROR_INTERNAL, "clFinish");
    if (status != CLQ_SUCCESS) {
        clq_weight_destroy(w);
        return status;
    }
    *out = w;
    return CLQ_SUCCESS;
}

/* Runs a repack kernel (device arrays in `args`, output last) into a
 * temporary buffer and reads it into dst. */
static clq_status run_and_download(clq_context *ctx, const char *kernel, const clq_arg *args, size_t nargs,
                                   size_t global, void *dst, size_t bytes)
{
    cl_mem out = NULL;
    CLQ_FORWARD(clq_buffer_create(ctx, CL_MEM_WRITE_ONLY, bytes, NULL, &out));
    clq_arg all[8];
    memcpy(all, args, nargs * sizeof *args);
    all[nargs] = CLQ_ARG(out);
    int status = clq_launch(ctx, CLQ_PROGRAM_REPACK, kernel, all, nargs + 1, global, 0, 0, NULL, NULL);
    if (status == CLQ_SUCCESS)
        status = clq_download(ctx, out, dst, bytes);
    clq_mem_release(&out);
    return status;
}

/* The inverse of rows_to_device. */
static clq_status device_to_rows(const clq_weight *w, void *data, size_t bytes, bool swap)
{
    cl_ulong nwords = bytes / 4;
    cl_uint cols = (cl_uint)w->desc.cols, bits = clq_format_is_4bit(w->desc.format) ? 4 : 8, swap_arg = swap;
    clq_arg args[] = {CLQ_ARG(w->quants), CLQ_ARG(nwords), CLQ_ARG(cols), CLQ_ARG(bits), CLQ_ARG(swap_arg)};
    return run_and_download(w->ctx, "clq_device_to_rows", args, CLQ_NARGS(args), nwords, data, bytes);
}

static clq_status export_ggml(const clq_weight *w, clq_external *dst, const clq_external *need)
{
    cl_uint nblocks = (cl_uint)w->nblocks;
    if (clq_format_is_ggml(w->desc.format)) {
        cl_uint nb = (cl_uint)(w->desc.cols / w->desc.block), format = (cl_uint)w->desc.format;
        clq_arg args[] = {CLQ_ARG(w->quants), CLQ_ARG(format), CLQ_ARG(nblocks), CLQ_ARG(nb)};
        return run_and_download(w->ctx, "clq_device_to_ggml_blocks", args, CLQ_NARGS(args), nblocks,
                                dst->data, need->data_bytes);
    }
    const char *kernel =
        w->desc.format == CLQ_FORMAT_Q4 ? "clq_device_to_ggml_q4_0" : "clq_device_to_ggml_q8_0";
    cl_uint cols = (cl_uint)w->desc.cols;
    clq_arg args[] = {CLQ_ARG(w->quants), CLQ_ARG(w->scales), CLQ_ARG(nblocks), CLQ_ARG(cols)};
    return run_and_download(w->ctx, kernel, args, CLQ_NARGS(args), nblocks, dst->data, need->data_bytes);
}

static clq_status export_bnb(const clq_weight *w, clq_external *dst, const clq_external *need)
{
    clq_context *ctx = w->ctx;
    CLQ_FORWARD(device_to_rows(w, dst->data, need->data_bytes, w->desc.format != CLQ_FORMAT_DYNAMIC8));
    CLQ_FORWARD(clq_download(ctx, w->scales, dst->scales, need->scales_bytes));
    if (w->desc.double_quant) {
        CLQ_FORWARD(clq_download(ctx, w->nested_absmax, dst->nested_absmax, need->nested_absmax_bytes));
        CLQ_FORWARD(clq_download(ctx, w->offset, &dst->offset, sizeof dst->offset));
    }
    if (w->code && dst->nested_code)
        CLQ_FORWARD(clq_download(ctx, w->code, dst->nested_code, need->nested_code_bytes));
    return CLQ_SUCCESS;
}

static clq_status export_ort(const clq_weight *w, clq_external *dst, const clq_external *need)
{
    clq_context *ctx = w->ctx;
    CLQ_FORWARD(device_to_rows(w, dst->data, need->data_bytes, false));
    CLQ_FORWARD(clq_download(ctx, w->scales, dst->scales, need->scales_bytes));
    cl_uint rows = (cl_uint)w->desc.rows, nb = (cl_uint)(w->desc.cols / w->desc.block);
    clq_arg args[] = {CLQ_ARG(w->zeros), CLQ_ARG(rows), CLQ_ARG(nb)};
    CLQ_FORWARD(run_and_download(ctx, "clq_device_to_ort_zeros", args, CLQ_NARGS(args),
                                 need->zero_points_bytes, dst->zero_points, need->zero_points_bytes));
    /* With an odd number of blocks per row, the high nibble of each row's
     * last zero-point byte holds no block; ONNX Runtime writes its default
     * zero point 8 there, so the bytes match its own. Import never reads it. */
    if (nb % 2 == 1) {
        unsigned char *zp = dst->zero_points;
        const size_t row_bytes = (nb + 1) / 2;
        for (size_t r = 0; r < rows; r++) {
            unsigned char *last = zp + r * row_bytes + row_bytes - 1;
            *last = (unsigned char)((*last & 0x0f) | 0x80);
        }
    }
    return CLQ_SUCCESS;
}

clq_status clq_weight_export(const clq_weight *w, clq_layout layout, clq_external *dst)
{
    if (!w || !dst)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_export: weight and dst are required");
    clq_external need;
    CLQ_FORWARD(clq_external_sizes(&w->desc, layout, &need));
    CLQ_FORWARD(check_external(dst, &need, false));
    switch (layout) {
    case CLQ_LAYOUT_GGML:
        return export_ggml(w, dst, &need);
    case CLQ_LAYOUT_BNB:
        return export_bnb(w, dst, &need);
    default:
        return export_ort(w, dst, &need);
    }
}
