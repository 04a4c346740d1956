/* libFuzzer target of the GGUF reader: any bytes go to clq_gguf_open_memory,
 * and whatever opens is walked through every public query, touching the
 * first and last byte of each tensor, so that ASan sees any read the
 * reader's checks let past the end of the input. The reader must never
 * crash, leak or read outside the bytes it was given. A tensor of a ggml
 * block type also goes through the host half of clq_gguf_load_weight (its
 * clq format, weight description and the bytes the import asks for). No
 * OpenCL is used. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clq.h"
#include "clq_io.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results are folded into a volatile so the compiler keeps every read. */
static volatile uint64_t sink;

static void walk_array(const clq_gguf *g, const clq_gguf_value *v)
{
    clq_gguf_value e[32];
    /* Chunks of 32 keep memory small and still exercise the skip over the
     * strings before `first`. */
    for (uint64_t first = 0; first < v->array_count; first += 32) {
        size_t n = v->array_count - first < 32 ? (size_t)(v->array_count - first) : 32;
        if (clq_gguf_array_get(g, v, first, n, e) != CLQ_SUCCESS)
            __builtin_trap(); /* an array that opened must read back */
        for (size_t k = 0; k < n; k++)
            sink += e[k].u + (uint64_t)e[k].i + (e[k].string.length ? (uint8_t)e[k].string.data[0] : 0);
    }
}

static void walk_metadata(const clq_gguf *g)
{
    for (size_t k = 0; k < clq_gguf_metadata_count(g); k++) {
        clq_gguf_value v, found;
        if (clq_gguf_metadata_get(g, k, &v) != CLQ_SUCCESS ||
            clq_gguf_metadata_find(g, v.key, &found) != CLQ_SUCCESS || found.offset != v.offset)
            __builtin_trap(); /* keys are unique: each finds itself */
        sink += strlen(v.key);
        if (v.type == CLQ_GGUF_STRING && v.string.length)
            sink += (uint8_t)v.string.data[v.string.length - 1];
        if (v.type == CLQ_GGUF_ARRAY)
            walk_array(g, &v);
    }
}

/* What clq_gguf_load_weight does before the device for a tensor of a ggml
 * block type (q4_1 ... iq4_xs): the clq format of its type, the weight it
 * describes and the bytes importing that weight takes, which must be the
 * tensor's own size whenever the description is accepted: the reader's
 * type table and clq's block sizes (format_ggml.c, clq_common.h) agree. */
static void load_ggml_blocks(const clq_gguf_tensor *t)
{
    clq_format format;
    if (!clq_ggml_type_format(t->type, &format) || t->dims[2] != 1 || t->dims[3] != 1)
        return;
    clq_weight_desc desc = {format, clq_ggml_format_block(format), t->dims[1], t->dims[0], 0};
    clq_external need;
    if (clq_external_sizes(&desc, CLQ_LAYOUT_GGML, &need) != CLQ_SUCCESS)
        return;
    if (need.data_bytes != t->size)
        __builtin_trap();
    sink += need.data_bytes;
}

static void walk_tensors(const clq_gguf *g)
{
    for (size_t k = 0; k < clq_gguf_tensor_count(g); k++) {
        clq_gguf_tensor t;
        size_t index;
        if (clq_gguf_tensor_info(g, k, &t) != CLQ_SUCCESS ||
            clq_gguf_find_tensor(g, t.name, &index) != CLQ_SUCCESS || index != k)
            __builtin_trap();
        const uint8_t *bytes = t.data;
        if (t.size)
            sink += bytes[0] + bytes[t.size - 1];
        sink += t.type + t.n_dims + t.dims[0] + (clq_ggml_type_name(t.type) ? 1 : 0);
        load_ggml_blocks(&t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clq_gguf *g = NULL;
    if (clq_gguf_open_memory(data, size, &g) != CLQ_SUCCESS) {
        /* A refusal must say where: every message names an offset. */
        if (!strstr(clq_last_error(), "at offset ") || g)
            __builtin_trap();
        return 0;
    }
    sink += clq_gguf_version(g) + clq_gguf_alignment(g);
    walk_metadata(g);
    walk_tensors(g);
    clq_gguf_close(g);
    return 0;
}
