/* Weight handles: allocation, quantization from fp32/fp16, dequantization. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void clq_weight_destroy(clq_weight *w)
{
    if (!w)
        return;
    clq_mem_release(&w->quants);
    clq_mem_release(&w->scales);
    clq_mem_release(&w->zeros);
    clq_mem_release(&w->nested_absmax);
    clq_mem_release(&w->code);
    clq_mem_release(&w->offset);
    free(w);
}

static clq_status alloc_array(clq_weight *w, uint64_t bytes, cl_mem *out)
{
    if (bytes == 0)
        return CLQ_SUCCESS;
    w->device_bytes += bytes;
    return clq_buffer_create(w->ctx, CL_MEM_READ_WRITE, bytes, NULL, out);
}

clq_status clq_weight_alloc(clq_context *ctx, const clq_weight_desc *desc, clq_weight **out)
{
    clq_weight *w = calloc(1, sizeof *w);
    if (!w)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a weight");
    w->ctx = ctx;
    w->desc = *desc;
    w->desc.double_quant = desc->double_quant ? 1 : 0;
    w->nblocks = desc->rows * desc->cols / desc->block;
    clq_device_sizes s;
    clq_device_sizes_of(desc, &s);
    int status = alloc_array(w, s.quants, &w->quants);
    if (status == CLQ_SUCCESS && s.quants_padding) {
        /* Rows past N in the last tile stay zero: the matmul reads them. */
        cl_uchar zero = 0;
        cl_int err = clEnqueueFillBuffer(ctx->queue, w->quants, &zero, 1, s.quants - s.quants_tile,
                                         s.quants_tile, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = CLQ_FAIL(err, "clearing the padding rows of a weight");
    }
    if (status == CLQ_SUCCESS)
        status = alloc_array(w, s.scales, &w->scales);
    if (status == CLQ_SUCCESS)
        status = alloc_array(w, s.zeros, &w->zeros);
    if (status == CLQ_SUCCESS)
        status = alloc_array(w, s.nested_absmax, &w->nested_absmax);
    if (status == CLQ_SUCCESS)
        status = alloc_array(w, s.code, &w->code);
    if (status == CLQ_SUCCESS)
        status = alloc_array(w, s.offset, &w->offset);
    if (status != CLQ_SUCCESS) {
        clq_weight_destroy(w);
        return status;
    }
    *out = w;
    return CLQ_SUCCESS;
}

clq_weight_desc clq_weight_get_desc(const clq_weight *w)
{
    clq_weight_desc none = {0};
    return w ? w->desc : none;
}

uint64_t clq_weight_device_bytes(const clq_weight *w)
{
    return w ? w->device_bytes : 0;
}

/* Double quantization: mean of the fp32 absmax vector, then 8-bit blockwise
 * quantization of (absmax - mean) in groups of 256. */
static clq_status compress_statistics(clq_weight *w, cl_mem absmax, cl_mem bad)
{
    clq_context *ctx = w->ctx;
    cl_uint n = (cl_uint)w->nblocks;
    clq_arg mean_args[] = {CLQ_ARG(absmax), CLQ_ARG(n), CLQ_ARG(w->offset)};
    CLQ_FORWARD(clq_launch(ctx, CLQ_PROGRAM_QUANTIZE, "clq_absmax_mean", mean_args, CLQ_NARGS(mean_args),
                           ctx->params.reduce_wg, ctx->params.reduce_wg, 0, NULL, NULL));
    clq_arg q_args[] = {CLQ_ARG(absmax),           CLQ_ARG(n),  CLQ_ARG(w->offset), CLQ_ARG(w->scales),
                        CLQ_ARG(w->nested_absmax), CLQ_ARG(bad)};
    return clq_launch(ctx, CLQ_PROGRAM_QUANTIZE, "clq_absmax_quantize", q_args, CLQ_NARGS(q_args),
                      clq_ceil_div(n, CLQ_NESTED_BLOCK), 0, 0, NULL, NULL);
}

/* What the quantize kernels record in the three words of `bad` (UINT32_MAX:
 * none): the first block holding NaN or Inf, the first block whose scale
 * would overflow, the first block whose double-quantized absmax would come
 * back beyond fp32. */
