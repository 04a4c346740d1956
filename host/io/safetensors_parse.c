/* Opening a safetensors file: the header length, the JSON header (jansson),
 * every tensor entry checked against the file, and the public queries. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

/* The reference implementation refuses longer headers (its
 * MAX_HEADER_SIZE), which also bounds what jansson is given. */
#define ST_MAX_HEADER 100000000u

/* The header as parsed, while the handle is filled. */
typedef struct st_header {
    const char *text;
    size_t size;
    json_t *root;
} st_header;

/* "at the entry called name": where its key is in the header. A search
 * through the header, so only for messages: called for every entry, it
 * made opening quadratic in the number of entries. */
static uint64_t entry_offset(const st_header *h, const char *name)
{
    return st_json_key_offset(h->text, h->size, 8, name);
}

static clq_status read_length(clq_safetensors *st, st_header *h)
{
    if (st->size < 8)
        return CLQ_BAD_AT(st->source, 0, "header length needs 8 bytes, %llu left",
                          (unsigned long long)st->size);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)st->data[k] << (8 * k);
    if (n > st->size - 8)
        return CLQ_BAD_AT(st->source, 0, "header length %llu exceeds the %llu bytes left",
                          (unsigned long long)n, (unsigned long long)(st->size - 8));
    if (n > ST_MAX_HEADER)
        return CLQ_BAD_AT(st->source, 0, "header length %llu is above the format's limit of %u bytes",
                          (unsigned long long)n, ST_MAX_HEADER);
    h->text = (const char *)st->data + 8;
    h->size = (size_t)n;
    st->data_start = 8 + n;
    return CLQ_SUCCESS;
}

static clq_status read_dtype(const clq_safetensors *st, const st_header *h, const char *name, const json_t *v,
                             clq_safetensors_dtype *out)
{
    const char *text = json_string_value(v);
    if (!text)
        return CLQ_BAD_AT(st->source, entry_offset(h, name), "tensor '%.200s': dtype is not a string", name);
    for (int d = CLQ_SAFETENSORS_BOOL; d <= CLQ_SAFETENSORS_C64; d++)
        if (strcmp(text, clq_safetensors_dtype_name((clq_safetensors_dtype)d)) == 0) {
            *out = (clq_safetensors_dtype)d;
            return CLQ_SUCCESS;
        }
    return CLQ_BAD_AT(st->source, entry_offset(h, name),
                      "tensor '%.200s': unknown or unsupported dtype '%.40s'", name, text);
}

/* The shape, and the byte size it gives: elements · dtype size, each
 * product checked before it is formed. */
static clq_status read_shape(const clq_safetensors *st, const st_header *h, const char *name, const json_t *v,
                             clq_safetensors_tensor *t)
{
    if (!json_is_array(v))
        return CLQ_BAD_AT(st->source, entry_offset(h, name), "tensor '%.200s': shape is not an array", name);
    if (json_array_size(v) > CLQ_SAFETENSORS_MAX_DIMS)
        return CLQ_BAD_AT(st->source, entry_offset(h, name),
                          "tensor '%.200s' has %zu dimensions, at most %d are read", name, json_array_size(v),
                          CLQ_SAFETENSORS_MAX_DIMS);
    t->n_dims = (uint32_t)json_array_size(v);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (!st_json_uint(json_array_get(v, d), UINT64_MAX, &t->dims[d]))
            return CLQ_BAD_AT(st->source, entry_offset(h, name),
                              "tensor '%.200s': dimension %u is not a non-negative integer", name, d);
        if (t->dims[d] != 0 && elements > UINT64_MAX / t->dims[d])
            return CLQ_BAD_AT(st->source, entry_offset(h, name),
                              "tensor '%.200s': the product of its dimensions overflows", name);
        elements *= t->dims[d];
    }
    size_t bytes = clq_safetensors_dtype_size(t->dtype);
    if (elements > UINT64_MAX / bytes)
        return CLQ_BAD_AT(st->source, entry_offset(h, name), "tensor '%.200s': its byte size overflows",
                          name);
    t->elements = elements;
    t->size = elements * bytes;
    return CLQ_SUCCESS;
}

/* data_offsets [begin, end], relative to the data section: inside it, and
 * end - begin the size the shape gives. */
static clq_status read_offsets(const clq_safetensors *st, const st_header *h, const char *name,
                               const json_t *v, clq_safetensors_tensor *t)
{
    uint64_t begin, end, room = st->size - st->data_start;
    if (!json_is_array(v) || json_array_size(v) != 2 ||
        !st_json_uint(json_array_get(v, 0), UINT64_MAX, &begin) ||
        !st_json_uint(json_array_get(v, 1), UINT64_MAX, &end))
        return CLQ_BAD_AT(st->source, entry_offset(h, name),
                          "tensor '%.200s': data_offsets is not two non-negative integers", name);
    if (begin > end || end > room)
        return CLQ_BAD_AT(
            st->source, entry_offset(h, name),
            "tensor '%.200s': data_offsets [%llu, %llu] do not lie inside the %llu bytes of data", name,
            (unsigned long long)begin, (unsigned long long)end, (unsigned long long)room);
    if (end - begin != t->size)
        return CLQ_BAD_AT(st->source, st->data_start + begin,
                          "tensor '%.200s' holds %llu bytes, but its shape and dtype %s need %llu", name,
                          (unsigned long long)(end - begin), clq_safetensors_dtype_name(t->dtype),
                          (unsigned long long)t->size);
    t->offset = st->data_start + begin;
    t->data = st->data + t->offset;
    return CLQ_SUCCESS;
}

