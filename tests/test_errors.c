/* Bad input gets a named error, a message, and changes nothing: no weight is
 * created, no output pointer or buffer is written. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define SENTINEL ((clq_weight *)0x1234)

/* Asserts a status and that a message names the problem. */
#define EXPECT_STATUS(expr, want)                                                                            \
    do {                                                                                                     \
        int got_ = (expr);                                                                                   \
        cr_assert_eq(got_, (want), "%s gave %s, expected %s (%s)", #expr, clq_status_string(got_),           \
                     clq_status_string(want), clq_last_error());                                             \
        cr_assert_neq(clq_last_error()[0], '\0', "no message for %s", #expr);                                \
    } while (0)

Test(errors, status_strings_name_every_code)
{
    cr_assert_str_eq(clq_status_string(CLQ_SUCCESS), "CLQ_SUCCESS: success");
    cr_assert(strstr(clq_status_string(CLQ_ERROR_SHAPE), "CLQ_ERROR_SHAPE") != NULL);
    cr_assert_str_eq(clq_status_string(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    cr_assert_str_eq(clq_status_string(CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS");
    cr_assert_str_eq(clq_status_string(-424242), "unknown status");
}

Test(errors, null_handles_and_pointers)
{
    clq_weight *w = SENTINEL;
    clq_weight_desc d = {CLQ_FORMAT_NF4, 64, 4, 64, 0};
    float x[256] = {0};
    EXPECT_STATUS(clq_weight_quantize_host(NULL, &d, CLQ_DTYPE_F32, x, sizeof x, &w), CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), NULL, CLQ_DTYPE_F32, x, sizeof x, &w),
                  CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, NULL, sizeof x, &w),
                  CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof x, NULL),
                  CLQ_ERROR_NULL_POINTER);
    cr_assert_eq(w, SENTINEL, "output written on failure");
    EXPECT_STATUS(clq_weight_dequantize_host(NULL, CLQ_DTYPE_F32, x, sizeof x), CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_weight_export(NULL, CLQ_LAYOUT_BNB, &(clq_external){0}), CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_weight_import(test_context(), &d, CLQ_LAYOUT_BNB, NULL, &w), CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_context_create(NULL, NULL), CLQ_ERROR_NULL_POINTER);
    EXPECT_STATUS(clq_context_wrap(NULL, NULL, NULL, NULL, NULL), CLQ_ERROR_NULL_POINTER);
    clq_weight_destroy(NULL);
    clq_context_destroy(NULL);
}

Test(errors, bad_descriptions)
{
    clq_weight *w = SENTINEL;
    float x[4096] = {0};
    struct {
        clq_weight_desc d;
        int want;
    } cases[] = {
        {{CLQ_FORMAT_NF4, 64, 4, 96, 0}, CLQ_ERROR_SHAPE},                /* K not a multiple of the block */
        {{CLQ_FORMAT_NF4, 48, 4, 96, 0}, CLQ_ERROR_UNSUPPORTED_BLOCK},    /* not a power of two */
        {{CLQ_FORMAT_Q8, 8, 4, 64, 0}, CLQ_ERROR_UNSUPPORTED_BLOCK},      /* below 16 */
        {{CLQ_FORMAT_Q8, 8192, 1, 8192, 0}, CLQ_ERROR_UNSUPPORTED_BLOCK}, /* above 4096 */
        {{(clq_format)42, 64, 4, 64, 0}, CLQ_ERROR_UNSUPPORTED_FORMAT},
        {{CLQ_FORMAT_Q4, 32, 4, 64, 1}, CLQ_ERROR_UNSUPPORTED_FORMAT}, /* double quant is NF4/FP4 only */
        {{CLQ_FORMAT_Q4, 32, 0, 64, 0}, CLQ_ERROR_SHAPE},              /* no rows */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        EXPECT_STATUS(clq_weight_quantize_host(test_context(), &cases[i].d, CLQ_DTYPE_F32, x, sizeof x, &w),
                      cases[i].want);
    cr_assert_eq(w, SENTINEL);
    clq_weight_desc ok = {CLQ_FORMAT_Q4, 32, 4, 64, 0};
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &ok, (clq_dtype)7, x, sizeof x, &w),
                  CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(w, SENTINEL);
}

Test(errors, non_finite_input_names_the_block)
{
    clq_weight *w = SENTINEL;
    clq_weight_desc d = {CLQ_FORMAT_NF4, 64, 4, 128, 0};
    float x[512];
    for (int i = 0; i < 512; i++)
        x[i] = 0.01f * (float)(i % 17);
    x[2 * 128 + 70] = NAN;
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof x, &w),
                  CLQ_ERROR_NONFINITE_INPUT);
    cr_assert(strstr(clq_last_error(), "row 2, columns 64..127") != NULL, "%s", clq_last_error());
    x[2 * 128 + 70] = 1.0f;
    x[3 * 128 + 1] = -INFINITY;
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof x, &w),
                  CLQ_ERROR_NONFINITE_INPUT);
    cr_assert_eq(w, SENTINEL);
    /* fp16 input: 0x7c00 is +Inf. */
    uint16_t h[512] = {0};
    h[5] = 0x7c00;
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F16, h, sizeof h, &w),
                  CLQ_ERROR_NONFINITE_INPUT);
    cr_assert_eq(w, SENTINEL);
}

