/* Round trips through the external layouts and the 4-bit pack/unpack
 * kernels: quantize -> export -> import -> dequantize gives the same values,
 * and a second export gives the same bytes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "clq_ref.h"
#include "support.h"

static void round_trip(clq_format format, uint32_t block, int double_quant, clq_layout layout, uint64_t seed)
{
    clq_rng rng = {seed};
    clq_weight_desc d = {format, block, 13, block * 5, double_quant};
    size_t n = d.rows * d.cols;
    float *x = malloc(n * 4), *y1 = malloc(n * 4), *y2 = malloc(n * 4);
    test_fill_matrix(&rng, x, d.rows, d.cols);
    clq_context *ctx = test_context();
    clq_weight *w = NULL, *back = NULL;
    TEST_OK(clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, x, n * 4, &w));
    clq_external e1, e2;
    test_alloc_external(&d, layout, &e1);
    test_alloc_external(&d, layout, &e2);
    TEST_OK(clq_weight_export(w, layout, &e1));
    TEST_OK(clq_weight_import(ctx, &d, layout, &e1, &back));
    TEST_OK(clq_weight_export(back, layout, &e2));
    cr_assert_eq(test_first_diff(e1.data, e2.data, e1.data_bytes), -1, "data changed in a round trip");
    cr_assert_eq(test_first_diff(e1.scales, e2.scales, e1.scales_bytes), -1, "scales changed");
    cr_assert_eq(test_first_diff(e1.zero_points, e2.zero_points, e1.zero_points_bytes), -1, "zeros changed");
    cr_assert_eq(test_first_diff(e1.nested_absmax, e2.nested_absmax, e1.nested_absmax_bytes), -1);
    cr_assert_eq(memcmp(&e1.offset, &e2.offset, 4), 0);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y1, n * 4));
    TEST_OK(clq_weight_dequantize_host(back, CLQ_DTYPE_F32, y2, n * 4));
    cr_assert_eq(test_first_diff(y1, y2, n * 4), -1, "dequantized values changed in a round trip");
    ref_external_free(&e1);
    ref_external_free(&e2);
    clq_weight_destroy(w);
    clq_weight_destroy(back);
    free(x);
    free(y1);
    free(y2);
}

Test(layouts, ggml_q4_0)
{
    round_trip(CLQ_FORMAT_Q4, 32, 0, CLQ_LAYOUT_GGML, 11);
}
Test(layouts, ggml_q8_0)
{
    round_trip(CLQ_FORMAT_Q8, 32, 0, CLQ_LAYOUT_GGML, 12);
}
Test(layouts, bnb_nf4)
{
    round_trip(CLQ_FORMAT_NF4, 64, 0, CLQ_LAYOUT_BNB, 13);
}
Test(layouts, bnb_fp4_double_quant)
{
    round_trip(CLQ_FORMAT_FP4, 128, 1, CLQ_LAYOUT_BNB, 14);
}
Test(layouts, bnb_dynamic8)
{
    round_trip(CLQ_FORMAT_DYNAMIC8, 256, 0, CLQ_LAYOUT_BNB, 15);
}
/* 5 blocks per row: an odd count, so each row's zero points end in a
 * padding nibble. */
Test(layouts, ort_q4z_odd_blocks)
{
    round_trip(CLQ_FORMAT_Q4Z, 32, 0, CLQ_LAYOUT_ORT, 16);
}
Test(layouts, ort_q4z_large_block)
{
    round_trip(CLQ_FORMAT_Q4Z, 4096, 0, CLQ_LAYOUT_ORT, 17);
}

/* Imported bytes that were never produced by clq (every nibble and byte
 * value) survive import -> export unchanged in every layout. */
