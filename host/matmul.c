/* The fused matmul: checks, the choice between the decode and prefill
 * kernels, and the LoRA shrink launched before them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

_Static_assert(CLQ_DECODE_MAX_M == CLQ_TILE_ROWS, "clq.h's decode rows are kernels/clq_common.h's tile");

/* The matmul kernel groups (matmul.cl, CLQ_MM_GROUP): the tiles kernels for
 * 1 to 16 rows of X, and the prefill kernel. */
#define PREFILL_GROUP 0u
static const cl_uint kernel_groups[] = {1, 2, 4, 8, 16, PREFILL_GROUP};
_Static_assert(CLQ_TILE_ROWS == 16, "kernel_groups lists the tiles kernels up to CLQ_TILE_ROWS rows");
/* clq_context_warm_up builds every variant: each format (NF4 and FP4 twice,
 * with and without double quantization) times each group, and the other
 * programs once. */
_Static_assert((CLQ_FORMAT_DYNAMIC8 - CLQ_FORMAT_Q8 + 1 + 2) * sizeof kernel_groups /
                           sizeof kernel_groups[0] +
                       CLQ_PROGRAM_COUNT - 1 <=
                   CLQ_MAX_PROGRAMS,
               "CLQ_MAX_PROGRAMS is too small for clq_context_warm_up");

/* The -D options of the program variant that holds a weight's kernels of
 * one group: one program per format and group, so that a process loads
 * only the kernels it runs. */
static void matmul_defines(const clq_weight_desc *d, cl_uint group, char *buf, size_t len)
{
    snprintf(buf, len, " -DCLQ_FORMAT=%d -DCLQ_DQ=%d -DCLQ_MM_GROUP=%u", (int)d->format,
             d->double_quant ? 1 : 0, group);
}

clq_status clq_matmul_warm_up(clq_context *ctx)
{
    for (int f = CLQ_FORMAT_Q8; f <= CLQ_FORMAT_DYNAMIC8; f++)
        for (int dq = 0; dq <= (f == CLQ_FORMAT_NF4 || f == CLQ_FORMAT_FP4); dq++)
            for (size_t g = 0; g < sizeof kernel_groups / sizeof kernel_groups[0]; g++) {
                clq_weight_desc d = {(clq_format)f, 32, 1, 32, dq};
                char defines[128];
                cl_program p;
                matmul_defines(&d, kernel_groups[g], defines, sizeof defines);
                CLQ_FORWARD(clq_program_get(ctx, CLQ_PROGRAM_MATMUL, defines, &p));
            }
    return CLQ_SUCCESS;
}

static clq_status check_args(const clq_weight *w, const clq_matmul_args *a)
{
    const clq_weight_desc *d = &w->desc;
    if (a->m == 0)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "M = 0: X needs at least one row");
    /* M·K and M·N elements (times 4 bytes) must fit the size arithmetic. */
    if (a->m > UINT32_MAX / 2 || a->m > UINT64_MAX / 4 / d->cols || a->m > UINT64_MAX / 4 / d->rows)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "M = %llu is too large", (unsigned long long)a->m);
    CLQ_FORWARD(clq_check_dtype(a->x_type, "X"));
    CLQ_FORWARD(clq_check_dtype(a->y_type, "Y"));
    if (a->kernel < CLQ_MATMUL_AUTO || a->kernel > CLQ_MATMUL_PREFILL)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "kernel choice %d", (int)a->kernel);
    CLQ_FORWARD(clq_check_buffer(a->x, a->m * d->cols * clq_dtype_size(a->x_type), "X (M×K)"));
    CLQ_FORWARD(clq_check_buffer(a->y, a->m * d->rows * clq_dtype_size(a->y_type), "Y (M×N)"));
    if (a->bias)
        CLQ_FORWARD(clq_check_buffer(a->bias, d->rows * clq_dtype_size(a->y_type), "bias (N)"));
    if (!a->lora && a->lora_index)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "lora_index given without adapters");
    if (!a->lora)
        return CLQ_SUCCESS;
    if (a->lora->ctx != w->ctx)
        return CLQ_FAIL(CLQ_ERROR_CONTEXT_MISMATCH,
                        "the adapters and the weight belong to different contexts");
    if (a->m * a->lora->max_rank > UINT32_MAX) /* one shrink work-group per (row, rank index) */
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "M = %llu rows times rank %u is too large for the LoRA side path",
                        (unsigned long long)a->m, a->lora->max_rank);
    if (a->lora->rows != d->rows || a->lora->cols != d->cols)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "adapters are for a %llux%llu weight, this one is %llux%llu",
                        (unsigned long long)a->lora->rows, (unsigned long long)a->lora->cols,
                        (unsigned long long)d->rows, (unsigned long long)d->cols);
    for (uint64_t i = 0; a->lora_index && i < a->m; i++)
        if (a->lora_index[i] < -1 || a->lora_index[i] >= (int64_t)a->lora->count)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT,
                            "lora_index[%llu] = %d: not -1 and not one of %zu adapters",
                            (unsigned long long)i, a->lora_index[i], a->lora->count);
    return CLQ_SUCCESS;
}

