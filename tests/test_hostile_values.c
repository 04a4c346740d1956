/*
 * Values a careless or hostile caller hands clq that are not malformed but
 * still cannot be represented: finite inputs that overflow a block's scale,
 * LoRA adapters holding NaN or Inf, device indices beyond their type, and a
 * safetensors header with a very large number of entries. Each is a named
 * error, or (the header) opens in time linear in its size; none gives a
 * silently wrong result.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_ref.h"
#include "support.h"

#define SENTINEL ((clq_weight *)0x1234)

#define EXPECT_STATUS(expr, want)                                                                            \
    do {                                                                                                     \
        int got_ = (expr);                                                                                   \
        cr_assert_eq(got_, (want), "%s gave %s, expected %s (%s)", #expr, clq_status_string(got_),           \
                     clq_status_string(want), clq_last_error());                                             \
    } while (0)

#define EXPECT_MESSAGE(text) cr_assert(strstr(clq_last_error(), (text)) != NULL, "%s", clq_last_error())

/* ------------------------------------------------------------------------ */
/* Finite inputs whose block scale overflows                                 */
/* ------------------------------------------------------------------------ */

/* rows × cols of small values (an all-zero block would do as well). */
static float *small_matrix(uint64_t rows, uint64_t cols)
{
    float *x = malloc(rows * cols * sizeof *x);
    for (uint64_t i = 0; i < rows * cols; i++)
        x[i] = 0.001f * (float)(i % 23) - 0.01f;
    return x;
}

/* Quantizes x, which must succeed, and checks what clq promises of every
 * weight it makes: it dequantizes to finite values, and it can be exported
 * and imported again (import refuses non-finite scales) to the same values. */
static void expect_readable(const clq_weight_desc *d, const float *x, clq_layout layout)
{
    clq_weight *w = NULL, *back = NULL;
    TEST_OK(clq_weight_quantize_host(test_context(), d, CLQ_DTYPE_F32, x, d->rows * d->cols * 4, &w));
    size_t n = d->rows * d->cols;
    float *y = malloc(n * sizeof *y), *y2 = malloc(n * sizeof *y2);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    for (size_t i = 0; i < n; i++)
        cr_assert(isfinite(y[i]), "element %zu dequantizes to %g", i, (double)y[i]);
    clq_external e;
    test_alloc_external(d, layout, &e);
    TEST_OK(clq_weight_export(w, layout, &e));
    TEST_OK(clq_weight_import(test_context(), d, layout, &e, &back));
    TEST_OK(clq_weight_dequantize_host(back, CLQ_DTYPE_F32, y2, n * sizeof *y2));
    cr_assert_eq(test_first_diff(y, y2, n * sizeof *y), -1, "the imported weight differs");
    ref_external_free(&e);
    clq_weight_destroy(w);
    clq_weight_destroy(back);
    free(y);
    free(y2);
}

static void expect_overflow(const clq_weight_desc *d, const float *x, const char *where)
{
    clq_weight *w = SENTINEL;
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), d, CLQ_DTYPE_F32, x, d->rows * d->cols * 4, &w),
                  CLQ_ERROR_SCALE_OVERFLOW);
    EXPECT_MESSAGE(where);
    cr_assert_eq(w, SENTINEL, "a weight was handed out");
}

/* The largest float v > 0 with fits(v), searched down from start. */
static float largest_fitting(float start, int (*fits)(float))
{
    float v = start;
    while (!fits(v))
        v = nextafterf(v, 0.0f);
    cr_assert(!fits(nextafterf(v, INFINITY)), "not the boundary");
    return v;
}

/* ggml's d = absmax/127 (Q8) and m/-8 (Q4) are stored as fp16: finite below
 * 65520, where round-to-nearest-even reaches Inf. */
static int q8_fits(float amax)
{
    return amax / 127.0f < 65520.0f;
}
static int q4_fits(float m)
{
    return fabsf(m / -8.0f) < 65520.0f;
}

Test(scale_overflow, q8_fp16_scale)
{
    clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 4, 128, 0};
    float *x = small_matrix(4, 128);
    float ok = largest_fitting(127.0f * 65520.0f, q8_fits);
    cr_assert_eq(ref_fp32_to_fp16(ok / 127.0f), 0x7bff, "the largest q8 d is 65504");
    x[1 * 128 + 40] = ok;
    x[2 * 128 + 3] = -ok;
    expect_readable(&d, x, CLQ_LAYOUT_GGML);
    x[2 * 128 + 3] = -nextafterf(ok, INFINITY);
    expect_overflow(&d, x, "row 2, columns 0..31");
    x[2 * 128 + 3] = 0.0f;
    x[1 * 128 + 40] = 1e7f; /* the case: one value of 1e7 */
    expect_overflow(&d, x, "row 1, columns 32..63");
    cr_assert(strstr(clq_last_error(), "q8") != NULL, "%s", clq_last_error());
    free(x);
}

