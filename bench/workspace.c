/* Buffers of the current shape and group (see workspace.h). */
#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>

/* Seeds: one per kind of input, so that a weight does not depend on which
 * other inputs were made before it. */
enum { SEED_WEIGHT = 1, SEED_X = 3, SEED_LORA = 7 };

static void release_mem(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

static int fail(bench_workspace *ws, const char *what, cl_int err)
{
    snprintf(ws->why, sizeof ws->why, "%s failed (OpenCL error %d)", what, (int)err);
    return -1;
}

/* A device buffer of `bytes`, filled from `host` when not NULL. */
static int make_buffer(bench_workspace *ws, const void *host, size_t bytes, const char *what, cl_mem *out)
{
    cl_int err;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0);
    *out = clCreateBuffer(clq_context_cl_context(ws->ctx), flags, bytes, (void *)host, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return fail(ws, what, err);
    }
    return 0;
}

/* The fp32 buffer of `host` and, for the fp16 baseline, its half copy. */
static int make_pair(bench_workspace *ws, const float *host, size_t count, const char *what, cl_mem *f32,
                     cl_mem *f16)
{
    if (make_buffer(ws, host, count * 4, what, f32) != 0)
        return -1;
    if (!ws->fp16 || !host)
        return ws->fp16 ? make_buffer(ws, NULL, count * 2, what, f16) : 0;
    uint16_t *half = malloc(count * 2);
    if (!half)
        return fail(ws, "allocating host memory", CL_OUT_OF_HOST_MEMORY);
    bench_to_f16(host, half, count);
    int status = make_buffer(ws, half, count * 2, what, f16);
    free(half);
    return status;
}

void bench_workspace_init(bench_workspace *ws, clq_context *ctx, int fp16)
{
    *ws = (bench_workspace){0};
    ws->ctx = ctx;
    ws->fp16 = fp16;
    ws->shape = -1;
    ws->problem.ctx = ctx;
}

static void release_group(bench_workspace *ws)
{
    bench_problem *p = &ws->problem;
    cl_mem *mems[] = {&p->x32, &p->y32, &p->a32, &p->b32, &p->t32,
                      &p->x16, &p->y16, &p->a16, &p->b16, &p->t16};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        release_mem(mems[i]);
    for (int i = 0; i < 2; i++) {
        clq_lora_destroy(ws->lora[i]);
        ws->lora[i] = NULL;
    }
    free(ws->lora_index);
    ws->lora_index = NULL;
    p->lora = NULL;
    p->lora_index = NULL;
    ws->group_ready = 0;
}

static void release_shape(bench_workspace *ws)
{
    release_group(ws);
    for (int i = 0; i < BENCH_MAX_PAIRS; i++) {
        clq_weight_destroy(ws->weights[i]);
        ws->weights[i] = NULL;
    }
    release_mem(&ws->problem.w32);
    release_mem(&ws->problem.w16);
    release_mem(&ws->problem.dequant32);
    ws->shape = -1;
}

int bench_workspace_shape(bench_workspace *ws, int index, const bench_shape *s)
{
    if (ws->shape == index)
        return 0;
    release_shape(ws);
    bench_problem *p = &ws->problem;
    p->n = s->n;
    p->k = s->k;
    size_t count = (size_t)(s->n * s->k);
    float *w = malloc(count * sizeof *w);
    if (!w)
        return fail(ws, "allocating host memory for the weight", CL_OUT_OF_HOST_MEMORY);
    bench_fill_weight(w, s->n, s->k, SEED_WEIGHT);
    int status = make_pair(ws, w, count, "uploading the fp32 weight", &p->w32, &p->w16);
    free(w);
    if (status == 0)
        status = make_buffer(ws, NULL, count * 4, "allocating the dequantized matrix", &p->dequant32);
    if (status != 0) {
        release_shape(ws);
        return -1;
    }
    ws->shape = index;
    return 0;
}

/* clq's adapter set from host A and B, stored as `dtype` (fp16: A and B
 * rounded to half). */
static int make_clq_lora(bench_workspace *ws, const float *a, const float *b, uint32_t rank, uint32_t count,
                         clq_dtype dtype, clq_lora **out)
{
    const bench_problem *p = &ws->problem;
    size_t a_count = (size_t)count * rank * p->k, b_count = (size_t)count * p->n * rank;
    int half = dtype == CLQ_DTYPE_F16;
    size_t elt = half ? 2 : 4;
    uint16_t *a16 = half ? malloc(a_count * 2) : NULL, *b16 = half ? malloc(b_count * 2) : NULL;
    clq_adapter_desc *descs = calloc(count, sizeof *descs);
    if (!descs || (half && (!a16 || !b16))) {
        free(a16);
        free(b16);
        free(descs);
        return fail(ws, "allocating host memory for adapters", CL_OUT_OF_HOST_MEMORY);
    }
    if (half) {
        bench_to_f16(a, a16, a_count);
        bench_to_f16(b, b16, b_count);
    }
    const char *a_bytes = half ? (const char *)a16 : (const char *)a;
    const char *b_bytes = half ? (const char *)b16 : (const char *)b;
    for (uint32_t j = 0; j < count; j++)
        descs[j] = (clq_adapter_desc){rank,
                                      bench_lora_alpha(rank),
                                      0,
                                      dtype,
                                      a_bytes + (size_t)j * rank * p->k * elt,
                                      b_bytes + (size_t)j * p->n * rank * elt};
    int status = 0;
    if (clq_lora_create(ws->ctx, p->n, p->k, descs, count, out) != CLQ_SUCCESS) {
        snprintf(ws->why, sizeof ws->why, "clq_lora_create: %s", clq_last_error());
        status = -1;
    }
    free(a16);
    free(b16);
    free(descs);
    return status;
}

