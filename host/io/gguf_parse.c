/* Opening a GGUF file: memory-mapping it, parsing the header and the
 * metadata key/values (the tensor directory is gguf_tensors.c), and the
 * public queries on the metadata. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "gguf_internal.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define GGUF_DEFAULT_ALIGNMENT 32
/* The fewest bytes a key/value can take (an empty key's 8-byte length, a
 * 4-byte type, a 1-byte value) and a tensor info (an empty name, no
 * dimensions, type and offset): what bounds the counts before allocation. */
#define GGUF_MIN_KV_BYTES 13
#define GGUF_MIN_TENSOR_BYTES 24

static uint32_t byte_swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static clq_status read_version(clq_gguf *g, gguf_cursor *c)
{
    uint64_t at = c->pos;
    CLQ_FORWARD(gguf_read_u32(c, "version", &g->version));
    if (g->version == 2 || g->version == 3)
        return CLQ_SUCCESS; /* 3 only added big-endian files; the layout is 2's */
    if (g->version == 1)
        return GGUF_BAD(c, at, "GGUF version 1 (32-bit counts) is not supported; versions 2 and 3 are read");
    uint32_t swapped = byte_swap32(g->version);
    if (swapped >= 1 && swapped <= 3)
        return GGUF_BAD(c, at, "big-endian GGUF files (version %u) are not supported", swapped);
    return GGUF_BAD(c, at, "unsupported GGUF version %u (versions 2 and 3 are read)", g->version);
}

/* Header: magic, version, tensor count, key/value count. The counts are
 * checked against the bytes left before anything is allocated for them. */
static clq_status read_header(clq_gguf *g, gguf_cursor *c)
{
    uint32_t magic;
    CLQ_FORWARD(gguf_read_u32(c, "magic", &magic));
    if (magic != GGUF_MAGIC)
        return GGUF_BAD(c, 0, "not a GGUF file: it starts with %02x %02x %02x %02x, not 'GGUF'", magic & 0xff,
                        (magic >> 8) & 0xff, (magic >> 16) & 0xff, magic >> 24);
    CLQ_FORWARD(read_version(g, c));
    uint64_t tensors_at = c->pos, kvs_at = c->pos + 8, tensors, kvs;
    CLQ_FORWARD(gguf_read_u64(c, "tensor count", &tensors));
    CLQ_FORWARD(gguf_read_u64(c, "metadata count", &kvs));
    uint64_t left = gguf_left(c);
    if (kvs > left / GGUF_MIN_KV_BYTES)
        return GGUF_BAD(c, kvs_at, "metadata count %llu cannot fit in the %llu bytes left",
                        (unsigned long long)kvs, (unsigned long long)left);
    left -= kvs * GGUF_MIN_KV_BYTES;
    if (tensors > left / GGUF_MIN_TENSOR_BYTES)
        return GGUF_BAD(c, tensors_at,
                        "tensor count %llu cannot fit in the %llu bytes left after the metadata",
                        (unsigned long long)tensors, (unsigned long long)left);
    /* Both counts are now below the size of memory held: size_t holds them. */
    g->kv_count = (size_t)kvs;
    g->tensor_count = (size_t)tensors;
    g->kv = calloc(g->kv_count + 1, sizeof *g->kv);
    g->kv_sorted = calloc(g->kv_count + 1, sizeof *g->kv_sorted);
    g->tensors = calloc(g->tensor_count + 1, sizeof *g->tensors);
    g->tensor_sorted = calloc(g->tensor_count + 1, sizeof *g->tensor_sorted);
    if (!g->kv || !g->kv_sorted || !g->tensors || !g->tensor_sorted)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu key/values and %zu tensors",
                        g->kv_count, g->tensor_count);
    return CLQ_SUCCESS;
}

static clq_status read_metadata(clq_gguf *g, gguf_cursor *c)
{
    for (size_t k = 0; k < g->kv_count; k++) {
        uint64_t key_at = c->pos;
        clq_gguf_string key;
        CLQ_FORWARD(gguf_read_string(c, "key", &key));
        /* Keys are handed out NUL-terminated: an inner NUL would hide a
         * duplicate. */
        if (memchr(key.data, 0, key.length))
            return GGUF_BAD(c, key_at, "key '%.*s' contains a NUL byte",
                            (int)(key.length < 200 ? key.length : 200), key.data);
        g->kv_sorted[k] = (gguf_name){key.data, key.length, key_at, k};
        CLQ_FORWARD(gguf_read_value(c, &g->kv[k]));
    }
    return gguf_sort_names(c, g->kv_sorted, g->kv_count, "key");
}

