/* ggml's block types as clq formats (q4_1 ... iq4_xs): ggml's own vectors
 * (tests/data/gguf, made by ggml_quantize_chunk and to_float) imported in
 * the ggml layout must dequantize to ggml's floats bit for bit and export
 * the same bytes; every type quantized on the device must give ggml's
 * bytes; GGUF tensors of these types load as they are stored; bad
 * input is a named error. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clq_common.h"
#include "clq_io.h"
#include "clq_ref.h"
#include "folder.h"
#include "ggml_ref.h"
#include "support.h"

static const struct {
    const char *name;
    clq_format format;
    uint32_t ggml_type;
} types[] = {
    {"q4_1", CLQ_FORMAT_Q4_1, CLQ_GGML_Q4_1},       {"q5_0", CLQ_FORMAT_Q5_0, CLQ_GGML_Q5_0},
    {"q5_1", CLQ_FORMAT_Q5_1, CLQ_GGML_Q5_1},       {"q2_k", CLQ_FORMAT_Q2_K, CLQ_GGML_Q2_K},
    {"q3_k", CLQ_FORMAT_Q3_K, CLQ_GGML_Q3_K},       {"q4_k", CLQ_FORMAT_Q4_K, CLQ_GGML_Q4_K},
    {"q5_k", CLQ_FORMAT_Q5_K, CLQ_GGML_Q5_K},       {"q6_k", CLQ_FORMAT_Q6_K, CLQ_GGML_Q6_K},
    {"iq4_nl", CLQ_FORMAT_IQ4_NL, CLQ_GGML_IQ4_NL}, {"iq4_xs", CLQ_FORMAT_IQ4_XS, CLQ_GGML_IQ4_XS},
};
#define TYPE_COUNT (sizeof types / sizeof types[0])

static void assert_dequant(const char *what, const clq_weight *w, const float *want)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    size_t n = d.rows * d.cols;
    float *y = malloc(n * sizeof *y);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    long at = test_first_diff(y, want, n * sizeof *y);
    cr_assert_eq(at, -1, "%s: dequantized value %ld is %a, ggml's is %a", what, at / 4, y[at / 4],
                 want[at / 4]);
    uint16_t *h = malloc(n * sizeof *h);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F16, h, n * sizeof *h));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(h[i], clq_fp32_to_fp16(want[i]), "%s: fp16 dequant %zu", what, i);
    free(h);
    free(y);
}

static void assert_export(const char *what, const clq_weight *w, const void *want, size_t bytes)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    clq_external got;
    test_alloc_external(&d, CLQ_LAYOUT_GGML, &got);
    cr_assert_eq(got.data_bytes, bytes, "%s: ggml layout of %zu bytes, %zu expected", what, got.data_bytes,
                 bytes);
    memset(got.data, 0xA5, got.data_bytes);
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_GGML, &got));
    long at = test_first_diff(got.data, want, bytes);
    cr_assert_eq(at, -1, "%s: exported byte %ld differs", what, at);
    ref_external_free(&got);
}

/* ggml's vector folder of a type, through the folder convention. */
static void check_vectors(size_t i)
{
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/gguf/ggml-%s-s11", CLQ_TEST_DATA_DIR, types[i].name);
    clq_folder f;
    cr_assert_eq(clq_folder_read(dir, &f, err, sizeof err), CLQ_SUCCESS, "%s: %s", dir, err);
    cr_assert_eq(f.desc.format, types[i].format);
    cr_assert_eq(f.layout, CLQ_LAYOUT_GGML);
    clq_weight *w = NULL;
    TEST_OK(clq_weight_import(test_context(), &f.desc, f.layout, &f.arrays, &w));
    /* The blocks as stored: no widening on the device. */
    cr_assert_eq(clq_weight_device_bytes(w), f.arrays.data_bytes, "%s: %llu device bytes for %zu stored",
                 types[i].name, (unsigned long long)clq_weight_device_bytes(w), f.arrays.data_bytes);
    assert_dequant(types[i].name, w, f.dequant);
    assert_export(types[i].name, w, f.arrays.data, f.arrays.data_bytes);
    clq_weight_destroy(w);
    clq_folder_free(&f);
}

