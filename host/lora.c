/* LoRA adapter sets on the device: every adapter's A packed into one buffer
 * (rows one after another), every B into another, with per-adapter rank,
 * offsets and scale beside them, so one kernel launch serves a batch whose
 * rows use different adapters. B is stored in row tiles like the weights:
 * for each tile of 16 outputs and each rank index j, the 16 outputs' B[n, j]
 * side by side (zeros past N), so the matmul's epilogue reads a tile's
 * expand as one vector per j (lora_b_index in matmul.cl). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void clq_lora_destroy(clq_lora *l)
{
    if (!l)
        return;
    clq_mem_release(&l->a);
    clq_mem_release(&l->b);
    clq_mem_release(&l->rank);
    clq_mem_release(&l->a_row);
    clq_mem_release(&l->b_offset);
    clq_mem_release(&l->scale);
    free(l);
}

size_t clq_lora_count(const clq_lora *l)
{
    return l ? l->count : 0;
}

/* Rows of a tiled B: N rounded up to whole tiles. */
static uint64_t padded_rows(uint64_t rows)
{
    return clq_ceil_div(rows, CLQ_TILE_ROWS) * CLQ_TILE_ROWS;
}

static clq_status check_adapters(uint64_t rows, uint64_t cols, const clq_adapter_desc *ad, size_t count)
{
    if (count == 0 || count > CLQ_MAX_ADAPTERS)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "%zu adapters: 1 to %d allowed", count, CLQ_MAX_ADAPTERS);
    if (rows == 0 || cols == 0 || rows > UINT32_MAX || cols > UINT32_MAX)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "adapter shape %llux%llu", (unsigned long long)rows,
                        (unsigned long long)cols);
    uint64_t total_rank = 0;
    for (size_t i = 0; i < count; i++) {
        if (!ad[i].a || !ad[i].b)
            return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "adapter %zu: A or B is NULL", i);
        if (ad[i].rank == 0 || ad[i].rank > CLQ_MAX_LORA_RANK)
            return CLQ_FAIL(CLQ_ERROR_SHAPE, "adapter %zu: rank %u (1 to %d)", i, ad[i].rank,
                            CLQ_MAX_LORA_RANK);
        if (ad[i].dtype != CLQ_DTYPE_F32 && ad[i].dtype != CLQ_DTYPE_F16)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "adapter %zu: dtype %d", i, (int)ad[i].dtype);
        if (ad[i].dtype != ad[0].dtype)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "adapter %zu: all adapters of a set share one dtype",
                            i);
        if (!isfinite(ad[i].alpha))
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "adapter %zu: alpha is not finite", i);
        total_rank += ad[i].rank;
    }
    if (total_rank * padded_rows(rows) > UINT32_MAX)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "adapters too large: %llu rank rows for %llu outputs",
                        (unsigned long long)total_rank, (unsigned long long)rows);
    return CLQ_SUCCESS;
}

/* B (rows × rank, row-major) in row tiles: element (n, j) goes to
 * ((n / 16)·rank + j)·16 + n % 16; `tiled` has room for the padded rows
 * and is zeroed by the caller. */
static void tile_b(const void *b, uint64_t rows, uint32_t rank, size_t elt, unsigned char *tiled)
{
    const unsigned char *src = b;
    for (uint64_t n = 0; n < rows; n++)
        for (uint32_t j = 0; j < rank; j++)
            memcpy(tiled + (((n / CLQ_TILE_ROWS) * rank + j) * CLQ_TILE_ROWS + n % CLQ_TILE_ROWS) * elt,
                   src + (n * rank + j) * elt, elt);
}

/* Copies every adapter's A (or tiled B) one after another into a new
 * buffer; per_rank is K for A and the padded N for B. */
static clq_status pack_matrices(clq_lora *l, const clq_adapter_desc *ad, bool b_side, uint64_t per_rank,
                                size_t elt, cl_mem *out)
{
    uint64_t total = 0;
    for (size_t i = 0; i < l->count; i++)
        total += ad[i].rank * per_rank * elt;
    CLQ_FORWARD(clq_buffer_create(l->ctx, CL_MEM_READ_ONLY, total, NULL, out));
    uint64_t at = 0;
    for (size_t i = 0; i < l->count; i++) {
        size_t bytes = ad[i].rank * per_rank * elt;
        const void *src = ad[i].a;
        unsigned char *tiled = NULL;
        if (b_side) {
            tiled = calloc(1, bytes);
            if (!tiled)
                return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "tiling adapter %zu's B", i);
            tile_b(ad[i].b, l->rows, ad[i].rank, elt, tiled);
            src = tiled;
        }
        cl_int err = clEnqueueWriteBuffer(l->ctx->queue, *out, CL_TRUE, at, bytes, src, 0, NULL, NULL);
        free(tiled);
        if (err != CL_SUCCESS)
            return CLQ_FAIL(err, "writing adapter %zu's %s: %s", i, b_side ? "B" : "A",
                            clq_status_string(err));
        at += bytes;
    }
    return CLQ_SUCCESS;
}

