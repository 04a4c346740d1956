/*
 * The `clq` tool, run as a user runs it: a separate process (CLQ_TOOL_PATH)
 * writing into a fresh temporary directory. Quantizing each reference
 * vector's input must give back the folder byte for byte, dequantizing each
 * folder must give its dequant.f32 exactly, `clq matmul` must agree with the
 * double-precision reference within its error bound, and bad input must fail
 * cleanly: non-zero exit, a reason on stderr, and no output file.
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
#include "lora_folder.h"
#include "support.h"
#include "tune_candidates.h"

#ifndef CLQ_TOOL_PATH
#error "compile with -DCLQ_TOOL_PATH=\"/path/to/clq\""
#endif
#ifndef CLQ_TEST_DATA_DIR
#error "compile with -DCLQ_TEST_DATA_DIR=\"/path/to/tests/data\""
#endif

#define MAX_VECTORS 128

/* ------------------------------------------------------------------------ */
/* A sandbox per test: root/out receives what the tool writes, so "created   */
/* no output file" is simply "out is still empty".                           */
/* ------------------------------------------------------------------------ */

static struct sandbox {
    char root[512], out[600];
} box;

static void make_dir(const char *path)
{
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

static void sandbox_open(void)
{
    test_make_temp_dir(box.root, sizeof box.root, "clq-test-tool");
    snprintf(box.out, sizeof box.out, "%s/out", box.root);
    make_dir(box.out);
}

/* Runs after a test even when an assertion ended it early. */
static void sandbox_close(void)
{
    if (box.root[0])
        test_remove_tree(box.root);
    box.root[0] = '\0';
}

TestSuite(tool, .init = sandbox_open, .fini = sandbox_close);

/* Entries of a directory other than . and ..; -1 if it cannot be opened. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Running the tool                                                          */
/* ------------------------------------------------------------------------ */

static void expect_success(const test_run *r)
{
    cr_assert_eq(r->exit_code, 0, "`%s` exited with %d; stderr:\n%s", r->command, r->exit_code, r->err);
}

/* The contract for bad input: the given non-zero status, a reason on stderr
 * (one line, naming the command), and nothing written. */
static void expect_failure(const test_run *r, int exit_code)
{
    cr_assert_eq(r->exit_code, exit_code, "`%s` exited with %d, expected %d; stderr:\n%s", r->command,
                 r->exit_code, exit_code, r->err);
    cr_assert(strncmp(r->err, "clq", 3) == 0, "`%s`: stderr does not start with 'clq': '%s'", r->command,
              r->err);
    const char *nl = strchr(r->err, '\n');
    cr_assert(nl && nl[1] == '\0', "`%s`: expected one line on stderr, got:\n%s", r->command, r->err);
    cr_assert_eq(count_entries(box.out), 0, "`%s` failed but wrote into %s", r->command, box.out);
}

/* ------------------------------------------------------------------------ */
/* Comparing files                                                           */
/* ------------------------------------------------------------------------ */

static void expect_same_file(const char *got_path, const char *want_path)
{
    size_t got_size = 0, want_size = 0;
    void *got = clq_read_file(got_path, &got_size);
    cr_assert_not_null(got, "cannot read %s: %s", got_path, strerror(errno));
    void *want = clq_read_file(want_path, &want_size);
    cr_assert_not_null(want, "cannot read %s: %s", want_path, strerror(errno));
    cr_assert_eq(got_size, want_size, "%s is %zu bytes, %s is %zu", got_path, got_size, want_path, want_size);
    long diff = test_first_diff(got, want, want_size);
    cr_assert_eq(diff, -1, "%s differs from %s first at byte %ld", got_path, want_path, diff);
    free(got);
    free(want);
}

/* A quantized-matrix folder has meta.txt with a layout; anything else in the
 * data directory (model.gguf, README.md, a LoRA adapter folder) is not one. */
static int is_vector_folder(const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", CLQ_TEST_DATA_DIR, name);
    if (name[0] == '.' || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    snprintf(path, sizeof path, "%s/%s/meta.txt", CLQ_TEST_DATA_DIR, name);
    size_t size = 0;
    char *meta = clq_read_file(path, &size);
    char *text = meta ? realloc(meta, size + 1) : NULL;
    if (!text) {
        free(meta);
        return 0;
    }
    text[size] = '\0';
    int found = strncmp(text, "layout=", 7) == 0 || strstr(text, "\nlayout=") != NULL;
    free(text);
    return found;
}

typedef struct vector_param {
    char name[64];
} vector_param;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const vector_param *)a)->name, ((const vector_param *)b)->name);
}

static size_t list_vectors(vector_param *out, size_t capacity)
{
    DIR *d = opendir(CLQ_TEST_DATA_DIR);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL && n < capacity;)
        if (strlen(e->d_name) < sizeof out->name && is_vector_folder(e->d_name))
            memcpy(out[n++].name, e->d_name, strlen(e->d_name) + 1);
    if (d)
        closedir(d);
    qsort(out, n, sizeof *out, by_name);
    return n;
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

static struct criterion_test_params vector_params(void)
{
    vector_param *params = cr_malloc(MAX_VECTORS * sizeof *params);
    size_t n = params ? list_vectors(params, MAX_VECTORS) : 0;
    return cr_make_param_array(vector_param, params, n, free_params);
}