#define VECTOR_TEST(i, id)                                                                                   \
    Test(ggml, vectors_##id)                                                                                 \
    {                                                                                                        \
        check_vectors(i);                                                                                    \
    }
VECTOR_TEST(0, q4_1)
VECTOR_TEST(1, q5_0)
VECTOR_TEST(2, q5_1)
VECTOR_TEST(3, q2_k)
VECTOR_TEST(4, q3_k)
VECTOR_TEST(5, q4_k)
VECTOR_TEST(6, q5_k)
VECTOR_TEST(7, q6_k)
VECTOR_TEST(8, iq4_nl)
VECTOR_TEST(9, iq4_xs)

/* N not a multiple of the 16-row tile, and blocks of rows that the
 * reference quantizer made from random values: import, dequantize and
 * export on a ragged shape. */
Test(ggml, ragged_rows)
{
    clq_rng rng = {5};
    for (size_t i = 0; i < TYPE_COUNT; i++) {
        const ggml_ref_type *t = ggml_ref_find(types[i].name);
        cr_assert_not_null(t);
        const uint64_t rows = 19, cols = 2 * t->block;
        float *x = malloc(rows * cols * sizeof *x), *want = malloc(rows * cols * sizeof *want);
        test_fill_matrix(&rng, x, rows, cols);
        size_t bytes = rows * cols / t->block * t->bytes;
        unsigned char *blocks = malloc(bytes);
        t->quantize(x, blocks, rows * cols);
        t->to_float(blocks, want, rows * cols);
        clq_weight_desc d = {types[i].format, t->block, rows, cols, 0};
        clq_external e = {.data = blocks, .data_bytes = bytes};
        clq_weight *w = NULL;
        TEST_OK(clq_weight_import(test_context(), &d, CLQ_LAYOUT_GGML, &e, &w));
        assert_dequant(types[i].name, w, want);
        assert_export(types[i].name, w, blocks, bytes);
        clq_weight_destroy(w);
        free(blocks);
        free(want);
        free(x);
    }
}

/* The types quantized on the device: ggml's input of each vector folder
 * gives ggml's bytes, and random matrices (N = 19, fp32 and fp16 input)
 * give the scalar reference's. */

static void check_quantize(clq_format format)
{
    const char *name = clq_format_name(format);
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/gguf/ggml-%s-s11", CLQ_TEST_DATA_DIR, name);
    clq_folder f;
    cr_assert_eq(clq_folder_read(dir, &f, err, sizeof err), CLQ_SUCCESS, "%s: %s", dir, err);
    size_t n = f.desc.rows * f.desc.cols;
    clq_weight *w = NULL;
    TEST_OK(clq_weight_quantize_host(test_context(), &f.desc, CLQ_DTYPE_F32, f.input, n * sizeof(float), &w));
    assert_export(name, w, f.arrays.data, f.arrays.data_bytes);
    assert_dequant(name, w, f.dequant);
    clq_weight_destroy(w);
    clq_folder_free(&f);

    const ggml_ref_type *t = ggml_ref_find(name);
    clq_rng rng = {9};
    const uint64_t rows = 19, cols = 3 * (uint64_t)t->block;
    float *x = malloc(rows * cols * sizeof *x), *want = malloc(rows * cols * sizeof *want);
    uint16_t *h = malloc(rows * cols * sizeof *h);
    test_fill_matrix(&rng, x, rows, cols);
    for (size_t i = 0; i < rows * cols; i++) { /* the fp16 input, and the same values in fp32 */
        h[i] = clq_fp32_to_fp16(x[i]);
        x[i] = clq_fp16_to_fp32(h[i]);
    }
    size_t bytes = rows * cols / t->block * t->bytes;
    unsigned char *blocks = malloc(bytes);
    t->quantize(x, blocks, rows * cols);
    t->to_float(blocks, want, rows * cols);
    clq_weight_desc d = {format, t->block, rows, cols, 0};
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, rows * cols * sizeof *x, &w));
    assert_export(name, w, blocks, bytes);
    assert_dequant(name, w, want);
    clq_weight_destroy(w);
    TEST_OK(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F16, h, rows * cols * sizeof *h, &w));
    assert_export(name, w, blocks, bytes);
    clq_weight_destroy(w);
    /* NaN in row 7, block 1: named, no weight */
    x[7 * cols + t->block + 5] = NAN;
    w = NULL;
    cr_assert_eq(clq_weight_quantize_host(test_context(), &d, CLQ_DTYPE_F32, x, rows * cols * sizeof *x, &w),
                 CLQ_ERROR_NONFINITE_INPUT);
    char where[64];
    snprintf(where, sizeof where, "row 7, columns %u..%u", t->block, 2 * t->block - 1);
    cr_assert(strstr(clq_last_error(), where), "%s", clq_last_error());
    cr_assert_null(w);
    free(blocks);
    free(h);
    free(want);
    free(x);
}

