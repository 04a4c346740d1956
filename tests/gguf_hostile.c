/* The GGUF reader on hostile files (part of test_gguf): the reference file
 * cut at every offset of its header and many beyond, every header byte
 * overwritten, and crafted files with one fault each. Each must open, or
 * fail with CLQ_ERROR_BAD_DATA and a message naming the byte offset; the
 * crafted ones must name the fault and the exact offset. Every buffer is
 * allocated at its exact size, so under ASan or valgrind a read past the
 * end is caught. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clq_io.h"
#include "support.h"

/* ---- walking a file that opened ------------------------------------------- */

/* Touches everything the API hands out, as an application would. */
static void walk(const clq_gguf *g)
{
    for (size_t k = 0; k < clq_gguf_metadata_count(g); k++) {
        clq_gguf_value v, found, e[16];
        TEST_OK(clq_gguf_metadata_get(g, k, &v));
        TEST_OK(clq_gguf_metadata_find(g, v.key, &found));
        cr_assert_eq(found.offset, v.offset);
        for (uint64_t first = 0; v.type == CLQ_GGUF_ARRAY && first < v.array_count; first += 16) {
            size_t n = v.array_count - first < 16 ? (size_t)(v.array_count - first) : 16;
            TEST_OK(clq_gguf_array_get(g, &v, first, n, e));
        }
    }
    for (size_t k = 0; k < clq_gguf_tensor_count(g); k++) {
        clq_gguf_tensor t;
        size_t index;
        TEST_OK(clq_gguf_tensor_info(g, k, &t));
        TEST_OK(clq_gguf_find_tensor(g, t.name, &index));
        cr_assert_eq(index, k);
        volatile unsigned char sink = 0;
        if (t.size)
            sink ^= ((const unsigned char *)t.data)[0] ^ ((const unsigned char *)t.data)[t.size - 1];
        (void)sink;
    }
}

/* Opens `size` bytes from a buffer of exactly that size. Returns the status;
 * a failure must be BAD_DATA with an offset, a success is walked. */
static int open_exact(const void *bytes, size_t size, const char *what)
{
    void *copy = malloc(size ? size : 1);
    memcpy(copy, bytes, size);
    clq_gguf *g = NULL;
    int status = clq_gguf_open_memory(copy, size, &g);
    if (status == CLQ_SUCCESS) {
        walk(g);
        clq_gguf_close(g);
    } else {
        cr_assert_eq(status, CLQ_ERROR_BAD_DATA, "%s: %s", what, clq_last_error());
        cr_assert_not_null(strstr(clq_last_error(), "at offset "), "%s: %s", what, clq_last_error());
        cr_assert_null(g, "%s: *out written on failure", what);
    }
    free(copy);
    return status;
}

/* Where the reference file's tensor data starts: its header is what is cut
 * and overwritten byte by byte. */
static uint64_t data_start(const void *bytes, size_t size)
{
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open_memory(bytes, size, &g));
    clq_gguf_tensor t;
    TEST_OK(clq_gguf_tensor_info(g, 0, &t));
    clq_gguf_close(g);
    return t.offset;
}

Test(gguf_hostile, truncated_anywhere)
{
    size_t size;
    unsigned char *bytes = test_read_data("model.gguf", &size);
    uint64_t header = data_start(bytes, size);
    /* The last tensor ends at the end of the file, so every cut loses some
     * of it: no prefix is a valid file. */
    for (size_t cut = 0; cut < size; cut += cut < header + 64 ? 1 : 97) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu", cut);
        cr_assert_eq(open_exact(bytes, cut, what), CLQ_ERROR_BAD_DATA, "%s opened", what);
    }
    cr_assert_eq(open_exact(bytes, size, "whole file"), CLQ_SUCCESS);
    free(bytes);
}

/* Every byte of the header set to values that turn counts and lengths huge,
 * zero, or off by one. */
Test(gguf_hostile, every_header_byte_overwritten)
{
    size_t size;
    unsigned char *bytes = test_read_data("model.gguf", &size);
    uint64_t header = data_start(bytes, size);
    const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t at = 0; at < header; at++) {
        unsigned char keep = bytes[at];
        for (size_t v = 0; v < sizeof values; v++) {
            bytes[at] = values[v];
            char what[64];
            snprintf(what, sizeof what, "byte %zu set to 0x%02x", at, values[v]);
            open_exact(bytes, size, what);
        }
        bytes[at] = (unsigned char)(keep + 1);
        open_exact(bytes, size, "byte incremented");
        bytes[at] = keep;
    }
    free(bytes);
}

