/* The library against the peers' own vectors (tests/data, made by ggml,
 * bitsandbytes and ONNX Runtime): quantized bytes, scales and dequantized
 * values must match bit for bit, both when clq quantizes the input itself
 * and when it imports the peers' bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_ref.h"
#include "folder.h"
#include "support.h"

static void load_folder(const char *name, clq_folder *f)
{
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, name);
    int status = clq_folder_read(dir, f, err, sizeof err);
    cr_assert_eq(status, CLQ_SUCCESS, "reading %s: %s", dir, err);
    cr_assert_not_null(f->input, "%s has no input.f32", name);
    cr_assert_not_null(f->dequant, "%s has no dequant.f32", name);
}

static void assert_same(const char *what, const char *folder, const void *got, const void *want, size_t bytes)
{
    if (bytes == 0)
        return;
    cr_assert_not_null(want, "%s: folder has no %s", folder, what);
    long at = test_first_diff(got, want, bytes);
    cr_assert_eq(at, -1, "%s: %s differs at byte %ld of %zu", folder, what, at, bytes);
}

static void assert_external_equal(const char *folder, const clq_external *got, const clq_external *want)
{
    assert_same("data", folder, got->data, want->data, want->data_bytes);
    assert_same("scales", folder, got->scales, want->scales, want->scales_bytes);
    assert_same("zero_points", folder, got->zero_points, want->zero_points, want->zero_points_bytes);
    assert_same("nested_absmax", folder, got->nested_absmax, want->nested_absmax, want->nested_absmax_bytes);
    assert_same("nested_code", folder, got->nested_code, want->nested_code, want->nested_code_bytes);
    cr_assert_eq(memcmp(&got->offset, &want->offset, sizeof got->offset), 0, "%s: offset differs", folder);
}

static void assert_dequant_equal(const char *folder, clq_weight *w, const float *want)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    size_t n = d.rows * d.cols;
    float *y = malloc(n * sizeof *y);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    long at = test_first_diff(y, want, n * sizeof *y);
    cr_assert_eq(at, -1, "%s: dequantized value %ld is %a, the peer's is %a", folder, at / 4, y[at / 4],
                 want[at / 4]);
    /* fp16 output is the fp32 result rounded to nearest even. */
    uint16_t *h = malloc(n * sizeof *h);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F16, h, n * sizeof *h));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h[i], clq_fp32_to_fp16(want[i]), "%s: fp16 dequant %zu", folder, i);
    free(h);
    free(y);
}

static void check_vector_folder(const char *name)
{
    clq_folder f;
    load_folder(name, &f);
    clq_context *ctx = test_context();

    /* clq quantizes the peer's input: same bytes as the peer. */
    clq_weight *w = NULL;
    size_t n = f.desc.rows * f.desc.cols;
    TEST_OK(clq_weight_quantize_host(ctx, &f.desc, CLQ_DTYPE_F32, f.input, n * sizeof(float), &w));
    clq_external got;
    test_alloc_external(&f.desc, f.layout, &got);
    TEST_OK(clq_weight_export(w, f.layout, &got));
    assert_external_equal(name, &got, &f.arrays);
    assert_dequant_equal(name, w, f.dequant);
    clq_weight_destroy(w);

    /* clq imports the peer's bytes: same dequantized values, and export
     * gives the same bytes back. */
    TEST_OK(clq_weight_import(ctx, &f.desc, f.layout, &f.arrays, &w));
    assert_dequant_equal(name, w, f.dequant);
    memset(got.data, 0xA5, got.data_bytes);
    TEST_OK(clq_weight_export(w, f.layout, &got));
    assert_external_equal(name, &got, &f.arrays);
    clq_weight_destroy(w);
    ref_external_free(&got);
    clq_folder_free(&f);
}

#define VECTOR_TEST(id, folder)                                                                              \
    Test(vectors, id)                                                                                        \
    {                                                                                                        \
        check_vector_folder(folder);                                                                         \
    }

VECTOR_TEST(ggml_q4_b32, "ggml-q4-b32")
VECTOR_TEST(ggml_q8_b32, "ggml-q8-b32")
VECTOR_TEST(bnb_nf4_b32, "bnb-nf4-b32")
VECTOR_TEST(bnb_nf4_b64, "bnb-nf4-b64")
VECTOR_TEST(bnb_nf4_b128, "bnb-nf4-b128")
VECTOR_TEST(bnb_nf4_b256, "bnb-nf4-b256")
VECTOR_TEST(bnb_nf4_b64_dq, "bnb-nf4-b64-dq")
VECTOR_TEST(bnb_fp4_b32, "bnb-fp4-b32")
VECTOR_TEST(bnb_fp4_b64, "bnb-fp4-b64")
VECTOR_TEST(bnb_fp4_b128, "bnb-fp4-b128")
VECTOR_TEST(bnb_fp4_b256, "bnb-fp4-b256")
VECTOR_TEST(bnb_fp4_b64_dq, "bnb-fp4-b64-dq")
VECTOR_TEST(bnb_dynamic8_b256, "bnb-dynamic8-b256")
VECTOR_TEST(ort_q4z_b16, "ort-q4z-b16")
VECTOR_TEST(ort_q4z_b32, "ort-q4z-b32")
VECTOR_TEST(ort_q4z_b64, "ort-q4z-b64")
VECTOR_TEST(ort_q4z_b128, "ort-q4z-b128")
/* One block per row: each row's zero-point byte has ORT's 8 in its unused
 * high nibble, which export must write and import must not read. */
VECTOR_TEST(ort_q4z_b256, "ort-q4z-b256")

/* The dynamic code compiled into clq is the one bitsandbytes uses. */
Test(vectors, dynamic_code_matches_bitsandbytes)
{
    size_t size = 0;
    float *code = test_read_data("bnb-dynamic8-b256/code.f32", &size);
    cr_assert_eq(size, 256 * sizeof(float));
    cr_assert_eq(test_first_diff(code, ref_code(CLQ_FORMAT_DYNAMIC8), size), -1);
    free(code);
}
