/* Device quantization against the scalar C reference (tests/ref), for every
 * format, every block size from 16 to 4096, fp32 and fp16 input, on shapes
 * that fit no tile and rows that are all zero, hold one huge outlier, are
 * constant, negative-only or tiny. Quantization is deterministic, so the
 * comparison is bit-exact: no tolerance is involved. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_ref.h"
#include "support.h"

/* The external layout that holds a format at any block size, if one does. */
static int native_layout(const clq_weight_desc *d, clq_layout *layout)
{
    switch (d->format) {
    case CLQ_FORMAT_NF4:
    case CLQ_FORMAT_FP4:
    case CLQ_FORMAT_DYNAMIC8:
        *layout = CLQ_LAYOUT_BNB;
        return 1;
    case CLQ_FORMAT_Q4Z:
        *layout = CLQ_LAYOUT_ORT;
        return 1;
    default: /* ggml holds Q4/Q8 at block 32 only */
        *layout = CLQ_LAYOUT_GGML;
        return d->block == 32;
    }
}

static void compare_bytes(const char *what, const void *got, const void *want, size_t n,
                          const clq_weight_desc *d)
{
    long at = test_first_diff(got, want, n);
    cr_assert_eq(at, -1, "%s/%u %llux%llu dq=%d: %s differs at byte %ld", clq_format_name(d->format),
                 d->block, (unsigned long long)d->rows, (unsigned long long)d->cols, d->double_quant, what,
                 at);
}

/* Quantizes x on the device (from fp32, or from its fp16 copy h) and checks
 * the exported bytes and the dequantized values against the reference. */
static void check_against_reference_on(clq_context *ctx, const clq_weight_desc *d, const float *x,
                                       const uint16_t *h)
{
    size_t n = d->rows * d->cols;
    clq_weight *w = NULL;
    if (h)
        TEST_OK(clq_weight_quantize_host(ctx, d, CLQ_DTYPE_F16, h, n * 2, &w));
    else
        TEST_OK(clq_weight_quantize_host(ctx, d, CLQ_DTYPE_F32, x, n * 4, &w));
    ref_quant rq;
    cr_assert_eq(ref_quantize(d, x, &rq), 0);

    clq_layout layout;
    if (native_layout(d, &layout)) {
        clq_external want, got;
        cr_assert_eq(ref_pack(&rq, layout, &want), 0);
        test_alloc_external(d, layout, &got);
        TEST_OK(clq_weight_export(w, layout, &got));
        compare_bytes("data", got.data, want.data, want.data_bytes, d);
        compare_bytes("scales", got.scales, want.scales, want.scales_bytes, d);
        compare_bytes("zero points", got.zero_points, want.zero_points, want.zero_points_bytes, d);
        compare_bytes("nested absmax", got.nested_absmax, want.nested_absmax, want.nested_absmax_bytes, d);
        compare_bytes("offset", &got.offset, &want.offset, sizeof got.offset, d);
        ref_external_free(&got);
        ref_external_free(&want);
    }
    float *y = malloc(n * sizeof *y), *ry = malloc(n * sizeof *ry);
    ref_dequantize(&rq, ry);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    compare_bytes("dequantized values", y, ry, n * sizeof *y, d);
    free(y);
    free(ry);
    ref_quant_free(&rq);
    clq_weight_destroy(w);
}

static void check_against_reference(const clq_weight_desc *d, const float *x, const uint16_t *h)
{
    check_against_reference_on(test_context(), d, x, h);
}

