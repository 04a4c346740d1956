/*
 * The scalar reference (tests/ref/clq_ref.c) against the peers' own vectors
 * in tests/data, bit for bit, and the folder reader/writer (tools/folder.c).
 * Every folder of tests/data except model.gguf is a test case, found at run
 * time, so new vectors are picked up without editing this file.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clq_ref.h"
#include "folder.h"

#ifndef CLQ_TEST_DATA_DIR
#error "compile with -DCLQ_TEST_DATA_DIR=\"/path/to/tests/data\""
#endif

#define MAX_VECTORS 128

typedef struct vector_param {
    char name[64];
} vector_param;

static int is_vector_folder(const char *name)
{
    if (strncmp(name, "bnb-", 4) != 0 && strncmp(name, "ggml-", 5) != 0 && strncmp(name, "ort-", 4) != 0)
        return 0;
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", CLQ_TEST_DATA_DIR, name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && strlen(name) < sizeof((vector_param *)0)->name;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const vector_param *)a)->name, ((const vector_param *)b)->name);
}

/* The vector folders, sorted; *count is how many. */
static size_t list_vectors(vector_param *out, size_t capacity)
{
    DIR *d = opendir(CLQ_TEST_DATA_DIR);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < capacity;)
        if (is_vector_folder(e->d_name)) /* which checked the name fits */
            memcpy(out[n++].name, e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    qsort(out, n, sizeof *out, by_name);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Comparisons                                                               */
/* ------------------------------------------------------------------------ */

static void expect_same_bytes(const char *folder, const char *what, const void *got, size_t got_bytes,
                              const void *want, size_t want_bytes)
{
    cr_assert(want != NULL || got == NULL, "%s: the reference produced %s, the folder has none", folder,
              what);
    cr_assert(got != NULL || want == NULL, "%s: the folder has %s, the reference produced none", folder,
              what);
    if (!want)
        return;
    cr_assert_eq(got_bytes, want_bytes, "%s: %s is %zu bytes, the folder's %zu", folder, what, got_bytes,
                 want_bytes);
    if (memcmp(got, want, want_bytes) == 0)
        return;
    const unsigned char *g = got, *w = want;
    size_t i = 0;
    while (g[i] == w[i])
        i++;
    cr_assert_fail("%s: %s differs first at byte %zu: reference 0x%02x, folder 0x%02x", folder, what, i, g[i],
                   w[i]);
}

static void expect_same_floats(const char *folder, const char *what, const float *got, const float *want,
                               size_t count)
{
    if (memcmp(got, want, count * sizeof(float)) == 0)
        return;
    size_t i = 0;
    while (memcmp(&got[i], &want[i], sizeof(float)) == 0)
        i++;
    uint32_t gb, wb;
    memcpy(&gb, &got[i], 4);
    memcpy(&wb, &want[i], 4);
    cr_assert_fail("%s: %s differs first at element %zu: reference %.9g (0x%08x), folder %.9g (0x%08x)",
                   folder, what, i, got[i], gb, want[i], wb);
}

/* ------------------------------------------------------------------------ */
/* Every vector folder                                                       */
/* ------------------------------------------------------------------------ */

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(reference, vectors)
{
    vector_param *params = cr_malloc(MAX_VECTORS * sizeof *params);
    size_t n = params ? list_vectors(params, MAX_VECTORS) : 0;
    return cr_make_param_array(vector_param, params, n, free_params);
}

ParameterizedTest(vector_param *p, reference, vectors)
{
    char dir[512], err[512];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, p->name);
    clq_folder f;
    clq_status st = clq_folder_read(dir, &f, err, sizeof err);
    cr_assert_eq(st, CLQ_SUCCESS, "%s: clq_folder_read failed (%d): %s", p->name, st, err);
    cr_assert_not_null(f.input, "%s: no input.f32", p->name);
    cr_assert_not_null(f.dequant, "%s: no dequant.f32", p->name);

    ref_quant q;
    cr_assert_eq(ref_quantize(&f.desc, f.input, &q), 0, "%s: ref_quantize failed", p->name);
    clq_external e;
    cr_assert_eq(ref_pack(&q, f.layout, &e), 0, "%s: ref_pack failed", p->name);

    const clq_external *w = &f.arrays;
    expect_same_bytes(p->name, "data", e.data, e.data_bytes, w->data, w->data_bytes);
    expect_same_bytes(p->name, "scales", e.scales, e.scales_bytes, w->scales, w->scales_bytes);
    expect_same_bytes(p->name, "zero points", e.zero_points, e.zero_points_bytes, w->zero_points,
                      w->zero_points_bytes);
    expect_same_bytes(p->name, "nested absmax", e.nested_absmax, e.nested_absmax_bytes, w->nested_absmax,
                      w->nested_absmax_bytes);
    expect_same_bytes(p->name, "code", e.nested_code, e.nested_code_bytes, w->nested_code,
                      w->nested_code_bytes);
    expect_same_floats(p->name, "offset", &e.offset, &w->offset, 1);

    const size_t count = (size_t)(f.desc.rows * f.desc.cols);
    float *y = malloc(count * sizeof *y);
    cr_assert_not_null(y);
    ref_dequantize(&q, y);
    expect_same_floats(p->name, "dequantized value", y, f.dequant, count);

    free(y);
    ref_external_free(&e);
    ref_quant_free(&q);
    clq_folder_free(&f);
}

