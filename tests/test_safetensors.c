/* The safetensors reader and its bitsandbytes 4-bit loader against a file
 * the reference writer wrote (PyPI `safetensors`, at test time, by
 * tests/gen/make_safetensors.py) from the peers' vectors in tests/data:
 * every tensor's bytes must be the ones handed to the writer, each bnb
 * layer must load bit-exactly (export gives the vectors' bytes back,
 * dequantization the peer's values) and multiply correctly. Hostile files
 * are in safetensors_hostile.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "clq_ref.h"
#include "folder.h"
#include "support.h"

/* The bnb folders of tests/data that the generator turns into layers. */
static const char *const bnb_folders[] = {"bnb-nf4-b32",    "bnb-nf4-b64",   "bnb-nf4-b128", "bnb-nf4-b256",
                                          "bnb-nf4-b64-dq", "bnb-fp4-b32",   "bnb-fp4-b64",  "bnb-fp4-b128",
                                          "bnb-fp4-b256",   "bnb-fp4-b64-dq"};
#define BNB_FOLDERS (sizeof bnb_folders / sizeof bnb_folders[0])

static clq_safetensors *open_python_file(void)
{
#if !CLQ_HAVE_SAFETENSORS_PY
    cr_skip("python3 with the safetensors and numpy packages was not found at configure time "
            "(pip install safetensors numpy, then re-run cmake)");
    return NULL;
#else
    char path[1024];
    snprintf(path, sizeof path, "%s/bnb.safetensors", CLQ_SAFETENSORS_PY_DIR);
    clq_safetensors *st = NULL;
    int status = clq_safetensors_open(path, &st);
    cr_assert_eq(status, CLQ_SUCCESS, "%s\n(ctest writes it first with tests/gen/make_safetensors.py)",
                 clq_last_error());
    return st;
#endif
}

static void *read_python_output(const char *name, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.bin", CLQ_SAFETENSORS_PY_DIR, name);
    void *data = clq_read_file(path, size);
    cr_assert_not_null(data, "cannot read %s", path);
    return data;
}

static clq_safetensors_tensor tensor(const clq_safetensors *st, const char *name)
{
    size_t index;
    clq_safetensors_tensor t;
    TEST_OK(clq_safetensors_find_tensor(st, name, &index));
    TEST_OK(clq_safetensors_tensor_info(st, index, &t));
    cr_assert_str_eq(t.name, name);
    return t;
}

static void assert_bytes(const char *what, const void *got, const void *want, size_t bytes)
{
    long at = test_first_diff(got, want, bytes);
    cr_assert_eq(at, -1, "%s differs at byte %ld of %zu", what, at, bytes);
}

static void prefix_of(const char *folder, char *prefix, size_t len)
{
    snprintf(prefix, len, "clq.%s", folder);
    for (char *p = prefix; *p; p++)
        if (*p == '-')
            *p = '_';
}

Test(safetensors, python_file_directory)
{
    clq_safetensors *st = open_python_file();
    /* 10 layers (4 tensors each, 6 with double quantization) and 9 plain ones. */
    cr_assert_eq(clq_safetensors_tensor_count(st), 8 * 4 + 2 * 6 + 9);
    uint64_t end = 0;
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        TEST_OK(clq_safetensors_tensor_info(st, k, &t));
        cr_assert(k == 0 || t.offset == end, "%s: listed in the order of the data", t.name);
        end = t.offset + t.size;
        size_t index;
        TEST_OK(clq_safetensors_find_tensor(st, t.name, &index));
        cr_assert_eq(index, k);
    }
    size_t index;
    cr_assert_eq(clq_safetensors_find_tensor(st, "plain", &index), CLQ_ERROR_NOT_FOUND);
    cr_assert_eq(clq_safetensors_metadata_count(st), 2);
    const char *key, *value;
    TEST_OK(clq_safetensors_metadata_find(st, "format", &value));
    cr_assert_str_eq(value, "pt");
    TEST_OK(clq_safetensors_metadata_find(st, "producer", &value));
    cr_assert_str_eq(value, "clq make_safetensors.py");
    /* In the header's order, which the writer chose. */
    TEST_OK(clq_safetensors_metadata_get(st, 0, &key, &value));
    cr_assert(strcmp(key, "producer") == 0 || strcmp(key, "format") == 0, "%s", key);
    cr_assert_eq(clq_safetensors_metadata_find(st, "missing", &value), CLQ_ERROR_NOT_FOUND);
    cr_assert_eq(clq_safetensors_metadata_get(st, 2, &key, &value), CLQ_ERROR_NOT_FOUND);
    clq_safetensors_close(st);
}