static clq_status fill_lora(clq_lora *l, const clq_adapter_desc *ad, const float *scales)
{
    size_t elt = ad[0].dtype == CLQ_DTYPE_F16 ? 2 : 4;
    cl_int rank[CLQ_MAX_ADAPTERS];
    cl_uint a_row[CLQ_MAX_ADAPTERS], b_offset[CLQ_MAX_ADAPTERS];
    float scale[CLQ_MAX_ADAPTERS];
    uint32_t rows_so_far = 0;
    for (size_t i = 0; i < l->count; i++) {
        rank[i] = (cl_int)ad[i].rank;
        a_row[i] = rows_so_far;
        b_offset[i] = (cl_uint)(rows_so_far * padded_rows(l->rows));
        rows_so_far += ad[i].rank;
        scale[i] = scales         ? scales[i]
                   : ad[i].rslora ? ad[i].alpha / sqrtf((float)ad[i].rank)
                                  : ad[i].alpha / (float)ad[i].rank;
        if (ad[i].rank > l->max_rank)
            l->max_rank = ad[i].rank;
    }
    CLQ_FORWARD(pack_matrices(l, ad, false, l->cols, elt, &l->a));
    CLQ_FORWARD(pack_matrices(l, ad, true, padded_rows(l->rows), elt, &l->b));
    CLQ_FORWARD(clq_upload(l->ctx, rank, l->count * sizeof rank[0], &l->rank));
    CLQ_FORWARD(clq_upload(l->ctx, a_row, l->count * sizeof a_row[0], &l->a_row));
    CLQ_FORWARD(clq_upload(l->ctx, b_offset, l->count * sizeof b_offset[0], &l->b_offset));
    return clq_upload(l->ctx, scale, l->count * sizeof scale[0], &l->scale);
}

/* NaN or Inf in an adapter's A (rank × K) or B (N × rank) would reach every
 * output row using it: refused like a weight's, naming where it is. */
static clq_status check_finite_values(const clq_adapter_desc *ad, size_t index, bool b_side, uint64_t rows,
                                      uint64_t cols)
{
    const void *m = b_side ? ad->b : ad->a;
    for (uint64_t i = 0; i < rows * cols; i++) {
        bool finite;
        if (ad->dtype == CLQ_DTYPE_F16) {
            uint16_t h;
            memcpy(&h, (const unsigned char *)m + 2 * i, 2);
            finite = (h & 0x7c00) != 0x7c00;
        } else {
            float f;
            memcpy(&f, (const unsigned char *)m + 4 * i, 4);
            finite = isfinite(f);
        }
        if (!finite)
            return CLQ_FAIL(
                CLQ_ERROR_NONFINITE_INPUT, "adapter %zu: NaN or Inf in %s at row %llu, column %llu", index,
                b_side ? "B" : "A", (unsigned long long)(i / cols), (unsigned long long)(i % cols));
    }
    return CLQ_SUCCESS;
}

clq_status clq_lora_create_scaled(clq_context *ctx, uint64_t rows, uint64_t cols,
                                  const clq_adapter_desc *adapters, const float *scales, size_t count,
                                  clq_lora **out)
{
    if (!ctx || !adapters || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_lora_create: ctx, adapters and out are required");
    CLQ_FORWARD(check_adapters(rows, cols, adapters, count));
    for (size_t i = 0; scales && i < count; i++)
        if (!isfinite(scales[i]))
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "adapter %zu: scale is not finite", i);
    for (size_t i = 0; i < count; i++) {
        CLQ_FORWARD(check_finite_values(&adapters[i], i, false, adapters[i].rank, cols));
        CLQ_FORWARD(check_finite_values(&adapters[i], i, true, rows, adapters[i].rank));
    }
    clq_lora *l = calloc(1, sizeof *l);
    if (!l)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating an adapter set");
    l->ctx = ctx;
    l->rows = rows;
    l->cols = cols;
    l->count = count;
    l->half = adapters[0].dtype == CLQ_DTYPE_F16;
    int status = fill_lora(l, adapters, scales);
    if (status != CLQ_SUCCESS) {
        clq_lora_destroy(l);
        return status;
    }
    *out = l;
    return CLQ_SUCCESS;
}

clq_status clq_lora_create(clq_context *ctx, uint64_t rows, uint64_t cols, const clq_adapter_desc *adapters,
                           size_t count, clq_lora **out)
{
    return clq_lora_create_scaled(ctx, rows, cols, adapters, NULL, count, out);
}
