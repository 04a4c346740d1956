/* Writing safetensors files, and bitsandbytes 4-bit layers into them: the
 * layout of the reference writer, so the Python package, bitsandbytes and
 * clq's own reader all read what clq writes. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

typedef struct st_entry {
    char *name;
    clq_safetensors_dtype dtype;
    uint32_t n_dims;
    uint64_t dims[CLQ_SAFETENSORS_MAX_DIMS];
    void *data;
    size_t bytes;
} st_entry;

struct clq_safetensors_writer {
    st_entry *entries;
    size_t count, capacity;
    json_t *metadata; /* an object of strings, in the order added */
};

clq_status clq_safetensors_writer_create(clq_safetensors_writer **out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_writer_create: out is NULL");
    clq_safetensors_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->metadata = json_object())) {
        free(w);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a safetensors writer");
    }
    *out = w;
    return CLQ_SUCCESS;
}

void clq_safetensors_writer_destroy(clq_safetensors_writer *w)
{
    if (!w)
        return;
    for (size_t k = 0; k < w->count; k++) {
        free(w->entries[k].name);
        free(w->entries[k].data);
    }
    free(w->entries);
    json_decref(w->metadata);
    free(w);
}

/* jansson refuses strings that are not UTF-8, as the header must be. */
static bool is_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

clq_status clq_safetensors_writer_add_metadata(clq_safetensors_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_writer_add_metadata: writer, key and value are required");
    if (json_object_get(w->metadata, key))
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "metadata key '%.200s' added twice", key);
    if (!is_utf8(key) || json_object_set_new(w->metadata, key, json_string(value)) != 0)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "metadata '%.200s': key and value must be UTF-8", key);
    return CLQ_SUCCESS;
}

static clq_status check_new_tensor(const clq_safetensors_writer *w, const char *name,
                                   clq_safetensors_dtype dtype, uint32_t n_dims, const uint64_t *dims,
                                   size_t bytes)
{
    if (!clq_safetensors_dtype_name(dtype) || n_dims > CLQ_SAFETENSORS_MAX_DIMS ||
        strcmp(name, "__metadata__") == 0 || !is_utf8(name))
        return CLQ_FAIL(
            CLQ_ERROR_INVALID_ARGUMENT,
            "tensor '%.200s': needs a UTF-8 name other than __metadata__, a known dtype and at most %d "
            "dimensions",
            name, CLQ_SAFETENSORS_MAX_DIMS);
    for (size_t k = 0; k < w->count; k++)
        if (strcmp(w->entries[k].name, name) == 0)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tensor '%.200s' added twice", name);
    uint64_t size = clq_safetensors_dtype_size(dtype);
    for (uint32_t d = 0; d < n_dims; d++) {
        if (dims[d] != 0 && size > UINT64_MAX / dims[d])
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tensor '%.200s': its shape overflows", name);
        size *= dims[d];
    }
    if (size != bytes)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "tensor '%.200s': %zu bytes given, its shape needs %llu",
                        name, bytes, (unsigned long long)size);
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_writer_add_tensor(clq_safetensors_writer *w, const char *name,
                                             clq_safetensors_dtype dtype, uint32_t n_dims,
                                             const uint64_t *dims, const void *data, size_t bytes)
{
    if (!w || !name || (n_dims && !dims) || (bytes && !data))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_writer_add_tensor: writer, name, dims and data are required");
    CLQ_FORWARD(check_new_tensor(w, name, dtype, n_dims, dims, bytes));
    if (w->count == w->capacity) {
        size_t capacity = w->capacity ? 2 * w->capacity : 16;
        st_entry *grown = realloc(w->entries, capacity * sizeof *grown);
        if (!grown)
            return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "growing the tensor list");
        w->entries = grown;
        w->capacity = capacity;
    }
    st_entry e = {.name = strdup(name),
                  .dtype = dtype,
                  .n_dims = n_dims,
                  .data = malloc(bytes ? bytes : 1),
                  .bytes = bytes};
    if (!e.name || !e.data) {
        free(e.name);
        free(e.data);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying tensor '%.200s' (%zu bytes)", name, bytes);
    }
    if (n_dims)
        memcpy(e.dims, dims, n_dims * sizeof *dims);
    if (bytes)
        memcpy(e.data, data, bytes);
    w->entries[w->count++] = e;
    return CLQ_SUCCESS;
}

