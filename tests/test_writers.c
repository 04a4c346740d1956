/* clq's writers: bitsandbytes 4-bit layers into safetensors and Q4/Q8
 * weights into GGUF, from weights imported from the peers' vectors. clq's
 * own readers must read back every byte; the files and what clq exported
 * are left in CLQ_WRITTEN_DIR for tests/gen/check_written.py, which reads
 * them with the reference Python packages (ctest check_written, run after
 * this test). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clq_io.h"
#include "clq_ref.h"
#include "folder.h"
#include "support.h"

/* The layers written, named as check_written.py expects. */
static const char *const bnb_folders[] = {"bnb-nf4-b32", "bnb-nf4-b128", "bnb-nf4-b64-dq",
                                          "bnb-fp4-b64", "bnb-fp4-b256", "bnb-fp4-b64-dq"};
#define BNB_COUNT (sizeof bnb_folders / sizeof bnb_folders[0])

static void path_in(char *buf, size_t len, const char *name)
{
    mkdir(CLQ_WRITTEN_DIR, 0755);
    snprintf(buf, len, "%s/%s", CLQ_WRITTEN_DIR, name);
}

static clq_weight *import_folder(const char *name, clq_folder *f)
{
    char dir[1024], err[256];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, name);
    cr_assert_eq(clq_folder_read(dir, f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    clq_weight *w = NULL;
    TEST_OK(clq_weight_import(test_context(), &f->desc, f->layout, &f->arrays, &w));
    return w;
}

/* What clq exports from `w`, with its dequantized values, as a folder
 * CLQ_WRITTEN_DIR/<name>.export for the Python checker. */
static void write_export(const clq_weight *w, clq_layout layout, const char *name)
{
    clq_folder f = {0};
    f.desc = clq_weight_get_desc(w);
    f.layout = layout;
    f.nested_block = f.desc.double_quant ? 256 : 0;
    test_alloc_external(&f.desc, layout, &f.arrays);
    TEST_OK(clq_weight_export(w, layout, &f.arrays));
    size_t n = f.desc.rows * f.desc.cols;
    f.dequant = malloc(n * sizeof(float));
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, f.dequant, n * sizeof(float)));
    /* The folder convention leaves unused arrays NULL. */
    if (!f.arrays.nested_absmax_bytes) {
        free(f.arrays.nested_absmax);
        f.arrays.nested_absmax = NULL;
    }
    if (!f.arrays.nested_code_bytes) {
        free(f.arrays.nested_code);
        f.arrays.nested_code = NULL;
    }
    free(f.arrays.zero_points);
    f.arrays.zero_points = NULL;
    if (!f.arrays.scales_bytes) {
        free(f.arrays.scales);
        f.arrays.scales = NULL;
    }
    char dir[1024], err[256];
    char export_name[256];
    snprintf(export_name, sizeof export_name, "%s.export", name);
    path_in(dir, sizeof dir, export_name);
    cr_assert_eq(clq_folder_write(dir, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    clq_folder_free(&f);
}

static void assert_same(const char *what, const void *got, const void *want, size_t bytes)
{
    long at = test_first_diff(got, want, bytes);
    cr_assert_eq(at, -1, "%s differs at byte %ld of %zu", what, at, bytes);
}

Test(writers, bnb_safetensors_round_trip)
{
    clq_safetensors_writer *sw = NULL;
    TEST_OK(clq_safetensors_writer_create(&sw));
    TEST_OK(clq_safetensors_writer_add_metadata(sw, "format", "pt"));
    cr_assert_eq(clq_safetensors_writer_add_metadata(sw, "format", "again"), CLQ_ERROR_INVALID_ARGUMENT);
    clq_folder f[BNB_COUNT];
    char prefix[BNB_COUNT][64];
    for (size_t k = 0; k < BNB_COUNT; k++) {
        clq_weight *w = import_folder(bnb_folders[k], &f[k]);
        snprintf(prefix[k], sizeof prefix[k], "model.layers.%zu.mlp.down_proj", k);
        TEST_OK(clq_safetensors_writer_add_bnb(sw, prefix[k], w, k == 2 ? "bfloat16" : NULL));
        write_export(w, CLQ_LAYOUT_BNB, bnb_folders[k]);
        clq_weight_destroy(w);
    }
    const float bias[4] = {1, 2, 3, 4};
    const uint64_t four[1] = {4};
    TEST_OK(
        clq_safetensors_writer_add_tensor(sw, "model.norm.weight", CLQ_SAFETENSORS_F32, 1, four, bias, 16));
    cr_assert_eq(
        clq_safetensors_writer_add_tensor(sw, "model.norm.weight", CLQ_SAFETENSORS_F32, 1, four, bias, 16),
        CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_safetensors_writer_add_tensor(sw, "x", CLQ_SAFETENSORS_F32, 1, four, bias, 12),
                 CLQ_ERROR_BUFFER_TOO_SMALL);
    cr_assert_eq(
        clq_safetensors_writer_add_tensor(sw, "__metadata__", CLQ_SAFETENSORS_F32, 1, four, bias, 16),
        CLQ_ERROR_INVALID_ARGUMENT);
    char path[1024];
    path_in(path, sizeof path, "bnb.safetensors");
    TEST_OK(clq_safetensors_writer_write(sw, path));
    clq_safetensors_writer_destroy(sw);

    /* clq reads back every layer bit for bit. */
    clq_safetensors *st = NULL;
    TEST_OK(clq_safetensors_open(path, &st));
    cr_assert_eq(clq_safetensors_tensor_count(st), 4 * 6 + 2 * 2 + 1);
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        TEST_OK(clq_safetensors_tensor_info(st, k, &t));
        cr_assert_eq(t.offset % clq_safetensors_dtype_size(t.dtype), 0, "%s is aligned", t.name);
    }
    for (size_t k = 0; k < BNB_COUNT; k++) {
        clq_bnb_info info;
        TEST_OK(clq_safetensors_bnb_info(st, prefix[k], &info));
        cr_assert_str_eq(info.dtype, k == 2 ? "bfloat16" : "float32");
        clq_weight *w = NULL;
        TEST_OK(clq_safetensors_load_bnb(test_context(), st, prefix[k], &w));
        clq_external got;
        test_alloc_external(&f[k].desc, CLQ_LAYOUT_BNB, &got);
        TEST_OK(clq_weight_export(w, CLQ_LAYOUT_BNB, &got));
        assert_same("packed", got.data, f[k].arrays.data, got.data_bytes);
        assert_same("absmax", got.scales, f[k].arrays.scales, got.scales_bytes);
        assert_same("nested_absmax", got.nested_absmax, f[k].arrays.nested_absmax, got.nested_absmax_bytes);
        assert_same("nested_code", got.nested_code, f[k].arrays.nested_code, got.nested_code_bytes);
        cr_assert_eq(memcmp(&got.offset, &f[k].arrays.offset, 4), 0);
        ref_external_free(&got);
        clq_weight_destroy(w);
        clq_folder_free(&f[k]);
    }
    const char *value;
    TEST_OK(clq_safetensors_metadata_find(st, "format", &value));
    cr_assert_str_eq(value, "pt");
    clq_safetensors_close(st);

    /* A format bitsandbytes' 4-bit layers do not have. */
    clq_folder q4;
    clq_weight *w = import_folder("ggml-q4-b32", &q4);
    TEST_OK(clq_safetensors_writer_create(&sw));
    cr_assert_eq(clq_safetensors_writer_add_bnb(sw, "x", w, NULL), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    clq_safetensors_writer_destroy(sw);
    clq_weight_destroy(w);
    clq_folder_free(&q4);
}

Test(writers, gguf_round_trip)
{
    clq_gguf_writer *gw = NULL;
    TEST_OK(clq_gguf_writer_create(&gw));
    TEST_OK(clq_gguf_writer_add_string(gw, "general.architecture", "clq"));
    TEST_OK(clq_gguf_writer_add_string(gw, "general.name", "clq writer test"));
    TEST_OK(clq_gguf_writer_add_u32(gw, "general.alignment", 64));
    TEST_OK(clq_gguf_writer_add_u32(gw, "clq.block_count", 2));
    TEST_OK(clq_gguf_writer_add_f32(gw, "clq.rope_freq_base", 10000.5f));
    cr_assert_eq(clq_gguf_writer_add_u32(gw, "clq.block_count", 3), CLQ_ERROR_INVALID_ARGUMENT);
    /* q4, q8, and ggml's other block types (as ggml wrote them), each as a
     * tensor of its ggml type; check_written.py knows these names. */
    const char *folders[] = {"ggml-q4-b32",        "ggml-q8-b32",          "gguf/ggml-q4_1-s11",
                             "gguf/ggml-q5_0-s11", "gguf/ggml-q5_1-s11",   "gguf/ggml-q2_k-s11",
                             "gguf/ggml-q3_k-s11", "gguf/ggml-q4_k-s11",   "gguf/ggml-q5_k-s11",
                             "gguf/ggml-q6_k-s11", "gguf/ggml-iq4_nl-s11", "gguf/ggml-iq4_xs-s11"};
    enum { QUANTIZED = sizeof folders / sizeof folders[0] };
    char names[QUANTIZED][64];
    clq_folder f[QUANTIZED];
    for (int k = 0; k < QUANTIZED; k++) {
        const char *base = strrchr(folders[k], '/') ? strrchr(folders[k], '/') + 1 : folders[k];
        if (k < 2)
            snprintf(names[k], sizeof names[k], "%s",
                     k == 0 ? "blk.0.ffn_up.weight" : "blk.0.ffn_down.weight");
        else
            snprintf(names[k], sizeof names[k], "blk.1.%s.weight", base);
        clq_weight *w = import_folder(folders[k], &f[k]);
        TEST_OK(clq_gguf_writer_add_weight(gw, names[k], w));
        write_export(w, CLQ_LAYOUT_GGML, base);
        clq_weight_destroy(w);
    }
    float norm[96];
    uint16_t half[3 * 32];
    for (int i = 0; i < 96; i++) {
        norm[i] = 1.0f + 0.25f * (float)i;
        half[i] = (uint16_t)(0x3c00 + i); /* 1.0 and up, in fp16 bits */
    }
    const uint64_t ne1[1] = {96}, ne2[2] = {32, 3};
    TEST_OK(clq_gguf_writer_add_tensor(gw, "output_norm.weight", CLQ_GGML_F32, 1, ne1, norm, sizeof norm));
    TEST_OK(clq_gguf_writer_add_tensor(gw, "blk.0.attn_q.weight", CLQ_GGML_F16, 2, ne2, half, sizeof half));
    cr_assert_eq(clq_gguf_writer_add_tensor(gw, "x", CLQ_GGML_Q4_0, 1, ne1, norm, sizeof norm),
                 CLQ_ERROR_INVALID_ARGUMENT);
    char path[1024];
    path_in(path, sizeof path, "model.gguf");
    TEST_OK(clq_gguf_writer_write(gw, path));
    clq_gguf_writer_destroy(gw);

    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open(path, &g));
    cr_assert_eq(clq_gguf_alignment(g), 64);
    cr_assert_eq(clq_gguf_metadata_count(g), 5);
    clq_gguf_value v;
    TEST_OK(clq_gguf_metadata_find(g, "clq.rope_freq_base", &v));
    cr_assert_eq(v.f, 10000.5);
    TEST_OK(clq_gguf_metadata_find(g, "general.name", &v));
    cr_assert(v.string.length == 15 && memcmp(v.string.data, "clq writer test", 15) == 0);
    for (int k = 0; k < QUANTIZED; k++) {
        clq_weight *w = NULL;
        TEST_OK(clq_gguf_load_weight(test_context(), g, names[k], CLQ_FORMAT_Q8, 32, &w));
        clq_external got;
        test_alloc_external(&f[k].desc, CLQ_LAYOUT_GGML, &got);
        TEST_OK(clq_weight_export(w, CLQ_LAYOUT_GGML, &got));
        assert_same(names[k], got.data, f[k].arrays.data, got.data_bytes);
        ref_external_free(&got);
        clq_weight_destroy(w);
        clq_folder_free(&f[k]);
    }
    size_t index;
    clq_gguf_tensor t;
    TEST_OK(clq_gguf_find_tensor(g, "output_norm.weight", &index));
    TEST_OK(clq_gguf_tensor_info(g, index, &t));
    cr_assert(t.type == CLQ_GGML_F32 && t.n_dims == 1 && t.dims[0] == 96 && t.offset % 64 == 0);
    assert_same("f32 tensor", t.data, norm, sizeof norm);
    TEST_OK(clq_gguf_find_tensor(g, "blk.0.attn_q.weight", &index));
    TEST_OK(clq_gguf_tensor_info(g, index, &t));
    cr_assert(t.type == CLQ_GGML_F16 && t.dims[0] == 32 && t.dims[1] == 3 && t.offset % 64 == 0);
    assert_same("f16 tensor", t.data, half, sizeof half);
    clq_gguf_close(g);

    /* NF4 has no GGUF type. */
    clq_folder nf4;
    clq_weight *w = import_folder("bnb-nf4-b32", &nf4);
    TEST_OK(clq_gguf_writer_create(&gw));
    cr_assert_eq(clq_gguf_writer_add_weight(gw, "x", w), CLQ_ERROR_UNSUPPORTED_LAYOUT);
    cr_assert_eq(clq_gguf_writer_add_u32(gw, "general.alignment", 48), CLQ_ERROR_INVALID_ARGUMENT);
    clq_gguf_writer_destroy(gw);
    clq_weight_destroy(w);
    clq_folder_free(&nf4);
}