static clq_status read_tensor(const clq_safetensors *st, const st_header *h, const char *name,
                              const json_t *v, clq_safetensors_tensor *t)
{
    if (!json_is_object(v))
        return CLQ_BAD_AT(st->source, entry_offset(h, name), "tensor '%.200s' is not a JSON object", name);
    memset(t, 0, sizeof *t);
    t->name = name; /* replaced by the handle's copy later */
    const char *missing = !json_object_get(v, "dtype")          ? "dtype"
                          : !json_object_get(v, "shape")        ? "shape"
                          : !json_object_get(v, "data_offsets") ? "data_offsets"
                                                                : NULL;
    if (missing)
        return CLQ_BAD_AT(st->source, entry_offset(h, name), "tensor '%.200s' has no %s", name, missing);
    CLQ_FORWARD(read_dtype(st, h, name, json_object_get(v, "dtype"), &t->dtype));
    CLQ_FORWARD(read_shape(st, h, name, json_object_get(v, "shape"), t));
    return read_offsets(st, h, name, json_object_get(v, "data_offsets"), t);
}

static int compare_offsets(const void *pa, const void *pb)
{
    const clq_safetensors_tensor *a = pa, *b = pb;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* In the order of their data, the tensors must tile the data section
 * exactly: no overlap, no hole, nothing after the last. */
static clq_status check_tiling(clq_safetensors *st)
{
    if (st->tensor_count > 1)
        qsort(st->tensors, st->tensor_count, sizeof *st->tensors, compare_offsets);
    uint64_t expected = st->data_start;
    for (size_t k = 0; k < st->tensor_count; k++) {
        const clq_safetensors_tensor *t = &st->tensors[k];
        if (t->offset != expected)
            return CLQ_BAD_AT(st->source, t->offset, "tensor '%.200s' starts at %llu, where %s", t->name,
                              (unsigned long long)t->offset,
                              t->offset < expected ? "the previous tensor's data still runs"
                                                   : "the previous tensor's data ended earlier (a hole)");
        expected += t->size;
    }
    if (expected != st->size)
        return CLQ_BAD_AT(st->source, expected, "%llu bytes after the last tensor's data are not described",
                          (unsigned long long)(st->size - expected));
    return CLQ_SUCCESS;
}

static clq_status read_metadata(clq_safetensors *st, const st_header *h, const json_t *v)
{
    if (!json_is_object(v))
        return CLQ_BAD_AT(st->source, entry_offset(h, "__metadata__"), "__metadata__ is not a JSON object");
    st->metadata_count = json_object_size(v);
    st->metadata = calloc(2 * st->metadata_count + 1, sizeof *st->metadata);
    if (!st->metadata)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu metadata entries", st->metadata_count);
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        if (!json_is_string(value))
            return CLQ_BAD_AT(st->source, st_json_key_offset(h->text, h->size, 8, key),
                              "__metadata__ value of '%.200s' is not a string", key);
        st->metadata[2 * k] = key;
        st->metadata[2 * k + 1] = json_string_value(value);
        k++;
    }
    return CLQ_SUCCESS;
}

static clq_status read_entries(clq_safetensors *st, const st_header *h)
{
    if (!json_is_object(h->root))
        return CLQ_BAD_AT(st->source, 8, "the header is not a JSON object");
    size_t entries = json_object_size(h->root);
    st->tensors = calloc(entries + 1, sizeof *st->tensors);
    if (!st->tensors)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu tensors", entries);
    const char *name;
    json_t *v;
    json_object_foreach(h->root, name, v)
    {
        if (strcmp(name, "__metadata__") == 0)
            CLQ_FORWARD(read_metadata(st, h, v));
        else
            CLQ_FORWARD(read_tensor(st, h, name, v, &st->tensors[st->tensor_count++]));
    }
    return check_tiling(st);
}

/* Copies every name, key and value into one block (their total is below
 * the header's size: each is quoted there) and builds the lookup tables. */