static void check_format(clq_format format, int double_quant, uint64_t seed)
{
    clq_rng rng = {seed};
    for (uint32_t block = 16; block <= 4096; block *= 2) {
        /* Odd row counts, so no tile of rows divides N. */
        clq_weight_desc d = {format, block, 3 + 2 * (clq_rng_next(&rng) % 9),
                             block * (1 + clq_rng_next(&rng) % 3), double_quant};
        size_t n = d.rows * d.cols;
        float *x = malloc(n * sizeof *x), *xh = malloc(n * sizeof *xh);
        uint16_t *h = malloc(n * sizeof *h);
        test_fill_matrix(&rng, x, d.rows, d.cols);
        check_against_reference(&d, x, NULL);
        /* fp16 input: the reference sees the same values widened to fp32. */
        for (size_t i = 0; i < n; i++) {
            h[i] = clq_fp32_to_fp16(x[i]);
            xh[i] = clq_fp16_to_fp32(h[i]);
        }
        check_against_reference(&d, xh, h);
        free(x);
        free(xh);
        free(h);
    }
}

Test(quantize, q8)
{
    check_format(CLQ_FORMAT_Q8, 0, 1);
}
Test(quantize, q4)
{
    check_format(CLQ_FORMAT_Q4, 0, 2);
}
Test(quantize, q4z)
{
    check_format(CLQ_FORMAT_Q4Z, 0, 3);
}
Test(quantize, nf4)
{
    check_format(CLQ_FORMAT_NF4, 0, 4);
}
Test(quantize, fp4)
{
    check_format(CLQ_FORMAT_FP4, 0, 5);
}
Test(quantize, dynamic8)
{
    check_format(CLQ_FORMAT_DYNAMIC8, 0, 6);
}
Test(quantize, nf4_double_quant)
{
    check_format(CLQ_FORMAT_NF4, 1, 7);
}
Test(quantize, fp4_double_quant)
{
    check_format(CLQ_FORMAT_FP4, 1, 8);
}

/* Every value where a 4-bit code lookup can go wrong: each midpoint between
 * neighbouring codes (bitsandbytes sends it to the lower code), the floats
 * either side of it, and the codes themselves, in blocks whose absmax is 1,
 * so that x·(1/absmax) is x exactly. Then a block whose absmax is subnormal:
 * 1/absmax overflows to inf, bitsandbytes' clamp turns ±inf into ±1 and
 * 0·inf is NaN, which no midpoint lies below; and one whose absmax is near
 * FLT_MAX, where 1/absmax is subnormal. */
static void check_code_midpoints(clq_format format, uint64_t seed)
{
    const float *code = ref_code(format);
    float sorted[16];
    for (int i = 0; i < 16; i++) {
        int k = i;
        for (; k > 0 && code[i] < sorted[k - 1]; k--)
            sorted[k] = sorted[k - 1];
        sorted[k] = code[i];
    }
    float values[15 * 3 + 16];
    size_t n = 0;
    for (int i = 1; i < 16; i++) {
        float mid = (sorted[i - 1] + sorted[i]) / 2.0f;
        values[n++] = nextafterf(mid, -INFINITY);
        values[n++] = mid;
        values[n++] = nextafterf(mid, INFINITY);
    }
    for (int i = 0; i < 16; i++)
        values[n++] = sorted[i];

    clq_weight_desc d = {format, 16, 3, 16 * 8, 0};
    float *x = malloc(d.rows * d.cols * sizeof *x);
    clq_rng rng = {seed};
    test_fill_matrix(&rng, x, d.rows, d.cols);
    /* 15 values and a ±1 per block, the ±1 in a different place each time */
    size_t b = 0;
    for (size_t v = 0; v < n; b++)
        for (size_t j = 0; j < 16; j++)
            x[b * 16 + j] = j == b % 16 ? (b % 2 ? -1.0f : 1.0f) : v < n ? values[v++] : 0.0f;
    static const float subnormal[16] = {1e-40f, -3e-40f, 0.0f, 2e-41f, -0.0f, 0x1p-149f, -0x1p-149f, 1e-39f};
    static const float huge[16] = {3e38f, -1e38f, 1.0f, 0.0f, -3.4e38f, 1e30f, 2e38f, -2.9e38f, 0x1p-149f};
    memcpy(x + b++ * 16, subnormal, sizeof subnormal);
    memcpy(x + b++ * 16, huge, sizeof huge);
    cr_assert_leq(b * 16, d.rows * d.cols);
    check_against_reference(&d, x, NULL);
    free(x);
}

