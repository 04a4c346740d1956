/* libFuzzer target of the safetensors reader and the bitsandbytes state
 * parser: any bytes go to clq_safetensors_open_memory; whatever opens is
 * walked through every public query, touching the first and last byte of
 * each tensor, and every layer with a quant_state tensor is read with
 * clq_safetensors_bnb_info (its JSON, its tensors, its quant_map). The
 * reader must never crash, leak or read outside the bytes it was given.
 * No OpenCL is used. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clq.h"
#include "clq_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define STATE_KEY ".weight.quant_state.bitsandbytes__"

/* A tensor "<prefix>.weight.quant_state.bitsandbytes__*" names a layer. */
static void try_bnb(const clq_safetensors *st, const char *name)
{
    const char *at = strstr(name, STATE_KEY);
    if (!at)
        return;
    char prefix[512];
    size_t n = (size_t)(at - name);
    if (n >= sizeof prefix)
        return;
    memcpy(prefix, name, n);
    prefix[n] = '\0';
    clq_bnb_info info;
    int status = clq_safetensors_bnb_info(st, prefix, &info);
    if (status == CLQ_SUCCESS)
        sink += info.desc.rows + info.desc.cols + info.desc.block + (uint64_t)info.desc.double_quant;
    else if (status == CLQ_ERROR_BAD_DATA && !strstr(clq_last_error(), "at offset ") &&
             !strstr(clq_last_error(), "has a quant_state but no"))
        __builtin_trap(); /* a fault in the file must say where */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clq_safetensors *st = NULL;
    if (clq_safetensors_open_memory(data, size, &st) != CLQ_SUCCESS) {
        if (!strstr(clq_last_error(), "at offset ") || st)
            __builtin_trap();
        return 0;
    }
    for (size_t k = 0; k < clq_safetensors_metadata_count(st); k++) {
        const char *key, *value, *found;
        if (clq_safetensors_metadata_get(st, k, &key, &value) != CLQ_SUCCESS ||
            clq_safetensors_metadata_find(st, key, &found) != CLQ_SUCCESS || found != value)
            __builtin_trap(); /* keys are unique: each finds itself */
        sink += strlen(key) + strlen(value);
    }
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        size_t index;
        if (clq_safetensors_tensor_info(st, k, &t) != CLQ_SUCCESS ||
            clq_safetensors_find_tensor(st, t.name, &index) != CLQ_SUCCESS || index != k)
            __builtin_trap();
        const uint8_t *bytes = t.data;
        if (t.size)
            sink += bytes[0] + bytes[t.size - 1];
        sink += t.elements + t.n_dims + clq_safetensors_dtype_size(t.dtype);
        try_bnb(st, t.name);
    }
    clq_safetensors_close(st);
    return 0;
}