Test(ggml, quantize_q4_1)
{
    check_quantize(CLQ_FORMAT_Q4_1);
}
Test(ggml, quantize_q5_0)
{
    check_quantize(CLQ_FORMAT_Q5_0);
}
Test(ggml, quantize_q5_1)
{
    check_quantize(CLQ_FORMAT_Q5_1);
}
Test(ggml, quantize_iq4_nl)
{
    check_quantize(CLQ_FORMAT_IQ4_NL);
}
Test(ggml, quantize_q4_k)
{
    check_quantize(CLQ_FORMAT_Q4_K);
}
Test(ggml, quantize_q5_k)
{
    check_quantize(CLQ_FORMAT_Q5_K);
}
Test(ggml, quantize_q6_k)
{
    check_quantize(CLQ_FORMAT_Q6_K);
}
Test(ggml, quantize_q2_k)
{
    check_quantize(CLQ_FORMAT_Q2_K);
}
Test(ggml, quantize_q3_k)
{
    check_quantize(CLQ_FORMAT_Q3_K);
}
Test(ggml, quantize_iq4_xs)
{
    check_quantize(CLQ_FORMAT_IQ4_XS);
}

Test(ggml, names_and_sizes)
{
    for (size_t i = 0; i < TYPE_COUNT; i++) {
        clq_format f;
        TEST_OK(clq_format_from_name(types[i].name, &f));
        cr_assert_eq(f, types[i].format);
        cr_assert_str_eq(clq_format_name(f), types[i].name);
        const ggml_ref_type *t = ggml_ref_find(types[i].name);
        clq_weight_desc d = {f, t->block, 3, 4 * t->block, 0};
        clq_external e;
        TEST_OK(clq_external_sizes(&d, CLQ_LAYOUT_GGML, &e));
        cr_assert_eq(e.data_bytes, 12 * t->bytes);
        cr_assert_eq(clq_external_sizes(&d, CLQ_LAYOUT_BNB, &e), CLQ_ERROR_UNSUPPORTED_LAYOUT);
        /* the block is the type's */
        d.block = t->block == 32 ? 64 : 32;
        cr_assert_eq(clq_weight_desc_check(&d), CLQ_ERROR_UNSUPPORTED_BLOCK, "%s", types[i].name);
        cr_assert(strstr(clq_last_error(), types[i].name), "%s", clq_last_error());
        /* K a whole number of blocks */
        d.block = t->block;
        d.cols = t->block + 16;
        cr_assert_eq(clq_weight_desc_check(&d), CLQ_ERROR_SHAPE, "%s", types[i].name);
    }
    clq_format f;
    TEST_OK(clq_format_from_name("Q4_K", &f)); /* GGUF's spelling */
    cr_assert_eq(f, CLQ_FORMAT_Q4_K);
}