static void read_folder(const char *dir, clq_folder *f)
{
    char err[512];
    clq_status st = clq_folder_read(dir, f, err, sizeof err);
    cr_assert_eq(st, CLQ_SUCCESS, "clq_folder_read(%s) failed (%d): %s", dir, st, err);
}

/* ------------------------------------------------------------------------ */
/* Good input                                                                */
/* ------------------------------------------------------------------------ */

Test(tool, devices_lists_default)
{
    test_run r;
    test_run_tool(&r, "devices", NULL);
    expect_success(&r);
    int marked = r.out[0] == '*' || strstr(r.out, "\n*") != NULL;
    cr_assert(marked, "no line of `clq devices` starts with '*':\n%s", r.out);
}

Test(tool, version_and_help)
{
    test_run r;
    test_run_tool(&r, "--version", NULL);
    expect_success(&r);
    cr_assert(strstr(r.out, clq_version_string()) != NULL, "--version printed '%s'", r.out);
    static const char *const commands[] = {"devices", "quantize", "dequantize", "matmul", "inspect"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        test_run_tool(&r, commands[i], "--help", NULL);
        expect_success(&r);
        cr_assert(strstr(r.out, "usage: clq") != NULL, "`%s` printed no usage:\n%s", r.command, r.out);
    }
}

/* Guards against a wrong CLQ_TEST_DATA_DIR turning the tests below into
 * zero cases. */
Test(tool, vectors_found)
{
    vector_param params[MAX_VECTORS];
    size_t n = list_vectors(params, MAX_VECTORS);
    cr_assert_geq(n, 13, "only %zu vector folders in %s", n, CLQ_TEST_DATA_DIR);
}

ParameterizedTestParameters(tool, quantize_matches_vectors)
{
    return vector_params();
}

ParameterizedTest(vector_param *p, tool, quantize_matches_vectors)
{
    char dir[512], input[600], outdir[700];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, p->name);
    snprintf(input, sizeof input, "%s/input.f32", dir);
    snprintf(outdir, sizeof outdir, "%s/%s", box.out, p->name);
    clq_folder want;
    read_folder(dir, &want);
    char block[32], rows[32], cols[32];
    snprintf(block, sizeof block, "%u", (unsigned)want.desc.block);
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)want.desc.rows);
    snprintf(cols, sizeof cols, "%llu", (unsigned long long)want.desc.cols);

    const char *args[] = {"quantize",
                          "--format",
                          clq_format_name(want.desc.format),
                          "--layout",
                          clq_layout_name(want.layout),
                          "--block",
                          block,
                          "--rows",
                          rows,
                          "--cols",
                          cols,
                          input,
                          outdir,
                          want.desc.double_quant ? "--double-quant" : NULL,
                          NULL};
    test_run r;
    test_run_tool_args(&r, NULL, args);
    expect_success(&r);

    /* Every file of the vector folder but meta.txt (whose "source" differs)
     * must be there, byte for byte: the arrays, input.f32 and dequant.f32. */
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    int compared = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "meta.txt") == 0)
            continue;
        char got[1024], ref[1024];
        snprintf(got, sizeof got, "%s/%s", outdir, e->d_name);
        snprintf(ref, sizeof ref, "%s/%s", dir, e->d_name);
        expect_same_file(got, ref);
        compared++;
    }
    closedir(d);
    /* ...and nothing else besides meta.txt. */
    cr_assert_eq(count_entries(outdir), compared + 1, "%s has files the vector folder does not", outdir);

    clq_folder got;
    read_folder(outdir, &got);
    cr_assert(memcmp(&got.desc, &want.desc, sizeof got.desc) == 0 && got.layout == want.layout,
              "%s/meta.txt does not describe the same matrix as %s/meta.txt", outdir, dir);
    clq_folder_free(&got);
    clq_folder_free(&want);
}

ParameterizedTestParameters(tool, dequantize_matches_vectors)
{
    return vector_params();
}

ParameterizedTest(vector_param *p, tool, dequantize_matches_vectors)
{
    char dir[512], output[700], ref[600];
    snprintf(dir, sizeof dir, "%s/%s", CLQ_TEST_DATA_DIR, p->name);
    snprintf(output, sizeof output, "%s/%s.f32", box.out, p->name);
    snprintf(ref, sizeof ref, "%s/dequant.f32", dir);
    test_run r;
    test_run_tool(&r, "dequantize", dir, output, NULL);
    expect_success(&r);
    expect_same_file(output, ref);
}

/* ------------------------------------------------------------------------ */
/* Bad input                                                                 */
/* ------------------------------------------------------------------------ */

#define NF4_DIR CLQ_TEST_DATA_DIR "/bnb-nf4-b64"
#define NF4_INPUT NF4_DIR "/input.f32"

static const char *out_path(const char *name)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/%s", box.out, name);
    return path;
}

Test(tool, quantize_unknown_format)
{
    test_run r;
    test_run_tool(&r, "quantize", "--format", "nf5", "--layout", "bnb", "--block", "64", "--rows", "64",
                  "--cols", "256", NF4_INPUT, out_path("q"), NULL);
    expect_failure(&r, 2);
    cr_assert(strstr(r.err, "nf5") != NULL, "the message does not name the format: %s", r.err);
}

