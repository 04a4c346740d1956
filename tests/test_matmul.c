/* The fused matmul against the double-precision reference (tests/ref):
 * every format, M from 1 to 257, N that fits no tile, LoRA ranks 1 to 128,
 * several adapters per batch, both kernels, fp32 and fp16. Each output must
 * lie within the bound ref_matmul derives for a float computation in any
 * order (see clq_ref.h); fp16 outputs may add one fp16 rounding. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clq_ref.h"
#include "ggml_ref.h"
#include "support.h"

#define MAX_ADAPTERS 4

typedef struct matmul_case {
    clq_format format;
    int double_quant;
    uint32_t block;
    uint64_t n, k, m;
    size_t n_adapters; /* 0: no side path */
    uint32_t ranks[MAX_ADAPTERS];
    int per_row_index; /* rows cycle through -1, 0, 1, ... */
    int bias;
    clq_dtype dtype; /* X, Y and bias */
    clq_dtype lora_dtype;
    clq_matmul_kernel kernel;
    uint64_t seed;
} matmul_case;

/* Everything one case needs on the host: inputs as the device sees them
 * (fp16-rounded where fp16 is used) and the dequantized weights. */
typedef struct case_data {
    float *w, *x, *bias, *a[MAX_ADAPTERS], *b[MAX_ADAPTERS];
    int32_t *index;
    clq_weight *weight;
    clq_lora *lora;
} case_data;

static void round_to(clq_dtype t, float *v, size_t n)
{
    for (size_t i = 0; t == CLQ_DTYPE_F16 && i < n; i++)
        v[i] = clq_fp16_to_fp32(clq_fp32_to_fp16(v[i]));
}

/* Host array of dtype t from floats (fp16 when asked). Caller frees. */
static void *as_dtype(clq_dtype t, const float *v, size_t n)
{
    if (t == CLQ_DTYPE_F32) {
        float *out = malloc(n * 4);
        memcpy(out, v, n * 4);
        return out;
    }
    uint16_t *h = malloc(n * 2);
    for (size_t i = 0; i < n; i++)
        h[i] = clq_fp32_to_fp16(v[i]);
    return h;
}

static void random_values(clq_rng *r, float *v, size_t n, float sd)
{
    for (size_t i = 0; i < n; i++)
        v[i] = clq_rng_normal(r, sd);
}

static void make_case(const matmul_case *c, case_data *d)
{
    clq_rng rng = {c->seed};
    clq_context *ctx = test_context();
    memset(d, 0, sizeof *d);
    size_t nk = c->n * c->k;
    float *w_in = malloc(nk * 4);
    test_fill_matrix(&rng, w_in, c->n, c->k);
    clq_weight_desc desc = {c->format, c->block, c->n, c->k, c->double_quant};
    const ggml_ref_type *ggml = ggml_ref_find(clq_format_name(c->format));
    if (ggml) { /* ggml's block types: ggml's reference quantizer, imported */
        clq_external e = {.data_bytes = nk / ggml->block * ggml->bytes};
        e.data = malloc(e.data_bytes);
        ggml->quantize(w_in, e.data, nk);
        TEST_OK(clq_weight_import(ctx, &desc, CLQ_LAYOUT_GGML, &e, &d->weight));
        free(e.data);
    } else {
        TEST_OK(clq_weight_quantize_host(ctx, &desc, CLQ_DTYPE_F32, w_in, nk * 4, &d->weight));
    }
    free(w_in);
    /* Dequantization is bit-exact (test_quantize), so these are the
     * weights the kernels multiply by. */
    d->w = malloc(nk * 4);
    TEST_OK(clq_weight_dequantize_host(d->weight, CLQ_DTYPE_F32, d->w, nk * 4));
    d->x = malloc(c->m * c->k * 4);
    random_values(&rng, d->x, c->m * c->k, 1.0f);
    round_to(c->dtype, d->x, c->m * c->k);
    if (c->bias) {
        d->bias = malloc(c->n * 4);
        random_values(&rng, d->bias, c->n, 0.5f);
        round_to(c->dtype, d->bias, c->n);
    }
    clq_adapter_desc ad[MAX_ADAPTERS];
    void *host_a[MAX_ADAPTERS], *host_b[MAX_ADAPTERS];
    for (size_t i = 0; i < c->n_adapters; i++) {
        uint32_t r = c->ranks[i];
        d->a[i] = malloc(r * c->k * 4);
        d->b[i] = malloc(c->n * r * 4);
        random_values(&rng, d->a[i], r * c->k, 0.05f);
        random_values(&rng, d->b[i], c->n * r, 0.05f);
        round_to(c->lora_dtype, d->a[i], r * c->k);
        round_to(c->lora_dtype, d->b[i], c->n * r);
        host_a[i] = as_dtype(c->lora_dtype, d->a[i], r * c->k);
        host_b[i] = as_dtype(c->lora_dtype, d->b[i], c->n * r);
        ad[i] = (clq_adapter_desc){r, 2.0f * (float)r, 0, c->lora_dtype, host_a[i], host_b[i]};
    }
    if (c->n_adapters) {
        TEST_OK(clq_lora_create(ctx, c->n, c->k, ad, c->n_adapters, &d->lora));
        for (size_t i = 0; i < c->n_adapters; i++) {
            free(host_a[i]);
            free(host_b[i]);
        }
    }
    if (c->per_row_index) {
        d->index = malloc(c->m * sizeof *d->index);
        for (uint64_t i = 0; i < c->m; i++)
            d->index[i] = (int32_t)(i % (c->n_adapters + 1)) - 1;
    }
}