enum { BAD_NONFINITE, BAD_SCALE, BAD_NESTED, BAD_WORDS };

/* Enqueues the quantization of `src` into w, recording bad blocks in `bad`. */
static clq_status enqueue_quantize(clq_weight *w, clq_dtype src_type, cl_mem src, cl_mem bad,
                                   cl_uint num_wait, const cl_event *wait_list)
{
    clq_context *ctx = w->ctx;
    if (clq_format_is_ggml(w->desc.format)) { /* kernels/ggml_quantize.cl, a work-item per block */
        cl_uint src_half = src_type == CLQ_DTYPE_F16, format = (cl_uint)w->desc.format;
        cl_uint rows = (cl_uint)w->desc.rows, cols = (cl_uint)w->desc.cols;
        clq_arg args[] = {CLQ_ARG(src),  CLQ_ARG(src_half),  CLQ_ARG(format), CLQ_ARG(rows),
                          CLQ_ARG(cols), CLQ_ARG(w->quants), CLQ_ARG(bad)};
        return clq_launch(ctx, CLQ_PROGRAM_GGML, "clq_quantize_ggml", args, CLQ_NARGS(args), w->nblocks, 0,
                          num_wait, wait_list, NULL);
    }
    cl_mem absmax = NULL, scales = w->scales;
    if (w->desc.double_quant) {
        CLQ_FORWARD(clq_buffer_create(ctx, CL_MEM_READ_WRITE, 4 * w->nblocks, NULL, &absmax));
        scales = absmax;
    }
    cl_uint src_half = src_type == CLQ_DTYPE_F16, format = (cl_uint)w->desc.format, block = w->desc.block;
    cl_uint rows = (cl_uint)w->desc.rows, cols = (cl_uint)w->desc.cols;
    cl_uint span =
        ctx->params.quant_span > block ? ctx->params.quant_span / block : 1; /* blocks per work-item */
    size_t spans = clq_ceil_div(cols / block, span);
    clq_arg args[] = {CLQ_ARG(src),    CLQ_ARG(src_half), CLQ_ARG(format), CLQ_ARG(block),
                      CLQ_ARG(rows),   CLQ_ARG(cols),     CLQ_ARG(span),   CLQ_ARG(w->quants),
                      CLQ_ARG(scales), CLQ_ARG(w->zeros), CLQ_ARG(bad)};
    int status = clq_launch(ctx, CLQ_PROGRAM_QUANTIZE, "clq_quantize_blocks", args, CLQ_NARGS(args),
                            rows * spans, ctx->params.quant_wg, num_wait, wait_list, NULL);
    if (status == CLQ_SUCCESS && w->desc.double_quant)
        status = compress_statistics(w, absmax, bad);
    if (status == CLQ_SUCCESS && w->code)
        status = clEnqueueWriteBuffer(ctx->queue, w->code, CL_TRUE, 0, sizeof clq_dynamic_code,
                                      clq_dynamic_code, 0, NULL, NULL) == CL_SUCCESS
                     ? CLQ_SUCCESS
                     : CLQ_FAIL(CLQ_ERROR_INTERNAL, "writing the dynamic code");
    /* Released now: OpenCL keeps the buffer alive until queued kernels end. */
    clq_mem_release(&absmax);
    return status;
}

/* The fp16 values a ggml format stores whose overflow refuses a block
 * (kernels/ggml_quantize.cl derives each one's limit). */
static const char *ggml_scale_limit(clq_format f)
{
    switch (f) {
    case CLQ_FORMAT_Q4_1:
        return "q4_1's fp16 d = (max - min)/15 or m = min";
    case CLQ_FORMAT_Q5_1:
        return "q5_1's fp16 d = (max - min)/31 or m = min";
    case CLQ_FORMAT_Q5_0:
        return "q5_0's fp16 d = m/-16";
    case CLQ_FORMAT_IQ4_NL:
        return "iq4_nl's fp16 d (the fitted scale)";
    case CLQ_FORMAT_IQ4_XS:
        return "iq4_xs's fp16 d = -(group scale of largest magnitude)/32";
    case CLQ_FORMAT_Q2_K:
        return "q2_k's fp16 d or dmin (largest sub-block scale or -min, /15)";
    case CLQ_FORMAT_Q3_K:
        return "q3_k's fp16 d (sub-block scale of largest magnitude, /32)";
    case CLQ_FORMAT_Q4_K:
        return "q4_k's fp16 d or dmin (largest sub-block scale or -min, /63)";
    case CLQ_FORMAT_Q5_K:
        return "q5_k's fp16 d or dmin (largest sub-block scale or -min, /63)";
    case CLQ_FORMAT_Q6_K:
        return "q6_k's fp16 d (sub-block scale of largest magnitude, /128)";
    default:
        return "the format's fp16 scales";
    }
}