/* Guards against a wrong CLQ_TEST_DATA_DIR turning the test above into zero cases. */
Test(reference, vectors_found)
{
    vector_param params[MAX_VECTORS];
    size_t n = list_vectors(params, MAX_VECTORS);
    cr_assert_geq(n, 13, "only %zu vector folders in %s", n, CLQ_TEST_DATA_DIR);
}

/* ------------------------------------------------------------------------ */
/* fp16                                                                      */
/* ------------------------------------------------------------------------ */

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

Test(fp16, edge_cases)
{
    static const struct {
        float in;
        uint16_t out;
    } cases[] = {
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {65504.0f, 0x7bff},        /* largest finite */
        {65519.99609375f, 0x7bff}, /* just below the tie: stays finite */
        {65520.0f, 0x7c00},        /* tie between 65504 and 2^16: even is infinity */
        {-65520.0f, 0xfc00},
        {1e10f, 0x7c00},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
        {0x1p-14f, 0x0400},            /* smallest normal */
        {0x1p-14f - 0x1p-25f, 0x0400}, /* tie between 0x3ff and 0x400: even */
        {0x1p-24f, 0x0001},            /* smallest subnormal */
        {-0x1p-24f, 0x8001},
        {0x1p-25f, 0x0000},        /* tie between 0 and 2^-24: even is 0 */
        {0x1.000002p-25f, 0x0001}, /* just above the tie */
        {0x1.8p-24f, 0x0002},      /* 1.5 ulp: tie, even is 2 */
        {0x1.4p-23f, 0x0002},      /* 2.5 ulp: tie, even is 2 */
        {0x1.8p-23f, 0x0003},      /* 3 ulp: exact */
        {1e-30f, 0x0000},
        {1.0f + 0x1p-11f, 0x3c00},     /* tie: even is 1.0 */
        {1.0f + 3 * 0x1p-11f, 0x3c02}, /* tie: even is 1 + 2^-9 */
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01},
        {0.1f, 0x2e66},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = clq_fp32_to_fp16(cases[i].in);
        cr_expect_eq(h, cases[i].out, "fp16(%a) = 0x%04x, expected 0x%04x", (double)cases[i].in, h,
                     cases[i].out);
    }
    uint16_t nan = clq_fp32_to_fp16(NAN);
    cr_expect((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0, "fp16(NaN) = 0x%04x is not a NaN", nan);
}