/* The file on disk, through the mmap path: cut, empty, missing, a folder. */
Test(gguf_hostile, files_on_disk)
{
    size_t size;
    unsigned char *bytes = test_read_data("model.gguf", &size);
    char path[] = "/tmp/clq-gguf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, bytes, 1000), 1000);
    close(fd);
    clq_gguf *g = NULL;
    cr_assert_eq(clq_gguf_open(path, &g), CLQ_ERROR_BAD_DATA);
    cr_assert_not_null(strstr(clq_last_error(), path), "the message names the file: %s", clq_last_error());
    cr_assert_not_null(strstr(clq_last_error(), "lies past the end"), "%s", clq_last_error());
    cr_assert(truncate(path, 0) == 0);
    cr_assert_eq(clq_gguf_open(path, &g), CLQ_ERROR_BAD_DATA);
    cr_assert_not_null(strstr(clq_last_error(), "at offset 0: magic needs 4 bytes, 0 left"), "%s",
                       clq_last_error());
    unlink(path);
    cr_assert_eq(clq_gguf_open(path, &g), CLQ_ERROR_IO);
    cr_assert_eq(clq_gguf_open("/tmp", &g), CLQ_ERROR_IO);
    cr_assert_null(g);
    cr_assert_eq(clq_gguf_open(NULL, &g), CLQ_ERROR_NULL_POINTER);
    cr_assert_eq(clq_gguf_open_memory(NULL, 10, &g), CLQ_ERROR_NULL_POINTER);
    free(bytes);
}

/* ---- crafted files ---------------------------------------------------------- */

/* A growing GGUF image. */
typedef struct image {
    unsigned char bytes[4096];
    size_t n;
} image;

static void put(image *m, const void *data, size_t n)
{
    cr_assert_leq(m->n + n, sizeof m->bytes);
    memcpy(m->bytes + m->n, data, n);
    m->n += n;
}

static void put_le(image *m, uint64_t v, int bytes)
{
    for (int k = 0; k < bytes; k++) {
        unsigned char b = (unsigned char)(v >> (8 * k));
        put(m, &b, 1);
    }
}

static void put_u32(image *m, uint32_t v)
{
    put_le(m, v, 4);
}
static void put_u64(image *m, uint64_t v)
{
    put_le(m, v, 8);
}
static void put_string(image *m, const char *s)
{
    put_u64(m, strlen(s));
    put(m, s, strlen(s));
}

static void header(image *m, uint32_t version, uint64_t tensors, uint64_t kvs)
{
    m->n = 0;
    put(m, "GGUF", 4);
    put_u32(m, version);
    put_u64(m, tensors);
    put_u64(m, kvs);
}

static void kv_u32(image *m, const char *key, uint32_t v)
{
    put_string(m, key);
    put_u32(m, 4);
    put_u32(m, v);
}

