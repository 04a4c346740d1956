/*
 * ggml's block types in the scalar reference (tests/ref/ggml_ref.c, and
 * clq_ref.c for Q4_0/Q8_0) against ggml's own vectors in tests/data/gguf:
 * to_float of ggml's blocks gives ggml's floats bit for bit, and quantizing
 * ggml's input gives ggml's blocks byte for byte. Each folder is 64 rows of
 * 512; rows 0..7 are the edge cases named below, and every mismatch names
 * its row, block and byte.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "clq_common.h"
#include "clq_ref.h"
#include "ggml_ref.h"
#include "support.h"

/* What rows 0..7 of every ggml-*-s11 input hold (the rest: normal, σ 0.05). */
static const char *const row_kind[8] = {
    "all zeros",        "small values and one outlier of 1000",
    "constant 0.125",   "negative only",
    "tiny (~1e-30)",    "exact grid ((j mod 17) - 8)/4",
    "alternating ramp", "sub-blocks of 32 alternately ~5 and ~0.05",
};

static const char *kind_of(uint64_t row)
{
    return row < 8 ? row_kind[row] : "normal";
}

typedef struct vectors {
    char format[16];
    uint64_t rows, cols, block, bytes_per_block;
    float *input, *dequant;
    uint8_t *quant;
    size_t quant_bytes;
} vectors;

static uint64_t meta_u64(const char *meta, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\n%s=", key);
    const char *p = strstr(meta, pat);
    cr_assert_not_null(p, "meta.txt has no %s", key);
    return strtoull(p + strlen(pat), NULL, 10);
}

/* Reads tests/data/gguf/ggml-<type>-s11 and checks its sizes. */
static void load(const char *type, vectors *v)
{
    char rel[128];
    size_t size = 0;
    snprintf(rel, sizeof rel, "gguf/ggml-%s-s11/meta.txt", type);
    char *raw = test_read_data(rel, &size);
    char *meta = calloc(1, size + 2);
    meta[0] = '\n'; /* so every key, the first too, follows a newline */
    memcpy(meta + 1, raw, size);
    free(raw);
    const char *f = strstr(meta, "\nformat=");
    cr_assert_not_null(f);
    sscanf(f + 8, "%15[^\n]", v->format);
    v->rows = meta_u64(meta, "rows");
    v->cols = meta_u64(meta, "cols");
    v->block = meta_u64(meta, "block");
    v->bytes_per_block = meta_u64(meta, "bytes_per_block");
    free(meta);
    const size_t n = v->rows * v->cols;
    snprintf(rel, sizeof rel, "gguf/ggml-%s-s11/input.f32", type);
    v->input = test_read_data(rel, &size);
    cr_assert_eq(size, n * sizeof(float), "%s: input.f32 is %zu bytes", rel, size);
    snprintf(rel, sizeof rel, "gguf/ggml-%s-s11/dequant.f32", type);
    v->dequant = test_read_data(rel, &size);
    cr_assert_eq(size, n * sizeof(float), "%s: dequant.f32 is %zu bytes", rel, size);
    snprintf(rel, sizeof rel, "gguf/ggml-%s-s11/quant.bin", type);
    v->quant = test_read_data(rel, &v->quant_bytes);
    cr_assert_eq(v->quant_bytes, n / v->block * v->bytes_per_block, "%s: %zu bytes", rel, v->quant_bytes);
}

static void unload(vectors *v)
{
    free(v->input);
    free(v->dequant);
    free(v->quant);
}

/* Rows first..last-1 of got and want (N×K floats), bit for bit. */
static void expect_floats(const char *type, const vectors *v, const float *got, uint64_t first, uint64_t last)
{
    for (uint64_t r = first; r < last; r++) {
        const size_t at = r * v->cols;
        if (memcmp(got + at, v->dequant + at, v->cols * sizeof(float)) == 0)
            continue;
        uint64_t c = 0;
        while (memcmp(&got[at + c], &v->dequant[at + c], sizeof(float)) == 0)
            c++;
        cr_assert_fail("%s to_float: row %llu (%s), column %llu (block %llu): %a, ggml %a", type,
                       (unsigned long long)r, kind_of(r), (unsigned long long)c,
                       (unsigned long long)(c / v->block), (double)got[at + c], (double)v->dequant[at + c]);
    }
}

/* Blocks of rows first..last-1 of got and want, byte for byte. */
static void expect_blocks(const char *type, const vectors *v, const uint8_t *got, uint64_t first,
                          uint64_t last)
{
    const size_t row_bytes = v->cols / v->block * v->bytes_per_block;
    for (uint64_t r = first; r < last; r++) {
        const size_t at = r * row_bytes;
        if (memcmp(got + at, v->quant + at, row_bytes) == 0)
            continue;
        size_t b = 0;
        while (got[at + b] == v->quant[at + b])
            b++;
        cr_assert_fail("%s quantize: row %llu (%s), block %zu, byte %zu of %llu: 0x%02x, ggml 0x%02x", type,
                       (unsigned long long)r, kind_of(r), b / v->bytes_per_block, b % v->bytes_per_block,
                       (unsigned long long)v->bytes_per_block, got[at + b], v->quant[at + b]);
    }
}