/* ---- bitsandbytes layers ------------------------------------------------------ */

/* The JSON bitsandbytes packs into quant_state.bitsandbytes__<type>, with
 * the keys in its order. */
static char *state_json(const clq_weight_desc *d, const char *dtype, float offset)
{
    json_t *s = json_object();
    json_object_set_new(s, "quant_type", json_string(clq_format_name(d->format)));
    json_object_set_new(s, "blocksize", json_integer(d->block));
    json_object_set_new(s, "dtype", json_string(dtype ? dtype : "float32"));
    json_object_set_new(s, "shape", json_pack("[I,I]", (json_int_t)d->rows, (json_int_t)d->cols));
    if (d->double_quant) {
        json_object_set_new(s, "nested_blocksize", json_integer(CLQ_NESTED_BLOCK));
        json_object_set_new(s, "nested_dtype", json_string("float32"));
        /* 17 significant digits: the double, hence the float, reads back exactly. */
        json_object_set_new(s, "nested_offset", json_real(offset));
    }
    char *text = json_dumps(s, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(s);
    return text;
}

static clq_status add_bnb_tensors(clq_safetensors_writer *w, const char *prefix, const clq_weight_desc *d,
                                  const clq_external *e, const char *state)
{
    char name[1024];
    const uint64_t nblocks = d->rows * d->cols / d->block;
    const uint64_t packed[2] = {e->data_bytes, 1}, scales[1] = {nblocks}, sixteen[1] = {16},
                   nested[1] = {e->nested_absmax_bytes / 4}, code[1] = {256}, state_len[1] = {strlen(state)};
#define ADD(suffix, dtype, n, dims, data, bytes)                                                             \
    do {                                                                                                     \
        if (snprintf(name, sizeof name, "%s%s", prefix, suffix) >= (int)sizeof name)                         \
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "layer name '%.200s...' is too long", prefix);       \
        CLQ_FORWARD(clq_safetensors_writer_add_tensor(w, name, dtype, n, dims, data, bytes));                \
    } while (0)
    ADD(".weight", CLQ_SAFETENSORS_U8, 2, packed, e->data, e->data_bytes);
    ADD(".weight.absmax", d->double_quant ? CLQ_SAFETENSORS_U8 : CLQ_SAFETENSORS_F32, 1, scales, e->scales,
        e->scales_bytes);
    ADD(".weight.quant_map", CLQ_SAFETENSORS_F32, 1, sixteen,
        d->format == CLQ_FORMAT_NF4 ? st_nf4_code : st_fp4_code, sizeof st_nf4_code);
    if (d->double_quant) {
        ADD(".weight.nested_absmax", CLQ_SAFETENSORS_F32, 1, nested, e->nested_absmax,
            e->nested_absmax_bytes);
        ADD(".weight.nested_quant_map", CLQ_SAFETENSORS_F32, 1, code, e->nested_code, e->nested_code_bytes);
    }
    ADD(d->format == CLQ_FORMAT_NF4 ? ".weight.quant_state.bitsandbytes__nf4"
                                    : ".weight.quant_state.bitsandbytes__fp4",
        CLQ_SAFETENSORS_U8, 1, state_len, state, strlen(state));
#undef ADD
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_writer_add_bnb(clq_safetensors_writer *w, const char *prefix,
                                          const clq_weight *weight, const char *dtype)
{
    if (!w || !prefix || !weight)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_writer_add_bnb: writer, prefix and weight are required");
    clq_weight_desc d = clq_weight_get_desc(weight);
    if (d.format != CLQ_FORMAT_NF4 && d.format != CLQ_FORMAT_FP4)
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT, "bitsandbytes 4-bit layers are nf4 or fp4, not %s",
                        clq_format_name(d.format));
    clq_external e;
    CLQ_FORWARD(clq_external_sizes(&d, CLQ_LAYOUT_BNB, &e));
    e.data = malloc(e.data_bytes);
    e.scales = malloc(e.scales_bytes);
    e.nested_absmax = malloc(e.nested_absmax_bytes + 1);
    e.nested_code = malloc(e.nested_code_bytes + 1);
    int status = !e.data || !e.scales || !e.nested_absmax || !e.nested_code
                     ? CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "exporting layer '%.200s'", prefix)
                     : clq_weight_export(weight, CLQ_LAYOUT_BNB, &e);
    char *state = status == CLQ_SUCCESS ? state_json(&d, dtype, e.offset) : NULL;
    if (status == CLQ_SUCCESS && !state)
        status = CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "writing the quant state of '%.200s'", prefix);
    if (status == CLQ_SUCCESS)
        status = add_bnb_tensors(w, prefix, &d, &e, state);
    free(state);
    free(e.data);
    free(e.scales);
    free(e.nested_absmax);
    free(e.nested_code);
    return status;
}