Test(errors, buffers_too_small)
{
    clq_weight *w = SENTINEL;
    clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 4, 64, 0};
    float x[256] = {0}, y[256];
    EXPECT_STATUS(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof x - 4, &w),
                  CLQ_ERROR_BUFFER_TOO_SMALL);
    cr_assert_eq(w, SENTINEL);
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, sizeof x, &w));
    for (int i = 0; i < 256; i++)
        y[i] = 42.0f;
    EXPECT_STATUS(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y - 1), CLQ_ERROR_BUFFER_TOO_SMALL);
    cr_assert_eq(y[0], 42.0f, "destination written on failure");
    /* Device buffers too small for quantize and dequantize. */
    cl_int err;
    cl_mem small = clCreateBuffer(clq_context_cl_context(test_context()), CL_MEM_READ_WRITE, 100, NULL, &err);
    clq_weight *w2 = SENTINEL;
    EXPECT_STATUS(clq_weight_quantize(test_context(), &d, CLQ_DTYPE_F32, small, 0, NULL, &w2),
                  CLQ_ERROR_BUFFER_TOO_SMALL);
    cr_assert_eq(w2, SENTINEL);
    EXPECT_STATUS(clq_weight_dequantize(w, CLQ_DTYPE_F16, small, 0, NULL, NULL), CLQ_ERROR_BUFFER_TOO_SMALL);
    clReleaseMemObject(small);
    /* Export arrays too small, or missing. */
    clq_external e;
    TEST_OK(clq_external_sizes(&d, CLQ_LAYOUT_GGML, &e));
    unsigned char *data = calloc(1, e.data_bytes);
    e.data = data;
    e.data_bytes -= 1;
    EXPECT_STATUS(clq_weight_export(w, CLQ_LAYOUT_GGML, &e), CLQ_ERROR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < e.data_bytes; i++)
        cr_assert_eq(data[i], 0, "export wrote on failure");
    e.data = NULL;
    EXPECT_STATUS(clq_weight_export(w, CLQ_LAYOUT_GGML, &e), CLQ_ERROR_NULL_POINTER);
    free(data);
    clq_weight_destroy(w);
}

Test(errors, layouts_that_cannot_hold_a_format)
{
    clq_external e;
    clq_weight_desc nf4 = {CLQ_FORMAT_NF4, 64, 2, 64, 0}, q4 = {CLQ_FORMAT_Q4, 64, 2, 64, 0};
    EXPECT_STATUS(clq_external_sizes(&nf4, CLQ_LAYOUT_GGML, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    EXPECT_STATUS(clq_external_sizes(&q4, CLQ_LAYOUT_GGML, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT); /* block 64 */
    EXPECT_STATUS(clq_external_sizes(&q4, CLQ_LAYOUT_BNB, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    EXPECT_STATUS(clq_external_sizes(&nf4, CLQ_LAYOUT_ORT, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    EXPECT_STATUS(clq_external_sizes(&nf4, (clq_layout)9, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    clq_format f;
    EXPECT_STATUS(clq_format_from_name("nf5", &f), CLQ_ERROR_UNSUPPORTED_FORMAT);
}

Test(errors, import_rejects_non_finite_scales)
{
    clq_weight_desc d = {CLQ_FORMAT_NF4, 16, 1, 32, 0};
    unsigned char data[16] = {0};
    float absmax[2] = {1.0f, NAN};
    clq_external e = {.data = data, .data_bytes = 16, .scales = absmax, .scales_bytes = 8};
    clq_weight *w = SENTINEL;
    EXPECT_STATUS(clq_weight_import(test_context(), &d, CLQ_LAYOUT_BNB, &e, &w), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "index 1") != NULL, "%s", clq_last_error());
    unsigned char block[18] = {0x00, 0x7c}; /* fp16 +Inf scale */
    clq_weight_desc q4 = {CLQ_FORMAT_Q4, 32, 1, 32, 0};
    clq_external g = {.data = block, .data_bytes = sizeof block};
    EXPECT_STATUS(clq_weight_import(test_context(), &q4, CLQ_LAYOUT_GGML, &g, &w), CLQ_ERROR_BAD_DATA);
    cr_assert_eq(w, SENTINEL);
}

Test(errors, device_selector_that_matches_nothing)
{
    clq_context_options o;
    clq_context_options_init(&o);
    o.device = "no-such-device-anywhere";
    clq_context *ctx = (clq_context *)0x1;
    EXPECT_STATUS(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE);
    cr_assert_eq(ctx, (clq_context *)0x1);
    o.device = "99:99";
    EXPECT_STATUS(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE);
}

Test(errors, broken_kernel_hands_back_its_build_log)
{
    char dir[] = "/tmp/clq-kernels-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    const char *files[] = {"clq_common.h", "quantize.cl", "dequant.cl"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "w");
        fputs(i == 1 ? "kernel void broken(global float *x) { x[0] = undefined_name; }\n" : "\n", f);
        fclose(f);
    }
    clq_context_options o;
    clq_context_options_init(&o);
    o.kernel_dir = dir;
    o.program_cache = 0;
    clq_context *ctx = NULL;
    TEST_OK(clq_context_create(&o, &ctx));
    clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 1, 32, 0};
    float x[32] = {0};
    clq_weight *w = SENTINEL;
    EXPECT_STATUS(clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, x, sizeof x, &w), CLQ_ERROR_BUILD_FAILED);
    cr_assert_eq(w, SENTINEL);
    cr_assert(strstr(clq_last_build_log(), "undefined_name") != NULL, "build log: %s", clq_last_build_log());
    clq_context_destroy(ctx);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    remove(dir);
}
