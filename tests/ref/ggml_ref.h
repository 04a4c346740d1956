/*
 * Scalar C reference of ggml's block types beyond Q4_0/Q8_0 (those are in
 * clq_ref.h): dequantization equal to ggml's to_float, and quantization equal
 * to what ggml writes into a GGUF file without an importance matrix
 * (ggml_quantize_chunk), bit for bit. The block layouts are
 * kernels/clq_common.h's clq_block_* structs. Checked against ggml's own
 * vectors in tests/test_ggml_ref.c; the device kernels are checked against it.
 *
 * Every function takes n elements, a multiple of the type's block, and the
 * n / block blocks as bytes (row-major, as in quant.bin).
 */
#ifndef GGML_REF_H
#define GGML_REF_H

#include <stddef.h>
#include <stdint.h>

typedef void (*ggml_ref_to_float_fn)(const void *blocks, float *y, size_t n);
typedef void (*ggml_ref_quantize_fn)(const float *x, void *blocks, size_t n);

typedef struct ggml_ref_type {
    const char *name; /* as meta.txt's format and GGUF's type name, lower case: "q4_k" */
    uint32_t block;   /* elements per block (32, or 256 for K-quants and iq4_xs) */
    uint32_t bytes;   /* bytes per block (CLQ_GGML_*_BYTES) */
    ggml_ref_to_float_fn to_float;
    ggml_ref_quantize_fn quantize;
} ggml_ref_type;

/* The types, in ggml's type-number order; *count gets how many. */
const ggml_ref_type *ggml_ref_types(size_t *count);
/* The type named `name`, or NULL. */
const ggml_ref_type *ggml_ref_find(const char *name);

void ggml_ref_to_float_q4_1(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q5_0(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q5_1(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q2_k(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q3_k(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q4_k(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q5_k(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_q6_k(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_iq4_nl(const void *blocks, float *y, size_t n);
void ggml_ref_to_float_iq4_xs(const void *blocks, float *y, size_t n);

void ggml_ref_quantize_q4_1(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q5_0(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q5_1(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q2_k(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q3_k(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q4_k(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q5_k(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_q6_k(const float *x, void *blocks, size_t n);
/* iq4_nl and iq4_xs as ggml_quantize_chunk (and so llama-quantize) makes
 * them: the best of 15 scales per block. ggml's quantize_row_iq4_nl_ref is
 * a one-pass variant that ggml_quantize_chunk does not use. */
void ggml_ref_quantize_iq4_nl(const float *x, void *blocks, size_t n);
void ggml_ref_quantize_iq4_xs(const float *x, void *blocks, size_t n);

#endif /* GGML_REF_H */
