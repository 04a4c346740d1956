/*
 * The `clq` tool on files made to attack it or the terminal it prints to.
 * `clq inspect`: names, keys and values holding ESC, BEL, CR and LF
 * (terminal title and colour sequences, forged lines), C1 controls,
 * bidirectional overrides and bytes that are not UTF-8 come out escaped, on
 * stdout and in messages on stderr; a PEFT module name longer than any
 * fixed buffer is read as `clq matmul --lora DIR:LAYER` reads it.
 * `clq matmul`: a float weight whose q8 scale overflows, and an adapter
 * folder holding NaN, fail with the place named and no output written.
 */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clq_io.h"
#include "folder.h"
#include "lora_folder.h"
#include "support.h"

#ifndef CLQ_TOOL_PATH
#error "compile with -DCLQ_TOOL_PATH=\"/path/to/clq\""
#endif

static char root[512];

static void sandbox_open(void)
{
    test_make_temp_dir(root, sizeof root, "clq-test-tool-hostile");
}

static void sandbox_close(void)
{
    if (root[0])
        test_remove_tree(root);
    root[0] = '\0';
}

TestSuite(tool_hostile, .init = sandbox_open, .fini = sandbox_close);

static void in_root(char *path, size_t len, const char *name)
{
    int n = snprintf(path, len, "%s/%s", root, name);
    cr_assert(n > 0 && (size_t)n < len);
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, size, f), size);
    cr_assert_eq(fclose(f), 0);
}

static void run_inspect(test_run *r, const char *target)
{
    test_run_tool(r, "inspect", target, NULL);
}

/* Nothing a terminal acts on: no control character but the line ends (C0,
 * DEL, C1 as UTF-8), no bidirectional override, nothing but UTF-8; and
 * `lines` lines in all. */
static void expect_inert(const char *what, const char *text, size_t size, int lines)
{
    int newlines = 0;
    for (size_t i = 0; i < size;) {
        const unsigned char *s = (const unsigned char *)text + i;
        size_t n = s[0] < 0x80                   ? 1
                   : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                   : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
                   : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                                 : 0;
        cr_assert(n > 0 && i + n <= size, "%s: byte 0x%02x at %zu is not UTF-8:\n%s", what, s[0], i, text);
        long c = n == 1 ? s[0] : s[0] & (0x3f >> (n - 1));
        for (size_t k = 1; k < n; k++) {
            cr_assert_eq(s[k] & 0xc0, 0x80, "%s: byte 0x%02x at %zu is not UTF-8", what, s[k], i + k);
            c = c << 6 | (s[k] & 0x3f);
        }
        newlines += c == '\n';
        cr_assert((c >= 0x20 || c == '\n') && !(c >= 0x7f && c <= 0x9f), "%s: control U+%04lx at %zu:\n%s",
                  what, c, i, text);
        cr_assert(!(c >= 0x202a && c <= 0x202e) && !(c >= 0x2066 && c <= 0x2069), "%s: U+%04lx at %zu", what,
                  c, i);
        i += n;
    }
    cr_assert_eq(newlines, lines, "%s: %d lines, expected %d:\n%s", what, newlines, lines, text);
}

static void expect_text(const test_run *r, const char *text)
{
    cr_assert_not_null(strstr(r->out, text), "stdout lacks '%s':\n%s", text, r->out);
}

Test(tool_hostile, gguf_names_and_values_are_escaped)
{
    clq_gguf_writer *w = NULL;
    TEST_OK(clq_gguf_writer_create(&w));
    TEST_OK(clq_gguf_writer_add_string(w, "title.\x1b]0;pwned\x07.key", "ok"));
    TEST_OK(clq_gguf_writer_add_string(w, "forge", "a\\b\r\nclq inspect: all good\x1b[31m \xc2\x9b\xff end"));
    TEST_OK(clq_gguf_writer_add_string(w, "bidi", "x\xe2\x80\xaey\xd0\x96"));
    float v[4] = {0};
    uint64_t ne[1] = {4};
    TEST_OK(clq_gguf_writer_add_tensor(w, "w\x1b[2J\x1b[H", CLQ_GGML_F32, 1, ne, v, sizeof v));
    char path[600];
    in_root(path, sizeof path, "evil.gguf");
    TEST_OK(clq_gguf_writer_write(w, path));
    clq_gguf_writer_destroy(w);
    test_run r;
    run_inspect(&r, path);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* summary, 3 keys, the table's header, 1 tensor */
    expect_inert("stdout", r.out, r.out_size, 6);
    expect_text(&r, "title.\\x1b]0;pwned\\x07.key = \"ok\"");
    expect_text(&r, "forge = \"a\\\\b\\r\\nclq inspect: all good\\x1b[31m \\u009b\\xff end\"");
    expect_text(&r, "bidi = \"x\\u202ey\xd0\x96\""); /* other UTF-8 stays as it is */
    expect_text(&r, "w\\x1b[2J\\x1b[H");
}