static void arbitrary_bytes(clq_format format, clq_layout layout, int double_quant)
{
    clq_weight_desc d = {format, 32, 6, 128, double_quant};
    clq_external e, out;
    test_alloc_external(&d, layout, &e);
    test_alloc_external(&d, layout, &out);
    unsigned char *data = e.data;
    for (size_t i = 0; i < e.data_bytes; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    float *s = e.scales;
    for (size_t i = 0;
         !double_quant && format != CLQ_FORMAT_Q4 && format != CLQ_FORMAT_Q8 && i < e.scales_bytes / 4; i++)
        s[i] = 0.01f * (float)(i + 1);
    if (format == CLQ_FORMAT_Q4 || format == CLQ_FORMAT_Q8) /* fp16 inside the blocks: keep them finite */
        for (size_t g = 0; g < e.data_bytes; g += format == CLQ_FORMAT_Q4 ? 18 : 34)
            data[g + 1] &= 0x3b;
    if (double_quant) {
        memset(e.scales, 7, e.scales_bytes);
        ((float *)e.nested_absmax)[0] = 0.5f;
        memcpy(e.nested_code, ref_code(CLQ_FORMAT_DYNAMIC8), 1024);
        e.offset = 0.25f;
    }
    if (format == CLQ_FORMAT_DYNAMIC8)
        memcpy(e.nested_code, ref_code(CLQ_FORMAT_DYNAMIC8), 1024);
    unsigned char *z = e.zero_points;
    for (size_t i = 0; i < e.zero_points_bytes; i++)
        z[i] = (unsigned char)(i * 13 + 5);
    clq_weight *w = NULL;
    TEST_OK(clq_weight_import(test_context(), &d, layout, &e, &w));
    TEST_OK(clq_weight_export(w, layout, &out));
    cr_assert_eq(test_first_diff(e.data, out.data, e.data_bytes), -1);
    cr_assert_eq(test_first_diff(e.scales, out.scales, e.scales_bytes), -1);
    cr_assert_eq(test_first_diff(e.zero_points, out.zero_points, e.zero_points_bytes), -1);
    clq_weight_destroy(w);
    ref_external_free(&e);
    ref_external_free(&out);
}

Test(layouts, ggml_q4_0_every_nibble)
{
    arbitrary_bytes(CLQ_FORMAT_Q4, CLQ_LAYOUT_GGML, 0);
}
Test(layouts, ggml_q8_0_every_byte)
{
    arbitrary_bytes(CLQ_FORMAT_Q8, CLQ_LAYOUT_GGML, 0);
}
Test(layouts, bnb_nf4_every_nibble)
{
    arbitrary_bytes(CLQ_FORMAT_NF4, CLQ_LAYOUT_BNB, 0);
}
Test(layouts, bnb_nf4_double_quant_bytes)
{
    arbitrary_bytes(CLQ_FORMAT_NF4, CLQ_LAYOUT_BNB, 1);
}
/* 4 blocks per row: zero points fill whole bytes, so every nibble returns. */
Test(layouts, ort_every_nibble)
{
    arbitrary_bytes(CLQ_FORMAT_Q4Z, CLQ_LAYOUT_ORT, 0);
}

/* An odd number of blocks per row: the high nibble of each row's last
 * zero-point byte belongs to no block. Import ignores whatever it holds,
 * and export writes ONNX Runtime's 8 there. */
Test(layouts, ort_padding_nibble)
{
    clq_weight_desc d = {CLQ_FORMAT_Q4Z, 32, 4, 96, 0}; /* 3 blocks per row: 2 zero-point bytes */
    clq_external e, out;
    test_alloc_external(&d, CLQ_LAYOUT_ORT, &e);
    test_alloc_external(&d, CLQ_LAYOUT_ORT, &out);
    cr_assert_eq(e.zero_points_bytes, 8);
    unsigned char *data = e.data, *z = e.zero_points;
    for (size_t i = 0; i < e.data_bytes; i++)
        data[i] = (unsigned char)(i * 29 + 3);
    float *s = e.scales;
    for (size_t i = 0; i < e.scales_bytes / 4; i++)
        s[i] = 0.125f * (float)(i + 1);
    /* byte 2r: blocks 0 and 1 of row r; byte 2r+1: block 2 (low), padding 0 */
    for (size_t i = 0; i < e.zero_points_bytes; i++)
        z[i] = (unsigned char)(i % 2 == 0 ? 0x3a + i : 0x05 + i);
    float y[4 * 96], y_padded[4 * 96];
    clq_weight *w = NULL;
    TEST_OK(clq_weight_import(test_context(), &d, CLQ_LAYOUT_ORT, &e, &w));
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y));
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_ORT, &out));
    const unsigned char *oz = out.zero_points;
    for (size_t i = 0; i < e.zero_points_bytes; i++)
        cr_assert_eq(oz[i], i % 2 == 0 ? z[i] : (unsigned)((z[i] & 0x0f) | 0x80),
                     "zero-point byte %zu: 0x%02x", i, oz[i]);
    clq_weight_destroy(w);
    /* Padding 15 instead of 0: the same weight. */
    for (size_t i = 1; i < e.zero_points_bytes; i += 2)
        z[i] = (unsigned char)((z[i] & 0x0f) | 0xf0);
    TEST_OK(clq_weight_import(test_context(), &d, CLQ_LAYOUT_ORT, &e, &w));
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y_padded, sizeof y_padded));
    cr_assert_eq(test_first_diff(y, y_padded, sizeof y), -1, "the padding nibble changed the weight");
    clq_weight_destroy(w);
    ref_external_free(&e);
    ref_external_free(&out);
}