/* The launch state shared by the shrink and the main kernels. */
typedef struct launch {
    const clq_weight *w;
    const clq_matmul_args *a;
    cl_mem t, row_adapter; /* LoRA scratch (M × max rank) and per-row index */
    cl_mem x_tiles;        /* X interleaved for the tiles kernel (x_interleaved), or NULL */
    cl_uint n_adapters, r_max;
} launch;

static clq_status enqueue_shrink(clq_context *ctx, launch *l, cl_uint num_wait, const cl_event *wait_list,
                                 cl_event *done)
{
    const clq_lora *lo = l->a->lora;
    cl_uint m = (cl_uint)l->a->m, k = (cl_uint)l->w->desc.cols, x_half = l->a->x_type == CLQ_DTYPE_F16;
    cl_uint a_half = lo->half;
    clq_arg args[] = {CLQ_ARG(m),        CLQ_ARG(k),         CLQ_ARG(l->a->x),
                      CLQ_ARG(x_half),   CLQ_ARG(lo->a),     CLQ_ARG(a_half),
                      CLQ_ARG(lo->rank), CLQ_ARG(lo->a_row), CLQ_ARG(l->row_adapter),
                      CLQ_ARG(l->r_max), CLQ_ARG(l->t)};
    size_t pairs = (size_t)m * l->r_max;
    if (ctx->params.shrink_rows) { /* CPUs: a work-item per (row, rank index) */
        /* One work-group per compute unit where the pairs divide evenly: left
         * to choose, PoCL may run M = 1's 16 pairs as one group on one core. */
        size_t units = ctx->compute_units ? ctx->compute_units : 1;
        size_t local = pairs % units == 0 && pairs / units <= ctx->max_work_group ? pairs / units : 0;
        return clq_launch(ctx, CLQ_PROGRAM_LORA, "clq_lora_shrink_rows", args, CLQ_NARGS(args), pairs, local,
                          num_wait, wait_list, done);
    }
    size_t wg = ctx->params.reduce_wg;
    return clq_launch(ctx, CLQ_PROGRAM_LORA, "clq_lora_shrink", args, CLQ_NARGS(args), pairs * wg, wg,
                      num_wait, wait_list, done);
}

/* Rows of X per work-item of the tiles kernel: the smallest of 1, 2, 4, 8,
 * 16 that covers M (so decode with M = 3 computes 4 rows, not 16). */
static cl_uint tiles_rows(uint64_t m)
{
    cl_uint mr = 1;
    while (mr < CLQ_TILE_ROWS && mr < m)
        mr *= 2;
    return mr;
}

/* Whether the product runs the prefill kernel rather than the tiles kernel. */
static bool uses_prefill_kernel(const clq_context *ctx, const clq_matmul_args *a, bool decode)
{
    return !decode && (a->kernel == CLQ_MATMUL_PREFILL || ctx->params.prefill_local);
}

/* Whether the tiles kernel reads X interleaved in groups of CLQ_TILE_ROWS
 * rows, copied there first by clq_interleave_x (matmul.cl, X_TILED): for
 * its largest MR, on work-items that hold a whole tile of W. */
static bool x_interleaved(const clq_context *ctx, const clq_matmul_args *a, bool decode)
{
    return !uses_prefill_kernel(ctx, a, decode) && tiles_rows(a->m) == CLQ_TILE_ROWS &&
           ctx->params.mm_lanes == CLQ_TILE_ROWS;
}

