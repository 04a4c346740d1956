/* PEFT LoRA adapters: folders laid out as PEFT saves them, written at test
 * time with PyPI's safetensors (tests/gen/make_safetensors.py) in F32, BF16
 * and F16, loaded for a named layer into one adapter set, and multiplied
 * with a bitsandbytes layer from the same generator: the product must match
 * the double-precision reference with PEFT's scale (alpha/r, alpha/√r with
 * use_rslora, rank_pattern / alpha_pattern per module). Hostile configs at
 * the end. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "clq_ref.h"
#include "folder.h"
#include "support.h"

#define LAYER0 "base_model.model.model.layers.0.self_attn.q_proj"

static clq_peft *open_adapter(const char *name)
{
#if !CLQ_HAVE_SAFETENSORS_PY
    (void)name;
    cr_skip("python3 with the safetensors and numpy packages was not found at configure time");
    return NULL;
#else
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_SAFETENSORS_PY_DIR, name);
    clq_peft *p = NULL;
    TEST_OK(clq_peft_open(dir, &p));
    return p;
#endif
}

static float *read_expected(const char *adapter, const char *file, size_t count)
{
    char path[1024];
    size_t size;
    snprintf(path, sizeof path, "%s/%s/%s", CLQ_SAFETENSORS_PY_DIR, adapter, file);
    float *v = clq_read_file(path, &size);
    cr_assert(v && size == count * sizeof(float), "%s", path);
    return v;
}

Test(peft, configs)
{
    struct {
        const char *name;
        uint32_t r;
        double alpha;
        int rslora;
    } want[] = {{"peft-a", 8, 16, 0}, {"peft-b", 4, 8, 1}, {"peft-c", 16, 32.5, 0}};
    for (int k = 0; k < 3; k++) {
        clq_peft *p = open_adapter(want[k].name);
        clq_peft_config c;
        TEST_OK(clq_peft_config_get(p, &c));
        cr_assert(c.r == want[k].r && c.lora_alpha == want[k].alpha && c.use_rslora == want[k].rslora, "%s",
                  want[k].name);
        cr_assert_eq(c.target_module_count, 1);
        cr_assert_str_eq(clq_peft_target_module(p, 0), "q_proj");
        cr_assert_null(clq_peft_target_module(p, 1));
        cr_assert_eq(clq_safetensors_tensor_count(clq_peft_tensors(p)), 4);
        clq_peft_close(p);
    }
}

Test(peft, layers_by_name)
{
    clq_peft *p = open_adapter("peft-c");
    clq_peft_layer l;
    TEST_OK(clq_peft_find_layer(p, "layers.0.self_attn.q_proj", &l));
    cr_assert_str_eq(l.module, LAYER0);
    cr_assert_str_eq(l.a.name, LAYER0 ".lora_A.weight");
    cr_assert_str_eq(l.b.name, LAYER0 ".lora_B.weight");
    cr_assert(l.rank == 16 && l.rows == 64 && l.cols == 256 && l.alpha == 32.5);
    cr_assert_eq(l.scale, (float)(32.5 / 16));
    cr_assert_eq(l.a.dtype, CLQ_SAFETENSORS_F16);
    /* rank_pattern and alpha_pattern for layer 1. */
    TEST_OK(clq_peft_find_layer(p, "model.layers.1.self_attn.q_proj", &l));
    cr_assert(l.rank == 2 && l.alpha == 3.0 && l.scale == 1.5f, "rank %u alpha %g", l.rank, l.alpha);
    TEST_OK(clq_peft_find_layer(p, LAYER0, &l));
    cr_assert_eq(clq_peft_find_layer(p, "q_proj", &l), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(strstr(clq_last_error(), "names several modules"), "%s", clq_last_error());
    cr_assert_eq(clq_peft_find_layer(p, "k_proj", &l), CLQ_ERROR_NOT_FOUND);
    cr_assert_eq(clq_peft_find_layer(p, "ayers.0.self_attn.q_proj", &l), CLQ_ERROR_NOT_FOUND,
                 "a suffix must start at a dot");
    clq_peft_close(p);
    p = open_adapter("peft-b");
    TEST_OK(clq_peft_find_layer(p, "layers.0.self_attn.q_proj", &l));
    cr_assert_eq(l.scale, (float)(8 / sqrt(4.0)), "use_rslora: alpha/sqrt(r)");
    clq_peft_close(p);
}

/* Three adapters (F32, BF16, F16) in one set; rows of the batch cycle
 * through none and each adapter. */