/* general.alignment, as ggml reads it: a u32, a power of two. */
static clq_status read_alignment(clq_gguf *g, const gguf_cursor *c)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    size_t k = gguf_lookup(g->kv_sorted, g->kv_count, "general.alignment");
    if (k == SIZE_MAX)
        return CLQ_SUCCESS;
    const clq_gguf_value *v = &g->kv[k];
    if (v->type != CLQ_GGUF_UINT32)
        return GGUF_BAD(c, v->offset, "general.alignment has value type %d, not uint32 (4)", (int)v->type);
    if (v->u == 0 || (v->u & (v->u - 1)))
        return GGUF_BAD(c, v->offset, "general.alignment %llu is not a power of two",
                        (unsigned long long)v->u);
    g->alignment = (uint32_t)v->u;
    return CLQ_SUCCESS;
}

/* NUL-terminated copies of the keys and tensor names, in one block. Their
 * total is below the file size: each name in the file has an 8-byte length
 * where the copy has a 1-byte terminator. */
static clq_status copy_names(clq_gguf *g)
{
    size_t total = 1;
    for (size_t k = 0; k < g->kv_count; k++)
        total += g->kv_sorted[k].length + 1;
    for (size_t k = 0; k < g->tensor_count; k++)
        total += g->tensor_sorted[k].length + 1;
    char *p = g->names = malloc(total);
    if (!p)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu bytes of names", total);
    for (size_t k = 0; k < g->kv_count; k++) {
        const gguf_name *n = &g->kv_sorted[k];
        memcpy(p, n->text, n->length);
        p[n->length] = '\0';
        g->kv[n->index].key = p;
        p += n->length + 1;
    }
    for (size_t k = 0; k < g->tensor_count; k++) {
        const gguf_name *n = &g->tensor_sorted[k];
        memcpy(p, n->text, n->length);
        p[n->length] = '\0';
        g->tensors[n->index].name = p;
        p += n->length + 1;
    }
    return CLQ_SUCCESS;
}

static clq_status parse(clq_gguf *g)
{
    gguf_cursor c = {g->data, g->size, 0, g->source};
    CLQ_FORWARD(read_header(g, &c));
    CLQ_FORWARD(read_metadata(g, &c));
    CLQ_FORWARD(read_alignment(g, &c));
    CLQ_FORWARD(gguf_parse_tensors(g, &c));
    return copy_names(g);
}

/* Takes ownership of `map` (NULL for caller memory), also on failure. */
static clq_status open_view(const void *data, uint64_t size, void *map, const char *source, clq_gguf **out)
{
    clq_gguf *g = calloc(1, sizeof *g);
    char *name = strdup(source);
    if (!g || !name) {
        free(g);
        free(name);
        clq_unmap_file(map, size);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a GGUF handle");
    }
    *g = (clq_gguf){.data = data, .size = size, .map = map, .map_size = (size_t)size, .source = name};
    int status = parse(g);
    if (status != CLQ_SUCCESS) {
        clq_gguf_close(g);
        return status;
    }
    *out = g;
    return CLQ_SUCCESS;
}

clq_status clq_gguf_open_memory(const void *data, size_t size, clq_gguf **out)
{
    if (!out || (!data && size))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_open_memory: data and out are required");
    return open_view(data, size, NULL, "GGUF in memory", out);
}

clq_status clq_gguf_open(const char *path, clq_gguf **out)
{
    if (!path || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_open: path and out are required");
    void *map = NULL;
    uint64_t size = 0;
    CLQ_FORWARD(clq_map_file(path, &map, &size));
    /* An empty file is parsed (and rejected) from no bytes at all. */
    return open_view(map, size, map, path, out);
}

void clq_gguf_close(clq_gguf *g)
{
    if (!g)
        return;
    clq_unmap_file(g->map, g->map_size);
    free(g->kv);
    free(g->kv_sorted);
    free(g->tensors);
    free(g->tensor_sorted);
    free(g->names);
    free(g->source);
    free(g);
}

uint32_t clq_gguf_version(const clq_gguf *g)
{
    return g ? g->version : 0;
}
uint32_t clq_gguf_alignment(const clq_gguf *g)
{
    return g ? g->alignment : 0;
}
size_t clq_gguf_metadata_count(const clq_gguf *g)
{
    return g ? g->kv_count : 0;
}

clq_status clq_gguf_metadata_get(const clq_gguf *g, size_t index, clq_gguf_value *out)
{
    if (!g || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_metadata_get: gguf and out are required");
    if (index >= g->kv_count)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "metadata index %zu: the file has %zu key/values", index,
                        g->kv_count);
    *out = g->kv[index];
    return CLQ_SUCCESS;
}

clq_status clq_gguf_metadata_find(const clq_gguf *g, const char *key, clq_gguf_value *out)
{
    if (!g || !key || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_metadata_find: gguf, key and out are required");
    size_t k = gguf_lookup(g->kv_sorted, g->kv_count, key);
    if (k == SIZE_MAX)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "%s has no key '%.200s'", g->source, key);
    *out = g->kv[k];
    return CLQ_SUCCESS;
}
