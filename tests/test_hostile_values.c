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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "clq_common.h"
#include "clq_ref.h"
#include "ggml_ref.h"
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
    cr_assert_eq(clq_fp32_to_fp16(ok / 127.0f), 0x7bff, "the largest q8 d is 65504");
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
 * precision reference (and torch, which reduces fp32 in double) takes it,
 * so the weight is the reference's bit for bit. */
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

/* The ggml block types store their scales as fp16 too: a block is refused
 * when a value ggml would store as fp16 is Inf (|v| >= 65520) or NaN, or a
 * sub-block scale is not finite (kernels/ggml_quantize.cl gives each rule).
 * One large value m among small ones, in row 2's second block: the largest
 * m that ggml's reference quantizer stores with finite fp16 values must
 * quantize on the device to ggml's bytes, the next float must be refused.
 * Both signs: a negative m reaches the fp16 min (q4_1, q5_1) or dmin
 * (q2_k, q4_k, q5_k) first. */
typedef struct ggml_limit {
    clq_format format;
    const char *name;
    size_t d_at;    /* byte offset of the fp16 d in the block */
    long second_at; /* of the fp16 m or dmin, or -1 */
} ggml_limit;

#define GGML_LIMIT(fmt, type, second)                                                                        \
    {                                                                                                        \
        CLQ_FORMAT_##fmt, #type, offsetof(clq_block_##type, d), second                                       \
    }
static const ggml_limit ggml_limits[] = {
    GGML_LIMIT(Q4_1, q4_1, (long)offsetof(clq_block_q4_1, m)),
    GGML_LIMIT(Q5_0, q5_0, -1),
    GGML_LIMIT(Q5_1, q5_1, (long)offsetof(clq_block_q5_1, m)),
    GGML_LIMIT(Q2_K, q2_k, (long)offsetof(clq_block_q2_k, dmin)),
    GGML_LIMIT(Q3_K, q3_k, -1),
    GGML_LIMIT(Q4_K, q4_k, (long)offsetof(clq_block_q4_k, dmin)),
    GGML_LIMIT(Q5_K, q5_k, (long)offsetof(clq_block_q5_k, dmin)),
    GGML_LIMIT(Q6_K, q6_k, -1),
    GGML_LIMIT(IQ4_NL, iq4_nl, -1),
    GGML_LIMIT(IQ4_XS, iq4_xs, -1),
};
#define GGML_ROWS 3
#define GGML_COLS 512

static int fp16_finite_at(const unsigned char *b, long at)
{
    return at < 0 || (b[at + 1] & 0x7c) != 0x7c;
}

/* Whether ggml's reference quantizer stores the block of x starting at
 * `block0`, with x[at] = v, with finite fp16 values. */
static int ggml_block_fits(const ggml_limit *g, const float *x, size_t block0, size_t at, float v)
{
    const ggml_ref_type *t = ggml_ref_find(g->name);
    float xb[256];
    unsigned char b[256];
    memcpy(xb, x + block0, t->block * sizeof *xb);
    xb[at - block0] = v;
    t->quantize(xb, b, t->block);
    return fp16_finite_at(b, (long)g->d_at) && fp16_finite_at(b, g->second_at);
}

