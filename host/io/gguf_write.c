/* Writing GGUF files (version 3): metadata, F32 / F16 tensors, and clq's
 * Q4 / Q8 weights as ggml's q4_0 / q8_0 blocks and the ggml formats as
 * their own types, laid out as ggml and gguf-py lay them out (every
 * tensor's data aligned to general.alignment). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "internal.h"

#define GGUF_MAX_DIMS 4

typedef struct gw_kv {
    char *key;
    clq_gguf_type type; /* STRING, UINT32 or FLOAT32 */
    char *string;
    uint32_t u32;
    float f32;
} gw_kv;

typedef struct gw_tensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    void *data;
    size_t bytes;
} gw_tensor;

struct clq_gguf_writer {
    gw_kv *kv;
    size_t kv_count, kv_capacity;
    gw_tensor *tensors;
    size_t tensor_count, tensor_capacity;
    uint32_t alignment;
};

clq_status clq_gguf_writer_create(clq_gguf_writer **out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_writer_create: out is NULL");
    clq_gguf_writer *w = calloc(1, sizeof *w);
    if (!w)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a GGUF writer");
    w->alignment = 32;
    *out = w;
    return CLQ_SUCCESS;
}

void clq_gguf_writer_destroy(clq_gguf_writer *w)
{
    if (!w)
        return;
    for (size_t k = 0; k < w->kv_count; k++) {
        free(w->kv[k].key);
        free(w->kv[k].string);
    }
    for (size_t k = 0; k < w->tensor_count; k++) {
        free(w->tensors[k].name);
        free(w->tensors[k].data);
    }
    free(w->kv);
    free(w->tensors);
    free(w);
}

/* Room for one more element in a growing array. */
static clq_status grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return CLQ_SUCCESS;
    size_t more = *capacity ? 2 * *capacity : 16;
    void *grown = realloc(*items, more * size);
    if (!grown)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "growing a GGUF writer's list");
    *items = grown;
    *capacity = more;
    return CLQ_SUCCESS;
}

static clq_status add_kv(clq_gguf_writer *w, const char *key, gw_kv kv)
{
    if (!w || !key)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_writer_add_*: writer and key are required");
    for (size_t k = 0; k < w->kv_count; k++)
        if (strcmp(w->kv[k].key, key) == 0)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "metadata key '%.200s' added twice", key);
    if (strcmp(key, "general.alignment") == 0) {
        if (kv.type != CLQ_GGUF_UINT32 || kv.u32 == 0 || (kv.u32 & (kv.u32 - 1)))
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "general.alignment must be a u32 power of two");
        if (w->tensor_count)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "general.alignment must come before the tensors");
        w->alignment = kv.u32;
    }
    CLQ_FORWARD(grow((void **)&w->kv, &w->kv_capacity, w->kv_count, sizeof *w->kv));
    kv.key = strdup(key);
    if (!kv.key)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying key '%.200s'", key);
    w->kv[w->kv_count++] = kv;
    return CLQ_SUCCESS;
}

clq_status clq_gguf_writer_add_string(clq_gguf_writer *w, const char *key, const char *value)
{
    if (!value)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_writer_add_string: value is NULL");
    gw_kv kv = {.type = CLQ_GGUF_STRING, .string = strdup(value)};
    int status = kv.string ? add_kv(w, key, kv) : CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying a value");
    if (status != CLQ_SUCCESS)
        free(kv.string);
    return status;
}

clq_status clq_gguf_writer_add_u32(clq_gguf_writer *w, const char *key, uint32_t value)
{
    return add_kv(w, key, (gw_kv){.type = CLQ_GGUF_UINT32, .u32 = value});
}

clq_status clq_gguf_writer_add_f32(clq_gguf_writer *w, const char *key, float value)
{
    return add_kv(w, key, (gw_kv){.type = CLQ_GGUF_FLOAT32, .f32 = value});
}

/* Bytes of a tensor of `type` (F32, F16, Q4_0, Q8_0) and shape ne, or 0
 * if the shape does not suit the type. */
static uint64_t tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne)
{
    clq_format f;
    const bool ggml_format = clq_ggml_type_format(type, &f);
    const uint64_t block = type == CLQ_GGML_Q4_0 || type == CLQ_GGML_Q8_0 ? 32
                           : ggml_format                                  ? clq_ggml_format_block(f)
                                                                          : 1;
    const uint64_t block_bytes = type == CLQ_GGML_F32    ? 4
                                 : type == CLQ_GGML_F16  ? 2
                                 : type == CLQ_GGML_Q4_0 ? CLQ_GGML_Q4_0_BYTES
                                 : ggml_format           ? clq_ggml_format_bytes(f)
                                                         : CLQ_GGML_Q8_0_BYTES;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || ne[0] % block)
        return 0;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0 || ne[d] > INT64_MAX || elements > INT64_MAX / ne[d])
            return 0;
        elements *= ne[d];
    }
    return elements / block > UINT64_MAX / block_bytes ? 0 : elements / block * block_bytes;
}

