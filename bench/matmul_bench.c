/*
 * clq-matmul-bench: the fused matmul against CLBlast on the same device, in
 * one run.
 *
 *   clq-matmul-bench [--rows N] [--cols K] [--format F] [--block B] [--m LIST] [--rank LIST]
 *                    [--target SECONDS] [--no-evict] [--device SEL]
 *
 * For each M and LoRA rank: clq_matmul on the quantized weight, and what a
 * user without clq would run: CLBlast SGEMV (M = 1) or SGEMM on the
 * dequantized fp32 matrix, plus two SGEMMs for the adapter (T = X·Aᵀ, then
 * Y += s·T·Bᵀ). Before every timed run a buffer of twice the last-level
 * cache is written, so the weights come from memory, as in decoding a model
 * larger than the cache. Times are device times from profiling events
 * (median of calibrated repetitions).
 */
#define _POSIX_C_SOURCE 200809L
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq.h"
#include "measure.h"

typedef struct options {
    uint64_t rows, cols;
    clq_format format;
    uint32_t block;
    uint64_t ms[16];
    int n_ms;
    uint32_t ranks[8];
    int n_ranks;
    double target;
    int evict;
    const char *device;
} options;

typedef struct problem {
    clq_context *ctx;
    const options *o;
    clq_weight *weight;
    clq_lora *lora;           /* current rank's adapter, or NULL */
    uint32_t rank;
    float lora_scale;
    uint64_t m;
    cl_mem x, y, w32, a32, b32, t32; /* fp32 buffers for both paths */
} problem;

static int parse_list(const char *s, uint64_t *out, int cap)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < cap; tok = strtok_r(NULL, ",", &save))
        out[n++] = strtoull(tok, NULL, 10);
    free(copy);
    return n;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){4096, 4096, CLQ_FORMAT_NF4, 64, {1, 512}, 2, {0, 16}, 2, 0.5, 1, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t tmp[8];
        if (!strcmp(a, "--no-evict")) {
            o->evict = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "clq-matmul-bench: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--rows"))
            o->rows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--cols"))
            o->cols = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--block"))
            o->block = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--format") && clq_format_from_name(v, &o->format) == CLQ_SUCCESS)
            continue;
        else if (!strcmp(a, "--m"))
            o->n_ms = parse_list(v, o->ms, 16);
        else if (!strcmp(a, "--rank")) {
            o->n_ranks = parse_list(v, tmp, 8);
            for (int j = 0; j < o->n_ranks; j++)
                o->ranks[j] = (uint32_t)tmp[j];
        } else if (!strcmp(a, "--target"))
            o->target = strtod(v, NULL);
        else if (!strcmp(a, "--device"))
            o->device = v;
        else {
            fprintf(stderr, "clq-matmul-bench: unknown option or value: %s %s\n", a, v);
            return -1;
        }
    }
    return 0;
}

static void fill_random(float *v, size_t n, float sd, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = sd * ((float)(s >> 40) / (float)(1u << 24) - 0.5f) * 3.4f;
    }
}

static cl_mem upload(clq_context *ctx, const float *v, size_t n)
{
    cl_int err;
    return clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * 4, (void *)v,
                          &err);
}

static cl_mem scratch(clq_context *ctx, size_t n)
{
    cl_int err;
    return clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, n * 4, NULL, &err);
}

static int run_clq(void *user, cl_command_queue q, cl_event *last)
{
    problem *p = user;
    (void)q;
    clq_matmul_args a = {p->m, CLQ_DTYPE_F32, p->x, CLQ_DTYPE_F32, p->y, NULL, p->lora, NULL, CLQ_MATMUL_AUTO};
    return clq_matmul(p->weight, &a, 0, NULL, last) == CLQ_SUCCESS ? 0 : -1;
}

/* CLBlast on the dequantized fp32 weights, the unfused adapter after it. */
static int run_clblast(void *user, cl_command_queue q, cl_event *last)
{
    problem *p = user;
    size_t n = p->o->rows, k = p->o->cols, m = p->m, r = p->rank;
    CLBlastStatusCode s;
    cl_event e = NULL;
    if (m == 1)
        s = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, n, k, 1.0f, p->w32, 0, k, p->x, 0, 1, 0.0f, p->y,
                         0, 1, &q, r ? NULL : &e);
    else
        s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n, k, 1.0f, p->x, 0, k,
                         p->w32, 0, k, 0.0f, p->y, 0, n, &q, r ? NULL : &e);
    if (s == CLBlastSuccess && r) {
        s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, r, k, 1.0f, p->x, 0, k,
                         p->a32, 0, k, 0.0f, p->t32, 0, r, &q, NULL);
        if (s == CLBlastSuccess)
            s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n, r, p->lora_scale,
                             p->t32, 0, r, p->b32, 0, r, 1.0f, p->y, 0, n, &q, &e);
    }
    *last = e;
    return s == CLBlastSuccess ? 0 : -1;
}