static const ggml_ref_type *find(const char *type)
{
    const ggml_ref_type *t = ggml_ref_find(type);
    cr_assert_not_null(t, "ggml_ref has no %s", type);
    return t;
}

/* The folder agrees with the reference's table about the block. */
static void expect_shape(const ggml_ref_type *t, const vectors *v)
{
    cr_assert_str_eq(v->format, t->name);
    cr_assert_eq(v->block, t->block, "%s: block %llu", t->name, (unsigned long long)v->block);
    cr_assert_eq(v->bytes_per_block, t->bytes, "%s: %llu bytes per block", t->name,
                 (unsigned long long)v->bytes_per_block);
}

/* to_float of ggml's blocks, rows first..last-1. */
static void check_to_float(const char *type, uint64_t first, uint64_t last)
{
    const ggml_ref_type *t = find(type);
    vectors v;
    load(type, &v);
    expect_shape(t, &v);
    float *y = malloc(v.rows * v.cols * sizeof *y);
    t->to_float(v.quant, y, v.rows * v.cols);
    expect_floats(type, &v, y, first, last);
    free(y);
    unload(&v);
}

/* Quantizing ggml's input, rows first..last-1, one row per call as ggml's
 * writers do (rows are independent, so this is also the whole matrix). */
static void check_quantize(const char *type, uint64_t first, uint64_t last)
{
    const ggml_ref_type *t = find(type);
    vectors v;
    load(type, &v);
    expect_shape(t, &v);
    const size_t row_bytes = v.cols / v.block * v.bytes_per_block;
    uint8_t *q = malloc(v.quant_bytes);
    memset(q, 0xA5, v.quant_bytes); /* every byte must be written */
    for (uint64_t r = first; r < last; r++)
        t->quantize(v.input + r * v.cols, q + r * row_bytes, v.cols);
    expect_blocks(type, &v, q, first, last);
    free(q);
    unload(&v);
}

