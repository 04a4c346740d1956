/* The safetensors reader on hostile files (part of test_safetensors): the
 * reference file cut at every offset of its header and beyond, every
 * header byte overwritten, and crafted files with one fault each. Each must
 * open, or fail with CLQ_ERROR_BAD_DATA and a message naming the byte
 * offset; the crafted ones must name the fault and the exact offset. Every
 * buffer is allocated at its exact size, so under ASan or valgrind a read
 * past the end is caught. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clq_io.h"
#include "folder.h"
#include "support.h"

/* Touches everything the API hands out, as an application would. */
static void walk(const clq_safetensors *st)
{
    for (size_t k = 0; k < clq_safetensors_metadata_count(st); k++) {
        const char *key, *value, *found;
        TEST_OK(clq_safetensors_metadata_get(st, k, &key, &value));
        TEST_OK(clq_safetensors_metadata_find(st, key, &found));
        cr_assert_eq(found, value);
    }
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        size_t index;
        TEST_OK(clq_safetensors_tensor_info(st, k, &t));
        TEST_OK(clq_safetensors_find_tensor(st, t.name, &index));
        cr_assert_eq(index, k);
        volatile unsigned char sink = 0;
        if (t.size)
            sink ^= ((const unsigned char *)t.data)[0] ^ ((const unsigned char *)t.data)[t.size - 1];
        (void)sink;
    }
}

static int open_exact(const void *bytes, size_t size, const char *what)
{
    void *copy = malloc(size ? size : 1);
    memcpy(copy, bytes, size);
    clq_safetensors *st = NULL;
    int status = clq_safetensors_open_memory(copy, size, &st);
    if (status == CLQ_SUCCESS) {
        walk(st);
        clq_safetensors_close(st);
    } else {
        cr_assert_eq(status, CLQ_ERROR_BAD_DATA, "%s: %s", what, clq_last_error());
        cr_assert_not_null(strstr(clq_last_error(), "at offset "), "%s: %s", what, clq_last_error());
        cr_assert_null(st, "%s: *out written on failure", what);
    }
    free(copy);
    return status;
}

/* A small valid file, as the reference writer lays it out. */
static const char valid_header[] = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],"
                                   "\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],"
                                   "\"data_offsets\":[16,19]}}";

/* header length + header + `data` bytes of data, in a buffer it returns. */
static unsigned char *make_file(const char *header, size_t data, size_t *size)
{
    size_t n = strlen(header);
    *size = 8 + n + data;
    unsigned char *bytes = calloc(1, *size);
    for (int k = 0; k < 8; k++)
        bytes[k] = (unsigned char)((uint64_t)n >> (8 * k));
    memcpy(bytes + 8, header, n);
    for (size_t i = 0; i < data; i++)
        bytes[8 + n + i] = (unsigned char)i;
    return bytes;
}

static void expect_bad(const char *header, size_t data, uint64_t offset, const char *reason)
{
    size_t size;
    unsigned char *bytes = make_file(header, data, &size);
    char at[64];
    snprintf(at, sizeof at, "at offset %llu: ", (unsigned long long)offset);
    cr_assert_eq(open_exact(bytes, size, reason), CLQ_ERROR_BAD_DATA, "'%s' opened", reason);
    cr_assert_not_null(strstr(clq_last_error(), at), "expected '%s' in: %s", at, clq_last_error());
    cr_assert_not_null(strstr(clq_last_error(), reason), "expected '%s' in: %s", reason, clq_last_error());
    free(bytes);
}

Test(safetensors_hostile, valid_minimal_files)
{
    size_t size;
    unsigned char *bytes = make_file(valid_header, 19, &size);
    cr_assert_eq(open_exact(bytes, size, "valid"), CLQ_SUCCESS);
    free(bytes);
    bytes = make_file("{}", 0, &size);
    cr_assert_eq(open_exact(bytes, size, "empty"), CLQ_SUCCESS);
    free(bytes);
    /* Padding after the JSON, as the reference writer adds it. */
    bytes = make_file("{}      ", 0, &size);
    cr_assert_eq(open_exact(bytes, size, "padded"), CLQ_SUCCESS);
    free(bytes);
}