static void free_case(const matmul_case *c, case_data *d)
{
    for (size_t i = 0; i < c->n_adapters; i++) {
        free(d->a[i]);
        free(d->b[i]);
    }
    clq_lora_destroy(d->lora);
    clq_weight_destroy(d->weight);
    free(d->w);
    free(d->x);
    free(d->bias);
    free(d->index);
}

/* Runs the device matmul with kernel choice `kernel`, returning Y as floats. */
static float *run_device(const matmul_case *c, const case_data *d, clq_matmul_kernel kernel)
{
    clq_context *ctx = test_context();
    cl_context cl = clq_context_cl_context(ctx);
    size_t e = c->dtype == CLQ_DTYPE_F16 ? 2 : 4, my = c->m * c->n;
    void *xh = as_dtype(c->dtype, d->x, c->m * c->k);
    cl_int err;
    clq_matmul_args a = {c->m, c->dtype, NULL, c->dtype, NULL, NULL, d->lora, d->index, kernel};
    a.x = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, c->m * c->k * e, xh, &err);
    a.y = clCreateBuffer(cl, CL_MEM_READ_WRITE, my * e, NULL, &err);
    void *bh = NULL;
    if (d->bias) {
        bh = as_dtype(c->dtype, d->bias, c->n);
        a.bias = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, c->n * e, bh, &err);
    }
    cl_event done = NULL;
    TEST_OK(clq_matmul(d->weight, &a, 0, NULL, &done));
    cr_assert_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done);
    void *yh = malloc(my * e);
    clEnqueueReadBuffer(clq_context_cl_queue(ctx), a.y, CL_TRUE, 0, my * e, yh, 0, NULL, NULL);
    float *y = malloc(my * 4);
    for (size_t i = 0; i < my; i++)
        y[i] = e == 2 ? clq_fp16_to_fp32(((uint16_t *)yh)[i]) : ((float *)yh)[i];
    clReleaseMemObject(a.x);
    clReleaseMemObject(a.y);
    if (a.bias)
        clReleaseMemObject(a.bias);
    free(xh);
    free(bh);
    free(yh);
    return y;
}

