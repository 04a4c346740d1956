/*
 * The one description of each benchmarked operation, shared by the benchmark
 * and the tests: the shapes (presets of real LLM layers), how inputs are
 * generated, and how many bytes and flops a run moves. It has no OpenCL or
 * CLBlast dependency, so a test can link it alone (target clq_bench_ops).
 */
#ifndef CLQ_BENCH_OPS_H
#define CLQ_BENCH_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "clq.h"

typedef enum bench_op {
    BENCH_OP_QUANTIZE = 0, /* fp32 device matrix -> new clq weight */
    BENCH_OP_DEQUANTIZE,   /* clq weight -> fp32 device matrix */
    BENCH_OP_MATMUL,       /* Y = X·dequant(W)ᵀ (+ LoRA), and its baselines */
    BENCH_OP_COUNT
} bench_op;

const char *bench_op_name(bench_op op);                  /* "quantize", ... */
int bench_op_from_name(const char *name, bench_op *out); /* 0, or -1 if unknown */

/* A weight of N outputs by K inputs (nn.Linear), named after the layer it
 * comes from ("custom" for --shape). */
typedef struct bench_shape {
    uint64_t n, k;
    const char *name;
} bench_shape;

/* The shapes a default sweep runs: one of each distinct layer of Llama-2-7B
 * and the wider MLP of Llama-3-8B / Mistral-7B. */
#define BENCH_DEFAULT_SHAPES 4
const bench_shape *bench_default_shapes(void);

/* Expands a preset name: one layer ("llama2-7b.attn") or a model's set of
 * layers ("llama2-7b", "llama3-8b", "all"). Writes up to cap shapes; returns
 * how many, or -1 if the name is unknown. */
int bench_preset_lookup(const char *name, bench_shape *out, int cap);

/* The name of the preset layer of shape N×K, or "custom". */
const char *bench_shape_name(uint64_t n, uint64_t k);

/* Every preset name, comma-separated, for --help and error messages. */
const char *bench_preset_names(void);

/* The block size each format is used with in practice: 32 for the ggml and
 * ORT formats, 64 for the bitsandbytes 4-bit ones, 256 for DYNAMIC8; ggml's
 * block types have their type's own (32, or 256 for the super-blocks). */
uint32_t bench_default_block(clq_format format);

/* ggml's block types (q4_1 ... iq4_xs): their weight bytes are the blocks
 * as stored. */
int bench_is_ggml_format(clq_format format);

/* ---- work counts -------------------------------------------------------------- */

/* 2·M·N·K for the product plus 2·M·r·(K+N) for a rank-r LoRA side path (each
 * row uses one adapter, so multi-LoRA costs the same flops). */
double bench_matmul_flops(uint64_t m, uint64_t n, uint64_t k, uint32_t rank);

/* Adapters a call actually reads: rows cycle through `adapters`, so at most
 * M of them are touched. 0 without LoRA. */
uint32_t bench_lora_adapters_used(uint64_t m, uint32_t adapters);

/* Bytes a matmul must move at least: the weight as stored (weight_bytes:
 * clq_weight_device_bytes for clq, N·K·4 for fp32), X and Y (act_size bytes
 * per element), and A (r×K) and B (N×r) of every adapter used. The small
 * M×r intermediate is left out: it lives in cache on every device. */
double bench_matmul_bytes(uint64_t m, uint64_t n, uint64_t k, double weight_bytes, size_t act_size,
                          uint32_t rank, uint32_t adapters_used, size_t lora_size);

/* The weight traffic of the unfused path: the quantized weight read once by
 * dequantize, an fp32 N×K matrix written by it and read back by SGEMM. */
double bench_unfused_weight_bytes(double quant_bytes, uint64_t n, uint64_t k);

/* quantize: reads N×K source elements, writes the weight; dequantize: the
 * reverse. Neither is counted in flops (they are bandwidth operations). */
double bench_quantize_bytes(uint64_t n, uint64_t k, size_t src_size, double weight_bytes);
double bench_dequantize_bytes(uint64_t n, uint64_t k, size_t dst_size, double weight_bytes);

/* The roofline bound of a run in seconds: it cannot be faster than moving
 * its bytes at the read bandwidth, nor than its flops at the FMA peak. */
double bench_roofline_bound_s(double bytes, double flops, double bytes_per_s, double flops_per_s);

/* ---- inputs -------------------------------------------------------------------- */

/* Deterministic normal values (rng.h, seeded with `seed`), so every run and
 * every test sees the same data. */
void bench_fill_normal(float *v, size_t count, float sd, uint64_t seed);

/* An N×K weight with the spread of trained LLM weights (sd 0.02). */
void bench_fill_weight(float *w, uint64_t n, uint64_t k, uint64_t seed);

/* M×K activations (sd 1). */
void bench_fill_activations(float *x, uint64_t m, uint64_t k, uint64_t seed);

/* `adapters` LoRA pairs packed one after another: A is adapters×rank×K,
 * B is adapters×N×rank (the order clq_adapter_desc and the strided CLBlast
 * baseline both index). */
void bench_fill_lora(float *a, float *b, uint32_t rank, uint64_t n, uint64_t k, uint32_t adapters,
                     uint64_t seed);

/* LoRA alpha used throughout: 2·rank, i.e. a scale s = alpha/rank = 2. */
float bench_lora_alpha(uint32_t rank);
float bench_lora_scale(uint32_t rank);

/* Row i uses adapter i % adapters (multi-LoRA serving with mixed batches). */
void bench_lora_rows(int32_t *index, uint64_t m, uint32_t adapters);

/* fp32 -> IEEE binary16 bits (host/fp16.h), for the fp16 baseline. */
void bench_to_f16(const float *src, uint16_t *dst, size_t count);

#endif