static clq_status add_tensor(clq_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                             const uint64_t *ne, const void *data, size_t bytes)
{
    for (size_t k = 0; k < w->tensor_count; k++)
        if (strcmp(w->tensors[k].name, name) == 0)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tensor '%.200s' added twice", name);
    uint64_t need = tensor_bytes(type, n_dims, ne);
    if (need == 0)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT,
                        "tensor '%.200s': 1 to 4 positive dimensions that fit ggml's "
                        "int64 and its blocks are needed",
                        name);
    if (need != bytes)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "tensor '%.200s': %zu bytes given, its shape needs %llu",
                        name, bytes, (unsigned long long)need);
    CLQ_FORWARD(grow((void **)&w->tensors, &w->tensor_capacity, w->tensor_count, sizeof *w->tensors));
    gw_tensor t = {
        .name = strdup(name), .type = type, .n_dims = n_dims, .data = malloc(bytes), .bytes = bytes};
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying tensor '%.200s'", name);
    }
    memcpy(t.ne, ne, n_dims * sizeof *ne);
    memcpy(t.data, data, bytes);
    w->tensors[w->tensor_count++] = t;
    return CLQ_SUCCESS;
}

clq_status clq_gguf_writer_add_tensor(clq_gguf_writer *w, const char *name, clq_ggml_type type,
                                      uint32_t n_dims, const uint64_t *ne, const void *data, size_t bytes)
{
    if (!w || !name || !ne || !data)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_gguf_writer_add_tensor: writer, name, ne and data are required");
    if (type != CLQ_GGML_F32 && type != CLQ_GGML_F16)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT,
                        "tensor '%.200s': raw tensors are f32 or f16 (quantized ones "
                        "come from clq_gguf_writer_add_weight)",
                        name);
    return add_tensor(w, name, type, n_dims, ne, data, bytes);
}

clq_status clq_gguf_writer_add_weight(clq_gguf_writer *w, const char *name, const clq_weight *weight)
{
    if (!w || !name || !weight)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_gguf_writer_add_weight: writer, name and weight are required");
    clq_weight_desc d = clq_weight_get_desc(weight);
    clq_external e;
    CLQ_FORWARD(clq_external_sizes(&d, CLQ_LAYOUT_GGML, &e));
    e.data = malloc(e.data_bytes);
    if (!e.data)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "exporting '%.200s'", name);
    const uint64_t ne[2] = {d.cols, d.rows};
    int status = clq_weight_export(weight, CLQ_LAYOUT_GGML, &e);
    if (status == CLQ_SUCCESS)
        status = add_tensor(w, name,
                            clq_format_is_ggml(d.format) ? clq_ggml_format_type(d.format)
                            : d.format == CLQ_FORMAT_Q4  ? CLQ_GGML_Q4_0
                                                         : CLQ_GGML_Q8_0,
                            2, ne, e.data, e.data_bytes);
    free(e.data);
    return status;
}

/* ---- the file --------------------------------------------------------------- */

static clq_status put_le(clq_out *o, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int k = 0; k < bytes; k++)
        b[k] = (unsigned char)(v >> (8 * k));
    return clq_out_write(o, b, (size_t)bytes);
}

static clq_status put_string(clq_out *o, const char *s)
{
    CLQ_FORWARD(put_le(o, strlen(s), 8));
    return clq_out_write(o, s, strlen(s));
}

static clq_status put_kv(clq_out *o, const gw_kv *kv)
{
    CLQ_FORWARD(put_string(o, kv->key));
    CLQ_FORWARD(put_le(o, (uint64_t)kv->type, 4));
    if (kv->type == CLQ_GGUF_STRING)
        return put_string(o, kv->string);
    if (kv->type == CLQ_GGUF_UINT32)
        return put_le(o, kv->u32, 4);
    uint32_t bits;
    memcpy(&bits, &kv->f32, 4);
    return put_le(o, bits, 4);
}

static uint64_t aligned(uint64_t v, uint64_t alignment)
{
    return (v + alignment - 1) / alignment * alignment;
}

static clq_status write_file(const clq_gguf_writer *w, clq_out *o)
{
    CLQ_FORWARD(clq_out_write(o, "GGUF", 4));
    CLQ_FORWARD(put_le(o, 3, 4));
    CLQ_FORWARD(put_le(o, w->tensor_count, 8));
    CLQ_FORWARD(put_le(o, w->kv_count, 8));
    for (size_t k = 0; k < w->kv_count; k++)
        CLQ_FORWARD(put_kv(o, &w->kv[k]));
    uint64_t offset = 0;
    for (size_t k = 0; k < w->tensor_count; k++) {
        const gw_tensor *t = &w->tensors[k];
        CLQ_FORWARD(put_string(o, t->name));
        CLQ_FORWARD(put_le(o, t->n_dims, 4));
        for (uint32_t d = 0; d < t->n_dims; d++)
            CLQ_FORWARD(put_le(o, t->ne[d], 8));
        CLQ_FORWARD(put_le(o, t->type, 4));
        CLQ_FORWARD(put_le(o, offset, 8));
        offset = aligned(offset + t->bytes, w->alignment);
    }
    for (size_t k = 0; k < w->tensor_count; k++) {
        CLQ_FORWARD(clq_out_pad(o, w->alignment, 0));
        CLQ_FORWARD(clq_out_write(o, w->tensors[k].data, w->tensors[k].bytes));
    }
    return clq_out_pad(o, w->alignment, 0);
}

clq_status clq_gguf_writer_write(const clq_gguf_writer *w, const char *path)
{
    if (!w || !path)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_writer_write: writer and path are required");
    clq_out o;
    CLQ_FORWARD(clq_out_open(&o, path));
    return clq_out_close(&o, write_file(w, &o));
}