static void expect_ggml_limit(const ggml_limit *g, float sign)
{
    const ggml_ref_type *t = ggml_ref_find(g->name);
    clq_weight_desc d = {g->format, t->block, GGML_ROWS, GGML_COLS, 0};
    float *x = small_matrix(GGML_ROWS, GGML_COLS);
    size_t block0 = 2 * GGML_COLS + t->block, at = block0 + 5;
    /* Bisection over the bit patterns of positive floats, from 1 (which
     * fits) to 1e11 (which does not, for every type). */
    float lo_f = 1.0f, hi_f = 1e11f;
    uint32_t lo, hi;
    memcpy(&lo, &lo_f, 4);
    memcpy(&hi, &hi_f, 4);
    cr_assert(ggml_block_fits(g, x, block0, at, sign * lo_f) &&
              !ggml_block_fits(g, x, block0, at, sign * hi_f));
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        float v;
        memcpy(&v, &mid, 4);
        if (ggml_block_fits(g, x, block0, at, sign * v))
            lo = mid;
        else
            hi = mid;
    }
    float ok, over;
    memcpy(&ok, &lo, 4);
    memcpy(&over, &hi, 4);
    ok *= sign;
    over *= sign;
    cr_assert_eq(over, nextafterf(ok, sign * INFINITY));

    x[at] = ok;
    expect_readable(&d, x, CLQ_LAYOUT_GGML);
    clq_weight *w = NULL;
    clq_external got;
    test_alloc_external(&d, CLQ_LAYOUT_GGML, &got);
    unsigned char *want = malloc(got.data_bytes);
    t->quantize(x, want, GGML_ROWS * GGML_COLS);
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof *x * GGML_ROWS * GGML_COLS,
                                     &w));
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_GGML, &got));
    cr_assert_eq(test_first_diff(got.data, want, got.data_bytes), -1, "%s at m = %a: not ggml's bytes",
                 g->name, (double)ok);
    clq_weight_destroy(w);
    ref_external_free(&got);
    free(want);

    x[at] = over;
    char where[64];
    snprintf(where, sizeof where, "row 2, columns %u..%u", t->block, 2 * t->block - 1);
    expect_overflow(&d, x, where);
    EXPECT_MESSAGE(g->name);
    free(x);
}

