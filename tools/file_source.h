/*
 * `--weight` and `--lora` arguments that name model files rather than
 * folders (tools/file_source.c): FILE.gguf:TENSOR, FILE.safetensors:PREFIX
 * (a bitsandbytes layer, or a float tensor) and ADAPTERDIR:LAYER (a PEFT
 * adapter). Used by `clq matmul`; not part of the library.
 */
#ifndef CLQ_FILE_SOURCE_H
#define CLQ_FILE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "clq.h"
#include "clq_io.h"

/* A weight inside a GGUF or safetensors file, open and checked. */
typedef struct weight_file {
    clq_gguf *gguf;
    clq_safetensors *st;
    char *name;              /* the tensor (GGUF, safetensors float) or layer prefix (bnb) */
    bool bnb;                /* a bitsandbytes layer */
    clq_format float_format; /* what a float tensor is quantized to */
    uint32_t float_block;
    uint64_t rows, cols;
} weight_file;

/* Splits "PATH.gguf:NAME" / "PATH.safetensors:NAME": true if `spec` has
 * that form. */
bool weight_file_spec(const char *spec);

/* Opens the file and finds the weight (without a device), so its shape is
 * known before X is read. Returns 0, or -1 after printing the reason as
 * "clq <cmd>: ...". */
int weight_file_open(const char *cmd, const char *spec, clq_format float_format, uint32_t float_block,
                     weight_file *out);

/* Loads it on the device. Returns 0 or -1 (reason printed). */
int weight_file_load(const char *cmd, clq_context *ctx, const weight_file *w, clq_weight **out);

void weight_file_close(weight_file *w); /* accepts a zeroed one */

/* "DIR:LAYER" where DIR holds adapter_config.json: true, with the parts
 * (dir, at most dirlen bytes with its NUL; *layer points into spec). */
bool peft_spec(const char *spec, char *dir, size_t dirlen, const char **layer);

#endif /* CLQ_FILE_SOURCE_H */