static void report(const char *what, const problem *p, const bench_stats *st, double weight_bytes)
{
    double n = (double)p->o->rows, k = (double)p->o->cols, m = (double)p->m, r = p->rank;
    double flops = 2 * m * n * k + (r ? 2 * m * r * (k + n) : 0);
    printf("%-26s %6llu %5u %11.1f %11.1f %11.1f %9.1f %9.1f %5d\n", what, (unsigned long long)p->m, p->rank,
           st->median_us, st->min_us, st->max_us, weight_bytes / (st->median_us * 1e3), flops / (st->median_us * 1e3),
           st->reps);
}

static int bench_one(problem *p, const bench_timer *t, uint64_t m, uint32_t rank, float *x_host)
{
    const options *o = p->o;
    p->m = m;
    p->rank = rank;
    p->x = upload(p->ctx, x_host, m * o->cols);
    p->y = scratch(p->ctx, m * o->rows);
    p->t32 = rank ? scratch(p->ctx, m * rank) : NULL;
    clq_lora *lora = NULL;
    if (rank) {
        float *a = malloc(rank * o->cols * 4), *b = malloc(o->rows * rank * 4);
        fill_random(a, rank * o->cols, 0.05f, 7);
        fill_random(b, o->rows * rank, 0.05f, 8);
        clq_adapter_desc ad = {rank, 2.0f * rank, 0, CLQ_DTYPE_F32, a, b};
        if (clq_lora_create(p->ctx, o->rows, o->cols, &ad, 1, &lora) != CLQ_SUCCESS)
            return -1;
        p->a32 = upload(p->ctx, a, rank * o->cols);
        p->b32 = upload(p->ctx, b, o->rows * rank);
        p->lora_scale = 2.0f;
        free(a);
        free(b);
    }
    p->lora = lora;
    clq_weight_desc d = clq_weight_get_desc(p->weight);
    double quant_bytes = (double)clq_weight_device_bytes(p->weight), fp32_bytes = 4.0 * d.rows * d.cols;
    bench_stats st;
    int status = bench_measure(t, run_clq, p, &st);
    if (status == 0)
        report("clq fused", p, &st, quant_bytes);
    if (status == 0 && (status = bench_measure(t, run_clblast, p, &st)) == 0)
        report(m == 1 ? "CLBlast SGEMV (fp32 W)" : "CLBlast SGEMM (fp32 W)", p, &st, fp32_bytes);
    clReleaseMemObject(p->x);
    clReleaseMemObject(p->y);
    if (rank) {
        clReleaseMemObject(p->t32);
        clReleaseMemObject(p->a32);
        clReleaseMemObject(p->b32);
    }
    clq_lora_destroy(lora);
    p->lora = NULL;
    return status;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    clq_context_options co;
    clq_context_options_init(&co);
    co.profiling = 1;
    co.device = o.device;
    problem p = {0};
    p.o = &o;
    if (clq_context_create(&co, &p.ctx) != CLQ_SUCCESS) {
        fprintf(stderr, "clq-matmul-bench: %s\n", clq_last_error());
        return 1;
    }
    size_t nk = o.rows * o.cols;
    float *w = malloc(nk * 4);
    fill_random(w, nk, 0.05f, 1);
    clq_weight_desc d = {o.format, o.block, o.rows, o.cols, 0};
    if (clq_weight_quantize_host(p.ctx, &d, CLQ_DTYPE_F32, w, nk * 4, &p.weight) != CLQ_SUCCESS ||
        clq_weight_dequantize_host(p.weight, CLQ_DTYPE_F32, w, nk * 4) != CLQ_SUCCESS) {
        fprintf(stderr, "clq-matmul-bench: %s\n", clq_last_error());
        return 1;
    }
    p.w32 = upload(p.ctx, w, nk);
    free(w);
    bench_timer t;
    bench_timer_init(&t, p.ctx, o.target, o.evict);
    printf("device: %s (driver %s); weight %llux%llu %s block %u; eviction buffer %zu MiB\n",
           clq_context_device_name(p.ctx), clq_context_driver_version(p.ctx), (unsigned long long)o.rows,
           (unsigned long long)o.cols, clq_format_name(o.format), o.block, t.evict_bytes >> 20);
    printf("%-26s %6s %5s %11s %11s %11s %9s %9s %5s\n", "path", "M", "rank", "median_us", "min_us", "max_us",
           "GB/s", "GFLOP/s", "reps");
    uint64_t max_m = 0;
    for (int i = 0; i < o.n_ms; i++)
        max_m = o.ms[i] > max_m ? o.ms[i] : max_m;
    float *x = malloc(max_m * o.cols * 4);
    fill_random(x, max_m * o.cols, 1.0f, 3);
    int status = 0;
    for (int i = 0; i < o.n_ms && status == 0; i++)
        for (int j = 0; j < o.n_ranks && status == 0; j++)
            status = bench_one(&p, &t, o.ms[i], o.ranks[j], x);
    if (status != 0)
        fprintf(stderr, "clq-matmul-bench: a run failed: %s\n", clq_last_error());
    free(x);
    bench_timer_release(&t);
    clReleaseMemObject(p.w32);
    clq_weight_destroy(p.weight);
    clq_context_destroy(p.ctx);
    return status ? 1 : 0;
}