/* Q4Z without zero points: ONNX Runtime's default of 8. */
Test(layouts, ort_default_zero_point)
{
    clq_weight_desc d = {CLQ_FORMAT_Q4Z, 16, 1, 16, 0};
    unsigned char data[8];
    float scale = 0.5f, y[16];
    for (int i = 0; i < 8; i++)
        data[i] = (unsigned char)((2 * i) | (2 * i + 1) << 4); /* elements 0..15 in order */
    clq_external e = {.data = data, .data_bytes = 8, .scales = &scale, .scales_bytes = 4};
    clq_weight *w = NULL;
    TEST_OK(clq_weight_import(test_context(), &d, CLQ_LAYOUT_ORT, &e, &w));
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y));
    for (int i = 0; i < 16; i++)
        cr_assert_eq(y[i], (float)(i - 8) * 0.5f, "element %d", i);
    clq_weight_destroy(w);
}

/* pack4 / unpack4 in both nibble orders, against the obvious C. */
static void pack_round_trip(clq_nibble_order order)
{
    enum { COUNT = 1000 };
    unsigned char values[COUNT], packed[COUNT / 2], back[COUNT];
    for (int i = 0; i < COUNT; i++)
        values[i] = (unsigned char)((i * 7 + i / 16) & 15);
    clq_context *ctx = test_context();
    cl_int err;
    cl_mem src = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_COPY_HOST_PTR, COUNT, values, &err);
    cl_mem mid = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, COUNT / 2, NULL, &err);
    cl_mem out = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, COUNT, NULL, &err);
    TEST_OK(clq_pack4(ctx, order, src, mid, COUNT));
    cl_event done;
    TEST_OK(clq_unpack4(ctx, order, mid, out, COUNT, 0, NULL, &done));
    clWaitForEvents(1, &done);
    clReleaseEvent(done);
    clEnqueueReadBuffer(clq_context_cl_queue(ctx), mid, CL_TRUE, 0, COUNT / 2, packed, 0, NULL, NULL);
    clEnqueueReadBuffer(clq_context_cl_queue(ctx), out, CL_TRUE, 0, COUNT, back, 0, NULL, NULL);
    for (int i = 0; i < COUNT / 2; i++) {
        unsigned lo = order == CLQ_NIBBLE_LOW_FIRST ? values[2 * i] : values[2 * i + 1];
        unsigned hi = order == CLQ_NIBBLE_LOW_FIRST ? values[2 * i + 1] : values[2 * i];
        cr_assert_eq(packed[i], lo | hi << 4, "byte %d", i);
    }
    cr_assert_eq(memcmp(values, back, COUNT), 0);
    /* A value above 15 is refused and the destination is left alone. */
    values[501] = 16;
    clEnqueueWriteBuffer(clq_context_cl_queue(ctx), src, CL_TRUE, 0, COUNT, values, 0, NULL, NULL);
    cr_assert_eq(clq_pack4(ctx, order, src, mid, COUNT), CLQ_ERROR_BAD_DATA);
    unsigned char after[COUNT / 2];
    clEnqueueReadBuffer(clq_context_cl_queue(ctx), mid, CL_TRUE, 0, COUNT / 2, after, 0, NULL, NULL);
    cr_assert_eq(memcmp(after, packed, COUNT / 2), 0, "a failed pack wrote to its destination");
    clReleaseMemObject(src);
    clReleaseMemObject(mid);
    clReleaseMemObject(out);
}

Test(pack, low_first)
{
    pack_round_trip(CLQ_NIBBLE_LOW_FIRST);
}
Test(pack, high_first)
{
    pack_round_trip(CLQ_NIBBLE_HIGH_FIRST);
}