/* A tensor info; returns the offset of its data-offset field. */
static uint64_t tensor_info(image *m, const char *name, uint32_t n_dims, const uint64_t *dims, uint32_t type,
                            uint64_t offset)
{
    put_string(m, name);
    put_u32(m, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        put_u64(m, dims[d]);
    put_u32(m, type);
    uint64_t at = m->n;
    put_u64(m, offset);
    return at;
}

static void pad_to(image *m, size_t alignment)
{
    while (m->n % alignment)
        put_le(m, 0, 1);
}

static void zeros(image *m, size_t n)
{
    while (n--)
        put_le(m, 0, 1);
}

/* The image must be refused with BAD_DATA, at `offset`, for `reason`. */
static void expect_bad(const image *m, uint64_t offset, const char *reason)
{
    char at[64];
    snprintf(at, sizeof at, "at offset %llu: ", (unsigned long long)offset);
    cr_assert_eq(open_exact(m->bytes, m->n, reason), CLQ_ERROR_BAD_DATA, "'%s' opened", reason);
    cr_assert_not_null(strstr(clq_last_error(), at), "expected '%s' in: %s", at, clq_last_error());
    cr_assert_not_null(strstr(clq_last_error(), reason), "expected '%s' in: %s", reason, clq_last_error());
}

Test(gguf_hostile, valid_minimal_files)
{
    image m;
    header(&m, 3, 0, 0);
    cr_assert_eq(open_exact(m.bytes, m.n, "empty v3"), CLQ_SUCCESS);
    header(&m, 2, 1, 1);
    kv_u32(&m, "", 7); /* an empty key is still a key */
    const uint64_t dims[] = {32, 2};
    tensor_info(&m, "t", 2, dims, 2 /* q4_0 */, 0);
    pad_to(&m, 32);
    zeros(&m, 2 * 18);
    cr_assert_eq(open_exact(m.bytes, m.n, "v2 with a tensor"), CLQ_SUCCESS);
}

Test(gguf_hostile, header_faults)
{
    image m;
    header(&m, 3, 0, 0);
    m.bytes[3] = 'G';
    expect_bad(&m, 0, "not a GGUF file");
    header(&m, 1, 0, 0);
    expect_bad(&m, 4, "version 1");
    header(&m, 4, 0, 0);
    expect_bad(&m, 4, "unsupported GGUF version 4");
    header(&m, 0x03000000, 0, 0);
    expect_bad(&m, 4, "big-endian");
    header(&m, 3, 0, 1ull << 40);
    expect_bad(&m, 16, "metadata count 1099511627776 cannot fit in the 0 bytes left");
    header(&m, 3, UINT64_MAX, 0);
    expect_bad(&m, 8, "tensor count 18446744073709551615 cannot fit");
    /* 13 bytes hold one key/value at most, and then no tensor. */
    header(&m, 3, 1, 1);
    zeros(&m, 13);
    expect_bad(&m, 8, "tensor count 1 cannot fit in the 0 bytes left after the metadata");
}

Test(gguf_hostile, metadata_faults)
{
    image m;
    header(&m, 3, 0, 1);
    put_u64(&m, 99999999);
    put(&m, "k", 1);
    zeros(&m, 12);
    expect_bad(&m, 24, "key length 99999999 exceeds the 13 bytes left");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 8);
    put_u64(&m, UINT64_MAX);
    expect_bad(&m, 37, "string length 18446744073709551615 exceeds the 0 bytes left");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 13);
    put_u32(&m, 0);
    expect_bad(&m, 33, "unknown value type 13");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 9);
    put_u64(&m, 1);
    expect_bad(&m, 37, "nested arrays");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 77);
    expect_bad(&m, 37, "unknown array element type 77");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 10); /* u64 */
    put_u64(&m, 3);
    zeros(&m, 16);
    expect_bad(&m, 41, "array of 3 uint64 values cannot fit in the 16 bytes left");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 8); /* strings: each at least its 8-byte length */
    put_u64(&m, 3);
    zeros(&m, 23);
    expect_bad(&m, 41, "array of 3 string values cannot fit in the 23 bytes left");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 8);
    put_u64(&m, 2);
    put_string(&m, "ok");
    put_u64(&m, 1000);
    expect_bad(&m, 59, "string length 1000 exceeds the 0 bytes left");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 7);
    put_le(&m, 2, 1);
    expect_bad(&m, 37, "bool value 2 is neither 0 nor 1");

    header(&m, 3, 0, 1);
    put_string(&m, "k");
    put_u32(&m, 9);
    put_u32(&m, 7);
    put_u64(&m, 2);
    put_le(&m, 1, 1);
    put_le(&m, 255, 1);
    expect_bad(&m, 50, "bool value 255");
}

Test(gguf_hostile, key_faults)
{
    image m;
    header(&m, 3, 0, 3);
    kv_u32(&m, "a.b", 1);
    kv_u32(&m, "a.c", 2);
    uint64_t second = m.n;
    kv_u32(&m, "a.b", 3);
    expect_bad(&m, second, "duplicate key 'a.b' (first at offset 24)");

    header(&m, 3, 0, 1);
    put_u64(&m, 3);
    put(&m, "a\0b", 3);
    put_u32(&m, 0);
    put_le(&m, 0, 1);
    expect_bad(&m, 24, "contains a NUL byte");

    header(&m, 3, 0, 1);
    kv_u32(&m, "general.alignment", 0);
    expect_bad(&m, 53, "general.alignment 0 is not a power of two");
    header(&m, 3, 0, 1);
    kv_u32(&m, "general.alignment", 48);
    expect_bad(&m, 53, "general.alignment 48 is not a power of two");
    header(&m, 3, 0, 1);
    put_string(&m, "general.alignment");
    put_u32(&m, 10);
    put_u64(&m, 64);
    expect_bad(&m, 53, "general.alignment has value type 10, not uint32");
}

/* A file with one tensor described by the arguments and `data` bytes of
 * data; returns the offset of the tensor info's first byte. */