/* Checks y against the reference within its derived bound. */
static void check_result(const matmul_case *c, const case_data *d, const float *y, const char *what)
{
    size_t my = c->m * c->n;
    double *want = malloc(my * sizeof *want), *bound = malloc(my * sizeof *bound);
    ref_adapter ad[MAX_ADAPTERS];
    for (size_t i = 0; i < c->n_adapters; i++)
        ad[i] = (ref_adapter){c->ranks[i], 2.0f, d->a[i], d->b[i]};
    ref_matmul(d->w, c->n, c->k, d->x, c->m, d->bias, ad, c->n_adapters, d->index, want, bound);
    /* one rounding to fp16: relative 2^-11, or half its smallest subnormal
     * (2^-25) below the normal range */
    const double fp16_unit = 1.0 / 2048.0, fp16_tiny = 0x1p-25;
    for (size_t i = 0; i < my; i++) {
        double tol = bound[i];
        if (c->dtype == CLQ_DTYPE_F16)
            tol += fp16_unit * (fabs(want[i]) + bound[i]) + fp16_tiny;
        cr_assert(fabs((double)y[i] - want[i]) <= tol,
                  "%s %s/%u dq=%d M=%llu N=%llu K=%llu: Y[%zu][%zu] = %.9g, reference %.9g, bound %.3g", what,
                  clq_format_name(c->format), c->block, c->double_quant, (unsigned long long)c->m,
                  (unsigned long long)c->n, (unsigned long long)c->k, i / c->n, i % c->n, y[i], want[i], tol);
    }
    free(want);
    free(bound);
}

static void run_case(const matmul_case *c)
{
    case_data d;
    make_case(c, &d);
    float *y = run_device(c, &d, c->kernel);
    check_result(c, &d, y, c->kernel == CLQ_MATMUL_DECODE ? "decode" : c->kernel ? "prefill" : "auto");
    free(y);
    free_case(c, &d);
}

/* One case through the decode and the prefill kernel, each checked. */
static void run_case_both_kernels(const matmul_case *c)
{
    case_data d;
    make_case(c, &d);
    float *yd = run_device(c, &d, CLQ_MATMUL_DECODE), *yp = run_device(c, &d, CLQ_MATMUL_PREFILL);
    check_result(c, &d, yd, "decode");
    check_result(c, &d, yp, "prefill");
    free(yd);
    free(yp);
    free_case(c, &d);
}

/* Every M of the issue, with LoRA ranks cycling through 1..128 and bias on
 * every other case; N = 67 fits no tile or work-group. */
static void sweep_format(clq_format format, int double_quant, uint32_t block)
{
    static const uint64_t ms[] = {1, 2, 3, 7, 16, 17, 64, 257};
    static const uint32_t ranks[] = {0, 1, 8, 16, 64, 128};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        uint32_t r = ranks[i % 6];
        matmul_case c = {format,          double_quant, block, 67,           2 * block,     ms[i],
                         r ? 1 : 0,       {r},          0,     (int)(i % 2), CLQ_DTYPE_F32, CLQ_DTYPE_F32,
                         CLQ_MATMUL_AUTO, 100 + i};
        run_case(&c);
    }
}

Test(matmul, q8)
{
    sweep_format(CLQ_FORMAT_Q8, 0, 32);
}
Test(matmul, q4)
{
    sweep_format(CLQ_FORMAT_Q4, 0, 32);
}
Test(matmul, q4z)
{
    sweep_format(CLQ_FORMAT_Q4Z, 0, 64);
}
Test(matmul, nf4)
{
    sweep_format(CLQ_FORMAT_NF4, 0, 64);
}
Test(matmul, fp4)
{
    sweep_format(CLQ_FORMAT_FP4, 0, 64);
}
Test(matmul, nf4_double_quant)
{
    sweep_format(CLQ_FORMAT_NF4, 1, 64);
}
Test(matmul, fp4_double_quant)
{
    sweep_format(CLQ_FORMAT_FP4, 1, 128);
}
Test(matmul, dynamic8)
{
    sweep_format(CLQ_FORMAT_DYNAMIC8, 0, 256);
}

/* ggml's block types (weights from ggml's reference quantizer, imported in
 * the ggml layout): the M of the issue, N = 37 (no whole tile), K two
 * blocks, LoRA (ranks 8 and 16) and bias on some. */
static void sweep_ggml(clq_format format)
{
    static const uint64_t ms[] = {1, 3, 16, 17, 512};
    static const uint32_t ranks[] = {0, 8, 0, 16, 0};
    uint32_t block = ggml_ref_find(clq_format_name(format))->block;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        uint32_t r = ranks[i];
        matmul_case c = {format,          0,      block, 37,           2 * block,     ms[i],
                         r ? 1 : 0,       {r},    0,     (int)(i % 2), CLQ_DTYPE_F32, CLQ_DTYPE_F32,
                         CLQ_MATMUL_AUTO, 200 + i};
        run_case(&c);
    }
}

