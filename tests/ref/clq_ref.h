/*
 * Scalar C reference of every clq format: what the device kernels must
 * reproduce bit-exactly, written as plainly as possible (one element at a
 * time, in the order the peers' own code uses). It is checked against the
 * peers' vectors in tests/test_reference.c, and the library is checked
 * against it. It never uses OpenCL.
 *
 * The quantized matrix is held in a canonical, unpacked form; the external
 * layouts (bnb, ggml, ort) are produced from it by the pack functions below.
 */
#ifndef CLQ_REF_H
#define CLQ_REF_H

#include <stddef.h>
#include <stdint.h>

#include "clq.h"
#include "fp16.h"

typedef struct ref_quant {
    clq_weight_desc desc;
    size_t nblocks;      /* N·K/block */
    uint8_t *q;          /* N·K code values: 0..15 for 4-bit formats (Q4 and
                            Q4Z unsigned 0..15), int8 bits for Q8, index for
                            DYNAMIC8 */
    float *scale;        /* nblocks: the scale dequantization multiplies by
                            (fp16-rounded d for Q4/Q8, absmax for NF4/FP4/
                            DYNAMIC8 — after double quantization when
                            desc.double_quant —, s for Q4Z) */
    uint16_t *scale_f16; /* nblocks, Q4/Q8 only: the fp16 bits of d */
    uint8_t *zero;       /* nblocks, Q4Z only: zero point 0..15 */
    /* double quantization (NF4/FP4 with desc.double_quant) */
    uint8_t *absmax_q;    /* nblocks */
    float *nested_absmax; /* ceil(nblocks/256) */
    float offset;
} ref_quant;

/* fp16 <-> fp32: clq_fp32_to_fp16 and clq_fp16_to_fp32 of host/fp16.h, the
 * conversion the library and the benchmark use too. */

/* The 16-entry NF4 / FP4 codes and the 256-entry bnb dynamic code. */
const float *ref_code(clq_format format);

/* Quantizes an N×K fp32 matrix. Returns 0, or -1 for a bad description or
 * allocation failure. The caller frees with ref_quant_free. */
int ref_quantize(const clq_weight_desc *desc, const float *x, ref_quant *out);
void ref_quant_free(ref_quant *q);

/* Dequantizes to N×K fp32 exactly as the peers do. */
void ref_dequantize(const ref_quant *q, float *y);

/* External layouts from the canonical form; sizes as clq_external_sizes.
 * Each returns 0, or -1 if the layout cannot hold the format. The arrays in
 * *out are malloc'd; free them with ref_external_free. */
int ref_pack(const ref_quant *q, clq_layout layout, clq_external *out);
void ref_external_free(clq_external *e);

#endif /* CLQ_REF_H */

/* ---- matmul reference ------------------------------------------------------ */

/* One LoRA adapter for the reference: A is rank×K, B is N×rank (fp32
 * values, already rounded to fp16 when the device gets fp16), s the scale. */
typedef struct ref_adapter {
    uint32_t rank;
    float scale;
    const float *a;
    const float *b;
} ref_adapter;

/* Y = X·Wᵀ + bias + s·(X·Aᵀ)·Bᵀ in double precision, W being the N×K
 * dequantized weights (fp32, exact). index (M entries, -1 = none) picks
 * each row's adapter; NULL means adapter 0 for every row; n_adapters = 0
 * means no side path. bias may be NULL.
 *
 * bound[i] is how far a float computation of the same sum may be from y[i]
 * whatever its summation order, scale factoring or fma use: with
 * u = 2^-24 and γ(n) = n·u/(1-n·u),
 *   |ŷ - y| <= γ(K + r + 4) · (Σ_k |x_k·w_k| + |bias| + |s|·Σ_j |B_j|·Σ_k |x_k·A_jk|)
 * (Higham, Accuracy and Stability of Numerical Algorithms, §3.1: a dot
 * product of length n in any order errs by at most γ(n)·Σ|x_k·y_k|; the
 * LoRA term is a dot product of length r over dot products of length K,
 * and the final additions and the scale add a few more roundings). */
void ref_matmul(const float *w, uint64_t n, uint64_t k, const float *x, uint64_t m, const float *bias,
                const ref_adapter *adapters, size_t n_adapters, const int32_t *index, double *y,
                double *bound);
