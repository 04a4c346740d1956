/* libFuzzer target of the GGUF reader: any bytes go to clq_gguf_open_memory,
 * and whatever opens is walked through every public query, touching the
 * first and last byte of each tensor, so that ASan sees any read the
 * reader's checks let past the end of the input. The reader must never
 * crash, leak or read outside the bytes it was given. No OpenCL is used. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clq.h"
#include "clq_io.h"

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