Test(safetensors_hostile, truncated_anywhere)
{
    size_t size;
    unsigned char *bytes = make_file(valid_header, 19, &size);
    for (size_t cut = 0; cut < size; cut++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu", cut);
        cr_assert_eq(open_exact(bytes, cut, what), CLQ_ERROR_BAD_DATA, "%s opened", what);
    }
    free(bytes);
}

Test(safetensors_hostile, every_header_byte_overwritten)
{
    size_t size;
    unsigned char *bytes = make_file(valid_header, 19, &size);
    const unsigned char values[] = {0x00, 0x01, '"', '0', '9', '-', '{', ']', 0x7f, 0x80, 0xc3, 0xff};
    for (size_t at = 0; at < size - 19; at++) {
        unsigned char keep = bytes[at];
        for (size_t v = 0; v < sizeof values; v++) {
            bytes[at] = values[v];
            char what[64];
            snprintf(what, sizeof what, "byte %zu set to 0x%02x", at, values[v]);
            open_exact(bytes, size, what);
        }
        bytes[at] = keep;
    }
    free(bytes);
}

/* The reference writer's own file, cut and overwritten in its header. */
Test(safetensors_hostile, python_file_cut_and_overwritten)
{
#if !CLQ_HAVE_SAFETENSORS_PY
    cr_skip("no python safetensors package at configure time");
#else
    char path[1024];
    snprintf(path, sizeof path, "%s/bnb.safetensors", CLQ_SAFETENSORS_PY_DIR);
    size_t size;
    unsigned char *bytes = clq_read_file(path, &size);
    cr_assert_not_null(bytes);
    uint64_t header = 8;
    for (int k = 0; k < 8; k++)
        header += (uint64_t)bytes[k] << (8 * k);
    for (size_t cut = 0; cut < size; cut += cut < header + 64 ? 7 : 331)
        cr_assert_eq(open_exact(bytes, cut, "cut"), CLQ_ERROR_BAD_DATA, "cut at %zu opened", cut);
    for (size_t at = 0; at < header; at += 3) {
        unsigned char keep = bytes[at];
        bytes[at] = (unsigned char)(keep ^ 0x20);
        open_exact(bytes, size, "byte changed");
        bytes[at] = keep;
    }
    free(bytes);
#endif
}

Test(safetensors_hostile, length_faults)
{
    unsigned char tiny[5] = {0};
    cr_assert_eq(open_exact(tiny, 5, "short"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "at offset 0: header length needs 8 bytes, 5 left"), "%s",
              clq_last_error());
    size_t size;
    unsigned char *bytes = make_file("{}", 0, &size);
    bytes[0] = 3;
    cr_assert_eq(open_exact(bytes, size, "long"), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "at offset 0: header length 3 exceeds the 2 bytes left"), "%s",
              clq_last_error());
    memset(bytes, 0xff, 8);
    cr_assert_eq(open_exact(bytes, size, "huge"), CLQ_ERROR_BAD_DATA);
    free(bytes);
    /* Above the format's limit, though inside the file. */
    size = 8 + 100000001;
    bytes = calloc(1, size);
    bytes[0] = 0x01, bytes[1] = 0xe1, bytes[2] = 0xf5, bytes[3] = 0x05; /* 100000001 */
    clq_safetensors *st = NULL;
    cr_assert_eq(clq_safetensors_open_memory(bytes, size, &st), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(clq_last_error(), "above the format's limit"), "%s", clq_last_error());
    free(bytes);
}

Test(safetensors_hostile, json_faults)
{
    expect_bad("{\"a\":", 0, 13, "JSON");
    expect_bad("[]", 0, 8, "the header is not a JSON object");
    expect_bad("{\"a\":1,\"a\":2}", 0, 18, "duplicate object key");
    expect_bad("{\"a\\u0000b\":1}", 0, 19, "NUL byte in object key");
    expect_bad("{\"\xff\":1}", 0, 10, "unable to decode byte 0xff");
    expect_bad("{} x", 0, 12, "end of file expected");
    expect_bad("{\"__metadata__\":[]}", 0, 9, "__metadata__ is not a JSON object");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, 25, "__metadata__ value of 'k' is not a string");
}