static uint64_t one_tensor(image *m, uint32_t n_dims, const uint64_t *dims, uint32_t type, uint64_t offset,
                           size_t data, uint64_t *offset_at)
{
    header(m, 3, 1, 0);
    uint64_t at = m->n;
    *offset_at = tensor_info(m, "w", n_dims, dims, type, offset);
    pad_to(m, 32);
    zeros(m, data);
    return at;
}

Test(gguf_hostile, tensor_faults)
{
    image m;
    uint64_t field, info;
    const uint64_t five[] = {1, 1, 1, 1, 1};
    info = one_tensor(&m, 5, five, 0, 0, 4, &field);
    expect_bad(&m, info + 9, "tensor 'w' has 5 dimensions, at most 4 are allowed");

    const uint64_t beyond[] = {32, 1ull << 63};
    info = one_tensor(&m, 2, beyond, 0, 0, 0, &field);
    expect_bad(&m, info + 21, "dimension 1 is 9223372036854775808, beyond ggml's int64 range");

    const uint64_t product[] = {1ull << 32, 1ull << 32};
    info = one_tensor(&m, 2, product, 0, 0, 0, &field);
    expect_bad(&m, info + 21, "the product of its dimensions overflows int64");

    const uint64_t large[] = {1ull << 31, 1ull << 31}; /* 2^62 f64 elements: 2^65 bytes */
    info = one_tensor(&m, 2, large, 28, 0, 0, &field);
    expect_bad(&m, info + 29, "its byte size overflows");

    const uint64_t row[] = {32, 2};
    info = one_tensor(&m, 2, row, 4 /* retired Q4_2 */, 0, 0, &field);
    expect_bad(&m, info + 29, "unknown ggml type 4");
    info = one_tensor(&m, 2, row, 1000, 0, 0, &field);
    expect_bad(&m, info + 29, "unknown ggml type 1000");

    const uint64_t odd[] = {33, 2};
    info = one_tensor(&m, 2, odd, 2, 0, 0, &field);
    expect_bad(&m, info + 29, "ne[0] = 33 is not a multiple of the q4_0 block (32)");

    one_tensor(&m, 2, row, 0, 16, 256, &field);
    expect_bad(&m, field, "data offset 16 is not a multiple of the alignment 32");

    one_tensor(&m, 2, row, 0, 1ull << 40, 256, &field);
    expect_bad(&m, field, "lies past the end of the file");
    one_tensor(&m, 2, row, 0, UINT64_MAX - 31, 256, &field);
    expect_bad(&m, field, "lies past the end of the file");
    one_tensor(&m, 2, row, 0, 0, 255, &field); /* 256 bytes needed */
    expect_bad(&m, field, "(256 bytes at data offset 0) lies past the end");
    one_tensor(&m, 2, row, 0, 0, 256, &field);
    cr_assert_eq(open_exact(m.bytes, m.n, "exact fit"), CLQ_SUCCESS);

    header(&m, 3, 2, 0);
    tensor_info(&m, "w", 2, row, 0, 0);
    uint64_t second = m.n;
    tensor_info(&m, "w", 2, row, 0, 256);
    pad_to(&m, 32);
    zeros(&m, 512);
    expect_bad(&m, second, "duplicate tensor name 'w' (first at offset 24)");

    header(&m, 3, 1, 0);
    put_u64(&m, 2);
    put(&m, "w\0", 2);
    put_u32(&m, 0);
    put_u32(&m, 0);
    put_u64(&m, 0);
    expect_bad(&m, 24, "tensor name 'w' contains a NUL byte");
}

/* The alignment a file declares is the one tensors are checked against, and
 * where the data section starts. */
Test(gguf_hostile, custom_alignment)
{
    image m;
    const uint64_t row[] = {8};
    header(&m, 3, 1, 1);
    kv_u32(&m, "general.alignment", 256);
    uint64_t field = tensor_info(&m, "w", 1, row, 0, 0);
    pad_to(&m, 32); /* not 256: the data section starts past the end */
    zeros(&m, 32);
    expect_bad(&m, field, "lies past the end of the file (data section at 256, file 128 bytes)");
    pad_to(&m, 256);
    zeros(&m, 32);
    clq_gguf *g = NULL;
    TEST_OK(clq_gguf_open_memory(m.bytes, m.n, &g));
    clq_gguf_tensor t;
    TEST_OK(clq_gguf_tensor_info(g, 0, &t));
    cr_assert_eq(t.offset, 256);
    cr_assert_eq(clq_gguf_alignment(g), 256);
    clq_gguf_close(g);
}
