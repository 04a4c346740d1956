/* The GGUF reader against files the reference tools wrote: ggml's own
 * writer (tests/data/model.gguf) and gguf-py's GGUFWriter with gguf-py's
 * quantizer (written at test time by tests/gen/make_gguf.py). Every value
 * and every tensor byte must be what the writer wrote, and loading a
 * quantized tensor must give the writer's own dequantized values, bit for
 * bit. Hostile files are in gguf_hostile.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "clq_ref.h"
#include "folder.h"
#include "support.h"

static clq_gguf *open_data(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CLQ_TEST_DATA_DIR, rel);
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open(path, &g));
    return g;
}

static clq_gguf_value find(const clq_gguf *g, const char *key, clq_gguf_type type)
{
    clq_gguf_value v;
    TEST_OK(clq_gguf_metadata_find(g, key, &v));
    cr_assert_str_eq(v.key, key);
    cr_assert_eq(v.type, type, "%s has type %d, expected %d", key, v.type, type);
    return v;
}

static void assert_string(clq_gguf_string s, const char *want, const char *what)
{
    cr_assert_eq(s.length, strlen(want), "%s: length %zu, expected %zu", what, s.length, strlen(want));
    cr_assert_eq(memcmp(s.data, want, s.length), 0, "%s: '%.*s', expected '%s'", what, (int)s.length, s.data,
                 want);
}

static void assert_string_key(const clq_gguf *g, const char *key, const char *want)
{
    assert_string(find(g, key, CLQ_GGUF_STRING).string, want, key);
}

static clq_gguf_tensor tensor(const clq_gguf *g, const char *name)
{
    size_t index;
    clq_gguf_tensor t;
    TEST_OK(clq_gguf_find_tensor(g, name, &index));
    TEST_OK(clq_gguf_tensor_info(g, index, &t));
    cr_assert_str_eq(t.name, name);
    return t;
}

static void assert_tensor(const clq_gguf_tensor *t, uint32_t type, uint32_t n_dims, uint64_t ne0,
                          uint64_t ne1, uint64_t size)
{
    cr_assert_eq(t->type, type, "%s: type %u (%s), expected %u", t->name, t->type,
                 clq_ggml_type_name(t->type), type);
    cr_assert_eq(t->n_dims, n_dims, "%s: %u dims", t->name, t->n_dims);
    cr_assert(t->dims[0] == ne0 && t->dims[1] == ne1 && t->dims[2] == 1 && t->dims[3] == 1,
              "%s: dims %llu x %llu x %llu x %llu", t->name, (unsigned long long)t->dims[0],
              (unsigned long long)t->dims[1], (unsigned long long)t->dims[2], (unsigned long long)t->dims[3]);
    cr_assert_eq(t->elements, ne0 * ne1);
    cr_assert_eq(t->size, size, "%s: %llu bytes, expected %llu", t->name, (unsigned long long)t->size,
                 (unsigned long long)size);
}

static void assert_bytes(const char *what, const void *got, const void *want, size_t bytes)
{
    long at = test_first_diff(got, want, bytes);
    cr_assert_eq(at, -1, "%s differs at byte %ld of %zu", what, at, bytes);
}

static void assert_dequant(clq_weight *w, const float *want, const char *what)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    size_t n = d.rows * d.cols;
    float *y = malloc(n * sizeof *y);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    long at = test_first_diff(y, want, n * sizeof *y);
    cr_assert_eq(at, -1, "%s: dequantized value %ld is %a, expected %a", what, at / 4, at < 0 ? 0 : y[at / 4],
                 at < 0 ? 0 : want[at / 4]);
    free(y);
}

/* A quantized tensor loaded as it is: export gives the file's blocks back
 * and dequantization the writer's own values. */
