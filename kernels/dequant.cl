/*
 * How a stored weight element becomes a float: the code tables, the scale of
 * a block and the value of one element, for every format. Prepended to every
 * program that reads weights (quantize.cl, matmul.cl), so the formats' maths
 * is written once.
 *
 * Contraction is off here: a double-quantized scale is code[qa]·nested +
 * offset rounded after each step, as bitsandbytes computes it, and an fma
 * would change its bits. Programs that want fma (matmul.cl) switch it on for
 * their own code after this file; functions defined here keep this setting.
 */
#pragma OPENCL FP_CONTRACT OFF

constant float nf4_code[16] = {CLQ_NF4_CODE_VALUES};
constant float fp4_code[16] = {CLQ_FP4_CODE_VALUES};
constant float dynamic_code[256] = {CLQ_DYNAMIC8_CODE_VALUES};

inline void store_y(global void *dst, uint dst_half, ulong i, float v)
{
    if (dst_half)
        vstore_half_rte(v, i, (global half *)dst);
    else
        ((global float *)dst)[i] = v;
}

/* ---- dequantization ------------------------------------------------------------ */

/* The scale of block g as the peers compute it. Double-quantized absmax:
 * code[qa]·nested + offset, rounded after each step (bitsandbytes). */
inline float block_scale(uint format, uint dq, global const void *scales, uint g, global const float *nested,
                         global const float *code, global const float *offset)
{
    if (dq) {
        uchar qa = ((global const uchar *)scales)[g];
        float t = code[qa] * nested[g / CLQ_NESTED_BLOCK];
        return t + offset[0];
    }
    if (format == CLQ_FMT_Q4 || format == CLQ_FMT_Q8)
        return vload_half(g, (global const half *)scales);
    return ((global const float *)scales)[g];
}

/* An element's value before its block's scale: q-8, q-z, q (int8) or a code
 * entry. The matmul kernels sum these and apply the scale once per block. */
inline float unscaled_value(uint format, uint qv, uint zero, global const float *code)
{
    switch (format) {
    case CLQ_FMT_Q8:
        return (float)as_char((uchar)qv);
    case CLQ_FMT_Q4:
        return (float)((int)qv - 8);
    case CLQ_FMT_Q4Z:
        return (float)((int)qv - (int)zero);
    case CLQ_FMT_NF4:
        return nf4_code[qv];
    case CLQ_FMT_FP4:
        return fp4_code[qv];
    default: /* CLQ_FMT_DYNAMIC8: the weight's own code */
        return code[qv];
    }
}

/* The dequantized element, rounded once, exactly as the peers compute it. */
inline float dequant_value(uint format, uint qv, float scale, uint zero, global const float *code)
{
    return unscaled_value(format, qv, zero, code) * scale;
}