Test(tool, quantize_cols_not_multiple_of_block)
{
    test_run r;
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--rows", "128",
                  "--cols", "96", NF4_INPUT, out_path("q"), NULL);
    expect_failure(&r, 2);
}

Test(tool, quantize_layout_cannot_hold_format)
{
    test_run r;
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "ggml", "--block", "64", "--rows", "64",
                  "--cols", "256", NF4_INPUT, out_path("q"), NULL);
    expect_failure(&r, 2);
    cr_assert(strstr(r.err, "bnb") != NULL, "the message does not name the valid layouts: %s", r.err);
}

Test(tool, quantize_missing_input)
{
    test_run r;
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--rows", "64",
                  "--cols", "256", out_path("no-such-input.f32"), out_path("q"), NULL);
    expect_failure(&r, 1);
}

Test(tool, quantize_input_of_wrong_size)
{
    test_run r;
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--rows", "65",
                  "--cols", "256", NF4_INPUT, out_path("q"), NULL);
    expect_failure(&r, 1);
}

Test(tool, quantize_bad_numbers)
{
    static const char *const bad[] = {"-64", "64x", "", " 64", "+64", "0", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_run r;
        test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", bad[i], "--rows", "64",
                      "--cols", "256", NF4_INPUT, out_path("q"), NULL);
        expect_failure(&r, 2);
    }
}

Test(tool, usage_errors)
{
    test_run r;
    test_run_tool(&r, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "frobnicate", NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "devices", "--frobnicate", NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--cols", "256",
                  NF4_INPUT, out_path("q"), NULL); /* no --rows */
    expect_failure(&r, 2);
    test_run_tool(&r, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--rows", "64",
                  "--cols", "256", NF4_INPUT, NULL); /* no OUTDIR */
    expect_failure(&r, 2);
    test_run_tool(&r, "dequantize", NF4_DIR, NULL); /* no OUTPUT */
    expect_failure(&r, 2);
    test_run_tool(&r, "dequantize", "--device", NULL); /* --device without its value */
    expect_failure(&r, 2);
}

Test(tool, unknown_device)
{
    test_run r;
    test_run_tool(&r, "dequantize", "--device", "no-such-device-anywhere", NF4_DIR, out_path("d.f32"), NULL);
    expect_failure(&r, 1);
    test_run_tool(&r, "devices", "--device", "99:99", NULL);
    expect_failure(&r, 1);
}

/* A copy of a vector folder at root/name (outside out/), without the files
 * for which skip() says so, and with `meta` as meta.txt when not NULL. */
static void copy_folder(const char *src, const char *name, const char *skip, const char *meta, char *dst,
                        size_t len)
{
    snprintf(dst, len, "%s/%s", box.root, name);
    make_dir(dst);
    DIR *d = opendir(src);
    cr_assert_not_null(d, "cannot open %s", src);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || (skip && strcmp(e->d_name, skip) == 0))
            continue;
        char from[1024], to[1024];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        size_t size = 0;
        void *data = clq_read_file(from, &size);
        cr_assert_not_null(data, "cannot read %s", from);
        cr_assert_eq(clq_write_file(to, data, size), 0, "cannot write %s", to);
        free(data);
    }
    closedir(d);
    if (meta) {
        char path[1024];
        snprintf(path, sizeof path, "%s/meta.txt", dst);
        cr_assert_eq(clq_write_file(path, meta, strlen(meta)), 0, "cannot write %s", path);
    }
}

