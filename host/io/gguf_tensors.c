/* The GGUF tensor directory: ggml's tensor types, each tensor's description
 * checked against the file (dimensions, byte size, alignment, bounds), and
 * the public queries on it. */
#include <stdlib.h>
#include <string.h>

#include "gguf_internal.h"

#define GGUF_MAX_DIMS 4 /* ggml's GGML_MAX_DIMS */

/* ggml's tensor types: elements per block and bytes per block (ggml.c's
 * type_traits). Numbers ggml retired (4, 5, 31-33, 36-38) have no entry,
 * so a file using them is rejected as malformed. */
typedef struct ggml_type_traits {
    const char *name;
    uint32_t block;
    uint32_t block_bytes;
} ggml_type_traits;

static const ggml_type_traits ggml_types[] = {
    [0] = {"f32", 1, 4},         [1] = {"f16", 1, 2},         [2] = {"q4_0", 32, 18},
    [3] = {"q4_1", 32, 20},      [6] = {"q5_0", 32, 22},      [7] = {"q5_1", 32, 24},
    [8] = {"q8_0", 32, 34},      [9] = {"q8_1", 32, 36},      [10] = {"q2_K", 256, 84},
    [11] = {"q3_K", 256, 110},   [12] = {"q4_K", 256, 144},   [13] = {"q5_K", 256, 176},
    [14] = {"q6_K", 256, 210},   [15] = {"q8_K", 256, 292},   [16] = {"iq2_xxs", 256, 66},
    [17] = {"iq2_xs", 256, 74},  [18] = {"iq3_xxs", 256, 98}, [19] = {"iq1_s", 256, 50},
    [20] = {"iq4_nl", 32, 18},   [21] = {"iq3_s", 256, 110},  [22] = {"iq2_s", 256, 82},
    [23] = {"iq4_xs", 256, 136}, [24] = {"i8", 1, 1},         [25] = {"i16", 1, 2},
    [26] = {"i32", 1, 4},        [27] = {"i64", 1, 8},        [28] = {"f64", 1, 8},
    [29] = {"iq1_m", 256, 56},   [30] = {"bf16", 1, 2},       [34] = {"tq1_0", 256, 54},
    [35] = {"tq2_0", 256, 66},   [39] = {"mxfp4", 32, 17},    [40] = {"nvfp4", 64, 36},
    [41] = {"q1_0", 128, 18},
};

static const ggml_type_traits *type_traits(uint32_t type)
{
    if (type >= sizeof ggml_types / sizeof ggml_types[0] || !ggml_types[type].name)
        return NULL;
    return &ggml_types[type];
}

const char *clq_ggml_type_name(uint32_t type)
{
    const ggml_type_traits *t = type_traits(type);
    return t ? t->name : NULL;
}

/* Short form of a name for error messages (names are arbitrary bytes). */
#define NAME_ARG(s) (int)((s).length < 200 ? (s).length : 200), (s).data

/* ne[0..3]: each within ggml's int64, their product too (ggml keeps element
 * counts in int64_t). */
static clq_status read_dims(gguf_cursor *c, clq_gguf_string name, clq_gguf_tensor *t)
{
    uint64_t at = c->pos;
    CLQ_FORWARD(gguf_read_u32(c, "tensor dimension count", &t->n_dims));
    if (t->n_dims > GGUF_MAX_DIMS)
        return GGUF_BAD(c, at, "tensor '%.*s' has %u dimensions, at most %d are allowed", NAME_ARG(name),
                        t->n_dims, GGUF_MAX_DIMS);
    uint64_t elements = 1;
    for (unsigned d = 0; d < GGUF_MAX_DIMS; d++) {
        t->dims[d] = 1;
        if (d >= t->n_dims)
            continue;
        at = c->pos;
        CLQ_FORWARD(gguf_read_u64(c, "tensor dimension", &t->dims[d]));
        if (t->dims[d] > INT64_MAX)
            return GGUF_BAD(c, at, "tensor '%.*s' dimension %u is %llu, beyond ggml's int64 range",
                            NAME_ARG(name), d, (unsigned long long)t->dims[d]);
        if (t->dims[d] != 0 && elements > INT64_MAX / t->dims[d])
            return GGUF_BAD(c, at, "tensor '%.*s': the product of its dimensions overflows int64",
                            NAME_ARG(name));
        elements *= t->dims[d];
    }
    t->elements = elements;
    return CLQ_SUCCESS;
}

/* The type, and the byte size it gives: ne[0] whole blocks per row. */
static clq_status read_type_and_size(gguf_cursor *c, clq_gguf_string name, clq_gguf_tensor *t)
{
    uint64_t at = c->pos;
    CLQ_FORWARD(gguf_read_u32(c, "tensor type", &t->type));
    const ggml_type_traits *traits = type_traits(t->type);
    if (!traits)
        return GGUF_BAD(c, at, "tensor '%.*s' has unknown ggml type %u", NAME_ARG(name), t->type);
    if (t->dims[0] % traits->block)
        return GGUF_BAD(c, at, "tensor '%.*s': ne[0] = %llu is not a multiple of the %s block (%u)",
                        NAME_ARG(name), (unsigned long long)t->dims[0], traits->name, traits->block);
    /* elements <= INT64_MAX and block_bytes <= 292·block, but the product
     * can still pass 2^64: check before multiplying. */
    uint64_t blocks = t->elements / traits->block;
    if (blocks > UINT64_MAX / traits->block_bytes)
        return GGUF_BAD(c, at, "tensor '%.*s': its byte size overflows", NAME_ARG(name));
    t->size = blocks * traits->block_bytes;
    return CLQ_SUCCESS;
}