/* Every half value converts to fp32 exactly and back to itself. */
Test(fp16, round_trip_all)
{
    cr_expect_eq(bits(clq_fp16_to_fp32(0x0001)), bits(0x1p-24f));
    cr_expect_eq(bits(clq_fp16_to_fp32(0x83ff)), bits(-0x3ffp-24f));
    cr_expect_eq(bits(clq_fp16_to_fp32(0x7bff)), bits(65504.0f));
    cr_expect_eq(bits(clq_fp16_to_fp32(0xfc00)), bits(-INFINITY));
    cr_expect_eq(bits(clq_fp16_to_fp32(0x8000)), bits(-0.0f));
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = clq_fp16_to_fp32((uint16_t)h);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
            cr_assert(isnan(f), "0x%04x is a NaN", h);
            continue;
        }
        cr_assert_eq(clq_fp32_to_fp16(f), h, "0x%04x -> %a -> 0x%04x", h, (double)f, clq_fp32_to_fp16(f));
    }
}

/* ------------------------------------------------------------------------ */
/* Formats without vectors (Q4Z) and general properties                      */
/* ------------------------------------------------------------------------ */

/* ORT MatMulNBits layout: low nibble first, zero points per row, an odd
 * number of blocks per row leaving a high nibble, which ORT writes as 8. */
Test(reference, q4z_ort_layout)
{
    enum { N = 2, K = 48, B = 16 };
    float x[N * K];
    for (int i = 0; i < N * K; i++)
        x[i] = (float)((i * 7) % 16 - 5) * 0.5f; /* grid values 0.5·(-5..10) */
    clq_weight_desc d = {CLQ_FORMAT_Q4Z, B, N, K, 0};
    ref_quant q;
    cr_assert_eq(ref_quantize(&d, x, &q), 0);
    float y[N * K];
    ref_dequantize(&q, y);
    for (int i = 0; i < N * K; i++)
        cr_assert_float_eq(y[i], x[i], 1e-6f, "element %d: %g, expected %g", i, y[i], x[i]);

    clq_external e;
    cr_assert_eq(ref_pack(&q, CLQ_LAYOUT_ORT, &e), 0);
    cr_assert_eq(e.data_bytes, (size_t)N * K / 2);
    cr_assert_eq(e.scales_bytes, (size_t)N * (K / B) * sizeof(float));
    cr_assert_eq(e.zero_points_bytes, (size_t)N * 2); /* 3 blocks per row: 2 bytes */
    const uint8_t *data = e.data, *zp = e.zero_points;
    for (int i = 0; i < N * K; i += 2)
        cr_assert_eq(data[i / 2], q.q[i] | (q.q[i + 1] << 4), "byte %d", i / 2);
    for (int r = 0; r < N; r++) {
        cr_assert_eq(zp[2 * r], q.zero[3 * r] | (q.zero[3 * r + 1] << 4));
        cr_assert_eq(zp[2 * r + 1], q.zero[3 * r + 2] | 0x80, "the unused high nibble must be 8");
    }
    ref_external_free(&e);
    cr_assert_eq(ref_pack(&q, CLQ_LAYOUT_BNB, &e), -1, "bnb cannot hold q4z");
    cr_assert_eq(ref_pack(&q, CLQ_LAYOUT_GGML, &e), -1, "ggml cannot hold q4z");
    ref_quant_free(&q);
}

/* All-zero input: no division by zero, zeros back, for every format. */
Test(reference, zero_blocks)
{
    enum { N = 2, K = 512 };
    static float x[N * K], y[N * K];
    const clq_format formats[] = {CLQ_FORMAT_Q8,  CLQ_FORMAT_Q4,  CLQ_FORMAT_Q4Z,
                                  CLQ_FORMAT_NF4, CLQ_FORMAT_FP4, CLQ_FORMAT_DYNAMIC8};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        for (int dq = 0; dq < 2; dq++) {
            if (dq && formats[f] != CLQ_FORMAT_NF4 && formats[f] != CLQ_FORMAT_FP4)
                continue;
            clq_weight_desc d = {formats[f], 32, N, K, dq};
            ref_quant q;
            cr_assert_eq(ref_quantize(&d, x, &q), 0, "format %d", (int)formats[f]);
            memset(y, 0xff, sizeof y);
            ref_dequantize(&q, y);
            for (int i = 0; i < N * K; i++)
                cr_assert(y[i] == 0.0f, "format %d dq %d element %d: %g", (int)formats[f], dq, i, y[i]);
            ref_quant_free(&q);
        }
    }
}