#define TYPE_TESTS(id)                                                                                       \
    Test(to_float, id)                                                                                       \
    {                                                                                                        \
        check_to_float(#id, 0, 64);                                                                          \
    }                                                                                                        \
    Test(quantize, id)                                                                                       \
    {                                                                                                        \
        check_quantize(#id, 0, 64);                                                                          \
    }                                                                                                        \
    Test(special_rows, id##_to_float)                                                                        \
    {                                                                                                        \
        check_to_float(#id, 0, 8);                                                                           \
    }                                                                                                        \
    Test(special_rows, id##_quantize)                                                                        \
    {                                                                                                        \
        check_quantize(#id, 0, 8);                                                                           \
    }

TYPE_TESTS(q4_1)
TYPE_TESTS(q5_0)
TYPE_TESTS(q5_1)
TYPE_TESTS(q2_k)
TYPE_TESTS(q3_k)
TYPE_TESTS(q4_k)
TYPE_TESTS(q5_k)
TYPE_TESTS(q6_k)
TYPE_TESTS(iq4_nl)
TYPE_TESTS(iq4_xs)

/* Q4_0 and Q8_0 come from clq_ref (the canonical form, packed to ggml's
 * layout); the s11 vectors check it on rows of 512. */
static void check_clq_ref(const char *type, clq_format format)
{
    vectors v;
    load(type, &v);
    clq_weight_desc d = {format, 32, v.rows, v.cols, 0};
    ref_quant q;
    cr_assert_eq(ref_quantize(&d, v.input, &q), 0);
    clq_external e;
    cr_assert_eq(ref_pack(&q, CLQ_LAYOUT_GGML, &e), 0);
    cr_assert_eq(e.data_bytes, v.quant_bytes);
    expect_blocks(type, &v, e.data, 0, v.rows);
    float *y = malloc(v.rows * v.cols * sizeof *y);
    ref_dequantize(&q, y);
    expect_floats(type, &v, y, 0, v.rows);
    free(y);
    ref_external_free(&e);
    ref_quant_free(&q);
    unload(&v);
}

Test(clq_ref, q4_0)
{
    check_clq_ref("q4_0", CLQ_FORMAT_Q4);
}
Test(clq_ref, q8_0)
{
    check_clq_ref("q8_0", CLQ_FORMAT_Q8);
}

/* The table matches clq_common.h, and names are found. */
Test(ggml_ref, table)
{
    size_t count = 0;
    const ggml_ref_type *t = ggml_ref_types(&count);
    cr_assert_eq(count, 10);
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(ggml_ref_find(t[i].name), &t[i]);
        cr_assert(t[i].block == 32 || t[i].block == CLQ_GGML_QK_K, "%s", t[i].name);
        cr_assert_not_null(t[i].to_float);
        cr_assert_not_null(t[i].quantize);
    }
    cr_assert_eq(find("q4_1")->bytes, sizeof(clq_block_q4_1));
    cr_assert_eq(find("q5_0")->bytes, sizeof(clq_block_q5_0));
    cr_assert_eq(find("q5_1")->bytes, sizeof(clq_block_q5_1));
    cr_assert_eq(find("q2_k")->bytes, sizeof(clq_block_q2_k));
    cr_assert_eq(find("q3_k")->bytes, sizeof(clq_block_q3_k));
    cr_assert_eq(find("q4_k")->bytes, sizeof(clq_block_q4_k));
    cr_assert_eq(find("q5_k")->bytes, sizeof(clq_block_q5_k));
    cr_assert_eq(find("q6_k")->bytes, sizeof(clq_block_q6_k));
    cr_assert_eq(find("iq4_nl")->bytes, sizeof(clq_block_iq4_nl));
    cr_assert_eq(find("iq4_xs")->bytes, sizeof(clq_block_iq4_xs));
    cr_assert_null(ggml_ref_find("q4_K"), "names are lower case");
    cr_assert_null(ggml_ref_find("q8_k"));
}

/* Zero input: no division by zero, zeros back (0 or −0), for a whole
 * block, and for a super-block whose first 32 elements (one or two
 * sub-blocks) are zero among normal values: the zero groups' levels and
 * scales must give exact zeros whatever the others' scale search does. */
Test(ggml_ref, zero_blocks)
{
    size_t count = 0;
    const ggml_ref_type *t = ggml_ref_types(&count);
    for (size_t i = 0; i < count; i++) {
        float x[256] = {0}, y[256];
        uint8_t q[256];
        const uint32_t n = t[i].block;
        t[i].quantize(x, q, n);
        memset(y, 0xff, sizeof y);
        t[i].to_float(q, y, n);
        for (uint32_t j = 0; j < n; j++)
            cr_assert(y[j] == 0.0f, "%s all zero: element %u is %a", t[i].name, j, (double)y[j]);
        if (n != CLQ_GGML_QK_K)
            continue;
        for (uint32_t j = 32; j < n; j++)
            x[j] = (float)((int)(j * 37 % 29) - 14) * 0.01f;
        t[i].quantize(x, q, n);
        t[i].to_float(q, y, n);
        for (uint32_t j = 0; j < 32; j++)
            cr_assert(y[j] == 0.0f, "%s zero sub-block: element %u is %a", t[i].name, j, (double)y[j]);
        for (uint32_t j = 32; j < n; j++)
            cr_assert(fabsf(y[j] - x[j]) <= 0.1f, "%s element %u: %g for %g", t[i].name, j, (double)y[j],
                      (double)x[j]);
    }
}

/* kquants.gguf, written by ggml's GGUF writer: one 64×512 tensor of each
 * type, the s11 blocks. clq's GGUF reader hands over the bytes and the type
 * number, and to_float of the tensor is ggml's dequantization. */
Test(gguf, kquants_file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/gguf/kquants.gguf", CLQ_TEST_DATA_DIR);
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open(path, &g));
    const size_t count = clq_gguf_tensor_count(g);
    cr_assert_eq(count, 12);
    size_t checked = 0;
    for (size_t i = 0; i < count; i++) {
        clq_gguf_tensor info;
        TEST_OK(clq_gguf_tensor_info(g, i, &info));
        const char *ggml_name = clq_ggml_type_name(info.type);
        cr_assert_not_null(ggml_name, "%s: type %u", info.name, info.type);
        char type[16] = {0};
        for (size_t c = 0; ggml_name[c] && c < sizeof type - 1; c++)
            type[c] = (char)(ggml_name[c] == 'K' ? 'k' : ggml_name[c]);
        vectors v;
        load(type, &v);
        cr_assert(info.dims[0] == v.cols && info.dims[1] == v.rows, "%s: shape", info.name);
        cr_assert_eq(info.size, v.quant_bytes, "%s (%s): %llu bytes", info.name, type,
                     (unsigned long long)info.size);
        expect_blocks(type, &v, info.data, 0, v.rows);
        const ggml_ref_type *t = ggml_ref_find(type);
        if (t) {
            float *y = malloc(v.rows * v.cols * sizeof *y);
            t->to_float(info.data, y, v.rows * v.cols);
            expect_floats(type, &v, y, 0, v.rows);
            free(y);
            checked++;
        }
        unload(&v);
    }
    cr_assert_eq(checked, 10, "the file holds every type of ggml_ref");
    clq_gguf_close(g);
}