static clq_status copy_strings(clq_safetensors *st)
{
    size_t total = 1;
    for (size_t k = 0; k < st->tensor_count; k++)
        total += strlen(st->tensors[k].name) + 1;
    for (size_t k = 0; k < 2 * st->metadata_count; k++)
        total += strlen(st->metadata[k]) + 1;
    char *p = st->strings = malloc(total);
    st->tensor_sorted = calloc(st->tensor_count + 1, sizeof *st->tensor_sorted);
    st->metadata_sorted = calloc(st->metadata_count + 1, sizeof *st->metadata_sorted);
    if (!p || !st->tensor_sorted || !st->metadata_sorted)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu bytes of names", total);
    for (size_t k = 0; k < st->tensor_count; k++) {
        size_t n = strlen(st->tensors[k].name) + 1;
        st->tensors[k].name = memcpy(p, st->tensors[k].name, n);
        st->tensor_sorted[k] = (st_name){p, k};
        p += n;
    }
    for (size_t k = 0; k < 2 * st->metadata_count; k++) {
        size_t n = strlen(st->metadata[k]) + 1;
        st->metadata[k] = memcpy(p, st->metadata[k], n);
        p += n;
        if (k % 2 == 0)
            st->metadata_sorted[k / 2] = (st_name){st->metadata[k], k / 2};
    }
    st_sort_names(st->tensor_sorted, st->tensor_count);
    st_sort_names(st->metadata_sorted, st->metadata_count);
    return CLQ_SUCCESS;
}

static clq_status parse(clq_safetensors *st)
{
    st_header h = {0};
    CLQ_FORWARD(read_length(st, &h));
    CLQ_FORWARD(st_json_parse(st->source, 8, h.text, h.size, &h.root));
    int status = read_entries(st, &h);
    if (status == CLQ_SUCCESS)
        status = copy_strings(st);
    json_decref(h.root); /* the handle keeps copies of what it hands out */
    return status;
}

/* Takes ownership of `map` (NULL for caller memory), also on failure. */
static clq_status open_view(const void *data, uint64_t size, void *map, const char *source,
                            clq_safetensors **out)
{
    clq_safetensors *st = calloc(1, sizeof *st);
    char *name = strdup(source);
    if (!st || !name) {
        free(st);
        free(name);
        clq_unmap_file(map, size);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a safetensors handle");
    }
    *st = (clq_safetensors){.data = data, .size = size, .map = map, .source = name};
    int status = parse(st);
    if (status != CLQ_SUCCESS) {
        clq_safetensors_close(st);
        return status;
    }
    *out = st;
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_open_memory(const void *data, size_t size, clq_safetensors **out)
{
    if (!out || (!data && size))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_open_memory: data and out are required");
    return open_view(data, size, NULL, "safetensors in memory", out);
}

clq_status clq_safetensors_open(const char *path, clq_safetensors **out)
{
    if (!path || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_open: path and out are required");
    void *map = NULL;
    uint64_t size = 0;
    CLQ_FORWARD(clq_map_file(path, &map, &size));
    return open_view(map, size, map, path, out);
}

void clq_safetensors_close(clq_safetensors *st)
{
    if (!st)
        return;
    clq_unmap_file(st->map, st->size);
    free(st->tensors);
    free(st->tensor_sorted);
    free(st->metadata);
    free(st->metadata_sorted);
    free(st->strings);
    free(st->source);
    free(st);
}

size_t clq_safetensors_tensor_count(const clq_safetensors *st)
{
    return st ? st->tensor_count : 0;
}

clq_status clq_safetensors_tensor_info(const clq_safetensors *st, size_t index, clq_safetensors_tensor *out)
{
    if (!st || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_tensor_info: st and out are required");
    if (index >= st->tensor_count)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "tensor index %zu: the file has %zu tensors", index,
                        st->tensor_count);
    *out = st->tensors[index];
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_find_tensor(const clq_safetensors *st, const char *name, size_t *index)
{
    if (!st || !name || !index)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_find_tensor: st, name and index are required");
    size_t found = st_lookup(st->tensor_sorted, st->tensor_count, name);
    if (found == SIZE_MAX)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "%s has no tensor named '%.200s'", st->source, name);
    *index = found;
    return CLQ_SUCCESS;
}

size_t clq_safetensors_metadata_count(const clq_safetensors *st)
{
    return st ? st->metadata_count : 0;
}

clq_status clq_safetensors_metadata_get(const clq_safetensors *st, size_t index, const char **key,
                                        const char **value)
{
    if (!st || !key || !value)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_metadata_get: st, key and value are required");
    if (index >= st->metadata_count)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "metadata index %zu: the file has %zu entries", index,
                        st->metadata_count);
    *key = st->metadata[2 * index];
    *value = st->metadata[2 * index + 1];
    return CLQ_SUCCESS;
}

clq_status clq_safetensors_metadata_find(const clq_safetensors *st, const char *key, const char **value)
{
    if (!st || !key || !value)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_metadata_find: st, key and value are required");
    size_t k = st_lookup(st->metadata_sorted, st->metadata_count, key);
    if (k == SIZE_MAX)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "%s has no __metadata__ key '%.200s'", st->source, key);
    *value = st->metadata[2 * k + 1];
    return CLQ_SUCCESS;
}