Test(reference, bad_descriptions)
{
    float x[64] = {0};
    ref_quant q;
    memset(&q, 0x5a, sizeof q);
    const clq_weight_desc bad[] = {
        {CLQ_FORMAT_NF4, 48, 1, 64, 0}, /* K not a multiple of the block */
        {CLQ_FORMAT_Q8, 32, 1, 64, 1},  /* double quantization of Q8 */
        {(clq_format)0, 32, 1, 64, 0},  {CLQ_FORMAT_Q4, 0, 1, 64, 0}, {CLQ_FORMAT_Q4, 32, 0, 64, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(ref_quantize(&bad[i], x, &q), -1, "case %zu", i);
    clq_weight_desc q8_64 = {CLQ_FORMAT_Q8, 64, 1, 64, 0};
    cr_assert_eq(ref_quantize(&q8_64, x, &q), 0);
    clq_external e;
    cr_expect_eq(ref_pack(&q, CLQ_LAYOUT_GGML, &e), -1, "ggml is block 32 only");
    cr_expect_eq(ref_pack(&q, CLQ_LAYOUT_BNB, &e), -1);
    ref_quant_free(&q);
}

/* ------------------------------------------------------------------------ */
/* Folder errors and round trip                                              */
/* ------------------------------------------------------------------------ */

static void make_temp_dir(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, size, "%s/clq-test-XXXXXX", base && *base ? base : "/tmp");
    cr_assert_not_null(mkdtemp(out), "mkdtemp: %s", strerror(errno));
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char path[1024];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Copies a vector folder's files into a fresh temporary directory. */
static void copy_vector(const char *name, char *dir, size_t size)
{
    static const char *const files[] = {"meta.txt", "input.f32", "dequant.f32", "packed.u8", "absmax.f32"};
    make_temp_dir(dir, size);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[512], dst[512];
        snprintf(src, sizeof src, "%s/%s/%s", CLQ_TEST_DATA_DIR, name, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        size_t n = 0;
        void *buf = clq_read_file(src, &n);
        cr_assert_not_null(buf, "%s: %s", src, strerror(errno));
        cr_assert_eq(clq_write_file(dst, buf, n), 0, "%s: %s", dst, strerror(errno));
        free(buf);
    }
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(clq_write_file(path, text, strlen(text)), 0);
}

/* Reads `dir` expecting failure `want` with `needle` in the message, *out untouched. */
static void expect_read_error(const char *dir, clq_status want, const char *needle)
{
    clq_folder f, before;
    memset(&f, 0xa5, sizeof f);
    before = f;
    char err[512] = "";
    clq_status st = clq_folder_read(dir, &f, err, sizeof err);
    cr_expect_eq(st, want, "status %d, expected %d (%s)", st, want, err);
    cr_expect(strstr(err, needle) != NULL, "message '%s' does not mention '%s'", err, needle);
    cr_expect(memcmp(&f, &before, sizeof f) == 0, "*out was modified on failure");
}

Test(folder, missing_meta)
{
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    expect_read_error(dir, CLQ_ERROR_IO, "meta.txt");
    remove_dir(dir);
}

Test(folder, truncated_packed)
{
    char dir[256], path[512];
    copy_vector("bnb-nf4-b64", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/packed.u8", dir);
    cr_assert_eq(truncate(path, 8000), 0, "truncate: %s", strerror(errno));
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "packed.u8: 8000 bytes, expected 8192");
    remove_dir(dir);
}

Test(folder, missing_array)
{
    char dir[256], path[512];
    copy_vector("bnb-nf4-b64", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/absmax.f32", dir);
    cr_assert_eq(unlink(path), 0);
    expect_read_error(dir, CLQ_ERROR_IO, "absmax.f32");
    remove_dir(dir);
}

Test(folder, unknown_format)
{
    char dir[256];
    copy_vector("bnb-nf4-b64", dir, sizeof dir);
    write_text(dir, "meta.txt", "format=nf5\nlayout=bnb\nrows=64\ncols=256\nblock=64\n");
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "nf5");
    remove_dir(dir);
}

Test(folder, missing_key)
{
    char dir[256];
    copy_vector("bnb-nf4-b64", dir, sizeof dir);
    write_text(dir, "meta.txt", "format=nf4\nlayout=bnb\ncols=256\nblock=64\nseed=3\n");
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "rows");
    remove_dir(dir);
}

Test(folder, bad_shape)
{
    char dir[256];
    copy_vector("bnb-nf4-b64", dir, sizeof dir);
    write_text(dir, "meta.txt", "format=nf4\nlayout=bnb\nrows=64\ncols=256\nblock=48\n");
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "multiple");
    write_text(dir, "meta.txt", "format=nf4\nlayout=ggml\nrows=64\ncols=256\nblock=64\n");
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "ggml");
    write_text(dir, "meta.txt", "format=nf4\nlayout=bnb\nrows=-64\ncols=256\nblock=64\n");
    expect_read_error(dir, CLQ_ERROR_BAD_DATA, "rows");
    remove_dir(dir);
}