static void check_ggml_load(const clq_gguf *g, const char *name, clq_format format, const void *blocks,
                            const float *dequant)
{
    clq_gguf_tensor t = tensor(g, name);
    clq_weight *w = NULL;
    TEST_OK(clq_gguf_load_weight(test_context(), g, name, CLQ_FORMAT_NF4, 64, &w));
    clq_weight_desc d = clq_weight_get_desc(w);
    cr_assert(d.format == format && d.block == 32 && d.rows == t.dims[1] && d.cols == t.dims[0],
              "%s loaded as %s/%u %llux%llu", name, clq_format_name(d.format), d.block,
              (unsigned long long)d.rows, (unsigned long long)d.cols);
    clq_external got;
    test_alloc_external(&d, CLQ_LAYOUT_GGML, &got);
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_GGML, &got));
    cr_assert_eq(got.data_bytes, t.size);
    assert_bytes(name, got.data, blocks, got.data_bytes);
    assert_dequant(w, dequant, name);
    ref_external_free(&got);
    clq_weight_destroy(w);
}

/* A float tensor (its values in `x`, fp32) loaded into `format`: the same
 * as the scalar reference quantizer gives for those values. */
static void check_float_load(const clq_gguf *g, const char *name, const float *x, clq_format format,
                             uint32_t block)
{
    clq_gguf_tensor t = tensor(g, name);
    clq_weight *w = NULL;
    TEST_OK(clq_gguf_load_weight(test_context(), g, name, format, block, &w));
    clq_weight_desc d = clq_weight_get_desc(w);
    cr_assert(d.format == format && d.block == block && d.rows == t.dims[1] && d.cols == t.dims[0]);
    ref_quant rq;
    cr_assert_eq(ref_quantize(&d, x, &rq), 0);
    float *want = malloc(t.elements * sizeof *want);
    ref_dequantize(&rq, want);
    assert_dequant(w, want, name);
    free(want);
    ref_quant_free(&rq);
    clq_weight_destroy(w);
}

static float *halves_to_floats(const uint16_t *h, size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = clq_fp16_to_fp32(h[i]);
    return x;
}

/* ---- tests/data/model.gguf, written by ggml's gguf_write_to_file ---------- */

Test(gguf, ggml_file_metadata)
{
    clq_gguf *g = open_data("model.gguf");
    cr_assert_eq(clq_gguf_version(g), 3);
    cr_assert_eq(clq_gguf_alignment(g), 32);
    cr_assert_eq(clq_gguf_metadata_count(g), 5);
    const char *order[] = {"general.architecture", "general.name", "clqtest.block_count",
                           "clqtest.rope_freq_base", "clqtest.words"};
    for (size_t k = 0; k < 5; k++) {
        clq_gguf_value v;
        TEST_OK(clq_gguf_metadata_get(g, k, &v));
        cr_assert_str_eq(v.key, order[k]);
    }
    assert_string_key(g, "general.architecture", "clqtest");
    assert_string_key(g, "general.name", "clq reference vectors");
    cr_assert_eq(find(g, "clqtest.block_count", CLQ_GGUF_UINT32).u, 3);
    cr_assert_eq(find(g, "clqtest.rope_freq_base", CLQ_GGUF_FLOAT32).f, 10000.0);
    clq_gguf_value words = find(g, "clqtest.words", CLQ_GGUF_ARRAY);
    cr_assert_eq(words.array_type, CLQ_GGUF_STRING);
    cr_assert_eq(words.array_count, 3);
    clq_gguf_value w[3];
    TEST_OK(clq_gguf_array_get(g, &words, 0, 3, w));
    assert_string(w[0].string, "alpha", "words[0]");
    assert_string(w[1].string, "beta", "words[1]");
    assert_string(w[2].string, "gamma", "words[2]");
    TEST_OK(clq_gguf_array_get(g, &words, 2, 1, w));
    assert_string(w[0].string, "gamma", "words[2] alone");
    cr_assert_eq(clq_gguf_array_get(g, &words, 2, 2, w), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_gguf_metadata_find(g, "general.alignment", w), CLQ_ERROR_NOT_FOUND);
    cr_assert_eq(clq_gguf_metadata_find(g, "general", w), CLQ_ERROR_NOT_FOUND);
    clq_gguf_close(g);
}