/* Every plain tensor: dtype, shape, and the bytes the writer was given. */
Test(safetensors, python_file_plain_tensors)
{
    clq_safetensors *st = open_python_file();
    struct {
        const char *name;
        clq_safetensors_dtype dtype;
        uint32_t n_dims;
        uint64_t dims[2];
    } want[] = {
        {"plain.f32", CLQ_SAFETENSORS_F32, 2, {12, 64}},
        {"plain.f16", CLQ_SAFETENSORS_F16, 2, {12, 64}},
        {"plain.bf16_bits", CLQ_SAFETENSORS_BF16, 2, {12, 64}},
        {"plain.i8", CLQ_SAFETENSORS_I8, 2, {2, 5}},
        {"plain.i32", CLQ_SAFETENSORS_I32, 1, {3, 0}},
        {"plain.i64", CLQ_SAFETENSORS_I64, 2, {2, 1}},
        {"plain.u8", CLQ_SAFETENSORS_U8, 1, {3, 0}},
        {"plain.scalar", CLQ_SAFETENSORS_F64, 0, {0, 0}},
        {"plain.empty", CLQ_SAFETENSORS_F32, 2, {0, 3}},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        clq_safetensors_tensor t = tensor(st, want[k].name);
        cr_assert(t.dtype == want[k].dtype && t.n_dims == want[k].n_dims, "%s: %s, %u dims", t.name,
                  clq_safetensors_dtype_name(t.dtype), t.n_dims);
        uint64_t elements = 1;
        for (uint32_t d = 0; d < t.n_dims; d++) {
            cr_assert_eq(t.dims[d], want[k].dims[d], "%s dim %u", t.name, d);
            elements *= t.dims[d];
        }
        cr_assert_eq(t.elements, elements);
        cr_assert_eq(t.size, elements * clq_safetensors_dtype_size(t.dtype));
        size_t size;
        void *bytes = read_python_output(t.name, &size);
        cr_assert_eq(t.size, size, "%s: %llu bytes, the writer wrote %zu", t.name, (unsigned long long)t.size,
                     size);
        assert_bytes(t.name, t.data, bytes, size);
        free(bytes);
    }
    cr_assert_str_eq(clq_safetensors_dtype_name(CLQ_SAFETENSORS_BF16), "BF16");
    cr_assert_null(clq_safetensors_dtype_name((clq_safetensors_dtype)99));
    clq_safetensors_close(st);
}

/* Float tensors quantize like the reference does from their fp32 values
 * (BF16 widened exactly). */