/* A safetensors file from its JSON header and data. */
static void write_safetensors(const char *path, const char *header, const void *data, size_t data_bytes)
{
    size_t h = strlen(header), size = 8 + h + data_bytes;
    unsigned char *f = malloc(size);
    for (int k = 0; k < 8; k++)
        f[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(f + 8, header, h);
    if (data_bytes)
        memcpy(f + 8 + h, data, data_bytes);
    write_file(path, f, size);
    free(f);
}

Test(tool_hostile, safetensors_names_values_and_messages_are_escaped)
{
    static const char header[] =
        "{\"__metadata__\":{\"k\\u001b[1m\":\"v\\r\\u0007\\u009b\\u202e\"},"
        "\"t\\u001b]2;x\\u0007.weight\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    char path[600];
    in_root(path, sizeof path, "evil.safetensors");
    write_safetensors(path, header, "ab", 2);
    test_run r;
    run_inspect(&r, path);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    expect_inert("stdout", r.out, r.out_size, 4); /* summary, 1 key, the table's header, 1 tensor */
    expect_text(&r, "k\\x1b[1m = \"v\\r\\x07\\u009b\\u202e\"");
    expect_text(&r, "t\\x1b]2;x\\x07.weight");
    /* A message quoting a name from the file, on stderr. */
    static const char bad[] = "{\"t\\u001b[31m\\n\":{\"dtype\":\"X8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    write_safetensors(path, bad, "ab", 2);
    run_inspect(&r, path);
    cr_assert_eq(r.exit_code, 1);
    expect_inert("stderr", r.err, r.err_size, 1);
    cr_assert_not_null(strstr(r.err, "tensor 't\\x1b[31m\\n': unknown or unsupported dtype 'X8'"), "%s",
                       r.err);
}

/* A PEFT folder whose one module has a 600-character name. */
Test(tool_hostile, peft_module_longer_than_512_bytes)
{
    char module[601];
    memset(module, 'x', 600);
    memcpy(module, "base_model.model.", 17);
    memcpy(module + 600 - 7, ".q_proj", 7);
    module[600] = '\0';
    size_t cap = 2 * 600 + 512;
    char *header = malloc(cap);
    snprintf(header, cap,
             "{\"%s.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,32],\"data_offsets\":[0,256]},"
             "\"%s.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[16,2],\"data_offsets\":[256,384]}}",
             module, module);
    float values[96] = {0};
    char dir[600], path[700];
    in_root(dir, sizeof dir, "adapter");
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    write_safetensors(path, header, values, sizeof values);
    static const char config[] = "{\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"q_proj\"]}";
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    write_file(path, config, sizeof config - 1);
    test_run r;
    run_inspect(&r, dir);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    char want[700];
    snprintf(want, sizeof want, "  layer %s: rank 2, 16 x 32, F32, scale 2\n", module);
    expect_text(&r, want);
    cr_assert_null(strstr(r.out, "unreadable"), "%s", r.out);
    free(header);
}

/* A float weight quantized to q8 (the default) with one value of 1e7, and
 * an adapter folder with a NaN in a.f32: exit status 1, the place named,
 * nothing written. */
Test(tool_hostile, matmul_refuses_values_it_cannot_represent)
{
    enum { N = 16, K = 32 };
    float w[N * K], x[K], a[2 * K], b[N * 2];
    for (int i = 0; i < N * K; i++)
        w[i] = 0.01f * (float)(i % 5);
    for (int i = 0; i < K; i++)
        x[i] = 1.0f;
    for (int i = 0; i < 2 * K; i++)
        a[i] = b[i % (N * 2)] = 0.5f;
    char w_path[600], x_path[600], y_path[600], lora_dir[600], header[160], err[256];
    in_root(w_path, sizeof w_path, "w.safetensors");
    in_root(x_path, sizeof x_path, "x.f32");
    in_root(y_path, sizeof y_path, "y.f32");
    in_root(lora_dir, sizeof lora_dir, "lora");
    snprintf(header, sizeof header, "{\"w\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]}}",
             N, K, sizeof w);
    write_file(x_path, x, sizeof x);
    char spec[640];
    snprintf(spec, sizeof spec, "%s:w", w_path);
    /* args[8] and [9] take `--lora DIR` below. */
    const char *args[] = {"matmul", "--weight", spec, "--input", x_path, "--rows",
                          "1",      y_path,     NULL, NULL,      NULL};
    struct stat sb;
    test_run r;

    w[3 * K + 7] = 1e7f;
    write_safetensors(w_path, header, w, sizeof w);
    test_run_tool_args(&r, NULL, args);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "row 3, columns 0..31"), "%s", r.err);
    cr_assert_neq(stat(y_path, &sb), 0, "y.f32 was written");

    w[3 * K + 7] = 8e6f; /* below 127 x 65520 */
    write_safetensors(w_path, header, w, sizeof w);
    test_run_tool_args(&r, NULL, args);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(unlink(y_path), 0);

    a[K + 9] = NAN;
    clq_lora_folder f = {2, 4.0f, 0, N, K, a, b};
    TEST_OK(clq_lora_folder_write(lora_dir, &f, err, sizeof err));
    args[8] = "--lora";
    args[9] = lora_dir;
    test_run_tool_args(&r, NULL, args);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "NaN or Inf in A at row 1, column 9"), "%s", r.err);
    cr_assert_neq(stat(y_path, &sb), 0, "y.f32 was written");
}

/* An adapter folder's alpha beyond fp32 ("1e39") is refused when read. */
Test(tool_hostile, lora_folder_alpha_beyond_fp32)
{
    float a[2 * 32] = {0}, b[16 * 2] = {0};
    char dir[600], path[700], err[512];
    in_root(dir, sizeof dir, "lora");
    clq_lora_folder f = {2, 4.0f, 0, 16, 32, a, b};
    TEST_OK(clq_lora_folder_write(dir, &f, err, sizeof err));
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    write_file(path, "rank=2\nalpha=1e39\n", 18);
    clq_lora_folder got;
    cr_assert_eq(clq_lora_folder_read(dir, 16, 32, &got, err, sizeof err), CLQ_ERROR_BAD_DATA);
    cr_assert_not_null(strstr(err, "alpha='1e39' is not a finite number"), "%s", err);
}