Test(peft, multi_adapter_matmul)
{
    const char *names[] = {"peft-a", "peft-b", "peft-c"};
    clq_peft *p[3];
    ref_adapter ref[3];
    float *a[3], *b[3];
    for (int k = 0; k < 3; k++) {
        p[k] = open_adapter(names[k]);
        clq_peft_layer l;
        TEST_OK(clq_peft_find_layer(p[k], "layers.0.self_attn.q_proj", &l));
        a[k] = read_expected(names[k], "expected_a.f32", l.rank * 256);
        b[k] = read_expected(names[k], "expected_b.f32", 64 * l.rank);
        ref[k] = (ref_adapter){l.rank, l.scale, a[k], b[k]};
    }
    clq_context *ctx = test_context();
    clq_lora *lora = NULL;
    TEST_OK(clq_peft_lora_create(ctx, (const clq_peft *const *)p, 3, "layers.0.self_attn.q_proj", 64, 256,
                                 &lora));
    cr_assert_eq(clq_lora_count(lora), 3);

    /* The weight: bitsandbytes' NF4 double-quantized layer from the same
     * generator; its exact values are the peer's dequant.f32. */
    char path[1024];
    snprintf(path, sizeof path, "%s/bnb.safetensors", CLQ_SAFETENSORS_PY_DIR);
    clq_safetensors *st = NULL;
    TEST_OK(clq_safetensors_open(path, &st));
    clq_weight *w = NULL;
    TEST_OK(clq_safetensors_load_bnb(ctx, st, "clq.bnb_nf4_b64_dq", &w));
    size_t size;
    float *dequant = test_read_data("bnb-nf4-b64-dq/dequant.f32", &size);

    for (uint64_t m = 4; m <= 36; m += 32) {
        clq_rng rng = {m};
        float *x = malloc(m * 256 * sizeof *x), *y = malloc(m * 64 * sizeof *y);
        double *want = malloc(m * 64 * sizeof *want), *bound = malloc(m * 64 * sizeof *bound);
        int32_t *index = malloc(m * sizeof *index);
        for (uint64_t i = 0; i < m * 256; i++)
            x[i] = clq_rng_normal(&rng, 1.0f);
        for (uint64_t i = 0; i < m; i++)
            index[i] = (int32_t)(i % 4) - 1;
        TEST_OK(clq_matmul_host(w, m, CLQ_DTYPE_F32, x, NULL, y, lora, index));
        ref_matmul(dequant, 64, 256, x, m, NULL, ref, 3, index, want, bound);
        for (uint64_t i = 0; i < m * 64; i++)
            cr_assert(fabs((double)y[i] - want[i]) <= bound[i], "M=%llu Y[%llu][%llu] = %.9g, reference %.9g",
                      (unsigned long long)m, (unsigned long long)(i / 64), (unsigned long long)(i % 64), y[i],
                      want[i]);
        free(x);
        free(y);
        free(want);
        free(bound);
        free(index);
    }
    /* An adapter for another shape is refused. */
    clq_lora *wrong = NULL;
    cr_assert_eq(clq_peft_lora_create(ctx, (const clq_peft *const *)p, 3, "layers.0.self_attn.q_proj", 64,
                                      128, &wrong),
                 CLQ_ERROR_SHAPE);
    cr_assert_null(wrong);
    free(dequant);
    clq_weight_destroy(w);
    clq_safetensors_close(st);
    clq_lora_destroy(lora);
    for (int k = 0; k < 3; k++) {
        free(a[k]);
        free(b[k]);
        clq_peft_close(p[k]);
    }
}

/* ---- hostile configs and tensors -------------------------------------------- */

/* A safetensors image with lora_A (ra x 4) and lora_B (2 x rb) of module m. */
static unsigned char *adapter_file(unsigned ra, unsigned rb, const char *dtype, size_t *size)
{
    char header[512];
    unsigned a_bytes = ra * 4 * 4, b_bytes = 2 * rb * 4;
    snprintf(header, sizeof header,
             "{\"m.lora_A.weight\":{\"dtype\":\"%s\",\"shape\":[%u,4],\"data_offsets\":[0,%u]},"
             "\"m.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[2,%u],\"data_offsets\":[%u,%u]}}",
             dtype, ra, a_bytes, rb, a_bytes, a_bytes + b_bytes);
    size_t n = strlen(header);
    *size = 8 + n + a_bytes + b_bytes;
    unsigned char *bytes = calloc(1, *size);
    for (int k = 0; k < 8; k++)
        bytes[k] = (unsigned char)((uint64_t)n >> (8 * k));
    memcpy(bytes + 8, header, n);
    return bytes;
}