Test(ggml, bad_input)
{
    clq_context *ctx = test_context();
    clq_weight *w = NULL;
    clq_weight_desc d = {CLQ_FORMAT_Q4_K, 256, 2, 512, 0};
    /* too few bytes */
    unsigned char blocks[4 * CLQ_GGML_Q4_K_BYTES] = {0};
    clq_external e = {.data = blocks, .data_bytes = sizeof blocks - 1};
    cr_assert_eq(clq_weight_import(ctx, &d, CLQ_LAYOUT_GGML, &e, &w), CLQ_ERROR_BUFFER_TOO_SMALL);
    /* a non-finite fp16 dmin (bytes 2..3 of block 3): named, nothing made */
    e.data_bytes = sizeof blocks;
    blocks[3 * CLQ_GGML_Q4_K_BYTES + 3] = 0x7c;
    cr_assert_eq(clq_weight_import(ctx, &d, CLQ_LAYOUT_GGML, &e, &w), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "block 3"), "%s", clq_last_error());
    cr_assert_null(w);
}

/* kquants.gguf: one tensor of each type, written by ggml's GGUF writer. */
Test(ggml, gguf_tensors_load_as_stored)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/gguf/kquants.gguf", CLQ_TEST_DATA_DIR);
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open(path, &g));
    size_t found = 0;
    for (size_t k = 0; k < clq_gguf_tensor_count(g); k++) {
        clq_gguf_tensor t;
        TEST_OK(clq_gguf_tensor_info(g, k, &t));
        for (size_t i = 0; i < TYPE_COUNT; i++) {
            if (t.type != types[i].ggml_type)
                continue;
            found++;
            clq_weight *w = NULL;
            /* the float format asked for applies to float tensors only */
            TEST_OK(clq_gguf_load_weight(test_context(), g, t.name, CLQ_FORMAT_NF4, 64, &w));
            clq_weight_desc d = clq_weight_get_desc(w);
            cr_assert(d.format == types[i].format && d.rows == t.dims[1] && d.cols == t.dims[0], "%s",
                      t.name);
            float *want = malloc(t.elements * sizeof *want);
            ggml_ref_find(types[i].name)->to_float(t.data, want, t.elements);
            assert_dequant(t.name, w, want);
            assert_export(t.name, w, t.data, t.size);
            free(want);
            clq_weight_destroy(w);
        }
    }
    cr_assert_eq(found, TYPE_COUNT);
    clq_gguf_close(g);
}

/* A tensor of a type clq does not load (bf16 here) is refused by name:
 * a GGUF written with an f16 tensor, its type number changed to bf16's
 * (the same size per element). */
Test(ggml, gguf_unknown_type_is_named)
{
    clq_gguf_writer *gw = NULL;
    TEST_OK(clq_gguf_writer_create(&gw));
    uint16_t half[64] = {0};
    const uint64_t ne[2] = {32, 2};
    TEST_OK(clq_gguf_writer_add_tensor(gw, "bf16.weight", CLQ_GGML_F16, 2, ne, half, sizeof half));
    char path[] = "/tmp/clq_test_ggml_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    TEST_OK(clq_gguf_writer_write(gw, path));
    clq_gguf_writer_destroy(gw);
    size_t size = 0;
    FILE *file = fopen(path, "rb");
    unsigned char bytes[4096];
    size = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    remove(path);
    /* after the name: n_dims (u32), two u64 dims, then the type (u32) */
    unsigned char *name = memmem(bytes, size, "bf16.weight", 11);
    cr_assert_not_null(name);
    unsigned char *type = name + 11 + 4 + 16;
    cr_assert_eq(type[0], CLQ_GGML_F16);
    type[0] = 30; /* bf16 */
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open_memory(bytes, size, &g));
    clq_weight *w = NULL;
    cr_assert_eq(clq_gguf_load_weight(test_context(), g, "bf16.weight", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_UNSUPPORTED_FORMAT);
    cr_assert(strstr(clq_last_error(), "bf16"), "%s", clq_last_error());
    cr_assert_null(w);
    clq_gguf_close(g);
}