/* ---- the file --------------------------------------------------------------- */

/* Larger elements first, then by name: each tensor's data stays aligned to
 * its element size (the reference writer's order). */
static int compare_entries(const void *pa, const void *pb)
{
    const st_entry *a = *(const st_entry *const *)pa, *b = *(const st_entry *const *)pb;
    size_t sa = clq_safetensors_dtype_size(a->dtype), sb = clq_safetensors_dtype_size(b->dtype);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return strcmp(a->name, b->name);
}

static char *header_json(const clq_safetensors_writer *w, const st_entry *const *order)
{
    json_t *root = json_object();
    if (json_object_size(w->metadata))
        json_object_set(root, "__metadata__", w->metadata);
    uint64_t at = 0;
    for (size_t k = 0; k < w->count; k++) {
        const st_entry *e = order[k];
        json_t *shape = json_array();
        for (uint32_t d = 0; d < e->n_dims; d++)
            json_array_append_new(shape, json_integer((json_int_t)e->dims[d]));
        json_object_set_new(root, e->name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", clq_safetensors_dtype_name(e->dtype),
                                      "shape", shape, "data_offsets", (json_int_t)at,
                                      (json_int_t)(at + e->bytes)));
        at += e->bytes;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

static clq_status write_file(clq_out *o, const char *header, const st_entry *const *order, size_t count)
{
    /* The data starts at a multiple of 8: the header is padded with spaces. */
    uint64_t n = strlen(header), padded = n + (8 - (8 + n) % 8) % 8;
    unsigned char length[8];
    for (int k = 0; k < 8; k++)
        length[k] = (unsigned char)(padded >> (8 * k));
    CLQ_FORWARD(clq_out_write(o, length, 8));
    CLQ_FORWARD(clq_out_write(o, header, n));
    CLQ_FORWARD(clq_out_pad(o, 8, ' '));
    for (size_t k = 0; k < count; k++)
        CLQ_FORWARD(clq_out_write(o, order[k]->data, order[k]->bytes));
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_writer_write(const clq_safetensors_writer *w, const char *path)
{
    if (!w || !path)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_writer_write: writer and path are required");
    const st_entry **order = malloc((w->count + 1) * sizeof *order);
    if (!order)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "ordering %zu tensors", w->count);
    for (size_t k = 0; k < w->count; k++)
        order[k] = &w->entries[k];
    if (w->count > 1)
        qsort(order, w->count, sizeof *order, compare_entries);
    char *header = header_json(w, order);
    clq_out o;
    int status =
        !header ? CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "writing the header") : clq_out_open(&o, path);
    if (header && status == CLQ_SUCCESS)
        status = clq_out_close(&o, write_file(&o, header, order, w->count));
    free(header);
    free(order);
    return status;
}