static void expect_same_array(const char *what, const void *a, size_t an, const void *b, size_t bn)
{
    cr_assert_eq(an, bn, "%s: %zu bytes, expected %zu", what, an, bn);
    cr_assert((a == NULL) == (b == NULL), "%s: present in only one folder", what);
    cr_assert(a == NULL || memcmp(a, b, an) == 0, "%s differs", what);
}

/* Writing a folder (into a directory that does not exist yet) and reading it
 * back gives the same folder, for every vector. */
Test(folder, write_read_round_trip)
{
    vector_param params[MAX_VECTORS];
    size_t n = list_vectors(params, MAX_VECTORS);
    char tmp[256], dir[512], src[512], err[512];
    make_temp_dir(tmp, sizeof tmp);
    snprintf(dir, sizeof dir, "%s/a/b", tmp);
    for (size_t i = 0; i < n; i++) {
        clq_folder a, b;
        snprintf(src, sizeof src, "%s/%s", CLQ_TEST_DATA_DIR, params[i].name);
        cr_assert_eq(clq_folder_read(src, &a, err, sizeof err), CLQ_SUCCESS, "%s", err);
        cr_assert_eq(clq_folder_write(dir, &a, err, sizeof err), CLQ_SUCCESS, "%s", err);
        cr_assert_eq(clq_folder_read(dir, &b, err, sizeof err), CLQ_SUCCESS, "%s", err);
        cr_assert(memcmp(&a.desc, &b.desc, sizeof a.desc) == 0, "%s: desc differs", params[i].name);
        cr_assert_eq(a.layout, b.layout);
        cr_assert_eq(a.nested_block, b.nested_block);
        cr_assert_str_eq(a.source, b.source);
        const size_t fbytes = (size_t)(a.desc.rows * a.desc.cols) * sizeof(float);
        expect_same_array("data", a.arrays.data, a.arrays.data_bytes, b.arrays.data, b.arrays.data_bytes);
        expect_same_array("scales", a.arrays.scales, a.arrays.scales_bytes, b.arrays.scales,
                          b.arrays.scales_bytes);
        expect_same_array("nested absmax", a.arrays.nested_absmax, a.arrays.nested_absmax_bytes,
                          b.arrays.nested_absmax, b.arrays.nested_absmax_bytes);
        expect_same_array("code", a.arrays.nested_code, a.arrays.nested_code_bytes, b.arrays.nested_code,
                          b.arrays.nested_code_bytes);
        expect_same_array("offset", &a.arrays.offset, 4, &b.arrays.offset, 4);
        expect_same_array("input", a.input, fbytes, b.input, fbytes);
        expect_same_array("dequant", a.dequant, fbytes, b.dequant, fbytes);
        clq_folder_free(&a);
        clq_folder_free(&b);
        remove_dir(dir); /* the next vector may have other files */
    }
    snprintf(dir, sizeof dir, "%s/a", tmp);
    rmdir(dir);
    rmdir(tmp);
}