Test(matmul, ggml_q4_1)
{
    sweep_ggml(CLQ_FORMAT_Q4_1);
}
Test(matmul, ggml_q5_0)
{
    sweep_ggml(CLQ_FORMAT_Q5_0);
}
Test(matmul, ggml_q5_1)
{
    sweep_ggml(CLQ_FORMAT_Q5_1);
}
Test(matmul, ggml_q2_k)
{
    sweep_ggml(CLQ_FORMAT_Q2_K);
}
Test(matmul, ggml_q3_k)
{
    sweep_ggml(CLQ_FORMAT_Q3_K);
}
Test(matmul, ggml_q4_k)
{
    sweep_ggml(CLQ_FORMAT_Q4_K);
}
Test(matmul, ggml_q5_k)
{
    sweep_ggml(CLQ_FORMAT_Q5_K);
}
Test(matmul, ggml_q6_k)
{
    sweep_ggml(CLQ_FORMAT_Q6_K);
}
Test(matmul, ggml_iq4_nl)
{
    sweep_ggml(CLQ_FORMAT_IQ4_NL);
}
Test(matmul, ggml_iq4_xs)
{
    sweep_ggml(CLQ_FORMAT_IQ4_XS);
}

/* A weight of each ggml type with several adapters (fp16 A and B) and rows
 * without one, fp16 X and Y, through both kernels; small enough for
 * oclgrind. M = 1 takes the unscaled sums on CPUs, M = 5 the scaled codes. */
Test(matmul, ggml_multi_lora_both_kernels)
{
    static const clq_format formats[] = {CLQ_FORMAT_Q4_K, CLQ_FORMAT_Q5_K, CLQ_FORMAT_Q6_K, CLQ_FORMAT_IQ4_XS,
                                         CLQ_FORMAT_Q4_1, CLQ_FORMAT_Q5_0, CLQ_FORMAT_Q5_1, CLQ_FORMAT_IQ4_NL,
                                         CLQ_FORMAT_Q2_K, CLQ_FORMAT_Q3_K};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        uint32_t block = ggml_ref_find(clq_format_name(formats[i]))->block;
        matmul_case c = {
            formats[i],      0,      block, 21, 256, 5, 3, {4, 16, 7}, 1, 1, CLQ_DTYPE_F16, CLQ_DTYPE_F16,
            CLQ_MATMUL_AUTO, 250 + i};
        run_case_both_kernels(&c);
        c.m = 1;
        run_case_both_kernels(&c);
    }
}

/* The smallest and largest blocks: K = 48 is no multiple of 32, and a 4096
 * block makes one block per row. */
Test(matmul, smallest_block)
{
    matmul_case c = {CLQ_FORMAT_Q4, 0, 16, 33, 48, 5, 1, {8}, 0, 1, CLQ_DTYPE_F32, CLQ_DTYPE_F32, 0, 7};
    run_case(&c);
    c.m = 40;
    run_case(&c);
}

Test(matmul, largest_block)
{
    matmul_case c = {CLQ_FORMAT_NF4, 0, 4096, 19, 4096, 3, 1, {16}, 0, 1, CLQ_DTYPE_F32, CLQ_DTYPE_F32, 0, 8};
    run_case(&c);
    c.m = 21;
    run_case(&c);
}

/* Decode reads a tile's block scales 16 blocks at a time (matmul.cl,
 * scale_run), and a row's last K/B mod 16 blocks' one by one: two runs of
 * 16 blocks, fp32 scales (NF4, Q4Z with its zero points), fp16 (Q4, Q8) and
 * double-quantized (NF4, K = 1024: 4 rows' blocks to a nested group, so the
 * groups' ranges differ, test_fill_matrix's outlier row in every other
 * one); then 21 blocks a row (one run and 5 blocks), where a run of
 * double-quantized scales may straddle two nested groups (rows 12 and 24's
 * first runs cover blocks 252..267 and 504..519). N = 37 so the last
 * tile's rows past N repeat row 36's scales. */