/* The group's adapters: clq's sets (fp32, and fp16 with lora_f16) and the
 * baselines' buffers (fp32, and fp16 for the HGEMM path). */
static int make_lora(bench_workspace *ws, uint32_t rank, uint32_t adapters)
{
    bench_problem *p = &ws->problem;
    uint32_t count = adapters > 1 ? adapters : 1;
    size_t a_count = (size_t)count * rank * p->k, b_count = (size_t)count * p->n * rank;
    float *a = malloc(a_count * 4), *b = malloc(b_count * 4);
    int status = a && b ? 0 : fail(ws, "allocating host memory for adapters", CL_OUT_OF_HOST_MEMORY);
    if (status == 0) {
        bench_fill_lora(a, b, rank, p->n, p->k, count, SEED_LORA);
        status = make_clq_lora(ws, a, b, rank, count, CLQ_DTYPE_F32, &ws->lora[0]);
    }
    if (status == 0 && ws->lora_f16)
        status = make_clq_lora(ws, a, b, rank, count, CLQ_DTYPE_F16, &ws->lora[1]);
    if (status == 0)
        status = make_pair(ws, a, a_count, "uploading adapter A", &p->a32, &p->a16);
    if (status == 0)
        status = make_pair(ws, b, b_count, "uploading adapter B", &p->b32, &p->b16);
    if (status == 0)
        status =
            make_pair(ws, NULL, (size_t)p->m * rank, "allocating the LoRA intermediate", &p->t32, &p->t16);
    if (status == 0 && adapters > 1) {
        ws->lora_index = malloc(p->m * sizeof *ws->lora_index);
        if (!ws->lora_index)
            status = fail(ws, "allocating the row index", CL_OUT_OF_HOST_MEMORY);
        else
            bench_lora_rows(ws->lora_index, p->m, adapters);
    }
    free(a);
    free(b);
    p->lora = ws->lora[0];
    p->lora_index = ws->lora_index;
    p->lora_scale = bench_lora_scale(rank);
    return status;
}

int bench_workspace_lora_dtype(bench_workspace *ws, clq_dtype dtype)
{
    clq_lora *l = ws->lora[dtype == CLQ_DTYPE_F16];
    if (!l && ws->problem.rank) {
        snprintf(ws->why, sizeof ws->why, "no %s adapters in this workspace",
                 dtype == CLQ_DTYPE_F16 ? "fp16" : "fp32");
        return -1;
    }
    ws->problem.lora = l;
    return 0;
}

int bench_workspace_group(bench_workspace *ws, uint64_t m, uint32_t rank, uint32_t adapters)
{
    if (ws->group_ready && ws->m == m && ws->rank == rank && ws->adapters == adapters)
        return 0;
    release_group(ws);
    bench_problem *p = &ws->problem;
    p->m = m;
    p->rank = rank;
    p->adapters = adapters;
    size_t xc = (size_t)(m * p->k);
    float *x = malloc(xc * sizeof *x);
    if (!x)
        return fail(ws, "allocating host memory for X", CL_OUT_OF_HOST_MEMORY);
    bench_fill_activations(x, m, p->k, SEED_X);
    int status = make_pair(ws, x, xc, "uploading X", &p->x32, &p->x16);
    free(x);
    if (status == 0)
        status = make_pair(ws, NULL, (size_t)(m * p->n), "allocating Y", &p->y32, &p->y16);
    if (status == 0 && rank)
        status = make_lora(ws, rank, adapters);
    if (status != 0) {
        release_group(ws);
        return -1;
    }
    ws->m = m;
    ws->rank = rank;
    ws->adapters = adapters;
    ws->group_ready = 1;
    return 0;
}

int bench_workspace_weight(bench_workspace *ws, int i, const bench_pair *pair, clq_weight **out)
{
    bench_problem *p = &ws->problem;
    if (!ws->weights[i]) {
        clq_weight_desc d = {pair->format, pair->block, p->n, p->k, pair->double_quant};
        if (clq_weight_quantize(ws->ctx, &d, CLQ_DTYPE_F32, p->w32, 0, NULL, &ws->weights[i]) !=
            CLQ_SUCCESS) {
            snprintf(ws->why, sizeof ws->why, "clq_weight_quantize: %s", clq_last_error());
            return -1;
        }
    }
    *out = ws->weights[i];
    return 0;
}

void bench_workspace_release(bench_workspace *ws)
{
    release_shape(ws);
}