Test(tool, dequantize_folder_without_meta)
{
    char dir[700];
    copy_folder(NF4_DIR, "no-meta", "meta.txt", NULL, dir, sizeof dir);
    test_run r;
    test_run_tool(&r, "dequantize", dir, out_path("d.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "meta.txt") != NULL, "the message does not name meta.txt: %s", r.err);
}

Test(tool, dequantize_inconsistent_sizes)
{
    char dir[700];
    copy_folder(NF4_DIR, "rows65", NULL, "format=nf4\nlayout=bnb\nrows=65\ncols=256\nblock=64\n", dir,
                sizeof dir);
    test_run r;
    test_run_tool(&r, "dequantize", dir, out_path("d.f32"), NULL);
    expect_failure(&r, 1);
}

Test(tool, dequantize_missing_folder)
{
    test_run r;
    test_run_tool(&r, "dequantize", out_path("no-such-folder"), out_path("d.f32"), NULL);
    expect_failure(&r, 1);
}

/* ------------------------------------------------------------------------ */
/* matmul                                                                    */
/* ------------------------------------------------------------------------ */

/* A weight quantized by the tool itself (nf4, bnb, block 64), two adapters
 * of different rank (the second with rslora), X of M = 3 (decode-sized) and
 * M = 20 (above CLQ_DECODE_MAX_M, so auto picks prefill), a bias and two
 * index files, all under root/ (outside out/). W for the reference is the
 * dequant.f32 the quantize wrote: exactly what the device dequantizes. */
#define MM_N 40
#define MM_K 128
#define MM_M_SMALL 3
#define MM_M_LARGE 20

static struct mm_fixture {
    char weight[700], lora1[700], lora2[700], x_small[700], x_large[700], bias[700];
    char index_set[700], index_one[700];
    float w[MM_N * MM_K];
    float x_small_v[MM_M_SMALL * MM_K], x_large_v[MM_M_LARGE * MM_K], bias_v[MM_N];
    int32_t index_set_v[MM_M_LARGE], index_one_v[MM_M_LARGE];
    clq_lora_folder l1, l2;
} mm;

static void write_raw(char *path, size_t len, const char *name, const void *data, size_t bytes)
{
    snprintf(path, len, "%s/%s", box.root, name);
    cr_assert_eq(clq_write_file(path, data, bytes), 0, "cannot write %s: %s", path, strerror(errno));
}

static void make_adapter(clq_rng *r, clq_lora_folder *f, uint32_t rank, float alpha, int rslora,
                         const char *name, char *dir, size_t len)
{
    *f = (clq_lora_folder){.rank = rank, .alpha = alpha, .rslora = rslora, .rows = MM_N, .cols = MM_K};
    f->a = malloc(rank * MM_K * sizeof(float));
    f->b = malloc(MM_N * rank * sizeof(float));
    cr_assert(f->a && f->b, "out of memory");
    for (size_t i = 0; i < rank * MM_K; i++)
        f->a[i] = clq_rng_normal(r, 0.1f);
    for (size_t i = 0; i < MM_N * rank; i++)
        f->b[i] = clq_rng_normal(r, 0.1f);
    snprintf(dir, len, "%s/%s", box.root, name);
    char err[512];
    clq_status st = clq_lora_folder_write(dir, f, err, sizeof err);
    cr_assert_eq(st, CLQ_SUCCESS, "clq_lora_folder_write(%s): %s", dir, err);
}

static void mm_setup(void)
{
    clq_rng r = {20240611};
    static float input[MM_N * MM_K];
    test_fill_matrix(&r, input, MM_N, MM_K);
    char input_path[700];
    write_raw(input_path, sizeof input_path, "w-input.f32", input, sizeof input);
    snprintf(mm.weight, sizeof mm.weight, "%s/w", box.root);
    test_run res;
    test_run_tool(&res, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64", "--rows", "40",
                  "--cols", "128", input_path, mm.weight, NULL);
    expect_success(&res);
    clq_folder fo;
    read_folder(mm.weight, &fo);
    cr_assert_not_null(fo.dequant, "%s has no dequant.f32", mm.weight);
    cr_assert(fo.desc.rows == MM_N && fo.desc.cols == MM_K, "%s is not %dx%d", mm.weight, MM_N, MM_K);
    memcpy(mm.w, fo.dequant, sizeof mm.w);
    clq_folder_free(&fo);

    for (size_t i = 0; i < MM_M_SMALL * MM_K; i++)
        mm.x_small_v[i] = clq_rng_normal(&r, 1.0f);
    for (size_t i = 0; i < MM_M_LARGE * MM_K; i++)
        mm.x_large_v[i] = clq_rng_normal(&r, 1.0f);
    for (size_t i = 0; i < MM_N; i++)
        mm.bias_v[i] = clq_rng_normal(&r, 0.5f);
    /* Every row kind of a set: no adapter, the first, the second. */
    for (int i = 0; i < MM_M_LARGE; i++) {
        mm.index_set_v[i] = i % 3 - 1;
        mm.index_one_v[i] = i % 2 ? 0 : -1;
    }
    write_raw(mm.x_small, sizeof mm.x_small, "x3.f32", mm.x_small_v, sizeof mm.x_small_v);
    write_raw(mm.x_large, sizeof mm.x_large, "x20.f32", mm.x_large_v, sizeof mm.x_large_v);
    write_raw(mm.bias, sizeof mm.bias, "bias.f32", mm.bias_v, sizeof mm.bias_v);
    write_raw(mm.index_set, sizeof mm.index_set, "index-set.i32", mm.index_set_v, sizeof mm.index_set_v);
    write_raw(mm.index_one, sizeof mm.index_one, "index-one.i32", mm.index_one_v, sizeof mm.index_one_v);
    make_adapter(&r, &mm.l1, 8, 16.0f, 0, "lora8", mm.lora1, sizeof mm.lora1);
    make_adapter(&r, &mm.l2, 4, 6.0f, 1, "lora4", mm.lora2, sizeof mm.lora2);
}

static void mm_teardown(void)
{
    clq_lora_folder_free(&mm.l1);
    clq_lora_folder_free(&mm.l2);
}

/* Checks the M×N file `y_path` against ref_matmul of the N×K weights w
 * with x, bias (or NULL) and adapters chosen by index. */
static void expect_product(const char *y_path, const float *w, uint64_t n, uint64_t k, const float *x,
                           uint64_t m, const float *bias, const ref_adapter *adapters, size_t n_adapters,
                           const int32_t *index, const char *command)
{
    size_t size = 0;
    float *y = clq_read_file(y_path, &size);
    cr_assert_not_null(y, "`%s`: cannot read %s: %s", command, y_path, strerror(errno));
    cr_assert_eq(size, m * n * sizeof(float), "`%s`: %s has %zu bytes, expected M x N = %llu x %llu fp32",
                 command, y_path, size, (unsigned long long)m, (unsigned long long)n);
    double *ref = malloc(m * n * sizeof *ref), *bound = malloc(m * n * sizeof *bound);
    cr_assert(ref && bound, "out of memory");
    ref_matmul(w, n, k, x, m, bias, adapters, n_adapters, index, ref, bound);
    for (uint64_t i = 0; i < m * n; i++)
        cr_assert(fabs((double)y[i] - ref[i]) <= bound[i],
                  "`%s`: y[%llu][%llu] = %.9g, reference %.9g, |difference| %.3g > bound %.3g", command,
                  (unsigned long long)(i / n), (unsigned long long)(i % n), (double)y[i], ref[i],
                  fabs((double)y[i] - ref[i]), bound[i]);
    free(ref);
    free(bound);
    free(y);
}

/* The same for the fixture's W and the first n_adapters of (l1, l2). */
static void expect_matmul(const char *y_path, const float *x, uint64_t m, const float *bias,
                          size_t n_adapters, const int32_t *index, const char *command)
{
    const ref_adapter adapters[2] = {
        {mm.l1.rank, clq_lora_folder_scale(&mm.l1), mm.l1.a, mm.l1.b},
        {mm.l2.rank, clq_lora_folder_scale(&mm.l2), mm.l2.a, mm.l2.b},
    };
    expect_product(y_path, mm.w, MM_N, MM_K, x, m, bias, adapters, n_adapters, index, command);
}

static const char *const kernels[] = {"auto", "decode", "prefill"};
#define KERNEL_COUNT (sizeof kernels / sizeof kernels[0])

Test(tool, matmul_matches_reference)
{
    mm_setup();
    test_run r;
    const char *y = out_path("y.f32");
    for (size_t i = 0; i < KERNEL_COUNT; i++) {
        test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--kernel",
                      kernels[i], y, NULL);
        expect_success(&r);
        expect_matmul(y, mm.x_small_v, MM_M_SMALL, NULL, 0, NULL, r.command);
        test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--bias",
                      mm.bias, "--kernel", kernels[i], y, NULL);
        expect_success(&r);
        expect_matmul(y, mm.x_large_v, MM_M_LARGE, mm.bias_v, 0, NULL, r.command);
    }
    mm_teardown();
}