Test(safetensors, python_file_float_weights)
{
    clq_safetensors *st = open_python_file();
    clq_safetensors_tensor f32 = tensor(st, "plain.f32");
    const float *x = f32.data; /* 8-aligned: the writer pads the header */
    const char *names[] = {"plain.f32", "plain.f16", "plain.bf16_bits"};
    float widened[12 * 64];
    for (int k = 0; k < 3; k++) {
        clq_safetensors_tensor t = tensor(st, names[k]);
        for (size_t i = 0; i < 12 * 64; i++) {
            uint16_t h;
            memcpy(&h, (const char *)t.data + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            widened[i] = k == 0 ? x[i] : k == 1 ? clq_fp16_to_fp32(h) : 0;
            if (k == 2)
                memcpy(&widened[i], &bits, 4);
        }
        clq_weight *w = NULL;
        TEST_OK(clq_safetensors_load_weight(test_context(), st, names[k], CLQ_FORMAT_NF4, 32, &w));
        clq_weight_desc d = clq_weight_get_desc(w);
        cr_assert(d.rows == 12 && d.cols == 64 && d.format == CLQ_FORMAT_NF4 && d.block == 32);
        ref_quant rq;
        cr_assert_eq(ref_quantize(&d, widened, &rq), 0);
        float want[12 * 64], got[12 * 64];
        ref_dequantize(&rq, want);
        TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, got, sizeof got));
        assert_bytes(names[k], got, want, sizeof got);
        ref_quant_free(&rq);
        clq_weight_destroy(w);
    }
    clq_weight *w = NULL;
    cr_assert_eq(clq_safetensors_load_weight(test_context(), st, "plain.i8", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_UNSUPPORTED_FORMAT);
    cr_assert(strstr(clq_last_error(), "I8"), "%s", clq_last_error());
    cr_assert_eq(clq_safetensors_load_weight(test_context(), st, "plain.scalar", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_SHAPE);
    cr_assert_eq(clq_safetensors_load_weight(test_context(), st, "nothing", CLQ_FORMAT_Q8, 32, &w),
                 CLQ_ERROR_NOT_FOUND);
    cr_assert_null(w);
    clq_safetensors_close(st);
}

/* Y = X·Wᵀ through clq_matmul against the double-precision reference, W
 * being the peer's own dequantized values. */
static void check_matmul(const clq_weight *w, const float *dequant, const char *what)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    const uint64_t ms[] = {1, 40};
    clq_rng rng = {77};
    for (int t = 0; t < 2; t++) {
        uint64_t m = ms[t];
        float *x = malloc(m * d.cols * sizeof *x), *y = malloc(m * d.rows * sizeof *y);
        double *want = malloc(m * d.rows * sizeof *want), *bound = malloc(m * d.rows * sizeof *bound);
        for (uint64_t i = 0; i < m * d.cols; i++)
            x[i] = clq_rng_normal(&rng, 1.0f);
        TEST_OK(clq_matmul_host(w, m, CLQ_DTYPE_F32, x, NULL, y, NULL, NULL));
        ref_matmul(dequant, d.rows, d.cols, x, m, NULL, NULL, 0, NULL, want, bound);
        for (uint64_t i = 0; i < m * d.rows; i++)
            cr_assert(fabs((double)y[i] - want[i]) <= bound[i], "%s M=%llu: Y[%llu] = %.9g, reference %.9g",
                      what, (unsigned long long)m, (unsigned long long)i, y[i], want[i]);
        free(x);
        free(y);
        free(want);
        free(bound);
    }
}

static void check_bnb_layer(const clq_safetensors *st, const char *folder_name)
{
    char dir[1024], err[256], prefix[128];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, folder_name);
    clq_folder f;
    cr_assert_eq(clq_folder_read(dir, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    prefix_of(folder_name, prefix, sizeof prefix);

    clq_bnb_info info;
    TEST_OK(clq_safetensors_bnb_info(st, prefix, &info));
    cr_assert(info.desc.format == f.desc.format && info.desc.block == f.desc.block &&
                  info.desc.rows == f.desc.rows && info.desc.cols == f.desc.cols &&
                  info.desc.double_quant == f.desc.double_quant,
              "%s: %s/%u %llux%llu dq=%d", prefix, clq_format_name(info.desc.format), info.desc.block,
              (unsigned long long)info.desc.rows, (unsigned long long)info.desc.cols, info.desc.double_quant);
    cr_assert_str_eq(info.dtype, "float32");
    cr_assert_eq(memcmp(&info.nested_offset, &f.arrays.offset, 4), 0, "%s: nested_offset", prefix);

    clq_weight *w = NULL;
    TEST_OK(clq_safetensors_load_bnb(test_context(), st, prefix, &w));
    clq_external got;
    test_alloc_external(&f.desc, CLQ_LAYOUT_BNB, &got);
    TEST_OK(clq_weight_export(w, CLQ_LAYOUT_BNB, &got));
    assert_bytes("packed codes", got.data, f.arrays.data, f.arrays.data_bytes);
    assert_bytes("absmax", got.scales, f.arrays.scales, f.arrays.scales_bytes);
    if (f.desc.double_quant) {
        assert_bytes("nested_absmax", got.nested_absmax, f.arrays.nested_absmax,
                     f.arrays.nested_absmax_bytes);
        assert_bytes("nested_code", got.nested_code, f.arrays.nested_code, f.arrays.nested_code_bytes);
        cr_assert_eq(memcmp(&got.offset, &f.arrays.offset, 4), 0);
    }
    size_t n = f.desc.rows * f.desc.cols;
    float *y = malloc(n * sizeof *y);
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, n * sizeof *y));
    assert_bytes(folder_name, y, f.dequant, n * sizeof *y);
    free(y);
    check_matmul(w, f.dequant, folder_name);
    ref_external_free(&got);
    clq_weight_destroy(w);
    clq_folder_free(&f);
}

