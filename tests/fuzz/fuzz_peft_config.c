/* libFuzzer target of the PEFT adapter_config.json parser: any bytes are
 * the config, beside a fixed valid adapter_model.safetensors with two
 * modules of rank 2; whatever opens is queried for its target modules and
 * for layers by several names (which runs rank_pattern / alpha_pattern
 * matching). The parser must never crash, leak or read outside the bytes
 * it was given. No OpenCL is used. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clq.h"
#include "clq_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

/* Two modules, m.q_proj and n.q_proj: lora_A 2x4 and lora_B 3x2, F32 zeros. */
#define HEADER                                                                                               \
    "{\"m.q_proj.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]},"               \
    "\"m.q_proj.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[32,56]},"               \
    "\"n.q_proj.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[56,88]},"               \
    "\"n.q_proj.lora_B.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[88,112]}}"
static uint8_t tensors[8 + sizeof HEADER - 1 + 112];

static void make_tensors(void)
{
    uint64_t n = sizeof HEADER - 1;
    for (int k = 0; k < 8; k++)
        tensors[k] = (uint8_t)(n >> (8 * k));
    memcpy(tensors + 8, HEADER, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tensors[0])
        make_tensors();
    clq_peft *p = NULL;
    if (clq_peft_open_memory(data, size, tensors, sizeof tensors, &p) != CLQ_SUCCESS) {
        if (!strstr(clq_last_error(), "at offset ") || p)
            __builtin_trap();
        return 0;
    }
    clq_peft_config c;
    if (clq_peft_config_get(p, &c) != CLQ_SUCCESS)
        __builtin_trap();
    for (size_t k = 0; k < c.target_module_count; k++) {
        const char *name = clq_peft_target_module(p, k);
        if (!name)
            __builtin_trap();
        clq_peft_layer l;
        if (clq_peft_find_layer(p, name, &l) == CLQ_SUCCESS)
            sink += l.rank + (l.scale > 1.0f);
    }
    static const char *const names[] = {"m.q_proj", "n.q_proj", "q_proj", "m", ""};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        clq_peft_layer l;
        if (clq_peft_find_layer(p, names[k], &l) == CLQ_SUCCESS)
            sink += l.rank + l.rows + l.cols + (l.alpha > 1.0);
    }
    clq_peft_close(p);
    return 0;
}