Test(gguf, ggml_file_tensors)
{
    clq_gguf *g = open_data("model.gguf");
    cr_assert_eq(clq_gguf_tensor_count(g), 4);
    const char *order[] = {"blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "blk.0.attn_q.weight",
                           "output_norm.weight"};
    for (size_t k = 0; k < 4; k++) {
        clq_gguf_tensor t;
        TEST_OK(clq_gguf_tensor_info(g, k, &t));
        cr_assert_str_eq(t.name, order[k]);
        cr_assert_eq(t.offset % 32, 0);
    }
    clq_gguf_tensor q4 = tensor(g, "blk.0.ffn_up.weight"), q8 = tensor(g, "blk.0.ffn_down.weight");
    clq_gguf_tensor f16 = tensor(g, "blk.0.attn_q.weight"), f32 = tensor(g, "output_norm.weight");
    assert_tensor(&q4, CLQ_GGML_Q4_0, 2, 256, 64, 64 * 8 * 18);
    assert_tensor(&q8, CLQ_GGML_Q8_0, 2, 256, 64, 64 * 8 * 34);
    assert_tensor(&f16, CLQ_GGML_F16, 2, 256, 64, 64 * 256 * 2);
    assert_tensor(&f32, CLQ_GGML_F32, 1, 256, 1, 256 * 4);
    cr_assert_eq(q4.offset, 512, "the data section follows the directory, aligned to 32");
    cr_assert_str_eq(clq_ggml_type_name(q4.type), "q4_0");

    /* The same blocks as ggml's vectors folders, and the same input. */
    size_t size;
    void *blocks = test_read_data("ggml-q4-b32/quant.bin", &size);
    cr_assert_eq(size, q4.size);
    assert_bytes("q4_0 blocks", q4.data, blocks, size);
    free(blocks);
    blocks = test_read_data("ggml-q8-b32/quant.bin", &size);
    cr_assert_eq(size, q8.size);
    assert_bytes("q8_0 blocks", q8.data, blocks, size);
    free(blocks);
    float *input = test_read_data("ggml-q4-b32/input.f32", &size);
    const uint16_t *h = f16.data;
    for (size_t i = 0; i < 64 * 256; i++)
        cr_assert_eq(h[i], clq_fp32_to_fp16(input[i]), "f16 element %zu", i);
    free(input);
    const float *v = f32.data;
    for (int j = 0; j < 256; j++)
        cr_assert_eq(v[j], 1.0f + 0.01f * (float)j, "f32 element %d is %a", j, v[j]);
    cr_assert_eq(clq_gguf_find_tensor(g, "blk.0.ffn_up", &size), CLQ_ERROR_NOT_FOUND);
    clq_gguf_close(g);
}

Test(gguf, ggml_file_loads_bit_exact)
{
    clq_gguf *g = open_data("model.gguf");
    size_t size;
    void *q4 = test_read_data("ggml-q4-b32/quant.bin", &size);
    float *q4_dequant = test_read_data("ggml-q4-b32/dequant.f32", &size);
    check_ggml_load(g, "blk.0.ffn_up.weight", CLQ_FORMAT_Q4, q4, q4_dequant);
    void *q8 = test_read_data("ggml-q8-b32/quant.bin", &size);
    float *q8_dequant = test_read_data("ggml-q8-b32/dequant.f32", &size);
    check_ggml_load(g, "blk.0.ffn_down.weight", CLQ_FORMAT_Q8, q8, q8_dequant);
    free(q4);
    free(q4_dequant);
    free(q8);
    free(q8_dequant);
    clq_gguf_close(g);
}