Test(safetensors, bnb_layers_load_bit_exact_and_multiply)
{
    clq_safetensors *st = open_python_file();
    for (size_t k = 0; k < BNB_FOLDERS; k++)
        check_bnb_layer(st, bnb_folders[k]);
    clq_bnb_info info;
    cr_assert_eq(clq_safetensors_bnb_info(st, "plain", &info), CLQ_ERROR_NOT_FOUND);
    cr_assert_eq(clq_safetensors_bnb_info(st, "clq.bnb_nf4_b64.weight", &info), CLQ_ERROR_NOT_FOUND);
    clq_safetensors_close(st);
}

/* The file's bytes in memory with one change at `offset` (of tensor
 * `name`'s data), opened and asked for layer `prefix`. */
static int bnb_info_after_change(const char *name, uint64_t at, unsigned char value, const char *prefix)
{
    clq_safetensors *st = open_python_file();
    clq_safetensors_tensor t = tensor(st, name);
    size_t size;
    char path[1024];
    snprintf(path, sizeof path, "%s/bnb.safetensors", CLQ_SAFETENSORS_PY_DIR);
    unsigned char *bytes = clq_read_file(path, &size);
    bytes[t.offset + at] = value;
    clq_safetensors_close(st);
    TEST_OK(clq_safetensors_open_memory(bytes, size, &st));
    clq_bnb_info info;
    int status = clq_safetensors_bnb_info(st, prefix, &info);
    clq_safetensors_close(st);
    free(bytes);
    return status;
}

Test(safetensors, bnb_state_faults_are_named)
{
    /* quant_map[2]'s top byte changed: not the nf4 code any more. */
    cr_assert_eq(bnb_info_after_change("clq.bnb_nf4_b64.weight.quant_map", 11, 0x3f, "clq.bnb_nf4_b64"),
                 CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "quant_map'[2]") && strstr(clq_last_error(), "not a nf4 quant_map"),
              "%s", clq_last_error());
    /* The JSON broken: its first byte is no longer '{'. */
    cr_assert_eq(bnb_info_after_change("clq.bnb_fp4_b32.weight.quant_state.bitsandbytes__fp4", 0, '[',
                                       "clq.bnb_fp4_b32"),
                 CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "JSON"), "%s", clq_last_error());
    /* quant_type "nf4" in the __fp4 tensor. */
    clq_safetensors *st = open_python_file();
    clq_safetensors_tensor s = tensor(st, "clq.bnb_fp4_b32.weight.quant_state.bitsandbytes__fp4");
    const char *type = memchr(s.data, 'f', (size_t)s.size);
    uint64_t at = (uint64_t)(type - (const char *)s.data);
    clq_safetensors_close(st);
    cr_assert_eq(bnb_info_after_change("clq.bnb_fp4_b32.weight.quant_state.bitsandbytes__fp4", at, 'n',
                                       "clq.bnb_fp4_b32"),
                 CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "quant_type is 'np4'"), "%s", clq_last_error());
}