Test(matmul, scale_runs)
{
    static const struct {
        clq_format format;
        int double_quant;
        uint64_t k;
    } cases[] = {
        {CLQ_FORMAT_NF4, 0, 512}, {CLQ_FORMAT_Q4Z, 0, 512},  {CLQ_FORMAT_Q4, 0, 512},
        {CLQ_FORMAT_Q8, 0, 512},  {CLQ_FORMAT_NF4, 1, 1024}, {CLQ_FORMAT_NF4, 1, 336},
        {CLQ_FORMAT_Q4Z, 0, 336}, {CLQ_FORMAT_Q4, 0, 336},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        matmul_case c = {cases[i].format,
                         cases[i].double_quant,
                         16,
                         37,
                         cases[i].k,
                         1 + 2 * (i % 2),
                         0,
                         {0},
                         0,
                         (int)(i % 2),
                         CLQ_DTYPE_F32,
                         CLQ_DTYPE_F32,
                         CLQ_MATMUL_DECODE,
                         60 + i};
        run_case(&c);
    }
}

/* Rows of X a multiple of 2 KiB apart (K = 1024 in fp16, 512 and 2048 in
 * fp32), where a CPU's tiles kernel reading 16 rows of X as they lie would
 * meet L1 set conflicts: it reads them interleaved (matmul.cl, X_TILED,
 * copied by clq_interleave_x), here with blocks of 16 to 256, M = 16
 * (decode), 21 (rows past M repeat) and 40 (prefill). */