Test(tool, matmul_one_lora)
{
    mm_setup();
    test_run r;
    const char *y = out_path("y.f32");
    /* No index: every row uses the one adapter. */
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--bias",
                  mm.bias, "--lora", mm.lora1, y, NULL);
    expect_success(&r);
    expect_matmul(y, mm.x_small_v, MM_M_SMALL, mm.bias_v, 1, NULL, r.command);
    for (size_t i = 0; i < KERNEL_COUNT; i++) {
        test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--lora",
                      mm.lora1, "--lora-index", mm.index_one, "--kernel", kernels[i], y, NULL);
        expect_success(&r);
        expect_matmul(y, mm.x_large_v, MM_M_LARGE, NULL, 1, mm.index_one_v, r.command);
    }
    mm_teardown();
}

Test(tool, matmul_two_lora_with_index)
{
    mm_setup();
    test_run r;
    const char *y = out_path("y.f32");
    for (size_t i = 0; i < KERNEL_COUNT; i++) {
        test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--bias",
                      mm.bias, "--lora", mm.lora1, "--lora", mm.lora2, "--lora-index", mm.index_set,
                      "--kernel", kernels[i], y, NULL);
        expect_success(&r);
        expect_matmul(y, mm.x_large_v, MM_M_LARGE, mm.bias_v, 2, mm.index_set_v, r.command);
    }
    /* M = 3 through decode with the first three entries of the same index. */
    char index3[700];
    write_raw(index3, sizeof index3, "index3.i32", mm.index_set_v, MM_M_SMALL * sizeof(int32_t));
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--lora",
                  mm.lora1, "--lora", mm.lora2, "--lora-index", index3, "--kernel", "decode", y, NULL);
    expect_success(&r);
    expect_matmul(y, mm.x_small_v, MM_M_SMALL, NULL, 2, mm.index_set_v, r.command);
    mm_teardown();
}

Test(tool, matmul_input_of_wrong_size)
{
    mm_setup();
    test_run r;
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "4",
                  out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "x3.f32") != NULL, "the message does not name X: %s", r.err);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--bias",
                  mm.x_small, out_path("y.f32"), NULL); /* a bias of 3·K values, not N */
    expect_failure(&r, 1);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--lora",
                  mm.lora1, "--lora-index", mm.index_set, out_path("y.f32"),
                  NULL); /* an index of 20 for M = 3 */
    expect_failure(&r, 1);
    mm_teardown();
}

Test(tool, matmul_missing_weight_folder)
{
    char x[700];
    static const float zeros[MM_K];
    write_raw(x, sizeof x, "x.f32", zeros, sizeof zeros);
    test_run r;
    test_run_tool(&r, "matmul", "--weight", out_path("no-such-folder"), "--input", x, "--rows", "1",
                  out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "no-such-folder") != NULL, "the message does not name the folder: %s", r.err);
}

Test(tool, matmul_lora_rank_mismatch)
{
    mm_setup();
    /* meta.txt says rank 4, but a.f32 holds 8 rows of K. */
    char dir[700];
    copy_folder(mm.lora1, "rank4", NULL, "rank=4\nalpha=16\n", dir, sizeof dir);
    test_run r;
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--lora", dir,
                  out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "a.f32") != NULL, "the message does not name a.f32: %s", r.err);
    /* A missing alpha and a missing b.f32 are named too. */
    copy_folder(mm.lora1, "no-alpha", NULL, "rank=8\n", dir, sizeof dir);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--lora", dir,
                  out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "alpha") != NULL, "the message does not name alpha: %s", r.err);
    copy_folder(mm.lora1, "no-b", "b.f32", NULL, dir, sizeof dir);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--lora", dir,
                  out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "b.f32") != NULL, "the message does not name b.f32: %s", r.err);
    mm_teardown();
}