static clq_status enqueue_main(clq_context *ctx, const launch *l, bool decode, cl_uint num_wait,
                               const cl_event *wait_list, cl_event *event)
{
    const clq_weight *w = l->w;
    const clq_matmul_args *a = l->a;
    const clq_lora *lo = a->lora;
    const clq_device_params *p = &ctx->params;
    bool local_tiles = uses_prefill_kernel(ctx, a, decode);
    cl_uint mr = tiles_rows(a->m);
    char defines[128], name[64];
    matmul_defines(&w->desc, local_tiles ? PREFILL_GROUP : mr, defines, sizeof defines);
    if (local_tiles)
        snprintf(name, sizeof name, "clq_matmul_prefill");
    else
        snprintf(name, sizeof name, "clq_matmul_tiles%u", mr);
    cl_kernel k;
    CLQ_FORWARD(clq_kernel_create(ctx, CLQ_PROGRAM_MATMUL, defines, name, &k));
    cl_uint m_count = (cl_uint)a->m, n_count = (cl_uint)w->desc.rows, k_count = (cl_uint)w->desc.cols;
    cl_uint block = w->desc.block, x_half = a->x_type == CLQ_DTYPE_F16, y_half = a->y_type == CLQ_DTYPE_F16;
    cl_mem x = l->x_tiles ? l->x_tiles : a->x;
    if (l->x_tiles)
        x_half = 0; /* interleaved as fp32 */
    cl_uint b_half = lo ? lo->half : 0;
    cl_mem lora_b = lo ? lo->b : NULL, rank = lo ? lo->rank : NULL, b_offset = lo ? lo->b_offset : NULL;
    cl_mem lora_scale = lo ? lo->scale : NULL;
    clq_arg args[] = {CLQ_ARG(m_count),   CLQ_ARG(n_count),   CLQ_ARG(k_count),    CLQ_ARG(block),
                      CLQ_ARG(w->quants), CLQ_ARG(w->scales), CLQ_ARG(w->zeros),   CLQ_ARG(w->nested_absmax),
                      CLQ_ARG(w->code),   CLQ_ARG(w->offset), CLQ_ARG(x),          CLQ_ARG(x_half),
                      CLQ_ARG(a->y),      CLQ_ARG(a->bias),   CLQ_ARG(y_half),     CLQ_ARG(l->n_adapters),
                      CLQ_ARG(l->t),      CLQ_ARG(l->r_max),  CLQ_ARG(lora_b),     CLQ_ARG(b_half),
                      CLQ_ARG(rank),      CLQ_ARG(b_offset),  CLQ_ARG(lora_scale), CLQ_ARG(l->row_adapter)};
    int status = clq_kernel_set_args(k, args, CLQ_NARGS(args));
    if (status == CLQ_SUCCESS && local_tiles) {
        size_t wg = (p->pf_tm / p->pf_wm) * (p->pf_tn / p->pf_wn);
        size_t tiles = clq_ceil_div(a->m, p->pf_tm) * clq_ceil_div(w->desc.rows, p->pf_tn);
        status = clq_enqueue_1d(ctx, k, tiles * wg, wg, num_wait, wait_list, event);
    } else if (status == CLQ_SUCCESS) {
        /* Work-items: (tiles of W × work-items per tile, chunks of MR rows of X). */
        size_t wg = p->tiles_wg;
        size_t items = clq_ceil_div(w->desc.rows, CLQ_TILE_ROWS) * (CLQ_TILE_ROWS / p->mm_lanes);
        size_t global[2] = {clq_ceil_div(items, wg) * wg, clq_ceil_div(a->m, mr)}, local[2] = {wg, 1};
        cl_int err =
            clEnqueueNDRangeKernel(ctx->queue, k, 2, NULL, global, local, num_wait, wait_list, event);
        if (err != CL_SUCCESS)
            status = CLQ_FAIL(err, "clEnqueueNDRangeKernel (%s): %s", name, clq_status_string(err));
    }
    clReleaseKernel(k);
    return status;
}

/* Copies X into l->x_tiles, CLQ_TILE_ROWS rows interleaved column by column
 * (a new buffer of M rounded up to CLQ_TILE_ROWS rows by K floats). */
static clq_status enqueue_interleave(clq_context *ctx, launch *l, cl_uint num_wait, const cl_event *wait_list,
                                     cl_event *done)
{
    const clq_matmul_args *a = l->a;
    cl_uint m_count = (cl_uint)a->m, k_count = (cl_uint)l->w->desc.cols, x_half = a->x_type == CLQ_DTYPE_F16;
    size_t groups = clq_ceil_div(a->m, CLQ_TILE_ROWS);
    size_t bytes = groups * CLQ_TILE_ROWS * k_count * sizeof(float);
    CLQ_FORWARD(clq_buffer_create(ctx, CL_MEM_READ_WRITE, bytes, NULL, &l->x_tiles));
    char defines[128];
    matmul_defines(&l->w->desc, CLQ_TILE_ROWS, defines, sizeof defines);
    cl_kernel k;
    CLQ_FORWARD(clq_kernel_create(ctx, CLQ_PROGRAM_MATMUL, defines, "clq_interleave_x", &k));
    clq_arg args[] = {CLQ_ARG(m_count), CLQ_ARG(k_count), CLQ_ARG(a->x), CLQ_ARG(x_half),
                      CLQ_ARG(l->x_tiles)};
    int status = clq_launch_kernel(ctx, k, args, CLQ_NARGS(args), groups * (k_count / CLQ_TILE_ROWS), 0,
                                   num_wait, wait_list, done); /* a tile-square block per work-item */
    clReleaseKernel(k);
    return status;
}