Test(matmul, x_rows_2_kib_apart)
{
    static const struct {
        clq_format format;
        uint32_t block;
        uint64_t k, m;
        clq_dtype dtype;
    } cases[] = {
        {CLQ_FORMAT_NF4, 64, 512, 16, CLQ_DTYPE_F32},
        {CLQ_FORMAT_Q4, 32, 2048, 21, CLQ_DTYPE_F32},
        {CLQ_FORMAT_NF4, 256, 1024, 40, CLQ_DTYPE_F16},
        {CLQ_FORMAT_Q8, 16, 1024, 16, CLQ_DTYPE_F16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        matmul_case c = {cases[i].format,
                         0,
                         cases[i].block,
                         37,
                         cases[i].k,
                         cases[i].m,
                         0,
                         {0},
                         0,
                         (int)(i % 2),
                         cases[i].dtype,
                         cases[i].dtype,
                         CLQ_MATMUL_AUTO,
                         70 + i};
        run_case(&c);
    }
}

/* M = 4096 rows of X (a long prefill batch) on a narrow weight. */
Test(matmul, large_m)
{
    matmul_case c = {CLQ_FORMAT_FP4, 0, 32, 9, 64, 4096, 1, {4}, 0, 1, CLQ_DTYPE_F32, CLQ_DTYPE_F32, 0, 11};
    run_case(&c);
}

/* fp16 activations, outputs, bias and adapters. */
Test(matmul, fp16_everywhere)
{
    for (uint64_t m = 1; m <= 33; m += 16) {
        matmul_case c = {CLQ_FORMAT_Q8, 0, 32,   45, 96, m, 1, {16}, 0, 1, CLQ_DTYPE_F16,
                         CLQ_DTYPE_F16, 0, 9 + m};
        run_case(&c);
    }
    /* Decode converts fp16 X a word of weights at a time (4 elements for Q8
     * above, 8 for 4-bit formats), for every group of rows up to 8. */
    static const uint64_t ms[] = {2, 3, 8};
    for (size_t i = 0; i < 3; i++) {
        matmul_case c = {i % 2 ? CLQ_FORMAT_Q4 : CLQ_FORMAT_NF4,
                         0,
                         32,
                         45,
                         96,
                         ms[i],
                         0,
                         {0},
                         0,
                         1,
                         CLQ_DTYPE_F16,
                         CLQ_DTYPE_F16,
                         0,
                         60 + i};
        run_case(&c);
    }
}

/* Decode and prefill agree with the reference, and with each other, on the
 * same inputs, including at the M where AUTO switches. */
Test(matmul, decode_and_prefill_agree)
{
    static const uint64_t ms[] = {1, 16, 17};
    for (size_t i = 0; i < 3; i++) {
        matmul_case c = {CLQ_FORMAT_NF4, 0, 64,    70, 256, ms[i], 1, {8}, 0, 1, CLQ_DTYPE_F32,
                         CLQ_DTYPE_F32,  0, 20 + i};
        run_case_both_kernels(&c);
    }
}

/* Rows with different adapters (ranks 4, 16 and 7) and rows with none, in
 * one call; then each row alone with its own adapter gives the same row. */
Test(matmul, multi_lora)
{
    static const uint64_t ms[] = {5, 12, 37}; /* 12: decode over X interleaved in 16 rows (CPUs, M > 8) */
    for (size_t t = 0; t < 3; t++) {
        matmul_case c = {CLQ_FORMAT_Q4, 0, 32,    50, 128, ms[t], 3, {4, 16, 7}, 1, 1, CLQ_DTYPE_F32,
                         CLQ_DTYPE_F32, 0, 30 + t};
        case_data d;
        make_case(&c, &d);
        float *y = run_device(&c, &d, CLQ_MATMUL_AUTO);
        check_result(&c, &d, y, "multi-LoRA");
        /* Row by row, with the row's adapter given as a one-row index. */
        for (uint64_t row = 0; row < c.m; row++) {
            float yr[50];
            TEST_OK(clq_matmul_host(d.weight, 1, CLQ_DTYPE_F32, d.x + row * c.k, d.bias, yr,
                                    d.index[row] >= 0 ? d.lora : NULL,
                                    d.index[row] >= 0 ? &d.index[row] : NULL));
            for (uint64_t n = 0; n < c.n; n++)
                cr_assert_float_eq(yr[n], y[row * c.n + n], 1e-4f * (1.0f + fabsf(yr[n])),
                                   "row %llu col %llu", (unsigned long long)row, (unsigned long long)n);
        }
        free(y);
        free_case(&c, &d);
    }
}

/* ---- bad input ---------------------------------------------------------------- */

#define EXPECT_STATUS(expr, want)                                                                            \
    do {                                                                                                     \
        int got_ = (expr);                                                                                   \
        cr_assert_eq(got_, (want), "%s gave %s, expected %s (%s)", #expr, clq_status_string(got_),           \
                     clq_status_string(want), clq_last_error());                                             \
    } while (0)

Test(matmul, bad_input_is_refused_and_writes_nothing)
{
    matmul_case c = {CLQ_FORMAT_Q8, 0, 32, 8, 64, 2, 2, {4, 8}, 1, 0, CLQ_DTYPE_F32, CLQ_DTYPE_F32, 0, 40};
    case_data d;
    make_case(&c, &d);
    float y[2 * 8];
    for (int i = 0; i < 16; i++)
        y[i] = 12345.0f;
    /* M = 0 */
    EXPECT_STATUS(clq_matmul_host(d.weight, 0, CLQ_DTYPE_F32, d.x, NULL, y, NULL, NULL), CLQ_ERROR_SHAPE);
    /* index out of range, and below -1 */
    int32_t bad_index[2] = {0, 2};
    EXPECT_STATUS(clq_matmul_host(d.weight, 2, CLQ_DTYPE_F32, d.x, NULL, y, d.lora, bad_index),
                  CLQ_ERROR_INVALID_ARGUMENT);
    bad_index[1] = -2;
    EXPECT_STATUS(clq_matmul_host(d.weight, 2, CLQ_DTYPE_F32, d.x, NULL, y, d.lora, bad_index),
                  CLQ_ERROR_INVALID_ARGUMENT);
    /* an index without adapters */
    EXPECT_STATUS(clq_matmul_host(d.weight, 2, CLQ_DTYPE_F32, d.x, NULL, y, NULL, d.index),
                  CLQ_ERROR_INVALID_ARGUMENT);
    /* adapters made for another shape (K = 32 instead of 64, N = 9 instead of 8) */
    float a[4 * 64] = {0}, b[9 * 4] = {0};
    clq_adapter_desc ad = {4, 8.0f, 0, CLQ_DTYPE_F32, a, b};
    clq_lora *wrong = NULL;
    TEST_OK(clq_lora_create(test_context(), 8, 32, &ad, 1, &wrong));
    EXPECT_STATUS(clq_matmul_host(d.weight, 2, CLQ_DTYPE_F32, d.x, NULL, y, wrong, NULL), CLQ_ERROR_SHAPE);
    clq_lora_destroy(wrong);
    TEST_OK(clq_lora_create(test_context(), 9, 64, &ad, 1, &wrong));
    EXPECT_STATUS(clq_matmul_host(d.weight, 2, CLQ_DTYPE_F32, d.x, NULL, y, wrong, NULL), CLQ_ERROR_SHAPE);
    clq_lora_destroy(wrong);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(y[i], 12345.0f, "Y written by a refused call");
    /* device buffers too small: X with K = 32 instead of 64 (mismatched K), Y, bias */
    cl_context cl = clq_context_cl_context(test_context());
    cl_int err;
    cl_mem x_small = clCreateBuffer(cl, CL_MEM_READ_WRITE, 2 * 32 * 4, NULL, &err);
    cl_mem x_ok = clCreateBuffer(cl, CL_MEM_READ_WRITE, 2 * 64 * 4, NULL, &err);
    cl_mem y_ok = clCreateBuffer(cl, CL_MEM_READ_WRITE, 2 * 8 * 4, NULL, &err);
    cl_mem y_small = clCreateBuffer(cl, CL_MEM_READ_WRITE, 2 * 8 * 2, NULL, &err);
    clq_matmul_args args = {2,    CLQ_DTYPE_F32, x_small, CLQ_DTYPE_F32,  y_ok,
                            NULL, NULL,          NULL,    CLQ_MATMUL_AUTO};
    EXPECT_STATUS(clq_matmul(d.weight, &args, 0, NULL, NULL), CLQ_ERROR_BUFFER_TOO_SMALL);
    args.x = x_ok;
    args.y = y_small;
    EXPECT_STATUS(clq_matmul(d.weight, &args, 0, NULL, NULL), CLQ_ERROR_BUFFER_TOO_SMALL);
    args.y = y_ok;
    args.bias = y_small; /* 32 bytes: bias needs 8 floats, fine; a 16-byte one is not */
    TEST_OK(clq_matmul(d.weight, &args, 0, NULL, NULL));
    /* Waited for: a process that exits while PoCL still compiles a queued
     * kernel can crash in LLVM's exit-time teardown. */
    cr_assert_eq(clFinish(clq_context_cl_queue(test_context())), CL_SUCCESS);
    cl_mem tiny = clCreateBuffer(cl, CL_MEM_READ_WRITE, 16, NULL, &err);
    args.bias = tiny;
    EXPECT_STATUS(clq_matmul(d.weight, &args, 0, NULL, NULL), CLQ_ERROR_BUFFER_TOO_SMALL);
    args.bias = NULL;
    args.kernel = (clq_matmul_kernel)9;
    EXPECT_STATUS(clq_matmul(d.weight, &args, 0, NULL, NULL), CLQ_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(clq_matmul(NULL, &args, 0, NULL, NULL), CLQ_ERROR_NULL_POINTER);
    clReleaseMemObject(x_small);
    clReleaseMemObject(x_ok);
    clReleaseMemObject(y_ok);
    clReleaseMemObject(y_small);
    clReleaseMemObject(tiny);
    /* adapter sets: rank 0, mixed dtypes, NULL arrays */
    clq_adapter_desc two[2] = {{4, 1.0f, 0, CLQ_DTYPE_F32, a, b}, {4, 1.0f, 0, CLQ_DTYPE_F16, a, b}};
    EXPECT_STATUS(clq_lora_create(test_context(), 8, 64, two, 2, &wrong), CLQ_ERROR_INVALID_ARGUMENT);
    two[0].rank = 0;
    EXPECT_STATUS(clq_lora_create(test_context(), 8, 64, two, 1, &wrong), CLQ_ERROR_SHAPE);
    two[0].rank = 4;
    two[0].b = NULL;
    EXPECT_STATUS(clq_lora_create(test_context(), 8, 64, two, 1, &wrong), CLQ_ERROR_NULL_POINTER);
    free_case(&c, &d);
}