/* The first bad block the kernels found, as an error naming its row and
 * columns; NaN or Inf first, as it also spoils the other checks. */
static clq_status report_bad_block(const clq_weight_desc *desc, const uint32_t first_bad[BAD_WORDS])
{
    int kind = BAD_NONFINITE;
    while (kind < BAD_WORDS && first_bad[kind] == UINT32_MAX)
        kind++;
    if (kind == BAD_WORDS)
        return CLQ_SUCCESS;
    uint64_t per_row = desc->cols / desc->block, g = first_bad[kind];
    unsigned long long row = g / per_row, k0 = g % per_row * desc->block, k1 = k0 + desc->block - 1;
    if (kind == BAD_NONFINITE)
        return CLQ_FAIL(CLQ_ERROR_NONFINITE_INPUT, "NaN or Inf in row %llu, columns %llu..%llu", row, k0, k1);
    if (kind == BAD_NESTED)
        return CLQ_FAIL(CLQ_ERROR_SCALE_OVERFLOW,
                        "row %llu, columns %llu..%llu: double quantization would give this block's absmax "
                        "back as code x absmax2 + offset, beyond fp32",
                        row, k0, k1);
    if (clq_format_is_ggml(desc->format))
        return CLQ_FAIL(CLQ_ERROR_SCALE_OVERFLOW,
                        "row %llu, columns %llu..%llu: the block's values overflow %s, which must stay "
                        "below 65520 in magnitude",
                        row, k0, k1, ggml_scale_limit(desc->format));
    const char *limit =
        desc->format == CLQ_FORMAT_Q8   ? "q8's fp16 d = absmax/127 (|x| must stay below 127 x 65520)"
        : desc->format == CLQ_FORMAT_Q4 ? "q4's fp16 d = m/-8 (|x| must stay below 8 x 65520)"
                                        : "q4z's fp32 scale (max - min must stay below FLT_MAX)";
    return CLQ_FAIL(CLQ_ERROR_SCALE_OVERFLOW, "row %llu, columns %llu..%llu: the block's values overflow %s",
                    row, k0, k1, limit);
}