/* The per-row adapter index and the LoRA scratch T (M × max rank). */
static clq_status prepare_lora(clq_context *ctx, launch *l)
{
    const clq_matmul_args *a = l->a;
    l->n_adapters = (cl_uint)a->lora->count;
    l->r_max = a->lora->max_rank;
    CLQ_FORWARD(clq_buffer_create(ctx, CL_MEM_READ_WRITE, a->m * l->r_max * sizeof(float), NULL, &l->t));
    if (a->lora_index)
        CLQ_FORWARD(clq_upload(ctx, a->lora_index, a->m * sizeof(int32_t), &l->row_adapter));
    return CLQ_SUCCESS;
}

clq_status clq_matmul(const clq_weight *w, const clq_matmul_args *a, cl_uint num_wait,
                      const cl_event *wait_list, cl_event *event)
{
    if (!w || !a)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_matmul: weight and args are required");
    CLQ_FORWARD(check_args(w, a));
    clq_context *ctx = w->ctx;
    bool decode = a->kernel == CLQ_MATMUL_DECODE || (a->kernel == CLQ_MATMUL_AUTO && a->m <= CLQ_TILE_ROWS);
    launch l = {w, a, NULL, NULL, NULL, 0, 0};
    cl_event before[2], done = NULL; /* the shrink and the interleaving, where launched */
    cl_uint n_before = 0;
    int status = CLQ_SUCCESS;
    if (a->lora) {
        status = prepare_lora(ctx, &l);
        if (status == CLQ_SUCCESS &&
            (status = enqueue_shrink(ctx, &l, num_wait, wait_list, &done)) == CLQ_SUCCESS)
            before[n_before++] = done;
    }
    if (status == CLQ_SUCCESS && x_interleaved(ctx, a, decode) &&
        (status = enqueue_interleave(ctx, &l, num_wait, wait_list, &done)) == CLQ_SUCCESS)
        before[n_before++] = done;
    if (status == CLQ_SUCCESS)
        status = n_before ? enqueue_main(ctx, &l, decode, n_before, before, event)
                          : enqueue_main(ctx, &l, decode, num_wait, wait_list, event);
    for (cl_uint i = 0; i < n_before; i++)
        clReleaseEvent(before[i]);
    /* The scratch buffers live on until the kernels using them end. */
    clq_mem_release(&l.t);
    clq_mem_release(&l.row_adapter);
    clq_mem_release(&l.x_tiles);
    return status;
}

clq_status clq_matmul_host(const clq_weight *w, uint64_t m, clq_dtype dtype, const void *x, const void *bias,
                           void *y, const clq_lora *lora, const int32_t *lora_index)
{
    if (!w || !x || !y)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_matmul_host: weight, x and y are required");
    CLQ_FORWARD(clq_check_dtype(dtype, "X/Y"));
    if (m == 0)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "M = 0: X needs at least one row");
    if (m > UINT64_MAX / 4 / w->desc.cols || m > UINT64_MAX / 4 / w->desc.rows)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "M = %llu is too large", (unsigned long long)m);
    clq_context *ctx = w->ctx;
    size_t e = clq_dtype_size(dtype), xb = m * w->desc.cols * e, yb = m * w->desc.rows * e;
    clq_matmul_args a = {m, dtype, NULL, dtype, NULL, NULL, lora, lora_index, CLQ_MATMUL_AUTO};
    int status = clq_upload(ctx, x, xb, &a.x);
    if (status == CLQ_SUCCESS && bias)
        status = clq_upload(ctx, bias, w->desc.rows * e, &a.bias);
    if (status == CLQ_SUCCESS)
        status = clq_buffer_create(ctx, CL_MEM_WRITE_ONLY, yb, NULL, &a.y);
    if (status == CLQ_SUCCESS)
        status = clq_matmul(w, &a, 0, NULL, NULL);
    if (status == CLQ_SUCCESS)
        status = clq_download(ctx, a.y, y, yb);
    clq_mem_release(&a.x);
    clq_mem_release(&a.bias);
    clq_mem_release(&a.y);
    return status;
}