Test(gguf, ggml_file_float_tensors_quantize)
{
    clq_gguf *g = open_data("model.gguf");
    clq_gguf_tensor f16 = tensor(g, "blk.0.attn_q.weight"), f32 = tensor(g, "output_norm.weight");
    float *x = halves_to_floats(f16.data, f16.elements);
    check_float_load(g, "blk.0.attn_q.weight", x, CLQ_FORMAT_Q8, 32);
    check_float_load(g, "blk.0.attn_q.weight", x, CLQ_FORMAT_NF4, 64);
    check_float_load(g, "blk.0.attn_q.weight", x, CLQ_FORMAT_Q4Z, 128);
    free(x);
    /* A 1-D tensor is one row. */
    check_float_load(g, "output_norm.weight", f32.data, CLQ_FORMAT_Q4, 32);
    clq_weight *w = NULL;
    cr_assert_eq(clq_gguf_load_weight(test_context(), g, "output_norm.weight", CLQ_FORMAT_Q8, 512, &w),
                 CLQ_ERROR_SHAPE, "256 columns do not hold blocks of 512: %s", clq_last_error());
    cr_assert_eq(clq_gguf_load_weight(test_context(), g, "missing", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_NOT_FOUND);
    cr_assert_null(w);
    clq_gguf_close(g);
}

/* The same bytes through clq_gguf_open_memory: no copy is made. */
Test(gguf, open_memory_views_the_callers_bytes)
{
    size_t size;
    unsigned char *bytes = test_read_data("model.gguf", &size);
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open_memory(bytes, size, &g));
    clq_gguf_tensor t = tensor(g, "output_norm.weight");
    cr_assert_eq((const unsigned char *)t.data, bytes + t.offset);
    clq_gguf_value name = find(g, "general.name", CLQ_GGUF_STRING);
    cr_assert(name.string.data > (const char *)bytes && name.string.data < (const char *)bytes + size);
    cr_assert_eq(name.offset + 8, (uint64_t)(name.string.data - (const char *)bytes));
    clq_gguf_close(g);
    free(bytes);
}

/* ---- a file written by gguf-py's GGUFWriter (tests/gen/make_gguf.py) ------ */

static clq_gguf *open_python_file(void)
{
#if !CLQ_HAVE_GGUF_PY
    cr_skip("python3 with the gguf package was not found at configure time "
            "(pip install gguf numpy, then re-run cmake)");
    return NULL;
#else
    char path[1024];
    snprintf(path, sizeof path, "%s/clq_py.gguf", CLQ_GGUF_PY_DIR);
    clq_gguf *g = NULL;
    int status = clq_gguf_open(path, &g);
    cr_assert_eq(status, CLQ_SUCCESS, "%s\n(ctest writes it first with tests/gen/make_gguf.py %s)",
                 clq_last_error(), CLQ_GGUF_PY_DIR);
    return g;
#endif
}

static void *read_python_output(const char *name, const char *suffix, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s", CLQ_GGUF_PY_DIR, name, suffix);
    void *data = clq_read_file(path, size);
    cr_assert_not_null(data, "cannot read %s", path);
    return data;
}

static void check_array(const clq_gguf *g, const char *key, clq_gguf_type type, uint64_t count,
                        clq_gguf_value *out)
{
    clq_gguf_value a = find(g, key, CLQ_GGUF_ARRAY);
    cr_assert_eq(a.array_type, type, "%s: element type %d", key, a.array_type);
    cr_assert_eq(a.array_count, count, "%s: %llu elements", key, (unsigned long long)a.array_count);
    TEST_OK(clq_gguf_array_get(g, &a, 0, count, out));
    for (uint64_t k = 0; k < count; k++)
        cr_assert(out[k].type == type && out[k].key == NULL);
}