Test(tool, matmul_lora_usage_errors)
{
    mm_setup();
    test_run r;
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--lora",
                  mm.lora1, "--lora", mm.lora2, out_path("y.f32"), NULL); /* a set without an index */
    expect_failure(&r, 2);
    cr_assert(strstr(r.err, "--lora-index") != NULL, "the message does not name --lora-index: %s", r.err);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--lora-index",
                  mm.index_set, out_path("y.f32"), NULL); /* an index without adapters */
    expect_failure(&r, 2);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3", "--kernel",
                  "fast", out_path("y.f32"), NULL);
    expect_failure(&r, 2);
    cr_assert(strstr(r.err, "fast") != NULL, "the message does not name the kernel: %s", r.err);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--rows", "3", out_path("y.f32"),
                  NULL); /* no --input */
    expect_failure(&r, 2);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "3",
                  NULL); /* no OUTPUT */
    expect_failure(&r, 2);
    mm_teardown();
}

Test(tool, matmul_index_out_of_range)
{
    mm_setup();
    /* Adapter 2 of a set of two: only the library knows the set's size. */
    int32_t index[MM_M_LARGE];
    memcpy(index, mm.index_set_v, sizeof index);
    index[7] = 2;
    char path[700];
    write_raw(path, sizeof path, "index-bad.i32", index, sizeof index);
    test_run r;
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--lora",
                  mm.lora1, "--lora", mm.lora2, "--lora-index", path, out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    cr_assert(strstr(r.err, "lora_index") != NULL, "the message does not name the index: %s", r.err);
    index[7] = -2;
    write_raw(path, sizeof path, "index-bad.i32", index, sizeof index);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_large, "--rows", "20", "--lora",
                  mm.lora1, "--lora", mm.lora2, "--lora-index", path, out_path("y.f32"), NULL);
    expect_failure(&r, 1);
    mm_teardown();
}

Test(tool, matmul_zero_rows)
{
    mm_setup();
    test_run r;
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "0",
                  out_path("y.f32"), NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "matmul", "--weight", mm.weight, "--input", mm.x_small, "--rows", "-3",
                  out_path("y.f32"), NULL);
    expect_failure(&r, 2);
    mm_teardown();
}

/* ------------------------------------------------------------------------ */
/* clq tune                                                                  */
/* ------------------------------------------------------------------------ */

/* A context that loads `file` runs with the parameters of clq tune's
 * "best: " line. */
static void expect_tuning_file_holds_best(const char *file, const char *out)
{
    const char *best = strstr(out, "best: ");
    cr_assert_not_null(best, "no 'best:' line in:\n%s", out);
    char want[512];
    snprintf(want, sizeof want, "%.*s", (int)strcspn(best + 6, "\n"), best + 6);
    clq_context_options o;
    clq_context_options_init(&o);
    o.tuning_file = file;
    clq_context *ctx = NULL;
    TEST_OK(clq_context_create(&o, &ctx));
    char got[512];
    TEST_OK(clq_context_tuning(ctx, got, sizeof got));
    cr_assert_str_eq(got, want, "the tuning file gave '%s', clq tune reported '%s'", got, want);
    clq_context_destroy(ctx);
}

Test(tool, tune_saves_what_the_next_context_loads)
{
    test_run r;
    const char *file = out_path("tuning.txt");
    test_run_tool(&r, "tune", "--shape", "64x256", "--prefill-m", "32", "--target", "0.01", "--try",
                  "tiles_wg=2", "--try", "tiles_wg=1", "--no-evict", "--output", file, NULL);
    expect_success(&r);
    expect_tuning_file_holds_best(file, r.out);
}

/* The number of candidates clq tune times in `stage` on the default
 * device: the tool's own list (tools/tune_candidates.h, from the parameter
 * table), so a change to the table changes the expectation with it. */
static size_t stage_candidates(const char *stage)
{
    clq_context *ctx = NULL;
    TEST_OK(clq_context_create(NULL, &ctx));
    cl_device_type type = 0;
    cl_int err = clGetDeviceInfo(clq_context_cl_device(ctx), CL_DEVICE_TYPE, sizeof type, &type, NULL);
    cr_assert_eq(err, CL_SUCCESS);
    clq_context_destroy(ctx);
    size_t n = tune_candidates(stage, (type & CL_DEVICE_TYPE_CPU) != 0, 0, NULL, 0);
    cr_assert_gt(n, 1, "the %s stage has %zu candidates", stage, n);
    return n;
}

/* The quantize and lora stages alone (they change no kernel source, so no
 * compile per candidate), timed with the caches evicted as by default:
 * each prints its candidates, the lora stage runs on the quantize stage's
 * winner, and the saved line holds both winners. */