static void expect_bad_config(const char *config, uint64_t offset, const char *reason)
{
    size_t size;
    unsigned char *tensors = adapter_file(2, 2, "F32", &size);
    clq_peft *p = NULL;
    cr_assert_eq(clq_peft_open_memory(config, strlen(config), tensors, size, &p), CLQ_ERROR_BAD_DATA, "%s",
                 config);
    char at[64];
    snprintf(at, sizeof at, "at offset %llu: ", (unsigned long long)offset);
    cr_assert(strstr(clq_last_error(), at) && strstr(clq_last_error(), reason), "expected '%s%s' in: %s", at,
              reason, clq_last_error());
    cr_assert_null(p);
    free(tensors);
}

Test(peft, hostile_configs)
{
    expect_bad_config("{\"r\":2,", 7, "JSON");
    expect_bad_config("[2]", 0, "the config is not a JSON object");
    expect_bad_config("{\"lora_alpha\":1}", 0, "r is missing");
    expect_bad_config("{\"r\":0,\"lora_alpha\":1}", 1, "r is missing or not a rank from 1 to 1024");
    expect_bad_config("{\"r\":2.5,\"lora_alpha\":1}", 1, "r is missing");
    expect_bad_config("{\"r\":2000,\"lora_alpha\":1}", 1, "r is missing");
    expect_bad_config("{\"r\":2,\"lora_alpha\":\"x\"}", 7, "lora_alpha is missing or not a finite number");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"use_rslora\":1}", 22, "use_rslora is not true or false");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"target_modules\":5}", 22, "neither a list nor a string");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"target_modules\":[\"q\",5]}", 22, "target_modules[1]");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"rank_pattern\":[]}", 22, "rank_pattern is not an object");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"rank_pattern\":{\"m\":0}}", 38,
                      "rank_pattern['m'] is not a rank");
    expect_bad_config("{\"r\":2,\"lora_alpha\":1,\"alpha_pattern\":{\"m\":\"1\"}}", 39,
                      "alpha_pattern['m'] is not a finite number");
    expect_bad_config("{\"r\":2,\"r\":3,\"lora_alpha\":1}", 10, "duplicate object key");
}

static int find_in(const char *config, unsigned ra, unsigned rb, const char *dtype)
{
    size_t size;
    unsigned char *tensors = adapter_file(ra, rb, dtype, &size);
    clq_peft *p = NULL;
    TEST_OK(clq_peft_open_memory(config, strlen(config), tensors, size, &p));
    clq_peft_layer l;
    int status = clq_peft_find_layer(p, "m", &l);
    clq_peft_close(p);
    free(tensors);
    return status;
}

Test(peft, hostile_tensors)
{
    const char *config = "{\"r\":2,\"lora_alpha\":4,\"target_modules\":\"m\"}";
    cr_assert_eq(find_in(config, 2, 2, "F32"), CLQ_SUCCESS);
    cr_assert_eq(find_in(config, 3, 3, "F32"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "module 'm' has rank 3, the config says 2"), "%s", clq_last_error());
    cr_assert_eq(find_in(config, 2, 3, "F32"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "not r x K and N x r"), "%s", clq_last_error());
    /* An alpha whose scale is beyond fp32 (found by fuzz_peft_config). */
    cr_assert_eq(find_in("{\"r\":2,\"lora_alpha\":1e300}", 2, 2, "F32"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "is beyond fp32"), "%s", clq_last_error());
    cr_assert_eq(find_in(config, 2, 2, "I32"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "must be 2-D F32, F16 or BF16"), "%s", clq_last_error());
    /* A lora_A without its lora_B. */
    const char header[] = "{\"m.lora_A.weight\":{\"dtype\":\"U8\",\"shape\":[0,4],\"data_offsets\":[0,0]}}";
    unsigned char file[8 + sizeof header - 1] = {sizeof header - 1};
    memcpy(file + 8, header, sizeof header - 1);
    clq_peft *p = NULL;
    TEST_OK(clq_peft_open_memory(config, strlen(config), file, sizeof file, &p));
    clq_peft_layer l;
    cr_assert_eq(clq_peft_find_layer(p, "m", &l), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "has no lora_B beside it"), "%s", clq_last_error());
    clq_peft_close(p);
    p = NULL;
    cr_assert_eq(clq_peft_open("/nonexistent-clq-adapter", &p), CLQ_ERROR_IO);
    cr_assert_null(p);
}