Test(scale_overflow, q4_fp16_scale)
{
    clq_weight_desc d = {CLQ_FORMAT_Q4, 32, 4, 128, 0};
    float *x = small_matrix(4, 128);
    float ok = largest_fitting(8.0f * 65520.0f, q4_fits);
    x[3 * 128 + 100] = -ok; /* m keeps its sign: d = +65504 */
    x[0] = ok;
    expect_readable(&d, x, CLQ_LAYOUT_GGML);
    x[0] = nextafterf(ok, INFINITY);
    expect_overflow(&d, x, "row 0, columns 0..31");
    x[0] = 0.0f;
    x[3 * 128 + 100] = -1e7f;
    expect_overflow(&d, x, "row 3, columns 96..127");
    /* fp16 input can never overflow either scale: 65504/127, 65504/8. */
    clq_weight *w = NULL;
    uint16_t h[4 * 128] = {0};
    h[7] = 0x7bff;
    h[300] = 0xfbff;
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F16, h, sizeof h, &w));
    clq_weight_destroy(w);
    free(x);
}

Test(scale_overflow, q4z_range)
{
    clq_weight_desc d = {CLQ_FORMAT_Q4Z, 32, 4, 128, 0};
    float *x = small_matrix(4, 128);
    x[2 * 128 + 64] = 3e38f; /* max - min = 3e38: s = 2e37 */
    expect_readable(&d, x, CLQ_LAYOUT_ORT);
    x[2 * 128 + 65] = -3e38f; /* max - min overflows */
    expect_overflow(&d, x, "row 2, columns 64..95");
    free(x);
}

/* The case: a few absmaxes of 2e38, whose fp32 sum overflows, made
 * every value NaN. The mean is now that of the exact sum, as the double-
 * precision reference computes it, so the result is bitsandbytes' bit for
 * bit (whose fp32 mean overflows there). */
Test(scale_overflow, double_quant_mean_of_huge_absmaxes)
{
    clq_weight_desc d = {CLQ_FORMAT_NF4, 64, 4, 128, 1};
    float *x = small_matrix(4, 128);
    x[5] = 2e38f;
    x[200] = -2e38f;
    x[300] = 3e38f;
    x[400] = FLT_MAX;
    expect_readable(&d, x, CLQ_LAYOUT_BNB);
    ref_quant rq;
    cr_assert_eq(ref_quantize(&d, x, &rq), 0);
    clq_external want, got;
    cr_assert_eq(ref_pack(&rq, CLQ_LAYOUT_BNB, &want), 0);
    test_alloc_external(&d, CLQ_LAYOUT_BNB, &got);
    clq_weight *w = NULL;
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, 4 * 128 * 4, &w));
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_BNB, &got));
    cr_assert(isfinite(got.offset) && got.offset > 1e38f, "offset %g", (double)got.offset);
    cr_assert_eq(memcmp(&got.offset, &want.offset, 4), 0, "offset %a, reference %a", (double)got.offset,
                 (double)want.offset);
    cr_assert_eq(test_first_diff(got.data, want.data, want.data_bytes), -1);
    cr_assert_eq(test_first_diff(got.scales, want.scales, want.scales_bytes), -1);
    cr_assert_eq(test_first_diff(got.nested_absmax, want.nested_absmax, want.nested_absmax_bytes), -1);
    clq_weight_destroy(w);
    ref_external_free(&got);
    ref_external_free(&want);
    ref_quant_free(&rq);
    free(x);
}

/* One block's absmax at FLT_MAX, seven at 0.09·FLT_MAX: FLT_MAX - offset
 * rounds up, so the code 1.0 gives amax2 + offset past FLT_MAX. */
Test(scale_overflow, double_quant_absmax_back_beyond_fp32)
{
    clq_weight_desc d = {CLQ_FORMAT_NF4, 64, 4, 128, 1};
    float *x = calloc(4 * 128, sizeof *x);
    for (int b = 0; b < 8; b++)
        x[b * 64 + 9] = b == 5 ? FLT_MAX : 0.09f * FLT_MAX;
    expect_overflow(&d, x, "row 2, columns 64..127");
    x[5 * 64 + 9] = 0.5f * FLT_MAX;
    expect_readable(&d, x, CLQ_LAYOUT_BNB);
    free(x);
}