#define GGML_LIMIT_TEST(type, i)                                                                             \
    Test(ggml_scale_overflow, type##_fp16_limit)                                                             \
    {                                                                                                        \
        cr_assert_str_eq(ggml_limits[i].name, #type);                                                        \
        expect_ggml_limit(&ggml_limits[i], 1.0f);                                                            \
        expect_ggml_limit(&ggml_limits[i], -1.0f);                                                           \
    }
GGML_LIMIT_TEST(q4_1, 0)
GGML_LIMIT_TEST(q5_0, 1)
GGML_LIMIT_TEST(q5_1, 2)
GGML_LIMIT_TEST(q2_k, 3)
GGML_LIMIT_TEST(q3_k, 4)
GGML_LIMIT_TEST(q4_k, 5)
GGML_LIMIT_TEST(q5_k, 6)
GGML_LIMIT_TEST(q6_k, 7)
GGML_LIMIT_TEST(iq4_nl, 8)
GGML_LIMIT_TEST(iq4_xs, 9)

/* Values far past every limit, where the fits' fp32 sums of x³ overflow:
 * ggml's quantizers skip the NaN scale this gives (q3_k, q6_k, iq4_xs
 * store a block of small values; iq4_nl's code search meets a NaN), so
 * the fp16 check alone would pass them. Each must be refused. */
Test(ggml_scale_overflow, values_beyond_the_fits)
{
    const float huge[] = {1e13f, 1e20f, 3e38f, FLT_MAX};
    for (size_t i = 0; i < sizeof ggml_limits / sizeof ggml_limits[0]; i++) {
        const ggml_limit *g = &ggml_limits[i];
        const ggml_ref_type *t = ggml_ref_find(g->name);
        clq_weight_desc d = {g->format, t->block, GGML_ROWS, GGML_COLS, 0};
        char where[64];
        snprintf(where, sizeof where, "row 1, columns %u..%u", t->block, 2 * t->block - 1);
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++)
            for (int pattern = 0; pattern < 3; pattern++) {
                float *x = small_matrix(GGML_ROWS, GGML_COLS);
                float *b = x + GGML_COLS + t->block;
                if (pattern == 0) /* one value */
                    b[3] = huge[h];
                else if (pattern == 1) /* one each way */
                    b[3] = huge[h], b[7] = -huge[h];
                else /* a whole group of 16 or 32, alternating */
                    for (int j = 0; j < 16; j++)
                        b[j] = j % 2 ? -huge[h] : 0.7f * huge[h];
                expect_overflow(&d, x, where);
                free(x);
            }
    }
}

/* ------------------------------------------------------------------------ */
/* LoRA adapters holding NaN or Inf, or a scale that is not finite           */
/* ------------------------------------------------------------------------ */

#define LORA_N 16
#define LORA_K 32
#define LORA_R 2

static void expect_lora_status(const clq_adapter_desc *ad, size_t count, int want, const char *text)
{
    clq_lora *l = NULL;
    int got = clq_lora_create(test_context(), LORA_N, LORA_K, ad, count, &l);
    clq_lora_destroy(l);
    cr_assert_eq(got, want, "clq_lora_create gave %s, expected %s (%s)", clq_status_string(got),
                 clq_status_string(want), clq_last_error());
    if (text)
        EXPECT_MESSAGE(text);
}

Test(lora_values, nan_or_inf_in_a_or_b_is_named)
{
    float a[LORA_R * LORA_K], b[LORA_N * LORA_R];
    for (int i = 0; i < LORA_R * LORA_K; i++)
        a[i] = 0.01f * (float)(i % 7);
    for (int i = 0; i < LORA_N * LORA_R; i++)
        b[i] = -0.02f * (float)(i % 5);
    clq_adapter_desc ad[2] = {{LORA_R, 4.0f, 0, CLQ_DTYPE_F32, a, b}, {LORA_R, 4.0f, 0, CLQ_DTYPE_F32, a, b}};
    expect_lora_status(ad, 2, CLQ_SUCCESS, NULL);
    float a2[LORA_R * LORA_K], b2[LORA_N * LORA_R];
    memcpy(a2, a, sizeof a);
    memcpy(b2, b, sizeof b);
    ad[1].a = a2;
    ad[1].b = b2;
    a2[1 * LORA_K + 5] = NAN;
    expect_lora_status(ad, 2, CLQ_ERROR_NONFINITE_INPUT, "adapter 1: NaN or Inf in A at row 1, column 5");
    a2[1 * LORA_K + 5] = 0.0f;
    b2[7 * LORA_R + 1] = -INFINITY;
    expect_lora_status(ad, 2, CLQ_ERROR_NONFINITE_INPUT, "adapter 1: NaN or Inf in B at row 7, column 1");
    /* fp16: exponent all ones. */
    uint16_t ha[LORA_R * LORA_K] = {0}, hb[LORA_N * LORA_R] = {0};
    clq_adapter_desc hd = {LORA_R, 4.0f, 0, CLQ_DTYPE_F16, ha, hb};
    expect_lora_status(&hd, 1, CLQ_SUCCESS, NULL);
    hb[LORA_N * LORA_R - 1] = 0x7e00;
    expect_lora_status(&hd, 1, CLQ_ERROR_NONFINITE_INPUT, "adapter 0: NaN or Inf in B at row 15, column 1");
    hb[LORA_N * LORA_R - 1] = 0x7bff; /* 65504 is finite */
    ha[0] = 0xfc00;
    expect_lora_status(&hd, 1, CLQ_ERROR_NONFINITE_INPUT, "adapter 0: NaN or Inf in A at row 0, column 0");
}

Test(lora_values, scale_not_finite)
{
    float a[LORA_R * LORA_K] = {0}, b[LORA_N * LORA_R] = {0};
    clq_adapter_desc ad = {LORA_R, INFINITY, 0, CLQ_DTYPE_F32, a, b};
    expect_lora_status(&ad, 1, CLQ_ERROR_INVALID_ARGUMENT, "alpha is not finite");
    ad.alpha = NAN;
    ad.rslora = 1;
    expect_lora_status(&ad, 1, CLQ_ERROR_INVALID_ARGUMENT, "alpha is not finite");
    /* A finite alpha gives a finite alpha/r and alpha/sqrt(r) (r >= 1). */
    ad.alpha = FLT_MAX;
    expect_lora_status(&ad, 1, CLQ_SUCCESS, NULL);
    float scale = INFINITY;
    clq_lora *l = NULL;
    cr_assert_eq(clq_lora_create_scaled(test_context(), LORA_N, LORA_K, &ad, &scale, 1, &l),
                 CLQ_ERROR_INVALID_ARGUMENT);
    EXPECT_MESSAGE("scale is not finite");
}

/* A safetensors file from a header and its data, little-endian length. */
static unsigned char *st_file(const char *header, const void *data, size_t data_bytes, size_t *size)
{
    size_t h = strlen(header);
    *size = 8 + h + data_bytes;
    unsigned char *f = malloc(*size);
    for (int k = 0; k < 8; k++)
        f[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(f + 8, header, h);
    memcpy(f + 8 + h, data, data_bytes);
    return f;
}

/* PEFT lora_A / lora_B go through clq_lora_create_scaled, so through the
 * same check; lora_alpha beyond fp32 is refused when the layer is found. */
Test(lora_values, peft_tensors_and_alpha)
{
    static const char header[] =
        "{\"m.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,32],\"data_offsets\":[0,256]},"
        "\"m.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[16,2],\"data_offsets\":[256,384]}}";
    float v[LORA_R * LORA_K + LORA_N * LORA_R];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        v[i] = 0.125f;
    struct {
        int at;
        float value;
        const char *config;
        int want;
        const char *text;
    } cases[] = {
        {0, 0.125f, "{\"r\":2,\"lora_alpha\":4}", CLQ_SUCCESS, NULL},
        {33, NAN, "{\"r\":2,\"lora_alpha\":4}", CLQ_ERROR_NONFINITE_INPUT,
         "NaN or Inf in A at row 1, column 1"},
        {64 + 9, INFINITY, "{\"r\":2,\"lora_alpha\":4}", CLQ_ERROR_NONFINITE_INPUT,
         "NaN or Inf in B at row 4, column 1"},
        {0, 0.125f, "{\"r\":2,\"lora_alpha\":1e39}", CLQ_ERROR_BAD_DATA, "is beyond fp32"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float saved = v[cases[c].at];
        v[cases[c].at] = cases[c].value;
        size_t size;
        unsigned char *file = st_file(header, v, sizeof v, &size);
        clq_peft *p = NULL;
        TEST_OK(clq_peft_open_memory(cases[c].config, strlen(cases[c].config), file, size, &p));
        const clq_peft *set[1] = {p};
        clq_lora *l = NULL;
        int got = clq_peft_lora_create(test_context(), set, 1, "m", LORA_N, LORA_K, &l);
        cr_assert_eq(got, cases[c].want, "case %zu gave %s (%s)", c, clq_status_string(got),
                     clq_last_error());
        if (cases[c].text)
            EXPECT_MESSAGE(cases[c].text);
        clq_lora_destroy(l);
        clq_peft_close(p);
        free(file);
        v[cases[c].at] = saved;
    }
}

/* ------------------------------------------------------------------------ */
/* Device indices                                                            */
/* ------------------------------------------------------------------------ */

Test(device_selector, indices_beyond_unsigned_or_malformed_select_nothing)
{
    clq_device_info first;
    size_t count = 0;
    TEST_OK(clq_devices_list(&first, 1, &count));
    cr_assert_geq(count, 1);
    char sel[64];
    clq_device_info got;
    snprintf(sel, sizeof sel, "%u:%u", first.platform_index, first.device_index);
    TEST_OK(clq_device_select(sel, &got));
    cr_assert_eq(got.device, first.device);
    snprintf(sel, sizeof sel, "00%u:0%u", first.platform_index, first.device_index);
    TEST_OK(clq_device_select(sel, &got));
    cr_assert_eq(got.device, first.device);
    /* Each wrapped around or was read past its sign or space by %u. */
    const char *bad[] = {"%u:%llu", "%u:%llu0", "%llu:%u", "+%u:%u", " %u:%u", "%u: %u", "-0%u:%u", "%u:+%u"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int swap = strncmp(bad[k], "%llu", 4) == 0;
        if (swap)
            snprintf(sel, sizeof sel, bad[k], 4294967296ull + first.platform_index, first.device_index);
        else if (strstr(bad[k], "%llu"))
            snprintf(sel, sizeof sel, bad[k], first.platform_index, 4294967296ull + first.device_index);
        else
            snprintf(sel, sizeof sel, bad[k], first.platform_index, first.device_index);
        EXPECT_STATUS(clq_device_select(sel, &got), CLQ_ERROR_NO_DEVICE);
    }
    EXPECT_STATUS(clq_device_select("0:99999999999999999999999", &got), CLQ_ERROR_NO_DEVICE);
    /* The same through CLQ_DEVICE, which a context reads. */
    snprintf(sel, sizeof sel, "%u:%llu", first.platform_index, 4294967296ull + first.device_index);
    setenv("CLQ_DEVICE", sel, 1);
    EXPECT_STATUS(clq_device_select(NULL, &got), CLQ_ERROR_NO_DEVICE);
    EXPECT_MESSAGE("from CLQ_DEVICE");
    unsetenv("CLQ_DEVICE");
}

/* ------------------------------------------------------------------------ */
/* A safetensors header with very many entries                               */
/* ------------------------------------------------------------------------ */

/* n one-byte U8 tensors "t.<i>" whose data lies in reverse order of their
 * entries (tensor i at byte n-1-i), one metadata key per 1000 entries, in
 * one safetensors file. */
static unsigned char *many_entries(size_t n, size_t *size)
{
    size_t cap = 96 * n + 64, len = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{");
    for (size_t i = 0; i < n / 1000; i++)
        len += (size_t)snprintf(h + len, cap - len, "%s\"k%zu\":\"v%zu\"", i ? "," : "", i, i);
    len += (size_t)snprintf(h + len, cap - len, "}");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(h + len, cap - len,
                                ",\"t.%zu\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}", i,
                                n - 1 - i, n - i);
    len += (size_t)snprintf(h + len, cap - len, "}");
    cr_assert_lt(len, cap);
    unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[n - 1 - i] = (unsigned char)(i * 7);
    unsigned char *file = st_file(h, data, n, size);
    free(h);
    free(data);
    return file;
}

/* 200,000 entries (a 14 MB header): every tensor found at its place. Only
 * correctness is asserted; opening was quadratic in the entries (a search
 * through the header for each), and is linear now. */
Test(safetensors_header, many_entries_open_and_resolve)
{
    const size_t n = 200000;
    size_t size;
    unsigned char *file = many_entries(n, &size);
    clq_safetensors *st = NULL;
    TEST_OK(clq_safetensors_open_memory(file, size, &st));
    cr_assert_eq(clq_safetensors_tensor_count(st), n);
    cr_assert_eq(clq_safetensors_metadata_count(st), n / 1000);
    for (size_t i = 0; i < n; i += 997) {
        char name[32];
        snprintf(name, sizeof name, "t.%zu", i);
        size_t index;
        clq_safetensors_tensor t;
        TEST_OK(clq_safetensors_find_tensor(st, name, &index));
        TEST_OK(clq_safetensors_tensor_info(st, index, &t));
        cr_assert_str_eq(t.name, name);
        cr_assert(t.dtype == CLQ_SAFETENSORS_U8 && t.n_dims == 1 && t.dims[0] == 1 && t.size == 1);
        cr_assert_eq(t.offset, size - n + (n - 1 - i));
        cr_assert_eq(*(const unsigned char *)t.data, (unsigned char)(i * 7));
    }
    const char *value;
    TEST_OK(clq_safetensors_metadata_find(st, "k199", &value));
    cr_assert_str_eq(value, "v199");
    clq_safetensors_close(st);
    /* The messages still name the entry's place in the header. */
    char *last = strstr((char *)file + 8, "\"t.199999\"");
    memcpy(strstr(last, "U8"), "X8", 2);
    cr_assert_eq(clq_safetensors_open_memory(file, size, &st), CLQ_ERROR_BAD_DATA);
    char where[64];
    snprintf(where, sizeof where, "at offset %zu:", (size_t)(last - (char *)file));
    EXPECT_MESSAGE(where);
    EXPECT_MESSAGE("unknown or unsupported dtype 'X8'");
    free(file);
}