Test(quantize, nf4_code_midpoints)
{
    check_code_midpoints(CLQ_FORMAT_NF4, 12);
}
Test(quantize, fp4_code_midpoints)
{
    check_code_midpoints(CLQ_FORMAT_FP4, 13);
}

/* ggml's Q4_0 scale is -m/8 where m is the first element of largest
 * magnitude, with its sign: blocks of 64 holding the largest magnitude
 * twice, with opposite signs, at positions in the same 16-element lane or
 * in different lanes, before or after one another. */
Test(quantize, q4_first_of_largest)
{
    static const int at[][2] = {{3, 19}, {19, 3}, {0, 63}, {63, 0}, {5, 6}, {40, 17}, {17, 40}, {33, 49}};
    size_t nrows = sizeof at / sizeof at[0];
    clq_weight_desc d = {CLQ_FORMAT_Q4, 64, nrows, 64, 0};
    float *x = malloc(d.rows * d.cols * sizeof *x);
    clq_rng rng = {14};
    for (size_t r = 0; r < nrows; r++) {
        for (size_t j = 0; j < 64; j++)
            x[r * 64 + j] = clq_rng_normal(&rng, 0.1f);
        x[r * 64 + at[r][0]] = r % 2 ? 2.5f : -2.5f;
        x[r * 64 + at[r][1]] = r % 2 ? -2.5f : 2.5f;
    }
    check_against_reference(&d, x, NULL);
    free(x);
}

/* Several groups of 256 absmax values and a partial last group. */
Test(quantize, double_quant_many_groups)
{
    clq_rng rng = {9};
    clq_weight_desc d = {CLQ_FORMAT_NF4, 16, 41, 16 * 31, 1}; /* 1271 blocks: 4 full groups + 247 */
    float *x = malloc(d.rows * d.cols * sizeof *x);
    test_fill_matrix(&rng, x, d.rows, d.cols);
    check_against_reference(&d, x, NULL);
    free(x);
}

/* A weight shaped like a real layer row count, one row of K = 4096. */
Test(quantize, single_row_and_wide)
{
    clq_rng rng = {10};
    clq_weight_desc d = {CLQ_FORMAT_Q4, 32, 1, 4096, 0};
    float x[4096];
    test_fill_matrix(&rng, x, 1, 4096);
    check_against_reference(&d, x, NULL);
}

/* A work-item quantizes a span of quant_span elements of a row (tuning
 * parameter; a CPU's default is 1024): rows of 133 blocks split into spans
 * with a short last one, and a span of one block (a GPU's default), for
 * every format. */
Test(quantize, row_spans)
{
    static const unsigned spans[] = {16, 64, 1024};
    static const clq_format formats[] = {CLQ_FORMAT_Q8,  CLQ_FORMAT_Q4,  CLQ_FORMAT_Q4Z,
                                         CLQ_FORMAT_NF4, CLQ_FORMAT_FP4, CLQ_FORMAT_DYNAMIC8};
    clq_rng rng = {11};
    for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++) {
        char tuning[32];
        snprintf(tuning, sizeof tuning, "quant_span=%u", spans[s]);
        clq_context_options o;
        clq_context_options_init(&o);
        o.tuning = tuning;
        clq_context *ctx = NULL;
        TEST_OK(clq_context_create(&o, &ctx));
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
            clq_weight_desc d = {formats[f], 16, 5, 16 * 133, formats[f] == CLQ_FORMAT_NF4};
            float *x = malloc(d.rows * d.cols * sizeof *x);
            test_fill_matrix(&rng, x, d.rows, d.cols);
            check_against_reference_on(ctx, &d, x, NULL);
            free(x);
        }
        clq_context_destroy(ctx);
    }
}