Test(tool, tune_stages_keep_their_winners)
{
    test_run r;
    const char *file = out_path("tuning.txt");
    test_run_tool(&r, "tune", "--shape", "64x256", "--only", "quantize,lora", "--target", "0.01", "--output",
                  file, NULL);
    expect_success(&r);
    const char *quantize = strstr(r.out, "quantize:\n"), *lora = strstr(r.out, "lora:\n");
    const char *best = strstr(r.out, "best: ");
    cr_assert(quantize && lora && best && quantize < lora && lora < best,
              "no quantize stage before a lora stage before the best line in:\n%s", r.out);
    cr_assert_null(strstr(r.out, "decode:\n"), "--only ran the decode stage:\n%s", r.out);
    size_t rows = 0;
    for (const char *at = strstr(quantize, "quant_span="); at && at < lora;
         at = strstr(at + 1, "quant_span="))
        rows++;
    cr_assert_eq(rows, stage_candidates("quantize"), "%zu quantize candidates in:\n%s", rows, r.out);
    /* every lora row starts from the same quant_span and quant_wg: the
     * quantize winner */
    const char *first = strstr(lora, "quant_span=");
    cr_assert_not_null(first);
    char span[64];
    size_t words = strcspn(first, " \n");
    if (first[words] == ' ')
        words += 1 + strcspn(first + words + 1, " \n"); /* "quant_span=S quant_wg=W" */
    snprintf(span, sizeof span, "%.*s", (int)words, first);
    rows = 0;
    for (const char *at = strstr(lora, "shrink_rows="); at && at < best;
         at = strstr(at + 1, "shrink_rows=")) {
        const char *line = at;
        while (line > lora && line[-1] != '\n')
            line--;
        cr_assert(strstr(line, span) && strstr(line, span) < at, "a lora row without %s in:\n%s", span,
                  r.out);
        rows++;
    }
    cr_assert_eq(rows, stage_candidates("lora"), "%zu lora candidates in:\n%s", rows, r.out);
    cr_assert(strstr(best, span), "best line without the quantize winner %s:\n%s", span, r.out);
    expect_tuning_file_holds_best(file, r.out);
}

Test(tool, tune_rejects_bad_input)
{
    test_run r;
    const char *file = out_path("tuning.txt");
    test_run_tool(&r, "tune", "--shape", "64x100", "--output", file, NULL); /* K not a multiple of 64 */
    expect_failure(&r, 2);
    test_run_tool(&r, "tune", "--shape", "64", "--output", file, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "tune", "--target", "-1", "--output", file, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "tune", "--only", "decode,lora,", "--output", file, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "tune", "--only", "quantise", "--output", file, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "tune", "--only", "lora", "--try", "shrink_rows=1", "--output", file, NULL);
    expect_failure(&r, 2);
}

/* ------------------------------------------------------------------------ */
/* Model files: GGUF, safetensors, PEFT adapters                             */
/* ------------------------------------------------------------------------ */

#if CLQ_HAVE_SAFETENSORS_PY
#define NEED_PY_FILES()
#else
#define NEED_PY_FILES() cr_skip("python3 with safetensors was not found at configure time")
#endif

static void expect_output(const test_run *r, const char *text)
{
    cr_assert_not_null(strstr(r->out, text), "`%s` did not print '%s':\n%s", r->command, text, r->out);
}

Test(tool, inspect_gguf)
{
    test_run r;
    test_run_tool(&r, "inspect", CLQ_TEST_DATA_DIR "/model.gguf", NULL);
    expect_success(&r);
    expect_output(&r, "GGUF version 3, alignment 32, 5 metadata keys, 4 tensors");
    expect_output(&r, "general.name = \"clq reference vectors\"");
    expect_output(&r, "clqtest.words = [3 string values]");
    cr_assert(strstr(r.out, "blk.0.ffn_up.weight") && strstr(r.out, "q4_0") && strstr(r.out, "256 x 64") &&
                  strstr(r.out, "9216"),
              "%s", r.out);
    test_run_tool(&r, "inspect", CLQ_TEST_DATA_DIR "/README.md", NULL);
    expect_failure(&r, 1);
    test_run_tool(&r, "inspect", NULL);
    expect_failure(&r, 2);
}

Test(tool, inspect_safetensors_and_peft)
{
    NEED_PY_FILES();
    test_run r;
    test_run_tool(&r, "inspect", CLQ_SAFETENSORS_PY_DIR "/bnb.safetensors", NULL);
    expect_success(&r);
    expect_output(&r, "safetensors, 2 metadata keys, 53 tensors");
    expect_output(&r, "format = \"pt\"");
    expect_output(&r,
                  "bnb layer clq.bnb_nf4_b64_dq: nf4, block 64, 64 x 256, double-quantized, dtype float32");
    cr_assert(strstr(r.out, "plain.i64") && strstr(r.out, "I64") && strstr(r.out, "[2, 1]"), "%s", r.out);
    test_run_tool(&r, "inspect", CLQ_SAFETENSORS_PY_DIR "/peft-c", NULL);
    expect_success(&r);
    expect_output(&r, "PEFT LoRA adapter, r = 16, lora_alpha = 32.5, target modules: q_proj");
    expect_output(&r,
                  "layer base_model.model.model.layers.1.self_attn.q_proj: rank 2, 64 x 256, F16, scale 1.5");
}

/* X of m rows of 256 under root/, its values in *values (caller frees). */
static void write_x256(const char *name, uint64_t m, char *path, size_t len, float **values)
{
    clq_rng r = {m * 31 + 7};
    float *x = malloc(m * 256 * sizeof *x);
    for (uint64_t i = 0; i < m * 256; i++)
        x[i] = clq_rng_normal(&r, 1.0f);
    write_raw(path, len, name, x, m * 256 * sizeof *x);
    *values = x;
}