Test(safetensors_hostile, entry_faults)
{
    expect_bad("{\"t\":1}", 0, 9, "tensor 't' is not a JSON object");
    expect_bad("{\"t\":{\"shape\":[],\"data_offsets\":[0,0]}}", 0, 9, "tensor 't' has no dtype");
    expect_bad("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}", 0, 9, "has no shape");
    expect_bad("{\"t\":{\"dtype\":\"F32\",\"shape\":[]}}", 0, 9, "has no data_offsets");
    expect_bad("{\"t\":{\"dtype\":\"F4\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, 9,
               "unsupported dtype 'F4'");
    expect_bad("{\"t\":{\"dtype\":3,\"shape\":[],\"data_offsets\":[0,0]}}", 0, 9, "dtype is not a string");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, 9,
               "has 9 dimensions, at most 8");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1, 9,
               "dimension 0 is not a non-negative integer");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1, 9, "dimension 0");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}", 1, 9,
               "the product of its dimensions overflows");
    expect_bad("{\"t\":{\"dtype\":\"F64\",\"shape\":[4294967296,536870912],\"data_offsets\":[0,1]}}", 1, 9,
               "its byte size overflows");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, 9,
               "data_offsets is not two non-negative integers");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", 1, 9,
               "data_offsets [1, 0] do not lie inside the 1 bytes of data");
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", 1, 77,
               "too big integer"); /* beyond jansson's int64: where the number ends */
    expect_bad("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,2]}}", 1, 9, "do not lie inside");
    /* 8 + 54 header bytes: the data starts at 62. */
    expect_bad("{\"t\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 62,
               "tensor 't' holds 1 bytes, but its shape and dtype U16 need 2");
}

Test(safetensors_hostile, tiling_faults)
{
    /* 8 + 105 header bytes: the data starts at 113. */
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
               3, 114, "tensor 'b' starts at 114, where the previous tensor's data still runs");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
               3, 115, "tensor 'b' starts at 115, where the previous tensor's data ended earlier (a hole)");
    /* 8 + 53 header bytes: the data starts at 61. */
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, 62, "(a hole)");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 3, 62,
               "2 bytes after the last tensor's data are not described");
    /* Zero-size tensors may share an offset. */
    size_t size;
    unsigned char *bytes = make_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                                     "\"b\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}",
                                     0, &size);
    cr_assert_eq(open_exact(bytes, size, "empty tensors"), CLQ_SUCCESS);
    free(bytes);
}

Test(safetensors_hostile, files_on_disk)
{
    size_t size;
    unsigned char *bytes = make_file(valid_header, 19, &size);
    char path[] = "/tmp/clq-safetensors-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, bytes, size - 1), (ssize_t)(size - 1));
    close(fd);
    clq_safetensors *st = NULL;
    cr_assert_eq(clq_safetensors_open(path, &st), CLQ_ERROR_BAD_DATA);
    cr_assert_not_null(strstr(clq_last_error(), path), "the message names the file: %s", clq_last_error());
    cr_assert(truncate(path, 0) == 0);
    cr_assert_eq(clq_safetensors_open(path, &st), CLQ_ERROR_BAD_DATA);
    unlink(path);
    cr_assert_eq(clq_safetensors_open(path, &st), CLQ_ERROR_IO);
    cr_assert_eq(clq_safetensors_open("/tmp", &st), CLQ_ERROR_IO);
    cr_assert_null(st);
    cr_assert_eq(clq_safetensors_open(NULL, &st), CLQ_ERROR_NULL_POINTER);
    cr_assert_eq(clq_safetensors_open_memory(NULL, 10, &st), CLQ_ERROR_NULL_POINTER);
    free(bytes);
}