Test(gguf, python_file_scalars)
{
    clq_gguf *g = open_python_file();
    cr_assert_eq(clq_gguf_version(g), 3);
    cr_assert_eq(clq_gguf_alignment(g), 64);
    cr_assert_eq(clq_gguf_metadata_count(g), 3 + 14 + 12);
    assert_string_key(g, "general.architecture", "clqpy");
    assert_string_key(g, "general.name", "clq gguf-py test");
    cr_assert_eq(find(g, "general.alignment", CLQ_GGUF_UINT32).u, 64);
    cr_assert_eq(find(g, "clqpy.u8", CLQ_GGUF_UINT8).u, 200);
    cr_assert_eq(find(g, "clqpy.i8", CLQ_GGUF_INT8).i, -100);
    cr_assert_eq(find(g, "clqpy.u16", CLQ_GGUF_UINT16).u, 60000);
    cr_assert_eq(find(g, "clqpy.i16", CLQ_GGUF_INT16).i, -30000);
    cr_assert_eq(find(g, "clqpy.u32", CLQ_GGUF_UINT32).u, 4000000000u);
    cr_assert_eq(find(g, "clqpy.i32", CLQ_GGUF_INT32).i, -2000000000);
    cr_assert_eq(find(g, "clqpy.u64", CLQ_GGUF_UINT64).u, 9223372036854775813ull);
    cr_assert_eq(find(g, "clqpy.i64", CLQ_GGUF_INT64).i, -4611686018427387904ll - 3);
    cr_assert_eq(find(g, "clqpy.f32", CLQ_GGUF_FLOAT32).f, (double)3.14159f);
    cr_assert_eq(find(g, "clqpy.f64", CLQ_GGUF_FLOAT64).f, -2.718281828459045);
    cr_assert_eq(find(g, "clqpy.bool_true", CLQ_GGUF_BOOL).u, 1);
    cr_assert_eq(find(g, "clqpy.bool_false", CLQ_GGUF_BOOL).u, 0);
    assert_string_key(g, "clqpy.str", "h\xc3\xa9llo w\xc3\xb6rld");
    assert_string_key(g, "clqpy.empty_str", "");
    clq_gguf_close(g);
}

Test(gguf, python_file_arrays)
{
    clq_gguf *g = open_python_file();
    clq_gguf_value v[3];
    check_array(g, "clqpy.arr_u8", CLQ_GGUF_UINT8, 3, v);
    cr_assert(v[0].u == 0 && v[1].u == 1 && v[2].u == 255);
    check_array(g, "clqpy.arr_i8", CLQ_GGUF_INT8, 3, v);
    cr_assert(v[0].i == -128 && v[1].i == 0 && v[2].i == 127);
    check_array(g, "clqpy.arr_u16", CLQ_GGUF_UINT16, 2, v);
    cr_assert(v[0].u == 0 && v[1].u == 65535);
    check_array(g, "clqpy.arr_i16", CLQ_GGUF_INT16, 2, v);
    cr_assert(v[0].i == -32768 && v[1].i == 32767);
    check_array(g, "clqpy.arr_u32", CLQ_GGUF_UINT32, 2, v);
    cr_assert(v[0].u == 0 && v[1].u == 4294967295u);
    check_array(g, "clqpy.arr_i32", CLQ_GGUF_INT32, 3, v);
    cr_assert(v[0].i == -1 && v[1].i == 0 && v[2].i == 7);
    check_array(g, "clqpy.arr_u64", CLQ_GGUF_UINT64, 2, v);
    cr_assert(v[0].u == 0 && v[1].u == UINT64_MAX);
    check_array(g, "clqpy.arr_i64", CLQ_GGUF_INT64, 2, v);
    cr_assert(v[0].i == INT64_MIN && v[1].i == INT64_MAX);
    check_array(g, "clqpy.arr_f32", CLQ_GGUF_FLOAT32, 3, v);
    cr_assert(v[0].f == 0.5 && v[1].f == -1.25 && v[2].f == (double)1e10f);
    check_array(g, "clqpy.arr_f64", CLQ_GGUF_FLOAT64, 2, v);
    cr_assert(v[0].f == 0.1 && v[1].f == -1e300);
    check_array(g, "clqpy.arr_bool", CLQ_GGUF_BOOL, 3, v);
    cr_assert(v[0].u == 1 && v[1].u == 0 && v[2].u == 1);
    check_array(g, "clqpy.arr_str", CLQ_GGUF_STRING, 3, v);
    assert_string(v[0].string, "alpha", "arr_str[0]");
    assert_string(v[1].string, "", "arr_str[1]");
    assert_string(v[2].string,
                  "\xc3\xbc"
                  "n\xc3\xaf"
                  "code",
                  "arr_str[2]");
    /* Part of an array, and the element offsets. */
    clq_gguf_value a = find(g, "clqpy.arr_i16", CLQ_GGUF_ARRAY);
    TEST_OK(clq_gguf_array_get(g, &a, 1, 1, v));
    cr_assert(v[0].i == 32767 && v[0].offset == a.offset + 2);
    cr_assert_eq(clq_gguf_array_get(g, &a, 3, 0, v), CLQ_ERROR_INVALID_ARGUMENT);
    clq_gguf_value not_array = find(g, "clqpy.u8", CLQ_GGUF_UINT8);
    cr_assert_eq(clq_gguf_array_get(g, &not_array, 0, 1, v), CLQ_ERROR_INVALID_ARGUMENT);
    clq_gguf_close(g);
}