Test(tool, matmul_gguf_tensor)
{
    char x_path[700];
    float *x;
    write_x256("x.f32", 20, x_path, sizeof x_path, &x);
    size_t size;
    float *w = test_read_data("ggml-q4-b32/dequant.f32", &size);
    const char *y = out_path("y.f32");
    test_run r;
    for (size_t i = 0; i < KERNEL_COUNT; i++) {
        test_run_tool(&r, "matmul", "--weight", CLQ_TEST_DATA_DIR "/model.gguf:blk.0.ffn_up.weight",
                      "--input", x_path, "--rows", "20", "--kernel", kernels[i], y, NULL);
        expect_success(&r);
        expect_product(y, w, 64, 256, x, 20, NULL, NULL, 0, NULL, r.command);
    }
    /* A float tensor, quantized as --format / --block say. */
    test_run_tool(&r, "matmul", "--weight", CLQ_TEST_DATA_DIR "/model.gguf:blk.0.attn_q.weight", "--format",
                  "nf4", "--block", "64", "--input", x_path, "--rows", "20", y, NULL);
    expect_success(&r);
    remove(y);
    test_run_tool(&r, "matmul", "--weight", CLQ_TEST_DATA_DIR "/model.gguf:missing", "--input", x_path,
                  "--rows", "20", y, NULL);
    expect_failure(&r, 1);
    cr_assert_not_null(strstr(r.err, "no tensor named 'missing'"), "%s", r.err);
    free(w);
    free(x);
}

/* A bitsandbytes layer and two PEFT adapters (F32, and BF16 with rslora),
 * rows choosing none, either. */
Test(tool, matmul_bnb_layer_with_peft_adapters)
{
    NEED_PY_FILES();
    char x_path[700], index_path[700];
    float *x;
    write_x256("x.f32", 6, x_path, sizeof x_path, &x);
    const int32_t index[6] = {-1, 0, 1, 1, 0, -1};
    write_raw(index_path, sizeof index_path, "index.i32", index, sizeof index);
    size_t size;
    float *w = test_read_data("bnb-nf4-b64-dq/dequant.f32", &size);
    float *a[2], *b[2];
    const char *names[2] = {"peft-a", "peft-b"};
    const uint32_t ranks[2] = {8, 4};
    for (int k = 0; k < 2; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/expected_a.f32", CLQ_SAFETENSORS_PY_DIR, names[k]);
        a[k] = clq_read_file(path, &size);
        snprintf(path, sizeof path, "%s/%s/expected_b.f32", CLQ_SAFETENSORS_PY_DIR, names[k]);
        b[k] = clq_read_file(path, &size);
        cr_assert(a[k] && b[k]);
    }
    /* PEFT's scales: 16/8, and 8/sqrt(4) with use_rslora. */
    const ref_adapter adapters[2] = {{ranks[0], 2.0f, a[0], b[0]}, {ranks[1], 4.0f, a[1], b[1]}};
    const char *y = out_path("y.f32");
    test_run r;
    test_run_tool(
        &r, "matmul", "--weight", CLQ_SAFETENSORS_PY_DIR "/bnb.safetensors:clq.bnb_nf4_b64_dq", "--input",
        x_path, "--rows", "6", "--lora", CLQ_SAFETENSORS_PY_DIR "/peft-a:layers.0.self_attn.q_proj", "--lora",
        CLQ_SAFETENSORS_PY_DIR "/peft-b:layers.0.self_attn.q_proj", "--lora-index", index_path, y, NULL);
    expect_success(&r);
    expect_product(y, w, 64, 256, x, 6, NULL, adapters, 2, index, r.command);
    remove(y);
    /* PEFT adapters and folders do not mix; layers must agree; shapes must fit. */
    test_run_tool(&r, "matmul", "--weight", CLQ_SAFETENSORS_PY_DIR "/bnb.safetensors:clq.bnb_nf4_b64_dq",
                  "--input", x_path, "--rows", "6", "--lora",
                  CLQ_SAFETENSORS_PY_DIR "/peft-a:layers.0.self_attn.q_proj", "--lora",
                  CLQ_TEST_DATA_DIR "/bnb-nf4-b64", "--lora-index", index_path, y, NULL);
    expect_failure(&r, 2);
    test_run_tool(&r, "matmul", "--weight", CLQ_SAFETENSORS_PY_DIR "/bnb.safetensors:clq.bnb_nf4_b64_dq",
                  "--input", x_path, "--rows", "6", "--lora", CLQ_SAFETENSORS_PY_DIR "/peft-a:q_proj", y,
                  NULL);
    expect_failure(&r, 1);
    cr_assert_not_null(strstr(r.err, "names several modules"), "%s", r.err);
    test_run_tool(&r, "matmul", "--weight", CLQ_SAFETENSORS_PY_DIR "/bnb.safetensors:plain.f32", "--input",
                  x_path, "--rows", "6", "--lora", CLQ_SAFETENSORS_PY_DIR "/peft-a:layers.0.self_attn.q_proj",
                  y, NULL);
    expect_failure(&r, 1); /* plain.f32 is 12 x 64: X and the adapter do not fit */
    for (int k = 0; k < 2; k++) {
        free(a[k]);
        free(b[k]);
    }
    free(w);
    free(x);
}