clq_status clq_weight_quantize(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type, cl_mem src,
                               cl_uint num_wait, const cl_event *wait_list, clq_weight **out)
{
    if (!ctx || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_quantize: ctx and out are required");
    CLQ_FORWARD(clq_weight_desc_check(desc));
    CLQ_FORWARD(clq_check_dtype(src_type, "source"));
    CLQ_FORWARD(clq_check_buffer(src, desc->rows * desc->cols * clq_dtype_size(src_type), "source"));
    clq_weight *w = NULL;
    cl_mem bad = NULL;
    uint32_t first_bad[BAD_WORDS] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
    CLQ_FORWARD(clq_weight_alloc(ctx, desc, &w));
    int status =
        clq_buffer_create(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof first_bad, first_bad, &bad);
    if (status == CLQ_SUCCESS)
        status = enqueue_quantize(w, src_type, src, bad, num_wait, wait_list);
    if (status == CLQ_SUCCESS)
        status = clq_download(ctx, bad, first_bad, sizeof first_bad);
    clq_mem_release(&bad);
    if (status == CLQ_SUCCESS)
        status = report_bad_block(desc, first_bad);
    if (status != CLQ_SUCCESS) {
        clq_weight_destroy(w);
        return status;
    }
    *out = w;
    return CLQ_SUCCESS;
}

clq_status clq_weight_quantize_host(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type,
                                    const void *src, size_t src_bytes, clq_weight **out)
{
    if (!ctx || !src || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_quantize_host: ctx, src and out are required");
    CLQ_FORWARD(clq_weight_desc_check(desc));
    CLQ_FORWARD(clq_check_dtype(src_type, "source"));
    size_t need = desc->rows * desc->cols * clq_dtype_size(src_type);
    if (src_bytes < need)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "source holds %zu bytes, %zu needed", src_bytes, need);
    cl_mem buf = NULL;
    CLQ_FORWARD(clq_upload(ctx, src, need, &buf));
    int status = clq_weight_quantize(ctx, desc, src_type, buf, 0, NULL, out);
    clq_mem_release(&buf);
    return status;
}

clq_status clq_weight_dequantize(const clq_weight *w, clq_dtype dst_type, cl_mem dst, cl_uint num_wait,
                                 const cl_event *wait_list, cl_event *event)
{
    if (!w)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_dequantize: weight is NULL");
    CLQ_FORWARD(clq_check_dtype(dst_type, "destination"));
    uint64_t elements = w->desc.rows * w->desc.cols;
    CLQ_FORWARD(clq_check_buffer(dst, elements * clq_dtype_size(dst_type), "destination"));
    clq_context *ctx = w->ctx;
    if (clq_format_is_ggml(w->desc.format)) {
        cl_uint format = (cl_uint)w->desc.format, rows = (cl_uint)w->desc.rows, cols = (cl_uint)w->desc.cols;
        cl_uint dst_half = dst_type == CLQ_DTYPE_F16;
        clq_arg args[] = {CLQ_ARG(format),    CLQ_ARG(rows), CLQ_ARG(cols),
                          CLQ_ARG(w->quants), CLQ_ARG(dst),  CLQ_ARG(dst_half)};
        return clq_launch(ctx, CLQ_PROGRAM_GGML, "clq_dequantize_ggml", args, CLQ_NARGS(args), w->nblocks, 0,
                          num_wait, wait_list, event);
    }
    cl_uint format = (cl_uint)w->desc.format, block = w->desc.block, dq = (cl_uint)w->desc.double_quant;
    cl_uint rows = (cl_uint)w->desc.rows, cols = (cl_uint)w->desc.cols;
    cl_uint dst_half = dst_type == CLQ_DTYPE_F16;
    /* elements of a row per work-item: quant_span, in whole 16s */
    cl_uint span = ctx->params.quant_span / 16 * 16;
    size_t spans = clq_ceil_div(cols, span);
    clq_arg args[] = {CLQ_ARG(format),    CLQ_ARG(block),
                      CLQ_ARG(rows),      CLQ_ARG(cols),
                      CLQ_ARG(span),      CLQ_ARG(dq),
                      CLQ_ARG(w->quants), CLQ_ARG(w->scales),
                      CLQ_ARG(w->zeros),  CLQ_ARG(w->nested_absmax),
                      CLQ_ARG(w->code),   CLQ_ARG(w->offset),
                      CLQ_ARG(dst),       CLQ_ARG(dst_half)};
    return clq_launch(ctx, CLQ_PROGRAM_QUANTIZE, "clq_dequantize_spans", args, CLQ_NARGS(args), rows * spans,
                      ctx->params.quant_wg, num_wait, wait_list, event);
}

clq_status clq_weight_dequantize_host(const clq_weight *w, clq_dtype dst_type, void *dst, size_t dst_bytes)
{
    if (!w || !dst)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_weight_dequantize_host: weight and dst are required");
    CLQ_FORWARD(clq_check_dtype(dst_type, "destination"));
    size_t need = w->desc.rows * w->desc.cols * clq_dtype_size(dst_type);
    if (dst_bytes < need)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "destination holds %zu bytes, %zu needed", dst_bytes,
                        need);
    cl_mem buf = NULL;
    CLQ_FORWARD(clq_buffer_create(w->ctx, CL_MEM_WRITE_ONLY, need, NULL, &buf));
    int status = clq_weight_dequantize(w, dst_type, buf, 0, NULL, NULL);
    if (status == CLQ_SUCCESS)
        status = clq_download(w->ctx, buf, dst, need);
    clq_mem_release(&buf);
    return status;
}