/* One tensor info: name, dimensions, type, offset. The offset is relative to
 * the data section, which starts after the directory; it is resolved later.
 * *offset_at remembers where it was read, for messages. */
static clq_status read_tensor_info(clq_gguf *g, gguf_cursor *c, size_t index, uint64_t *offset_at)
{
    clq_gguf_tensor *t = &g->tensors[index];
    gguf_name *n = &g->tensor_sorted[index];
    clq_gguf_string name;
    uint64_t name_at = c->pos;
    CLQ_FORWARD(gguf_read_string(c, "tensor name", &name));
    /* Names are handed out NUL-terminated: an inner NUL would make two
     * different names look the same. */
    if (memchr(name.data, 0, name.length))
        return GGUF_BAD(c, name_at, "tensor name '%.*s' contains a NUL byte", NAME_ARG(name));
    *n = (gguf_name){name.data, name.length, name_at, index};
    CLQ_FORWARD(read_dims(c, name, t));
    CLQ_FORWARD(read_type_and_size(c, name, t));
    *offset_at = c->pos;
    CLQ_FORWARD(gguf_read_u64(c, "tensor data offset", &t->offset));
    if (t->offset % g->alignment)
        return GGUF_BAD(c, *offset_at, "tensor '%.*s' data offset %llu is not a multiple of the alignment %u",
                        NAME_ARG(name), (unsigned long long)t->offset, g->alignment);
    return CLQ_SUCCESS;
}

/* Every tensor's [offset, offset + size) must lie inside the file, the
 * offsets now made absolute. */
static clq_status place_tensor(clq_gguf *g, const gguf_cursor *c, size_t index, uint64_t offset_at)
{
    clq_gguf_tensor *t = &g->tensors[index];
    const gguf_name *n = &g->tensor_sorted[index];
    uint64_t room = g->data_offset <= g->size ? g->size - g->data_offset : 0;
    if (g->data_offset > g->size || t->offset > room || t->size > room - t->offset)
        return GGUF_BAD(c, offset_at,
                        "tensor '%.*s' (%llu bytes at data offset %llu) lies past the end of the file "
                        "(data section at %llu, file %llu bytes)",
                        (int)(n->length < 200 ? n->length : 200), n->text, (unsigned long long)t->size,
                        (unsigned long long)t->offset, (unsigned long long)g->data_offset,
                        (unsigned long long)g->size);
    t->offset += g->data_offset;
    t->data = g->data + t->offset;
    return CLQ_SUCCESS;
}

clq_status gguf_parse_tensors(clq_gguf *g, gguf_cursor *c)
{
    /* Offsets of the offset fields: one per tensor, only while parsing. */
    uint64_t *offset_at = calloc(g->tensor_count ? g->tensor_count : 1, sizeof *offset_at);
    if (!offset_at)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu tensor offsets", g->tensor_count);
    int status = CLQ_SUCCESS;
    for (size_t k = 0; k < g->tensor_count && status == CLQ_SUCCESS; k++)
        status = read_tensor_info(g, c, k, &offset_at[k]);
    if (status == CLQ_SUCCESS) {
        /* The data section starts at the next multiple of the alignment; the
         * sum cannot wrap, pos being at most the size of memory held. */
        uint64_t rem = c->pos % g->alignment;
        g->data_offset = c->pos + (rem ? g->alignment - rem : 0);
    }
    for (size_t k = 0; k < g->tensor_count && status == CLQ_SUCCESS; k++)
        status = place_tensor(g, c, k, offset_at[k]);
    free(offset_at);
    if (status == CLQ_SUCCESS)
        status = gguf_sort_names(c, g->tensor_sorted, g->tensor_count, "tensor name");
    return status;
}

size_t clq_gguf_tensor_count(const clq_gguf *g)
{
    return g ? g->tensor_count : 0;
}

clq_status clq_gguf_tensor_info(const clq_gguf *g, size_t index, clq_gguf_tensor *out)
{
    if (!g || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_tensor_info: gguf and out are required");
    if (index >= g->tensor_count)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "tensor index %zu: the file has %zu tensors", index,
                        g->tensor_count);
    *out = g->tensors[index];
    return CLQ_SUCCESS;
}

clq_status clq_gguf_find_tensor(const clq_gguf *g, const char *name, size_t *index)
{
    if (!g || !name || !index)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_find_tensor: gguf, name and index are required");
    size_t found = gguf_lookup(g->tensor_sorted, g->tensor_count, name);
    if (found == SIZE_MAX)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "%s has no tensor named '%.200s'", g->source, name);
    *index = found;
    return CLQ_SUCCESS;
}