/* Every tensor's bytes, as the reader sees them, are the ones handed to the
 * writer; its shape is the numpy shape reversed. */
Test(gguf, python_file_tensor_bytes)
{
    clq_gguf *g = open_python_file();
    struct {
        const char *name;
        uint32_t type, n_dims;
        uint64_t dims[3];
    } want[] = {
        {"blk.0.ffn_up.weight", CLQ_GGML_Q4_0, 2, {96, 24, 1}},
        {"blk.0.ffn_down.weight", CLQ_GGML_Q8_0, 2, {128, 20, 1}},
        {"blk.0.attn_k.weight", 3 /* q4_1 */, 2, {64, 6, 1}},
        {"blk.0.attn_q.weight", CLQ_GGML_F16, 2, {64, 8, 1}},
        {"output_norm.weight", CLQ_GGML_F32, 1, {128, 1, 1}},
        {"blk.0.experts.weight", CLQ_GGML_F32, 3, {32, 3, 2}},
    };
    cr_assert_eq(clq_gguf_tensor_count(g), sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        clq_gguf_tensor t;
        TEST_OK(clq_gguf_tensor_info(g, k, &t));
        cr_assert_str_eq(t.name, want[k].name);
        cr_assert(t.type == want[k].type && t.n_dims == want[k].n_dims, "%s", t.name);
        for (int d = 0; d < 3; d++)
            cr_assert_eq(t.dims[d], want[k].dims[d], "%s dim %d", t.name, d);
        cr_assert_eq(t.offset % 64, 0, "%s at %llu: general.alignment is 64", t.name,
                     (unsigned long long)t.offset);
        size_t size;
        void *bytes = read_python_output(t.name, ".bin", &size);
        cr_assert_eq(t.size, size, "%s: %llu bytes, the writer wrote %zu", t.name, (unsigned long long)t.size,
                     size);
        assert_bytes(t.name, t.data, bytes, size);
        free(bytes);
    }
    cr_assert_str_eq(clq_ggml_type_name(3), "q4_1");
    clq_gguf_close(g);
}

Test(gguf, python_file_loads_match_gguf_py)
{
    clq_gguf *g = open_python_file();
    size_t size;
    const char *quantized[] = {"blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "blk.0.attn_k.weight"};
    const clq_format formats[] = {CLQ_FORMAT_Q4, CLQ_FORMAT_Q8, CLQ_FORMAT_Q4_1};
    for (int k = 0; k < 3; k++) {
        void *blocks = read_python_output(quantized[k], ".bin", &size);
        float *dequant = read_python_output(quantized[k], ".dequant.f32", &size);
        check_ggml_load(g, quantized[k], formats[k], blocks, dequant);
        free(blocks);
        free(dequant);
    }
    /* gguf-py's "dequantization" of f16 is the exact widening to f32. */
    float *x = read_python_output("blk.0.attn_q.weight", ".dequant.f32", &size);
    check_float_load(g, "blk.0.attn_q.weight", x, CLQ_FORMAT_Q4, 32);
    check_float_load(g, "blk.0.attn_q.weight", x, CLQ_FORMAT_FP4, 64);
    free(x);
    x = read_python_output("output_norm.weight", ".dequant.f32", &size);
    check_float_load(g, "output_norm.weight", x, CLQ_FORMAT_DYNAMIC8, 128);
    free(x);

    clq_weight *w = NULL;
    cr_assert_eq(clq_gguf_load_weight(test_context(), g, "blk.0.experts.weight", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_SHAPE);
    cr_assert_null(w);
    clq_gguf_close(g);
}
